package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Result is one backward pass through time, measured.
type Result struct {
	Settings Settings
	Params   *Params
	Inputs   []float64 // T×D, row t−1 is x_t
	Targets  []int     // y_1 … y_T

	// Loss is E: E_T for loss=last, Σ_t E_t for loss=sum.
	Loss float64
	// GradNorm is ‖∂E/∂θ‖₂ over all parameters with no clipping at all.
	GradNorm float64
	// GradNormClipped is the norm of the gradient an update would apply
	// under the clipping mode: min(θ, GradNorm) for global-norm, the norm
	// of the gradient built from clipped δ_k for the step modes, and
	// GradNorm for none.
	GradNormClipped float64

	Profile  Profile
	Spectrum *Spectrum // rnn only; nil for gated cells
	Overflow Overflow
	Elapsed  time.Duration

	// states are the forward states s_1 … s_T of an RNN profile made
	// without its Jacobian norms, kept for Runner.JacobianNorms.
	states []float64
}

// Profile holds the per-step series, index k−1 for step k.
type Profile struct {
	// DEds is ‖∂E/∂s_k‖₂ with the step clipping mode applied (the norm of
	// δ_k after it was clipped); DEdsRaw is the same run with clipping
	// off. They are equal when the mode is not a step mode.
	DEds, DEdsRaw []float64
	// DEdc and DEdcRaw are ‖∂E/∂c_k‖₂ for the LSTM.
	DEdc, DEdcRaw []float64
	// DEdsRev and DEdsRevRaw are the reverse chain's ‖∂E/∂s'_k‖₂ for a
	// bidirectional model.
	DEdsRev, DEdsRevRaw []float64
	// CellPath is, for the LSTM, the mean over units of Π_{j=k+1}^{T} f_j:
	// the share of c_k that reaches c_T along the cell path. ForgetPrediction
	// is σ(b_f)^(T−k), what it would be with every forget gate at its bias:
	// forgetBias 0 gives 0.5^(T−k), forgetBias 1 gives 0.73^(T−k).
	CellPath, ForgetPrediction []float64
	// StateNorm is ‖s_k‖₂ from the forward pass (the forward chain's for a
	// bidirectional model): where a run overflows, it shows the states
	// growing until they become Inf.
	StateNorm []float64
	// JacobianNorm is ‖diag(f′(a_k)) Wh‖₂ and Bound Pascanu et al.'s bound
	// on ‖∂E/∂s_k‖ (see Spectrum.Bound); rnn only.
	JacobianNorm, Bound []float64
}

// Overflow says where a run stopped being finite. Zero means it did not.
type Overflow struct {
	// Forward is the first step t whose state s_t has an Inf or NaN.
	Forward int
	// Backward is the first step k, going back from T, whose δ_k (after
	// clipping) has an Inf or NaN.
	Backward int
	// Loss reports a non-finite E.
	Loss bool
}

// Any reports whether anything overflowed.
func (o Overflow) Any() bool { return o.Forward != 0 || o.Backward != 0 || o.Loss }

// sequence draws the inputs x_t ~ N(0, I) and targets y_t ~ U{0..K−1}
// of the profile run. Each has its own stream, so a longer T extends the
// same sequence.
func sequence(s Settings) (inputs []float64, targets []int) {
	inputs = make([]float64, s.T*s.D)
	fillNormal(inputs, 1, stream(s.Seed, "inputs"))
	targets = make([]int, s.T)
	rng := stream(s.Seed, "targets")
	for i := range targets {
		targets[i] = rng.IntN(s.K)
	}
	return inputs, targets
}

// BackpropProfile runs the model that s describes over one seeded
// sequence and measures ‖∂E/∂s_k‖ at every step, with and without
// clipping, together with the theory. Settings are validated against no
// limits (callers apply theirs first). The only errors are invalid
// settings and ctx's; an overflow is reported in Result.Overflow.
func BackpropProfile(ctx context.Context, s Settings) (*Result, error) {
	return new(Runner).Profile(ctx, s)
}

