package engine

import (
	"context"
	"fmt"
	"testing"
)

// benchGains are the gains BenchmarkGainChange and BenchmarkPasses cycle
// through, 0.5 to 1.5: fading, near the edge and exploding. A fading run's
// δ_k reach the subnormal range (below 2.2e-308), where some processors
// take a slow path for every operation, so the two benchmarks must see
// the same models for their ratio to mean anything.
var benchGains = func() []float64 {
	g := make([]float64, 16)
	for i := range g {
		g[i] = 0.5 + float64(i)/15
	}
	return g
}()

// BenchmarkGainChange measures what the page waits for when Gain moves:
// a new model (every gain is one) profiled without its per-step Jacobian
// norms, by a Runner that knows the spectrum of the gain-1 matrix, as the
// server's does after the first request. The gain changes every
// iteration (through benchGains), so nothing else is cached.
func BenchmarkGainChange(b *testing.B) {
	for _, cell := range Cells {
		for _, size := range []struct{ T, H int }{{100, 32}, {1000, 128}} {
			b.Run(fmt.Sprintf("cell=%s/T=%d/H=%d", cell, size.T, size.H), func(b *testing.B) {
				s := Defaults()
				s.Cell, s.T, s.H = cell, size.T, size.H
				benchmarkDrag(b, NewRunner(4), s, func(s *Settings, i int) { s.Gain = benchGains[i%len(benchGains)] })
			})
		}
	}
}

// BenchmarkPasses measures the bare forward and backward pass through
// time of one sequence, parameter gradients included: the floor that a
// profile adds only norms and theory to. It cycles through the models of
// BenchmarkGainChange, made beforehand.
func BenchmarkPasses(b *testing.B) {
	for _, cell := range Cells {
		for _, size := range []struct{ T, H int }{{100, 32}, {1000, 128}} {
			b.Run(fmt.Sprintf("cell=%s/T=%d/H=%d", cell, size.T, size.H), func(b *testing.B) {
				s := Defaults()
				s.Cell, s.T, s.H = cell, size.T, size.H
				models := make([]*Params, len(benchGains))
				for i, g := range benchGains {
					s.Gain = g
					models[i] = InitParams(s)
				}
				inputs, targets := sequence(s)
				bt := &batch{T: s.T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, s.T), weight: 1}
				bt.mask[s.T-1] = true
				grads := NewParams(models[0].Cell, s.H, s.D, s.K, s.Directions())
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					tp, err := forward(context.Background(), models[i%len(models)], s.Act, bt, nil)
					if err != nil {
						b.Fatal(err)
					}
					clear(grads.Data)
					if err := backward(context.Background(), tp, grads, &backwardOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkJacobianNorms measures the per-step factors ‖J_k‖ of a new
// RNN model, which the page asks for only while it draws them.
func BenchmarkJacobianNorms(b *testing.B) {
	for _, size := range []struct{ T, H int }{{100, 32}, {1000, 128}} {
		b.Run(fmt.Sprintf("cell=rnn/T=%d/H=%d", size.T, size.H), func(b *testing.B) {
			r := NewRunner(0) // keeps nothing: every solve is done again
			s := Defaults()
			s.T, s.H = size.T, size.H
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				res, err := r.ProfileWith(context.Background(), s, ProfileOptions{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := r.JacobianNorms(context.Background(), res); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkThresholdChange measures what the page waits for when
// Threshold moves: on a Runner that keeps passes, as the server's does
// (kept=yes), one clipped backward pass for step-norm clipping and none
// for global-norm; on one that keeps none (kept=no), the whole profile.
// benchstat -col /kept compares the two.
func BenchmarkThresholdChange(b *testing.B) {
	for _, cell := range Cells {
		for _, clip := range []ClipMode{ClipStepNorm, ClipGlobalNorm} {
			for _, kept := range []bool{true, false} {
				b.Run(fmt.Sprintf("cell=%s/T=1000/H=128/clip=%s/kept=%s", cell, clip, map[bool]string{true: "yes", false: "no"}[kept]), func(b *testing.B) {
					benchmarkThresholdChange(b, cell, clip, kept)
				})
			}
		}
	}
}

func benchmarkThresholdChange(b *testing.B, cell Cell, clip ClipMode, kept bool) {
	r := NewRunner(4)
	if kept {
		r.KeepPasses(64 << 20)
	}
	s := Defaults()
	s.Cell, s.T, s.H, s.Clip = cell, 1000, 128, clip
	benchmarkDrag(b, r, s, func(s *Settings, i int) { s.Threshold = 0.5 + float64(i%20)/10 })
}

// benchmarkDrag profiles s once, then times the profiles r makes while
// change moves one setting at every iteration i, as a slider drag does.
func benchmarkDrag(b *testing.B, r *Runner, s Settings, change func(s *Settings, i int)) {
	if _, err := r.ProfileWith(context.Background(), s, ProfileOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		change(&s, i)
		if _, err := r.ProfileWith(context.Background(), s, ProfileOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFading measures profiles whose δ_k fade through the
// subnormal range (below 2.2e-308) against one that does not, at
// T=1000, H=128: processors that take a slow path for subnormal
// operands make the first two slower, for the same arithmetic.
// subnormal-steps reports how many steps of the profile are there.
func BenchmarkFading(b *testing.B) {
	for _, c := range []struct {
		name string
		act  Activation
		gain float64
	}{{"tanh/gain=0.8", ActTanh, 0.8}, {"tanh/gain=0.5", ActTanh, 0.5}, {"sigmoid/gain=1", ActSigmoid, 1}} {
		b.Run(c.name, func(b *testing.B) {
			s := Defaults()
			s.T, s.H, s.Act, s.Gain = 1000, 128, c.act, c.gain
			r := NewRunner(4)
			res, err := r.ProfileWith(context.Background(), s, ProfileOptions{})
			if err != nil {
				b.Fatal(err)
			}
			subnormal := 0
			for _, v := range res.Profile.DEds {
				if v != 0 && v < 0x1p-1022 {
					subnormal++
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ProfileWith(context.Background(), s, ProfileOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(subnormal), "subnormal-steps")
		})
	}
}
