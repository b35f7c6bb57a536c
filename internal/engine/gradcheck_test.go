package engine

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// gradCase is one small model for finite-difference checks: small enough
// that every state component and every parameter can be perturbed.
type gradCase struct {
	cell  Cell
	act   Activation
	loss  LossMode
	bidir bool
}

func (c gradCase) String() string {
	name := fmt.Sprintf("%s/%s/%s", c.cell, c.act, c.loss)
	if c.bidir {
		name += "/bidir"
	}
	return name
}

func gradCases() []gradCase {
	var cases []gradCase
	for _, loss := range LossModes {
		for _, bidir := range []bool{false, true} {
			for _, act := range Activations {
				cases = append(cases, gradCase{CellRNN, act, loss, bidir}, gradCase{CellAttn, act, loss, bidir})
			}
			cases = append(cases, gradCase{CellLSTM, ActTanh, loss, bidir}, gradCase{CellGRU, ActTanh, loss, bidir})
		}
	}
	return cases
}

// setup returns settings, parameters and a one-sequence batch for c, with
// non-zero biases so every bias path is exercised.
func (c gradCase) setup() (Settings, *Params, *batch) {
	s := Defaults()
	s.Cell, s.Act, s.Loss, s.Bidir = c.cell, c.act, c.loss, c.bidir
	s.T, s.H, s.D, s.K = 7, 4, 3, 3
	s.Gain = 1.2
	s.ForgetBias = 0.5
	p := InitParams(s)
	rng := stream(99, "biases")
	for d := range p.Dirs {
		fillNormal(p.Chain[d].B, 0.3, rng)
		if p.Chain[d].BhN != nil {
			fillNormal(p.Chain[d].BhN, 0.3, rng)
		}
	}
	fillNormal(p.C, 0.3, rng)
	inputs, targets := sequence(s)
	b := &batch{T: s.T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, s.T), weight: 1}
	for t := range b.mask {
		b.mask[t] = s.Loss == LossSum || t == s.T-1
	}
	return s, p, b
}

// lossWith runs the forward pass with an optional state perturbation.
func lossWith(t *testing.T, s Settings, p *Params, b *batch, bump *perturbation) float64 {
	t.Helper()
	tp, err := forward(context.Background(), p, s.Act, b, bump)
	if err != nil {
		t.Fatal(err)
	}
	return tp.loss
}

// closeEnough compares an analytic derivative with a central difference.
// With h = 1e-5 the truncation error is O(h²·|E‴|) ≈ 1e-10 and the
// rounding error O(ε·|E|/h) ≈ 1e-11, so anything above ~1e-9 in absolute
// terms is resolved to the 1e-6 relative error the engine promises.
func closeEnough(analytic, numeric float64) bool {
	return math.Abs(analytic-numeric) <= 1e-6*math.Abs(analytic)+1e-9
}

const fdStep = 1e-5

