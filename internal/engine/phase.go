package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// A phase diagram maps how many decades the error signal loses or gains
// across a whole sequence,
//
//	log10(‖∂E/∂s_1‖ / ‖∂E/∂s_T‖),
//
// over a grid of two settings, the rest held fixed: negative where the
// gradient vanishes, positive where it explodes, 0 where it keeps its
// size. Each point is one forward pass and one backward pass of the
// profile's model and sequence (the step clipping mode applied, as in
// Profile.DEds), without the parameter gradients, the spectrum or the
// Jacobian norms.

// PhaseAxis names a setting a phase diagram can vary.
type PhaseAxis string

// The settings a phase diagram can put on an axis.
const (
	AxisGain       PhaseAxis = "gain"
	AxisT          PhaseAxis = "T"
	AxisH          PhaseAxis = "H"
	AxisForgetBias PhaseAxis = "forgetBias"
)

// PhaseAxes lists every PhaseAxis.
var PhaseAxes = []PhaseAxis{AxisGain, AxisT, AxisH, AxisForgetBias}

// MaxPhasePoints bounds the points on one axis of a phase diagram.
const MaxPhasePoints = 64

// Axis is one axis of a phase diagram: N values of the setting Name
// evenly spaced from Min to Max, both included (rounded to whole numbers
// for T and H).
type Axis struct {
	Name     PhaseAxis
	N        int
	Min, Max float64
}

// Integer reports whether the axis' setting is a whole number.
func (a Axis) Integer() bool { return a.Name == AxisT || a.Name == AxisH }

// Values returns the axis' N values in increasing order.
func (a Axis) Values() []float64 {
	out := make([]float64, a.N)
	for i := range out {
		f := float64(i) / float64(a.N-1)
		v := a.Min*(1-f) + a.Max*f // exact at both ends
		if a.Integer() {
			v = math.Round(v)
		}
		out[i] = v
	}
	return out
}

// check validates the axis; field is "x" or "y", the prefix of its
// names in a request (x, nx, xmin, xmax).
func (a Axis) check(field string, cell Cell) error {
	if !slices.Contains(PhaseAxes, a.Name) {
		return fieldErrorf(field, "%s must be one of gain, T, H, forgetBias, got %q", field, string(a.Name))
	}
	if a.Name == AxisForgetBias && !cell.Info().ForgetBias {
		return fieldErrorf(field, "%s forgetBias is an axis for cells lstm and gru only; %s has no gate that keeps the past", field, cell)
	}
	n := "n" + field
	if a.N < 2 || a.N > MaxPhasePoints {
		return fieldErrorf(n, "%s must be 2..%d, got %d", n, MaxPhasePoints, a.N)
	}
	lo, hi := field+"min", field+"max"
	var min, max float64
	switch a.Name {
	case AxisGain:
		min, max = 0, MaxGain
	case AxisForgetBias:
		min, max = -MaxForgetBias, MaxForgetBias
	default:
		min, max = 1, math.MaxInt32
	}
	for _, e := range []struct {
		name string
		v    float64
	}{{lo, a.Min}, {hi, a.Max}} {
		if math.IsNaN(e.v) || e.v < min || e.v > max {
			return fieldErrorf(e.name, "%s must be %s..%s for %s, got %s", e.name, formatFloat(min), formatFloat(max), a.Name, formatFloat(e.v))
		}
		if a.Integer() && e.v != math.Trunc(e.v) {
			return fieldErrorf(e.name, "%s must be a whole number for %s, got %s", e.name, a.Name, formatFloat(e.v))
		}
	}
	if !(a.Min < a.Max) {
		return fieldErrorf(hi, "%s must be greater than %s, got %s ≤ %s", hi, lo, formatFloat(a.Max), formatFloat(a.Min))
	}
	if a.Integer() && float64(a.N-1) > a.Max-a.Min {
		return fieldErrorf(n, "%s must be at most %s−%s+1 = %d for %s, got %d", n, hi, lo, int(a.Max-a.Min)+1, a.Name, a.N)
	}
	return nil
}

// Phase is a phase diagram's grid: the settings of every point, row r
// at Y value r, column c at X value c.
type Phase struct {
	Base   Settings // every setting but the two axes'
	X, Y   Axis
	Xs, Ys []float64 // the axes' values
}

