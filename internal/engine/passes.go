package engine

import (
	"math"
	"slices"
)

// passes are what a profile's settings other than Clip and Threshold
// decide: the model, the sequence, the forward record and the unclipped
// backward pass, with what a Result reads of them. Clipping acts only on
// δ_k on its way back, and the unclipped pass is drawn beside the clipped
// one, so a Runner that keeps the passes answers a change of Clipping or
// Threshold with one backward pass (a step mode) or none (the others).
//
// Once kept, passes are read only: every profile returns copies of what
// it reads of them and runs its backward passes on scratch of its own.
type passes struct {
	key     Settings // the settings, Clip and Threshold zeroed
	p       *Params
	inputs  []float64
	targets []int

	tp        *tape // the forward record, without backward scratch; nil until recorded
	loss      float64
	overflow  Overflow // Forward and Loss; Backward of the unclipped pass
	stateNorm []float64
	cellPath  []float64 // lstm
	forgetPre []float64 // lstm: ForgetPrediction

	gradNorm                     float64
	dEdsRaw, dEdcRaw, dEdsRevRaw []float64

	bytes int64 // what keeping them costs
}

// newPasses returns the model and the sequence of s, with no passes
// recorded yet.
func newPasses(s Settings) *passes {
	ps := &passes{key: passesKeyOf(s), p: InitParams(s)}
	ps.inputs, ps.targets = sequence(s)
	return ps
}

// passesKeyOf is the part of s that the passes depend on.
func passesKeyOf(s Settings) Settings {
	s.Clip, s.Threshold = "", 0
	return s
}

// sameKey reports whether two keys name the same passes. Settings'
// == holds −0 and +0 equal, but a gain of −0 makes weights of −0.
func sameKey(a, b Settings) bool {
	return a == b && math.Signbit(a.Gain) == math.Signbit(b.Gain) && math.Signbit(a.ForgetBias) == math.Signbit(b.ForgetBias)
}

// recordForward takes what a Result reads of the forward pass tp.
func (ps *passes) recordForward(tp *tape) {
	T, H := tp.batch.T, tp.p.H
	ps.loss = tp.loss
	ps.overflow.Forward = tp.overflowStep
	ps.overflow.Loss = !allFinite([]float64{tp.loss})
	ps.stateNorm = make([]float64, T)
	for t := range T {
		ps.stateNorm[t] = norm2(tp.chain[0].s[(t+1)*H : (t+2)*H])
	}
	if tp.p.Cell.Info().CellState {
		ps.cellPath, ps.forgetPre = cellPath(tp)
	}
}

// recordRaw takes the unclipped backward pass: the gradient's norm and
// the series and overflow step that raw recorded.
func (ps *passes) recordRaw(gradNorm float64, raw *backwardOptions) {
	ps.gradNorm = gradNorm
	ps.dEdsRaw, ps.dEdcRaw, ps.dEdsRevRaw = raw.dhNorm[0], raw.dcNorm[0], raw.dhNorm[1]
	ps.overflow.Backward = raw.overflowStep
}

// result starts the Result of s with what the forward pass decides. It
// has copies of everything, so that no caller can change kept passes.
func (ps *passes) result(s Settings) *Result {
	res := &Result{Settings: s, Params: ps.p.Clone(), Inputs: slices.Clone(ps.inputs), Targets: slices.Clone(ps.targets), Loss: ps.loss}
	res.Profile.StateNorm = slices.Clone(ps.stateNorm)
	res.Profile.CellPath = slices.Clone(ps.cellPath)
	res.Profile.ForgetPrediction = slices.Clone(ps.forgetPre)
	res.Overflow.Forward, res.Overflow.Loss = ps.overflow.Forward, ps.overflow.Loss
	return res
}

// rawInto sets what the unclipped backward pass decides in res.
func (ps *passes) rawInto(res *Result) {
	res.GradNorm = ps.gradNorm
	res.Profile.DEdsRaw = slices.Clone(ps.dEdsRaw)
	res.Profile.DEdcRaw = slices.Clone(ps.dEdcRaw)
	res.Profile.DEdsRevRaw = slices.Clone(ps.dEdsRevRaw)
	res.Overflow.Backward = ps.overflow.Backward
}

// seriesBytes is the memory of the series ps keeps.
func (ps *passes) seriesBytes() int64 {
	n := len(ps.stateNorm) + len(ps.cellPath) + len(ps.forgetPre) + len(ps.dEdsRaw) + len(ps.dEdcRaw) + len(ps.dEdsRevRaw)
	return 8 * int64(n)
}

// recordBytes is the memory of tp's forward record.
func (tp *tape) recordBytes() int64 {
	n := len(tp.out)
	for d := range tp.chain {
		c := &tp.chain[d]
		n += len(c.pre) + len(c.s) + len(c.c) + len(c.tc) + len(c.hn) + len(c.wxT) + len(c.whT)
	}
	a := &tp.attn
	n += len(a.pos) + len(a.qkv) + len(a.alpha) + len(a.z)
	return 8 * int64(n)
}

// clipsGlobally reports whether global-norm clipping at threshold
// rescales a gradient of norm n. An infinite or NaN norm is left alone:
// there is no direction to keep.
func clipsGlobally(n, threshold float64) bool {
	return n > threshold && !math.IsInf(n, 0)
}

// KeepPasses makes r keep the passes of its latest profiles, up to bytes
// of them in all (see passes), so that dragging Clipping or Threshold
// runs one backward pass at most. Call it before r is first used; zero,
// the default, keeps none.
func (r *Runner) KeepPasses(bytes int64) *Runner {
	r.passBytes = bytes
	return r
}

// maxKeptPasses bounds how many passes a Runner keeps, whatever their
// size: a lookup reads them all.
const maxKeptPasses = 64

// keptPasses returns the kept passes of key, or nil, and marks them the
// latest used.
func (r *Runner) keptPasses(key Settings) *passes {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, ps := range r.passes {
		if sameKey(ps.key, key) {
			r.passes = append(slices.Delete(r.passes, i, i+1), ps)
			return ps
		}
	}
	return nil
}

// keepPasses keeps ps, which a profile has just recorded, dropping the
// least recently used passes while they are over the bound.
func (r *Runner) keepPasses(ps *passes) {
	if ps.bytes > r.passBytes {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.IndexFunc(r.passes, func(q *passes) bool { return sameKey(q.key, ps.key) }); i >= 0 {
		// Another profile of the same settings was first.
		r.passTotal -= r.passes[i].bytes
		r.passes = slices.Delete(r.passes, i, i+1)
	}
	r.passes = append(r.passes, ps)
	r.passTotal += ps.bytes
	for r.passTotal > r.passBytes || len(r.passes) > maxKeptPasses {
		r.passTotal -= r.passes[0].bytes
		r.passes = slices.Delete(r.passes, 0, 1)
	}
}
