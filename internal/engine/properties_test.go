package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestClippingBoundsOverRandomSettings checks, over many random settings,
// that step-norm clipping keeps every ‖∂E/∂s_k‖ at or under θ, that
// step-value clipping keeps it under θ·√H (each component within θ),
// and that global-norm clipping caps ‖∂E/∂θ‖ at θ while leaving the
// profile alone. The 1e-12 slack is the rounding of one rescale.
func TestClippingBoundsOverRandomSettings(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	counts, fired := map[ClipMode]int{}, map[ClipMode]int{}
	for trial := range 300 {
		s := randomSettings(rng, 120, 24)
		s.Clip = []ClipMode{ClipStepNorm, ClipStepValue, ClipGlobalNorm}[trial%3]
		s.Bidir = trial%7 == 0
		r := mustProfile(t, s)
		counts[s.Clip]++
		if !slicesEqual(r.Profile.DEds, r.Profile.DEdsRaw) || r.GradNormClipped < r.GradNorm {
			fired[s.Clip]++
		}
		theta := s.Threshold
		for k, v := range r.Profile.DEds {
			if math.IsNaN(v) {
				continue // an overflowed run has no direction to clip
			}
			switch s.Clip {
			case ClipStepNorm:
				if v > theta*(1+1e-12) {
					t.Fatalf("trial %d %+v: step-norm ‖∂E/∂s_%d‖ = %g > θ = %g", trial, s, k+1, v, theta)
				}
			case ClipStepValue:
				if v > theta*math.Sqrt(float64(s.H))*(1+1e-12) {
					t.Fatalf("trial %d %+v: step-value ‖∂E/∂s_%d‖ = %g > θ√H = %g", trial, s, k+1, v, theta*math.Sqrt(float64(s.H)))
				}
			case ClipGlobalNorm:
				if raw := r.Profile.DEdsRaw[k]; v != raw {
					t.Fatalf("trial %d: global-norm changed the profile at step %d: %g, raw %g", trial, k+1, v, raw)
				}
			}
		}
		if s.Clip == ClipGlobalNorm && !math.IsNaN(r.GradNorm) && !math.IsInf(r.GradNorm, 0) {
			if r.GradNormClipped > theta*(1+1e-12) {
				t.Fatalf("trial %d %+v: global-norm clipped gradient %g > θ = %g", trial, s, r.GradNormClipped, theta)
			}
			if want := math.Min(r.GradNorm, theta); math.Abs(r.GradNormClipped-want) > 1e-12*want {
				t.Fatalf("trial %d: clipped gradient norm %g, want min(%g, θ=%g)", trial, r.GradNormClipped, r.GradNorm, theta)
			}
		}
	}
	// A property that held only because clipping never fired would
	// prove nothing.
	for _, m := range []ClipMode{ClipStepNorm, ClipStepValue, ClipGlobalNorm} {
		if counts[m] < 100 || fired[m] < counts[m]/3 {
			t.Errorf("%s: %d trials, clipping fired in %d; want at least 100 trials and a third fired", m, counts[m], fired[m])
		}
	}
}

// TestSameSeedSameBits runs random settings twice, the second time on
// another goroutine while a different run shares the machine, and
// compares every number bit for bit.
func TestSameSeedSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for trial := range 120 {
		s := randomSettings(rng, 150, 32)
		s.Bidir = trial%5 == 0
		a := mustProfile(t, s)
		done := make(chan *Result)
		// Exits after one profile.
		go func() { done <- mustProfile(t, randomSettings(rng, 50, 16)) }()
		b := mustProfile(t, s)
		<-done
		if err := sameResult(a, b); err != nil {
			t.Fatalf("trial %d %+v: %v", trial, s, err)
		}
	}
}