// Runner runs profiles and remembers the spectra of recurrent matrices,
// which depend only on the seed, H and the scheme: the gain scales them.
// Dragging Sequence length, Gain or Clipping therefore never repeats an
// eigen-decomposition. The zero value caches nothing; a Runner is safe
// for concurrent use.
type Runner struct {
	mu      sync.Mutex
	size    int
	spectra map[spectrumKey]*Spectrum
	order   []spectrumKey // oldest first
	// jacobians keeps the per-step Jacobian norms of recent models. They
	// depend only on the forward states, which a longer T extends and
	// clipping, threshold and loss leave alone, so dragging those controls
	// costs no Lanczos solves for the steps already known.
	jacobians map[jacobianKey][]float64
	jOrder    []jacobianKey
	// passes are the latest profiles' passes, least recently used first,
	// passTotal bytes of them and at most passBytes (see KeepPasses).
	passes    []*passes
	passTotal int64
	passBytes int64
}

// jacobianKey identifies the forward states of an RNN profile up to T.
type jacobianKey struct {
	seed  uint64
	h, d  int
	init  InitScheme
	gain  float64
	act   Activation
	bidir bool
}

type spectrumKey struct {
	seed uint64
	h    int
	init InitScheme
}

// NewRunner returns a Runner that keeps up to size spectra.
func NewRunner(size int) *Runner {
	return &Runner{size: size, spectra: make(map[spectrumKey]*Spectrum), jacobians: make(map[jacobianKey][]float64)}
}

// Profile is BackpropProfile with the Runner's cache: everything,
// Jacobian norms included.
func (r *Runner) Profile(ctx context.Context, s Settings) (*Result, error) {
	return r.ProfileWith(ctx, s, ProfileOptions{Jacobians: true})
}

// ProfileOptions chooses the costlier parts of a profile.
type ProfileOptions struct {
	// Jacobians asks for ‖diag(f′(a_k)) Wh‖₂ at every step of an RNN:
	// a Lanczos solve a step, which at T=1000, H=128 costs more than the
	// passes themselves. A view that does not draw them leaves them out
	// and, if it wants them later, asks Runner.JacobianNorms.
	Jacobians bool
}