// NewPhase checks the axes and returns the grid over base. base itself
// is validated by the caller, against its limits; the points may reach
// beyond them only along the axes, which the caller bounds too (Phase.Max).
func NewPhase(base Settings, x, y Axis) (*Phase, error) {
	if err := x.check("x", base.Cell); err != nil {
		return nil, err
	}
	if err := y.check("y", base.Cell); err != nil {
		return nil, err
	}
	if x.Name == y.Name {
		return nil, fieldErrorf("y", "x and y must be different settings, both are %s", x.Name)
	}
	return &Phase{Base: base, X: x, Y: y, Xs: x.Values(), Ys: y.Values()}, nil
}

// set puts v into the setting a names.
func (a PhaseAxis) set(s *Settings, v float64) {
	switch a {
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

// Point returns the settings of row r, column c.
func (ph *Phase) Point(r, c int) Settings {
	s := ph.Base
	ph.X.Name.set(&s, ph.Xs[c])
	ph.Y.Name.set(&s, ph.Ys[r])
	return s
}

// Max returns the settings of the point with the largest T and H, the
// one a caller's limits must admit.
func (ph *Phase) Max() Settings {
	return ph.Point(len(ph.Ys)-1, len(ph.Xs)-1)
}

// Work returns the sum of Settings.Work over the grid, the multiply-adds
// of one forward pass at every point.
func (ph *Phase) Work() int64 {
	var w int64
	for r := range ph.Ys {
		for c := range ph.Xs {
			w += ph.Point(r, c).Work()
		}
	}
	return w
}

// RowBytes estimates the working memory of one row, computed by at most
// two goroutines at once (see Settings.WorkingBytes).
func (ph *Phase) RowBytes(r int) int64 {
	return 2 * ph.Point(r, len(ph.Xs)-1).WorkingBytes(1)
}

// PhaseRow is one row of a phase diagram: the points with Y = Ys[Row].
type PhaseRow struct {
	Row int
	// First and Last are ‖∂E/∂s_1‖ and ‖∂E/∂s_T‖ at each X.
	First, Last []float64
	// Decades is log10(First/Last), computed as log10 First − log10 Last
	// so that no ratio overflows: negative when the signal vanishes,
	// −Inf when ‖∂E/∂s_1‖ underflowed to 0, NaN or +Inf where the run
	// overflowed.
	Decades []float64
}

// Decades returns log10(first/last) as PhaseRow.Decades has it. A first
// of exactly 0 is −Inf even when last is 0 too (attention at gain 0,
// where no signal flows at all): nothing reaches step 1, and nothing
// overflowed.
func Decades(first, last float64) float64 {
	if first == 0 && !math.IsNaN(last) {
		return math.Inf(-1)
	}
	return math.Log10(first) - math.Log10(last)
}

// Row computes row r. Its points are shared between the calling
// goroutine and, when ctx's Lender lends a core (see Lender), a second
// one; the values do not depend on which computes what.
func (ph *Phase) Row(ctx context.Context, r int) (*PhaseRow, error) {
	if r < 0 || r >= len(ph.Ys) {
		return nil, fmt.Errorf("phase: row %d of %d", r, len(ph.Ys))
	}
	n := len(ph.Xs)
	row := &PhaseRow{Row: r, First: make([]float64, n), Last: make([]float64, n), Decades: make([]float64, n)}
	var next atomic.Int64
	work := func() error {
		var pt phasePoint
		for {
			c := int(next.Add(1) - 1)
			if c >= n {
				return nil
			}
			first, last, err := pt.compute(ctx, ph.Point(r, c))
			if err != nil {
				return err
			}
			row.First[c], row.Last[c], row.Decades[c] = first, last, Decades(first, last)
		}
	}
	var wg sync.WaitGroup
	var helperErr error
	if release, ok := borrowCore(ctx); ok && n > 1 {
		wg.Add(1)
		// Exits when every point of the row is claimed or one fails.
		go func() {
			defer wg.Done()
			defer release()
			helperErr = work()
		}()
	} else {
		release()
	}
	err := work()
	if err != nil {
		next.Store(int64(n)) // the helper stops at its next point
	}
	wg.Wait()
	if err == nil {
		err = helperErr
	}
	if err != nil {
		return nil, err
	}
	return row, nil
}

// phasePoint computes points one after another, reusing its tape.
type phasePoint struct {
	tp   tape
	norm []float64
}

// compute returns ‖∂E/∂s_1‖ and ‖∂E/∂s_T‖ for s: the model, sequence and
// loss of s's profile, one backward pass with s's step clipping, no
// parameter gradients. They equal the ends of Profile.DEds bit for bit.
func (pt *phasePoint) compute(ctx context.Context, s Settings) (first, last float64, err error) {
	p := InitParams(s)
	inputs, targets := sequence(s)
	b := &batch{T: s.T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, s.T), weight: 1}
	if s.Loss == LossSum {
		for i := range b.mask {
			b.mask[i] = true
		}
	} else {
		b.mask[s.T-1] = true
	}
	if err := pt.tp.forward(ctx, p, s.Act, b, nil); err != nil {
		return 0, 0, err
	}
	opts := backwardOptions{}
	if s.Clip.IsStep() {
		opts.clip, opts.threshold = s.Clip, s.Threshold
	}
	pt.norm = resize(pt.norm, s.T)
	opts.dhNorm[0] = pt.norm
	if err := backward(ctx, &pt.tp, nil, &opts); err != nil {
		return 0, 0, err
	}
	return pt.norm[0], pt.norm[s.T-1], nil
}

// PhaseDiagram computes the diagram over base row by row, from the first
// Y value to the last, and hands each row to onRow as it is done; an
// error from onRow or ctx stops it.
func PhaseDiagram(ctx context.Context, base Settings, x, y Axis, onRow func(*PhaseRow) error) (*Phase, error) {
	if err := base.Validate(Limits{MaxT: 1 << 30, MaxH: 1 << 15, MaxD: 1 << 15, MaxK: 1 << 15}); err != nil {
		return nil, fmt.Errorf("phase: %w", err)
	}
	ph, err := NewPhase(base, x, y)
	if err != nil {
		return nil, err
	}
	for r := range ph.Ys {
		row, err := ph.Row(ctx, r)
		if err != nil {
			return nil, err
		}
		if err := onRow(row); err != nil {
			return nil, err
		}
	}
	return ph, nil
}

// EdgeOfChaos returns the gain at which γ·σ_max(Wh) = 1 for the RNN of
// s, 1/(γ·σ_max(Wh₁)) with Wh₁ the gain-1 matrix of s's seed, H and
// scheme, and NaN for a gated cell. Below it every backward step shrinks
// the signal (Pascanu et al.'s condition); above it the signal may grow.
// The spectrum comes from the Runner's cache.
func (r *Runner) EdgeOfChaos(s Settings) float64 {
	if !s.Cell.Info().Spectrum {
		return math.NaN()
	}
	return 1 / (s.Act.Gamma() * r.spectrum(s).SigmaMax)
}

// PhaseEdge returns the edge of chaos of the diagram's RNN as a curve:
// along names the axis (X or Y) whose values the gains follow, and
// gains[i] is the edge at the i-th value of that axis. The curve exists
// only for the RNN with gain on an axis; otherwise gains is nil. Each
// new H costs a decomposition (see Runner.spectrum), checked for ctx and
// paced between.
func (r *Runner) PhaseEdge(ctx context.Context, ph *Phase) (along PhaseAxis, gains []float64, err error) {
	if !ph.Base.Cell.Info().Spectrum {
		return "", nil, nil
	}
	var n int
	var point func(i int) Settings
	switch AxisGain {
	case ph.X.Name:
		along, n, point = ph.Y.Name, len(ph.Ys), func(i int) Settings { return ph.Point(i, 0) }
	case ph.Y.Name:
		along, n, point = ph.X.Name, len(ph.Xs), func(i int) Settings { return ph.Point(0, i) }
	default:
		return "", nil, nil
	}
	pacer := pacerOf(ctx)
	gains = make([]float64, n)
	for i := range gains {
		if err := checkpoint(ctx, pacer); err != nil {
			return "", nil, err
		}
		gains[i] = r.EdgeOfChaos(point(i))
	}
	return along, gains, nil
}