func TestStateGradientsMatchFiniteDifferences(t *testing.T) {
	for _, c := range gradCases() {
		t.Run(c.String(), func(t *testing.T) {
			s, p, b := c.setup()
			tp, err := forward(context.Background(), p, s.Act, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			opts := backwardOptions{}
			for d := range p.Dirs {
				opts.dh[d] = make([]float64, s.T*s.H)
				if s.Cell == CellLSTM {
					opts.dc[d] = make([]float64, s.T*s.H)
				}
			}
			if err := backward(context.Background(), tp, nil, &opts); err != nil {
				t.Fatal(err)
			}
			checked, resolved := 0, 0
			for d := range p.Dirs {
				for step := 1; step <= s.T; step++ {
					for j := range s.H {
						for _, which := range []string{"h", "c"} {
							var analytic float64
							bump := func(eps float64) *perturbation {
								v := make([]float64, s.H)
								v[j] = eps
								if which == "c" {
									return &perturbation{chain: d, t: step, dc: v}
								}
								return &perturbation{chain: d, t: step, dh: v}
							}
							if which == "c" {
								if s.Cell != CellLSTM {
									continue
								}
								analytic = opts.dc[d][(step-1)*s.H+j]
							} else {
								analytic = opts.dh[d][(step-1)*s.H+j]
							}
							numeric := (lossWith(t, s, p, b, bump(fdStep)) - lossWith(t, s, p, b, bump(-fdStep))) / (2 * fdStep)
							checked++
							if math.Abs(analytic) > 1e-6 {
								resolved++
							}
							if !closeEnough(analytic, numeric) {
								t.Errorf("∂E/∂%s (chain %d, step %d, unit %d): got %.12g, finite difference %.12g", which, d, step, j, analytic, numeric)
							}
						}
					}
				}
			}
			// A check that only compares zeros proves nothing.
			if resolved < checked/3 {
				t.Errorf("only %d of %d derivatives are large enough to test the relative error", resolved, checked)
			}
		})
	}
}

func TestParamGradientsMatchFiniteDifferences(t *testing.T) {
	for _, c := range gradCases() {
		t.Run(c.String(), func(t *testing.T) {
			s, p, b := c.setup()
			tp, err := forward(context.Background(), p, s.Act, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			grads := NewParams(p.Cell, p.H, p.D, p.K, p.Dirs)
			if err := backward(context.Background(), tp, grads, &backwardOptions{}); err != nil {
				t.Fatal(err)
			}
			resolved := 0
			for i := range p.Data {
				orig := p.Data[i]
				p.Data[i] = orig + fdStep
				up := lossWith(t, s, p, b, nil)
				p.Data[i] = orig - fdStep
				down := lossWith(t, s, p, b, nil)
				p.Data[i] = orig
				numeric := (up - down) / (2 * fdStep)
				if math.Abs(grads.Data[i]) > 1e-6 {
					resolved++
				}
				if !closeEnough(grads.Data[i], numeric) {
					t.Errorf("∂E/∂θ[%d] (%s): got %.12g, finite difference %.12g", i, p.paramName(i), grads.Data[i], numeric)
				}
			}
			if resolved < len(p.Data)/3 {
				t.Errorf("only %d of %d parameter derivatives are large enough to test", resolved, len(p.Data))
			}
		})
	}
}

// TestSquaredErrorGradients covers the regression head used by the
// adding problem, with a batch of several sequences and a mean loss.
func TestSquaredErrorGradients(t *testing.T) {
	for _, cell := range Cells {
		t.Run(string(cell), func(t *testing.T) {
			s := Defaults()
			s.Cell, s.T, s.H, s.D, s.K = cell, 6, 4, 2, 2
			p := NewParams(cell, s.H, s.D, 1, 1) // one output: the regression head
			rng := stream(5, "sq")
			fillNormal(p.Data, 0.5, rng)
			const B = 3
			b := &batch{T: s.T, B: B, D: s.D, X: make([]float64, s.T*B*s.D), mask: make([]bool, s.T*B), values: make([]float64, s.T*B), squared: true, weight: 1.0 / B}
			fillNormal(b.X, 1, rng)
			for r := (s.T - 1) * B; r < s.T*B; r++ {
				b.mask[r] = true
				b.values[r] = rng.Float64()
			}
			tp, err := forward(context.Background(), p, s.Act, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			grads := NewParams(p.Cell, p.H, p.D, p.K, p.Dirs)
			if err := backward(context.Background(), tp, grads, &backwardOptions{}); err != nil {
				t.Fatal(err)
			}
			for i := range p.Data {
				orig := p.Data[i]
				p.Data[i] = orig + fdStep
				up := lossWith(t, s, p, b, nil)
				p.Data[i] = orig - fdStep
				down := lossWith(t, s, p, b, nil)
				p.Data[i] = orig
				if numeric := (up - down) / (2 * fdStep); !closeEnough(grads.Data[i], numeric) {
					t.Errorf("∂E/∂θ[%d] (%s): got %.12g, finite difference %.12g", i, p.paramName(i), grads.Data[i], numeric)
				}
			}
		})
	}
}
