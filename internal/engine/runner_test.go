package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
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

// TestProfileFirstThenJacobians: a profile without its Jacobian norms is
// the full profile less that series, bit for bit, and JacobianNorms then
// supplies the series the full profile has, from a cold Runner and from
// one that knows part of it.
func TestProfileFirstThenJacobians(t *testing.T) {
	for _, s := range []Settings{
		func() Settings { s := Defaults(); s.H, s.T = 24, 150; return s }(),
		func() Settings { s := Defaults(); s.Act, s.H, s.T, s.Gain = ActReLU, 16, 90, 1.3; return s }(),
		func() Settings {
			s := Defaults()
			s.Init, s.H, s.T, s.Clip, s.Threshold, s.Bidir = InitOrthogonal, 12, 60, ClipStepNorm, 0.1, true
			return s
		}(),
	} {
		full := mustProfile(t, s)
		for _, r := range []*Runner{NewRunner(4), func() *Runner {
			r := NewRunner(4)
			shorter := s
			shorter.T = s.T / 2
			if _, err := r.Profile(context.Background(), shorter); err != nil {
				t.Fatal(err)
			}
			return r
		}()} {
			first, err := r.ProfileWith(context.Background(), s, ProfileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if first.Profile.JacobianNorm != nil {
				t.Fatalf("%+v: profile without Jacobians carries %d of them", s, len(first.Profile.JacobianNorm))
			}
			for _, c := range []struct {
				name        string
				first, full []float64
			}{
				{"dE_ds", first.Profile.DEds, full.Profile.DEds},
				{"dE_ds_raw", first.Profile.DEdsRaw, full.Profile.DEdsRaw},
				{"bound", first.Profile.Bound, full.Profile.Bound},
				{"stateNorm", first.Profile.StateNorm, full.Profile.StateNorm},
			} {
				if !slicesEqual(c.first, c.full) {
					t.Errorf("%+v: %s differs without the Jacobians", s, c.name)
				}
			}
			jn, err := r.JacobianNorms(context.Background(), first)
			if err != nil {
				t.Fatal(err)
			}
			if !slicesEqual(jn, full.Profile.JacobianNorm) || !slicesEqual(first.Profile.JacobianNorm, jn) {
				t.Errorf("%+v: Jacobian norms afterwards differ from the full profile's", s)
			}
		}
	}
	s := Defaults()
	s.Cell = CellLSTM
	res, err := NewRunner(1).ProfileWith(context.Background(), s, ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRunner(1).JacobianNorms(context.Background(), res); err == nil {
		t.Error("Jacobian norms of an LSTM profile: got no error")
	}
}

// TestWorkingBytesBoundsAllocation: the estimate a server reserves for a
// profile is at least what the profile allocates in all, for every cell
// and both directions, and not more than twenty times it.
func TestWorkingBytesBoundsAllocation(t *testing.T) {
	for _, cell := range Cells {
		for _, bidir := range []bool{false, true} {
			s := Defaults()
			s.Cell, s.T, s.H, s.Bidir, s.Clip, s.Threshold = cell, 400, 48, bidir, ClipStepNorm, 0.1
			r := NewRunner(0)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			if _, err := r.ProfileWith(context.Background(), s, ProfileOptions{}); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			allocated := int64(after.TotalAlloc - before.TotalAlloc)
			if est := s.WorkingBytes(1); est < allocated || est > 20*allocated {
				t.Errorf("%s bidir=%v: estimate %d bytes, the profile allocated %d", cell, bidir, est, allocated)
			}
		}
	}
}

// refusingLender lends no core, as a busy server does.
type refusingLender struct{ borrows int }

func (l *refusingLender) Pause(context.Context) error { return nil }
func (l *refusingLender) Borrow() (func(), bool) {
	l.borrows++
	return nil, false
}

// TestNoLentCoreSameBits: a profile and a training step computed on the
// caller's goroutine alone, as when the server lends no second core,
// give the same bits as with every helper goroutine.
func TestNoLentCoreSameBits(t *testing.T) {
	l := &refusingLender{}
	alone := WithPacer(context.Background(), l)
	for i, cell := range Cells {
		s := Defaults()
		s.Cell, s.T, s.H, s.Bidir = cell, 120, 16, cell == CellGRU
		// Step clipping adds a second backward pass, run beside the first
		// when a core is lent.
		s.Clip, s.Threshold = []ClipMode{ClipStepNorm, ClipStepValue}[i%2], 0.01
		free, err := NewRunner(0).Profile(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		lone, err := NewRunner(0).Profile(alone, s)
		if err != nil {
			t.Fatal(err)
		}
		if slicesEqual(free.Profile.DEds, free.Profile.DEdsRaw) {
			t.Errorf("%s %s: clipping changed nothing, so the test compares nothing", cell, s.Clip)
		}
		if !slicesEqual(free.Profile.DEds, lone.Profile.DEds) || !slicesEqual(free.Profile.DEdsRaw, lone.Profile.DEdsRaw) ||
			free.GradNorm != lone.GradNorm || free.GradNormClipped != lone.GradNormClipped ||
			!slicesEqual(free.Profile.JacobianNorm, lone.Profile.JacobianNorm) || !slicesEqual(free.Profile.Bound, lone.Profile.Bound) {
			t.Errorf("%s profile: differs without a lent core", cell)
		}
		ts := DefaultTrainSettings()
		ts.Model.Cell, ts.Batch = cell, 8
		a, b := NewTrainer(ts), NewTrainer(ts)
		for range 3 {
			if _, err := a.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Step(alone); err != nil {
				t.Fatal(err)
			}
		}
		if !slicesEqual(a.Params().Data, b.Params().Data) {
			t.Errorf("%s training: parameters differ without a lent core", cell)
		}
	}
	if l.borrows == 0 {
		t.Error("nothing asked the lender for a core")
	}
}

// stepCounter is a Pacer that counts the steps of every pass.
type stepCounter struct{ n atomic.Int64 }

func (c *stepCounter) Pause(context.Context) error {
	c.n.Add(1)
	return nil
}

// TestKeptPassesAgreeWithFreshRuns drags Clipping and Threshold over
// random models on a Runner that keeps passes, as a slider does: every
// answer is bit for bit a fresh run's, a step mode runs one backward
// pass instead of three, and the other modes run none. The bound of
// 1 MiB is small enough that the Runner drops passes on the way.
func TestKeptPassesAgreeWithFreshRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	r := NewRunner(8).KeepPasses(1 << 20)
	fresh := NewRunner(0)
	ctx := context.Background()
	profile := func(r *Runner, s Settings) (*Result, int64) {
		t.Helper()
		var steps stepCounter
		res, err := r.ProfileWith(WithPacer(ctx, &steps), s, ProfileOptions{})
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		return res, steps.n.Load()
	}
	hits := map[bool]int{}
	// Random models, then models that overflow.
	models := make([]Settings, 80)
	for trial := range models {
		models[trial] = randomSettings(rng, 120, 24)
		models[trial].Bidir = trial%4 == 0
	}
	models = append(models,
		Settings{Cell: CellRNN, Act: ActLinear, T: 1000, H: 8, D: 4, K: 4, Init: InitGaussian, Gain: 6, Threshold: 1, Loss: LossLast, Seed: 1},
		Settings{Cell: CellRNN, Act: ActReLU, T: 1000, H: 16, D: 4, K: 4, Init: InitIdentity, Gain: 2, Threshold: 1, Loss: LossSum, Seed: 2},
		Settings{Cell: CellRNN, Act: ActLinear, T: 1000, H: 8, D: 4, K: 4, Init: InitOrthogonal, Gain: 3, Threshold: 1, Loss: LossLast, Seed: 3, Bidir: true},
	)
	overflowed := 0
	for trial, s := range models {
		s.Clip = ClipStepNorm // the first run records both backward passes
		_, first := profile(r, s)
		for range 4 {
			s.Clip = ClipModes[rng.IntN(len(ClipModes))]
			s.Threshold = math.Exp(rng.Float64()*math.Log(1e4)) / 100
			got, steps := profile(r, s)
			want, _ := profile(fresh, s)
			if err := sameResult(got, want); err != nil {
				t.Fatalf("trial %d %+v: kept passes against a fresh run: %v", trial, s, err)
			}
			if got.Overflow.Backward != 0 {
				overflowed++
			}
			step := s.Clip.IsStep()
			hits[step]++
			switch {
			case !step && steps != 0:
				t.Fatalf("trial %d %+v: %d steps, want none: the passes were kept", trial, s, steps)
			case step && 2*steps > first:
				t.Fatalf("trial %d %+v: %d steps against %d for the first run, want one backward pass of three", trial, s, steps, first)
			}
		}
	}
	if overflowed < 5 {
		t.Errorf("%d changes overflowed on the way back, want at least 5", overflowed)
	}
	if hits[true] < 50 || hits[false] < 50 {
		t.Errorf("%d changes to a step mode and %d to another, want 50 of each", hits[true], hits[false])
	}
	if r.passTotal > 1<<20 || len(r.passes) == 0 || len(r.passes) > maxKeptPasses {
		t.Errorf("kept %d passes of %d bytes, want some, and at most %d of at most 1 MiB", len(r.passes), r.passTotal, maxKeptPasses)
	}
}

// TestKeptPassesShared runs threshold changes of one model on several
// goroutines at once: they share the kept forward record and each gets
// a fresh run's answer (the race detector watches the sharing).
func TestKeptPassesShared(t *testing.T) {
	s := Defaults()
	s.Cell, s.T, s.H, s.Clip = CellLSTM, 200, 16, ClipStepNorm
	r := NewRunner(4).KeepPasses(64 << 20)
	if _, err := r.Profile(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := range 8 {
		// Exits after two profiles.
		go func() {
			s := s
			s.Threshold = 0.05 * float64(i+1)
			got, err := r.Profile(context.Background(), s)
			if err != nil {
				errs <- err
				return
			}
			want, err := BackpropProfile(context.Background(), s)
			if err == nil {
				err = sameResult(got, want)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestKeptPassesSignedZero profiles gain +0 and then −0 on a Runner that
// keeps passes: −0 makes weights of −0, so it must not be served +0's.
func TestKeptPassesSignedZero(t *testing.T) {
	r := NewRunner(4).KeepPasses(64 << 20)
	s := Defaults()
	s.T, s.H = 20, 4
	for _, g := range []float64{0, math.Copysign(0, -1)} {
		s.Gain = g
		got, err := r.Profile(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameResult(got, mustProfile(t, s)); err != nil {
			t.Errorf("gain %v: kept passes against a fresh run: %v", g, err)
		}
	}
}
