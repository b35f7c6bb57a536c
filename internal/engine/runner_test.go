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