// ProfileWith is Profile with a choice of what to compute. Without
// Jacobians, Profile.JacobianNorm is nil and everything else is as
// Profile gives it, bit for bit.
func (r *Runner) ProfileWith(ctx context.Context, s Settings, opts ProfileOptions) (*Result, error) {
	start := time.Now()
	if err := s.Validate(Limits{MaxT: 1 << 30, MaxH: 1 << 15, MaxD: 1 << 15, MaxK: 1 << 15}); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	ps := r.keptPasses(passesKeyOf(s))
	if ps == nil {
		ps = newPasses(s)
	}
	var th *theorySource
	if s.Cell.Info().Spectrum {
		key := jacobianKeyOf(s)
		th = &theorySource{
			spectrum:  func() *Spectrum { return r.spectrum(s).scaled(s.Gain, s.Act) },
			jacobians: opts.Jacobians,
			known:     r.knownJacobians(key),
			keep:      func(jn []float64) { r.keepJacobians(key, jn) },
		}
	}
	fresh := ps.tp == nil
	res, err := profileOf(ctx, s, ps, th)
	if err != nil {
		return nil, err
	}
	if fresh {
		r.keepPasses(ps)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// JacobianNorms computes, on two goroutines, the per-step Jacobian norms
// that a profile made without them leaves out, sets
// res.Profile.JacobianNorm and remembers them for later profiles of the
// same model. It is an error to ask for a gated cell's.
func (r *Runner) JacobianNorms(ctx context.Context, res *Result) ([]float64, error) {
	if res.Profile.JacobianNorm != nil {
		return res.Profile.JacobianNorm, nil
	}
	if res.states == nil {
		return nil, fmt.Errorf("jacobian norms: a %s profile has none", res.Settings.Cell)
	}
	key := jacobianKeyOf(res.Settings)
	p := res.Params
	job := newJacobianJob(p.Chain[0].Wh, p.H, res.Settings.Act, res.states, r.knownJacobians(key))
	if err := job.workOnTwo(ctx); err != nil {
		return nil, err
	}
	r.keepJacobians(key, job.out)
	res.Profile.JacobianNorm = job.out
	res.states = nil
	return job.out, nil
}

func jacobianKeyOf(s Settings) jacobianKey {
	return jacobianKey{s.Seed, s.H, s.D, s.Init, s.Gain, s.Act, s.Bidir}
}

// theorySource supplies profileOf with the spectrum of Wh and the
// Jacobian norms already known for the first steps, and takes the new
// ones back.
type theorySource struct {
	spectrum  func() *Spectrum
	jacobians bool // compute the Jacobian norms; else keep the states for later
	known     []float64
	keep      func([]float64)
}

func (r *Runner) knownJacobians(key jacobianKey) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.jacobians[key]
}

// keepJacobians remembers jn for key if it is longer than what is kept.
// The slices are never modified once kept, so readers need no copy.
func (r *Runner) keepJacobians(key jacobianKey, jn []float64) {
	if r.size <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.jacobians[key]
	if ok && len(old) >= len(jn) {
		return
	}
	if !ok {
		if len(r.jOrder) >= r.size {
			delete(r.jacobians, r.jOrder[0])
			r.jOrder = r.jOrder[1:]
		}
		r.jOrder = append(r.jOrder, key)
	}
	r.jacobians[key] = slices.Clone(jn)
}

// spectrum returns the spectrum of the gain-1 recurrent matrix for s.
func (r *Runner) spectrum(s Settings) *Spectrum {
	key := spectrumKey{s.Seed, s.H, s.Init}
	r.mu.Lock()
	sp, ok := r.spectra[key]
	r.mu.Unlock()
	if ok {
		return sp
	}
	base := make([]float64, s.H*s.H)
	initMatrix(base, s.H, s.H, s.Init, 1, stream(s.Seed, "Wh"+chainTag(0)))
	sp = NewSpectrum(base, s.H, s.Act)
	if r.size <= 0 {
		return sp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.spectra[key]; !ok {
		if len(r.order) >= r.size {
			delete(r.spectra, r.order[0])
			r.order = r.order[1:]
		}
		r.spectra[key] = sp
		r.order = append(r.order, key)
	}
	return sp
}

// profileOf does the work of a profile. ps holds the model and the
// sequence, and, if an earlier profile recorded them, its passes (see
// passes); else profileOf records them into ps. th, nil for gated cells,
// supplies the spectrum of Wh, which is computed concurrently with the
// passes, and any Jacobian norms already known.
//
// The critical path is forward → backward; the spectrum needs only the
// weights and the Jacobian norms only the forward states, so both run on
// other goroutines, and the main goroutine joins the Jacobian work once
// its backward passes are done. On two cores this takes the profile from
// the sum of the parts to roughly half of it.
func profileOf(ctx context.Context, s Settings, ps *passes, th *theorySource) (*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	T, p := s.T, ps.p
	var wg sync.WaitGroup
	defer wg.Wait()

	// The decomposition cannot be interrupted, so a cancelled profile does
	// not wait for it: it finishes on its own (into the Runner's cache,
	// for the next request) and its result is dropped here.
	spectrumDone := make(chan *Spectrum, 1)
	if th != nil {
		if release, ok := borrowCore(ctx); ok {
			// Exits when the decomposition is done; the core it borrowed
			// is given back then, so the lender counts it all along.
			go func() {
				defer release()
				spectrumDone <- th.spectrum()
			}()
		} else {
			spectrumDone = nil // computed on this goroutine, after the passes
		}
	}

	fresh := ps.tp == nil
	var tp *tape
	if fresh {
		b := &batch{T: T, B: 1, D: s.D, X: ps.inputs, classes: ps.targets, mask: make([]bool, T), weight: 1}
		if s.Loss == LossSum {
			for i := range b.mask {
				b.mask[i] = true
			}
		} else {
			b.mask[T-1] = true
		}
		var err error
		if tp, err = forward(ctx, p, s.Act, b, nil); err != nil {
			return nil, err
		}
		ps.recordForward(tp)
	} else {
		// The kept record is shared: this profile's backward passes get
		// scratch of their own.
		tp = ps.tp.forBackward()
	}
	res := ps.result(s)
	if !fresh {
		ps.rawInto(res)
	}

	var job *jacobianJob
	var jobErr error
	if th != nil && th.jacobians {
		job = newJacobianJob(p.Chain[0].Wh, p.H, s.Act, tp.chain[0].s[p.H:(T+1)*p.H], th.known)
		if release, ok := borrowCore(ctx); ok {
			wg.Add(1)
			// Exits when every step is claimed or ctx is cancelled.
			go func() {
				defer wg.Done()
				defer release()
				if err := job.work(ctx); err != nil {
					jobErr = err
				}
			}()
		}
	}

	// With step clipping the clipped pass is a second backward pass over
	// the same tape: on a core of its own if one is lent, beside the raw
	// one, else after it.
	var clipped backwardOptions
	var clippedGrads *Params
	var clipErr error
	var clipDone chan struct{}
	if s.Clip.IsStep() {
		clipped = backwardOptions{clip: s.Clip, threshold: s.Threshold}
		newSeries(&clipped, s, p.Dirs)
		clippedGrads = NewParams(p.Cell, p.H, p.D, p.K, p.Dirs)
		// Only a fresh profile has a raw pass to run beside it.
		if fresh {
			if release, ok := borrowCore(ctx); ok {
				second := tp.forBackward()
				clipDone = make(chan struct{})
				wg.Add(1)
				// Exits when its pass ends, or at the next step once ctx is done.
				go func() {
					defer wg.Done()
					defer close(clipDone)
					defer release()
					clipErr = backward(ctx, second, clippedGrads, &clipped)
				}()
			}
		}
	}

	if fresh {
		raw := backwardOptions{}
		newSeries(&raw, s, p.Dirs)
		rawGrads := NewParams(p.Cell, p.H, p.D, p.K, p.Dirs)
		if err := backward(ctx, tp, rawGrads, &raw); err != nil {
			return nil, err
		}
		ps.recordRaw(norm2(rawGrads.Data), &raw)
		ps.rawInto(res)
	}

	switch {
	case s.Clip.IsStep():
		if clipDone != nil {
			<-clipDone
		} else {
			clipErr = backward(ctx, tp, clippedGrads, &clipped)
		}
		if clipErr != nil {
			return nil, clipErr
		}
		res.GradNormClipped = norm2(clippedGrads.Data)
		res.Profile.DEds, res.Profile.DEdc, res.Profile.DEdsRev = clipped.dhNorm[0], clipped.dcNorm[0], clipped.dhNorm[1]
		res.Overflow.Backward = clipped.overflowStep
	default:
		res.Profile.DEds = slices.Clone(res.Profile.DEdsRaw)
		res.Profile.DEdc = slices.Clone(res.Profile.DEdcRaw)
		res.Profile.DEdsRev = slices.Clone(res.Profile.DEdsRevRaw)
		res.GradNormClipped = res.GradNorm
		if s.Clip == ClipGlobalNorm && clipsGlobally(res.GradNorm, s.Threshold) {
			res.GradNormClipped = s.Threshold
		}
	}

	if job != nil {
		if err := job.work(ctx); err != nil {
			return nil, err
		}
	}
	wg.Wait()
	if jobErr != nil {
		return nil, jobErr
	}
	var sp *Spectrum
	switch {
	case th != nil && spectrumDone == nil:
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sp = th.spectrum()
	case th != nil:
		select {
		case sp = <-spectrumDone:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if sp != nil {
		res.Spectrum = sp
		res.Profile.Bound = sp.Bound(directNorms(tp))
	}
	switch {
	case job != nil:
		res.Profile.JacobianNorm = job.out
		if th.keep != nil {
			th.keep(job.out)
		}
	case th != nil:
		res.states = tp.chain[0].s[p.H : (T+1)*p.H]
	}
	if fresh {
		// Kept without the backward scratch, which is as large as the
		// record and which every later profile brings its own of.
		ps.tp = tp.forBackward()
		ps.bytes = ps.tp.recordBytes() + ps.seriesBytes() + 8*int64(len(p.Data)+len(ps.inputs)+len(ps.targets)) + int64(len(tp.batch.mask))
	}
	return res, nil
}

// newSeries allocates the per-step norm series a profile records.
func newSeries(o *backwardOptions, s Settings, dirs int) {
	for d := range dirs {
		o.dhNorm[d] = make([]float64, s.T)
	}
	if s.Cell.Info().CellState {
		o.dcNorm[0] = make([]float64, s.T)
	}
}

// directNorms returns ‖Vᵀ ∂E/∂o_t‖ for each step of a one-sequence tape,
// the output layer's direct share of δ_t in the forward chain.
func directNorms(tp *tape) []float64 {
	p, b := tp.p, tp.batch
	H, K := p.H, p.K
	out := make([]float64, b.T)
	v := make([]float64, H)
	dO := make([]float64, K)
	for t := range b.T {
		if !b.mask[t] {
			continue
		}
		softmaxGrad(dO, tp.out[t*K:(t+1)*K], b.classes[t], 1)
		clear(v)
		for k, g := range dO {
			row := p.V[k*p.Dirs*H:][:H]
			for j, w := range row {
				v[j] += g * w
			}
		}
		out[t] = norm2(v)
	}
	return out
}