// sameResult compares every number of two results bit for bit, and
// their overflow reports.
func sameResult(a, b *Result) error {
	series := func(r *Result) [][]float64 {
		p := r.Profile
		out := [][]float64{p.DEds, p.DEdsRaw, p.DEdc, p.DEdcRaw, p.DEdsRev, p.DEdsRevRaw, p.StateNorm, p.JacobianNorm, p.Bound, p.CellPath, p.ForgetPrediction, r.Params.Data, r.Inputs, {r.Loss, r.GradNorm, r.GradNormClipped}}
		if r.Spectrum != nil {
			out = append(out, r.Spectrum.SingularValues)
		}
		return out
	}
	sa, sb := series(a), series(b)
	if len(sa) != len(sb) {
		return fmt.Errorf("one has a spectrum, the other not")
	}
	for i := range sa {
		if len(sa[i]) != len(sb[i]) {
			return fmt.Errorf("series %d has %d and %d values", i, len(sa[i]), len(sb[i]))
		}
		for k := range sa[i] {
			if math.Float64bits(sa[i][k]) != math.Float64bits(sb[i][k]) {
				return fmt.Errorf("series %d[%d]: %v and %v", i, k, sa[i][k], sb[i][k])
			}
		}
	}
	if a.Overflow != b.Overflow {
		return fmt.Errorf("overflow %+v and %+v", a.Overflow, b.Overflow)
	}
	if !slices.Equal(a.Targets, b.Targets) {
		return fmt.Errorf("targets differ")
	}
	return nil
}

// TestOverflowIsData runs settings whose forward pass overflows: the run
// completes, says where, and carries NaN rather than failing.
func TestOverflowIsData(t *testing.T) {
	for _, s := range []Settings{
		{Cell: CellRNN, Act: ActLinear, T: 2000, H: 8, D: 4, K: 4, Init: InitGaussian, Gain: 6, Clip: ClipNone, Threshold: 1, Loss: LossLast, Seed: 1},
		{Cell: CellRNN, Act: ActReLU, T: 2000, H: 16, D: 4, K: 4, Init: InitIdentity, Gain: 2, Clip: ClipStepNorm, Threshold: 1, Loss: LossSum, Seed: 2},
		{Cell: CellRNN, Act: ActLinear, T: 1000, H: 8, D: 4, K: 4, Init: InitOrthogonal, Gain: 3, Clip: ClipGlobalNorm, Threshold: 1, Loss: LossLast, Seed: 3, Bidir: true},
	} {
		r := mustProfile(t, s)
		if r.Overflow.Forward < 1 || r.Overflow.Forward > s.T {
			t.Errorf("%+v: overflow.Forward got %d, want the step where the states overflowed", s, r.Overflow.Forward)
		}
		if !math.IsInf(r.Profile.StateNorm[r.Overflow.Forward-1], 0) && !math.IsNaN(r.Profile.StateNorm[r.Overflow.Forward-1]) {
			t.Errorf("%+v: ‖s_t‖ at the overflow step got %g, want Inf or NaN", s, r.Profile.StateNorm[r.Overflow.Forward-1])
		}
		// The norm may pass the largest float a step or two before any
		// component does, but the run starts finite.
		if !(r.Profile.StateNorm[0] < math.Inf(1)) {
			t.Errorf("%+v: ‖s_1‖ got %g, want finite", s, r.Profile.StateNorm[0])
		}
		if !r.Overflow.Loss || !math.IsNaN(r.Loss) {
			t.Errorf("%+v: loss got %g (flagged %v), want NaN and flagged", s, r.Loss, r.Overflow.Loss)
		}
	}
}

// countingContext reports cancellation once Err has been asked limit
// times, so a test can see how many steps run after cancellation.
type countingContext struct {
	context.Context
	calls, limit int64
}

func (c *countingContext) Err() error {
	if atomic.AddInt64(&c.calls, 1) > c.limit {
		return context.Canceled
	}
	return nil
}

// TestCancellationStopsWithinOneStep cancels the forward and the
// backward pass part-way: each asks the context once per step, so once it
// says cancelled the pass ends at that step, with the context's error.
func TestCancellationStopsWithinOneStep(t *testing.T) {
	const T = 300
	for _, cell := range Cells {
		s := Defaults()
		s.Cell, s.T, s.H, s.Bidir = cell, T, 8, cell == CellGRU
		p := InitParams(s)
		inputs, targets := sequence(s)
		b := &batch{T: T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, T), weight: 1}
		b.mask[T-1] = true
		steps := int64(T * p.Dirs)
		for _, limit := range []int64{0, 1, 150, steps - 1} {
			ctx := &countingContext{Context: context.Background(), limit: limit}
			if _, err := forward(ctx, p, s.Act, b, nil); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s forward cancelled after %d checks: err %v, want context.Canceled", cell, limit, err)
			}
			if ctx.calls != limit+1 {
				t.Errorf("%s forward cancelled after %d checks: %d checks, want %d (one step more)", cell, limit, ctx.calls, limit+1)
			}
			tp, err := forward(context.Background(), p, s.Act, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx = &countingContext{Context: context.Background(), limit: limit}
			grads := NewParams(p.Cell, p.H, p.D, p.K, p.Dirs)
			if err := backward(ctx, tp, grads, &backwardOptions{}); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s backward cancelled after %d checks: err %v, want context.Canceled", cell, limit, err)
			}
			if ctx.calls != limit+1 {
				t.Errorf("%s backward cancelled after %d checks: %d checks, want %d (one step more)", cell, limit, ctx.calls, limit+1)
			}
		}
	}
	// A cancelled profile does not wait for its spectrum, whose
	// decomposition cannot be interrupted: here the decomposition cancels
	// the profile as it starts and never ends until the profile has
	// returned.
	s := Defaults()
	s.T, s.H = 300, 16
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	th := &theorySource{spectrum: func() *Spectrum {
		cancel()
		<-release
		return nil
	}}
	returned := make(chan error, 1)
	// Exits when profileOf returns.
	go func() {
		_, err := profileOf(ctx, s, newPasses(s), th)
		returned <- err
	}()
	select {
	case err := <-returned:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled profile: err %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute): // a hang, not a speed limit
		t.Error("the cancelled profile waited for the spectrum")
	}
	close(release)
}

func slicesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// TestBatchSplitSameBits checks that a sequence's states and gate
// gradients do not depend on which other sequences share its batch or
// where the batch is split between goroutines: a batch of 8 (halves of 4)
// and two batches of 4 (halves of 2) must agree bit for bit.
func TestBatchSplitSameBits(t *testing.T) {
	for _, cell := range Cells {
		t.Run(string(cell), func(t *testing.T) {
			ts := DefaultTrainSettings()
			ts.Model.Cell, ts.Model.T, ts.Model.H, ts.Model.Bidir = cell, 9, 8, true
			tr := NewTrainer(ts)
			const B = 8
			full := makeBatch(ts.Task, ts.Model.T, ts.Model.K, B, stream(3, "split"))
			run := func(b *batch) *tape {
				tp, err := forward(context.Background(), tr.Params(), ts.Model.Act, b, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := backward(context.Background(), tp, NewParams(cell, tr.model.H, tr.model.D, tr.model.K, tr.Params().Dirs), &backwardOptions{}); err != nil {
					t.Fatal(err)
				}
				return tp
			}
			whole := run(full)
			T, D, H := full.T, full.D, tr.model.H
			gh := cell.Gates() * H
			for _, r0 := range []int{0, 4} {
				part := &batch{T: T, B: 4, D: D, X: make([]float64, T*4*D), mask: make([]bool, T*4), classes: make([]int, T*4), weight: full.weight}
				for s := range T {
					for r := range 4 {
						src, dst := s*B+r0+r, s*4+r
						copy(part.X[dst*D:(dst+1)*D], full.X[src*D:(src+1)*D])
						part.mask[dst], part.classes[dst] = full.mask[src], full.classes[src]
					}
				}
				half := run(part)
				if !cell.Info().Recurrent {
					// Attention: the states and every ∂E/∂a_t, through all paths.
					for s := range T {
						for r := range 4 {
							src, dst := s*B+r0+r, s*4+r
							if !sameBits(whole.chain[0].s[(src+B)*H:(src+B+1)*H], half.chain[0].s[(dst+4)*H:(dst+5)*H]) {
								t.Fatalf("step %d sequence %d: states differ", s+1, r0+r)
							}
							if !sameBits(whole.attn.deltaAt[src*H:(src+1)*H], half.attn.deltaAt[dst*H:(dst+1)*H]) {
								t.Fatalf("step %d sequence %d: ∂E/∂a differs", s+1, r0+r)
							}
						}
					}
					continue
				}
				for d := range 2 {
					for s := range T {
						for r := range 4 {
							src, dst := s*B+r0+r, s*4+r
							if !sameBits(whole.chain[d].s[(src+B)*H:(src+B+1)*H], half.chain[d].s[(dst+4)*H:(dst+5)*H]) {
								t.Fatalf("chain %d step %d sequence %d: states differ", d, s+1, r0+r)
							}
							if !sameBits(whole.back.dAx[d][src*gh:(src+1)*gh], half.back.dAx[d][dst*gh:(dst+1)*gh]) {
								t.Fatalf("chain %d step %d sequence %d: gate gradients differ", d, s+1, r0+r)
							}
						}
					}
				}
			}
		})
	}
}

func sameBits(a, b []float64) bool {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}
