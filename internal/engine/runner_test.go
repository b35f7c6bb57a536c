package engine

import (
	"context"
	"math"
	"testing"
)

// TestRunnerCachesAgreeWithColdRuns drags a profile through the settings
// a slider changes and checks that every cached answer is bit for bit the
// answer of a fresh run.
func TestRunnerCachesAgreeWithColdRuns(t *testing.T) {
	r := NewRunner(8)
	s := Defaults()
	s.H = 24
	steps := []func(*Settings){
		func(s *Settings) { s.T = 50 },
		func(s *Settings) { s.T = 120 },
		func(s *Settings) { s.T = 80 },
		func(s *Settings) { s.Clip, s.Threshold = ClipStepNorm, 0.01 },
		func(s *Settings) { s.Loss = LossSum },
		func(s *Settings) { s.Gain = 1.7 },
		func(s *Settings) { s.Act = ActSigmoid },
		func(s *Settings) { s.T = 200 },
	}
	for i, change := range steps {
		change(&s)
		warm, err := r.Profile(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		cold := mustProfile(t, s)
		for _, c := range []struct {
			name       string
			warm, cold []float64
		}{
			{"jacobianNorm", warm.Profile.JacobianNorm, cold.Profile.JacobianNorm},
			{"bound", warm.Profile.Bound, cold.Profile.Bound},
			{"dE_ds", warm.Profile.DEds, cold.Profile.DEds},
			{"singularValues", warm.Spectrum.SingularValues, cold.Spectrum.SingularValues},
		} {
			if len(c.warm) != len(c.cold) {
				t.Fatalf("step %d %s: %d values, want %d", i, c.name, len(c.warm), len(c.cold))
			}
			for k := range c.warm {
				if math.Float64bits(c.warm[k]) != math.Float64bits(c.cold[k]) {
					t.Fatalf("step %d %+v %s[%d]: cached %v, fresh %v", i, s, c.name, k, c.warm[k], c.cold[k])
				}
			}
		}
	}
}

// TestNoAllocationPerStep checks that the forward and backward passes
// allocate per run, never per step. On an idle machine a run of 2000
// steps allocates the same objects as one of 100; under load the
// runtime's hand-overs to the gradient goroutine, one per 128-step chunk,
// have been seen to add a few dozen. One allocation per step would add
// 1900 objects, so the bound is one object per four steps.
func TestNoAllocationPerStep(t *testing.T) {
	for _, cell := range Cells {
		allocs := func(T int) float64 {
			s := Defaults()
			s.Cell, s.T, s.H = cell, T, 16
			p := InitParams(s)
			inputs, targets := sequence(s)
			b := &batch{T: T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, T), weight: 1}
			b.mask[T-1] = true
			grads := NewParams(p.Cell, p.H, p.D, p.K, p.Dirs)
			return testing.AllocsPerRun(5, func() {
				tp, err := forward(context.Background(), p, s.Act, b, nil)
				if err != nil {
					t.Fatal(err)
				}
				opts := backwardOptions{}
				if err := backward(context.Background(), tp, grads, &opts); err != nil {
					t.Fatal(err)
				}
			})
		}
		short, long := allocs(100), allocs(2000)
		if extra, bound := long-short, float64(2000-100)/4; extra > bound {
			t.Errorf("%s: T=100 allocates %.0f objects, T=2000 %.0f: %.0f more, want at most %.0f (one per four steps)", cell, short, long, extra, bound)
		}
	}
}
