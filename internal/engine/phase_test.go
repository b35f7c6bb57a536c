package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// TestPhaseMatchesProfiles: every point of a diagram is the two ends of
// the profile of its settings, bit for bit, and its decades are their
// log ratio, for every axis, cell (self-attention too), step clipping
// mode, loss and direction.
func TestPhaseMatchesProfiles(t *testing.T) {
	cases := []struct {
		name string
		base func(*Settings)
		x, y Axis
	}{
		{"rnn tanh gain×T", func(*Settings) {}, Axis{AxisGain, 4, 0.5, 2}, Axis{AxisT, 3, 2, 40}},
		{"rnn T×gain (T changes along a row)", func(*Settings) {}, Axis{AxisT, 4, 1, 30}, Axis{AxisGain, 3, 0.2, 1.4}},
		{"rnn sigmoid step-norm gain×H", func(s *Settings) { s.Act, s.Clip, s.Threshold = ActSigmoid, ClipStepNorm, 0.05 }, Axis{AxisGain, 3, 1, 5}, Axis{AxisH, 3, 2, 12}},
		{"rnn relu step-value sum", func(s *Settings) { s.Act, s.Clip, s.Threshold, s.Loss = ActReLU, ClipStepValue, 0.1, LossSum }, Axis{AxisGain, 3, 0.5, 2.5}, Axis{AxisT, 2, 5, 25}},
		{"lstm forgetBias×T", func(s *Settings) { s.Cell = CellLSTM }, Axis{AxisForgetBias, 3, -1, 3}, Axis{AxisT, 3, 3, 30}},
		{"gru bidirectional H×gain", func(s *Settings) { s.Cell, s.Bidir = CellGRU, true }, Axis{AxisH, 3, 3, 9}, Axis{AxisGain, 2, 0.5, 3}},
		{"rnn linear explodes", func(s *Settings) { s.Act = ActLinear }, Axis{AxisGain, 2, 1, 60}, Axis{AxisT, 2, 50, 400}},
		{"attn gain×T", func(s *Settings) { s.Cell = CellAttn }, Axis{AxisGain, 3, 0.5, 2}, Axis{AxisT, 3, 2, 30}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := Defaults()
			base.H, base.T = 8, 20
			tc.base(&base)
			ph, err := PhaseDiagram(context.Background(), base, tc.x, tc.y, func(row *PhaseRow) error {
				for c := range row.Decades {
					s := phaseAt(base, tc.x, tc.y, row.Row, c)
					res, err := BackpropProfile(context.Background(), s)
					if err != nil {
						t.Fatal(err)
					}
					first, last := res.Profile.DEds[0], res.Profile.DEds[s.T-1]
					if !phaseSameBits(row.First[c], first) || !phaseSameBits(row.Last[c], last) {
						t.Errorf("row %d col %d (%s=%g, %s=%g): ends %v, %v; the profile's %v, %v",
							row.Row, c, tc.x.Name, tc.x.Values()[c], tc.y.Name, tc.y.Values()[row.Row], row.First[c], row.Last[c], first, last)
					}
					if want := math.Log10(first) - math.Log10(last); !phaseSameBits(row.Decades[c], want) {
						t.Errorf("row %d col %d: %v decades, want %v", row.Row, c, row.Decades[c], want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(ph.Xs) != tc.x.N || len(ph.Ys) != tc.y.N {
				t.Errorf("grid %d×%d, want %d×%d", len(ph.Xs), len(ph.Ys), tc.x.N, tc.y.N)
			}
		})
	}
}

// phaseAt builds the settings of a grid point directly, not through Phase.
func phaseAt(base Settings, x, y Axis, r, c int) Settings {
	s := base
	for _, a := range []struct {
		axis Axis
		i    int
	}{{x, c}, {y, r}} {
		v := a.axis.Values()[a.i]
		switch a.axis.Name {
		case AxisGain:
			s.Gain = v
		case AxisT:
			s.T = int(v)
		case AxisH:
			s.H = int(v)
		case AxisForgetBias:
			s.ForgetBias = v
		}
	}
	return s
}

func phaseSameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// TestPhaseExploding: an exploding linear RNN gives non-finite decades,
// not a failure, and a vanishing sigmoid RNN negative ones.
func TestPhaseExploding(t *testing.T) {
	base := Defaults()
	base.Act, base.H = ActLinear, 8
	var rows []*PhaseRow
	_, err := PhaseDiagram(context.Background(), base, Axis{AxisGain, 2, 0.1, 80}, Axis{AxisT, 2, 300, 600}, func(r *PhaseRow) error {
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if v := r.Decades[0]; !(v < 0) {
			t.Errorf("T=%d gain 0.1: %v decades, want negative (vanishing)", []int{300, 600}[r.Row], v)
		}
		if v := r.Decades[1]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			t.Errorf("T=%d gain 80: %v decades, want Inf or NaN (overflow)", []int{300, 600}[r.Row], v)
		}
	}
}

// TestPhaseRowsInOrder: the rows come one at a time, in order, each with
// one value per X, and an error from onRow stops the diagram.
func TestPhaseRowsInOrder(t *testing.T) {
	base := Defaults()
	base.H = 4
	var got []int
	_, err := PhaseDiagram(context.Background(), base, Axis{AxisGain, 5, 0, 2}, Axis{AxisT, 7, 2, 14}, func(r *PhaseRow) error {
		got = append(got, r.Row)
		if len(r.Decades) != 5 || len(r.First) != 5 || len(r.Last) != 5 {
			t.Errorf("row %d has %d values, want 5", r.Row, len(r.Decades))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4 5 6]" {
		t.Errorf("rows %v, want 0..6 in order", got)
	}
	stop := errors.New("stop")
	n := 0
	_, err = PhaseDiagram(context.Background(), base, Axis{AxisGain, 3, 0, 2}, Axis{AxisT, 5, 2, 10}, func(*PhaseRow) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("onRow's error after %d rows: got %v, want it after 2", n, err)
	}
}

// cancellingPacer cancels its context after a number of steps, and lends
// a core or not. It counts a step and cancels under one lock, so no
// other goroutine takes a step between the count and the cancel.
type cancellingPacer struct {
	cancel context.CancelFunc
	after  int
	lend   bool

	mu      sync.Mutex
	steps   int
	pausers map[string]bool // the goroutines that paused, by their stack's id
}

func (p *cancellingPacer) Pause(ctx context.Context) error {
	var buf [64]byte
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine "), " ")
	p.mu.Lock()
	if p.pausers == nil {
		p.pausers = map[string]bool{}
	}
	p.pausers[id] = true
	p.steps++
	if p.steps == p.after {
		p.cancel()
	}
	p.mu.Unlock()
	return ctx.Err()
}

// counts returns the steps taken and the goroutines that took them.
func (p *cancellingPacer) counts() (steps, goroutines int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.steps, len(p.pausers)
}

func (p *cancellingPacer) Borrow() (func(), bool) { return func() {}, p.lend }

// TestPhaseCancel: a cancelled diagram stops within a step of every
// goroutine, delivers no row after the cancellation and says why.
func TestPhaseCancel(t *testing.T) {
	base := Defaults()
	base.H = 8
	x, y := Axis{AxisGain, 8, 0.5, 2}, Axis{AxisT, 8, 50, 100}
	for _, lend := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		// The first row is 8 points of 50 forward and 50 backward steps:
		// cancel in the middle of the second.
		p := &cancellingPacer{cancel: cancel, after: 8*100 + 300, lend: lend}
		rows := 0
		_, err := PhaseDiagram(WithPacer(ctx, p), base, x, y, func(*PhaseRow) error {
			rows++
			return nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("lend=%v: error %v, want context.Canceled", lend, err)
		}
		if rows != 1 {
			t.Errorf("lend=%v: %d rows delivered, want the 1 finished before the cancellation", lend, rows)
		}
		// Each goroutine notices at its next step: the one that saw the
		// cancellation stops there, each other one takes one step more at
		// most.
		if steps, g := p.counts(); steps > p.after+g-1 {
			t.Errorf("lend=%v: %d steps on %d goroutines, want the work to stop at step %d, or one step later on each other goroutine", lend, steps, g, p.after)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := PhaseDiagram(ctx, base, x, y, func(*PhaseRow) error {
		t.Error("a row from a cancelled diagram")
		return nil
	}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before the start: error %v", err)
	}
}

// TestPhaseNoLentCore: a row computed on one goroutine, as on a busy
// server, gives the same bits as one shared with a helper.
func TestPhaseNoLentCore(t *testing.T) {
	base := Defaults()
	base.H = 8
	ph, err := NewPhase(base, Axis{AxisGain, 9, 0.1, 3}, Axis{AxisT, 2, 10, 60})
	if err != nil {
		t.Fatal(err)
	}
	for r := range ph.Ys {
		shared, err := ph.Row(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		alone, err := ph.Row(WithPacer(context.Background(), &cancellingPacer{cancel: func() {}, after: -1}), r)
		if err != nil {
			t.Fatal(err)
		}
		for c := range shared.Decades {
			if !phaseSameBits(shared.Decades[c], alone.Decades[c]) {
				t.Errorf("row %d col %d: %v shared, %v alone", r, c, shared.Decades[c], alone.Decades[c])
			}
		}
	}
}

// TestPhaseAxes: the values reach both ends, whole numbers for T and H,
// and every bad axis is refused naming its field.
func TestPhaseAxes(t *testing.T) {
	if v := (Axis{AxisGain, 3, 0.1, 0.3}).Values(); v[0] != 0.1 || v[2] != 0.3 {
		t.Errorf("gain values %v, want the ends exactly", v)
	}
	if v := (Axis{AxisT, 4, 2, 11}).Values(); fmt.Sprint(v) != "[2 5 8 11]" {
		t.Errorf("T values %v, want [2 5 8 11]", v)
	}
	if v := (Axis{AxisH, 5, 1, 6}).Values(); fmt.Sprint(v) != "[1 2 4 5 6]" {
		t.Errorf("H values %v, want whole, distinct, increasing", v)
	}
	gain, T := Axis{AxisGain, 4, 0, 3}, Axis{AxisT, 4, 2, 100}
	rnn, lstm := Defaults(), Defaults()
	lstm.Cell = CellLSTM
	for _, tc := range []struct {
		base  Settings
		x, y  Axis
		field string
	}{
		{rnn, Axis{"depth", 4, 0, 3}, T, "x"},
		{rnn, gain, Axis{"", 4, 2, 100}, "y"},
		{rnn, gain, gain, "y"},
		{rnn, Axis{AxisForgetBias, 4, -1, 1}, T, "x"},
		{rnn, Axis{AxisGain, 1, 0, 3}, T, "nx"},
		{rnn, gain, Axis{AxisT, MaxPhasePoints + 1, 2, 1000}, "ny"},
		{rnn, Axis{AxisGain, 4, -1, 3}, T, "xmin"},
		{rnn, Axis{AxisGain, 4, 0, MaxGain + 1}, T, "xmax"},
		{rnn, Axis{AxisGain, 4, 2, 2}, T, "xmax"},
		{rnn, Axis{AxisGain, 4, math.NaN(), 2}, T, "xmin"},
		{rnn, gain, Axis{AxisT, 4, 0, 100}, "ymin"},
		{rnn, gain, Axis{AxisT, 4, 2, 10.5}, "ymax"},
		{rnn, gain, Axis{AxisT, 10, 2, 10}, "ny"},
		{rnn, gain, Axis{AxisH, 4, 8, 4}, "ymax"},
		{lstm, Axis{AxisForgetBias, 4, -30, 1}, T, "xmin"},
	} {
		_, err := NewPhase(tc.base, tc.x, tc.y)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("x %+v, y %+v: error %v, want one naming %s", tc.x, tc.y, err, tc.field)
		}
	}
	if _, err := NewPhase(lstm, Axis{AxisForgetBias, 4, -3, 3}, T); err != nil {
		t.Errorf("forgetBias for an lstm: %v", err)
	}
}

// TestEdgeOfChaos: at the edge's gain γ·σ_max(Wh) is 1, for each
// activation and H; a gated cell has none; the curve follows the axis
// that is not gain.
func TestEdgeOfChaos(t *testing.T) {
	r := NewRunner(8)
	for _, act := range []Activation{ActSigmoid, ActTanh, ActReLU} {
		for _, h := range []int{4, 16} {
			s := Defaults()
			s.Act, s.H = act, h
			s.Gain = r.EdgeOfChaos(s)
			res, err := r.Profile(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if g := res.Spectrum.Gamma * res.Spectrum.SigmaMax; math.Abs(g-1) > 1e-12 {
				t.Errorf("%s H=%d: γ·σ_max = %v at the edge's gain %v, want 1", act, h, g, s.Gain)
			}
		}
	}
	s := Defaults()
	s.Init = InitIdentity
	if g := r.EdgeOfChaos(s); math.Abs(g-1) > 1e-12 {
		t.Errorf("tanh with identity Wh: edge at gain %v, want 1", g)
	}
	s.Cell = CellLSTM
	if g := r.EdgeOfChaos(s); !math.IsNaN(g) {
		t.Errorf("lstm: edge %v, want NaN", g)
	}

	base := Defaults()
	for _, tc := range []struct {
		x, y  Axis
		along PhaseAxis
		n     int
	}{
		{Axis{AxisGain, 4, 0, 3}, Axis{AxisH, 3, 4, 16}, AxisH, 3},
		{Axis{AxisT, 5, 2, 30}, Axis{AxisGain, 4, 0, 3}, AxisT, 5},
		{Axis{AxisT, 5, 2, 30}, Axis{AxisH, 3, 4, 16}, "", 0},
	} {
		ph, err := NewPhase(base, tc.x, tc.y)
		if err != nil {
			t.Fatal(err)
		}
		along, gains, err := r.PhaseEdge(context.Background(), ph)
		if err != nil || along != tc.along || len(gains) != tc.n {
			t.Errorf("x %s, y %s: edge along %q with %d gains (%v), want along %q with %d", tc.x.Name, tc.y.Name, along, len(gains), err, tc.along, tc.n)
		}
		if tc.along != AxisH {
			continue
		}
		for i, g := range gains {
			if want := r.EdgeOfChaos(ph.Point(i, 0)); g != want {
				t.Errorf("H row %d: edge %v, want %v", i, g, want)
			}
		}
	}
}
