package engine

import (
	"context"
	"math"
)

// backwardOptions says how the backward pass clips and what it records.
type backwardOptions struct {
	// clip and threshold act on δ_k = ∂E/∂s_k once it is complete and
	// before it flows on to step k−1; only the step modes do anything.
	clip      ClipMode
	threshold float64

	// Per chain and step (index t−1): ‖∂E/∂s_t‖ after clipping, and for
	// LSTM ‖∂E/∂c_t‖, as Frobenius norms over the batch. Nil skips.
	dhNorm, dcNorm [2][]float64
	// Per chain, the vectors themselves, T·B·H, time-major. Nil skips.
	dh, dc [2][]float64
	// dx, if not nil, receives ∂E/∂x_t, T·B·D, summed over chains.
	dx []float64

	// Outputs.
	clipped      int // steps at which step clipping changed δ
	overflowStep int // first step (going back) whose δ is not finite, or 0
}

// backScratch holds the buffers of a backward pass, kept with the tape so
// that a Trainer's passes allocate nothing.
type backScratch struct {
	dO, direct                  []float64
	delta, carry, dcNext, deriv []float64    // B·H: ∂E/∂s, ∂E/∂c and helpers at one step
	dAx, dAh                    [2][]float64 // per chain, T·B·gates·H gate gradients
	dAhGRU                      [2][]float64 // the GRU's dAh, which differs from dAx
	wh                          []float64    // Wh packed for gemm
	jobs                        [2]backJob
	grads                       [2]gradJob
}

// backJob is the backward recurrence of one chain over sequences [r0, r1)
// of the batch.
type backJob struct {
	tp       *tape
	ctx      context.Context
	d        int
	r0, r1   int
	opts     *backwardOptions
	clipped  []bool // per step index: step clipping changed δ of a row
	overflow int
	err      error
	job      *job
}

func (j *backJob) exec() {
	j.overflow, j.err = j.tp.backwardRows(j.ctx, j.d, j.r0, j.r1, j.opts, nil, j.clipped)
}

// gradJob accumulates the parameter gradients of gate rows [i0, i1) of
// one chain over every step.
type gradJob struct {
	tp     *tape
	d      int
	gw     *CellWeights
	i0, i1 int
	job    *job
}

func (j *gradJob) exec() {
	T := j.tp.batch.T
	j.tp.addParamGrads(j.d, j.gw, 1, T+1, j.i0, j.i1)
}

// backward runs the backward pass over the record tp. It adds ∂E/∂θ to
// grads (unless grads is nil) and fills the records asked for in opts.
// It checks ctx between steps.
func backward(ctx context.Context, tp *tape, grads *Params, opts *backwardOptions) error {
	b, p := tp.batch, tp.p
	T, B, K := b.T, b.B, p.K
	bs := &tp.back

	// ∂E/∂o_t for every scored step.
	bs.dO = resize(bs.dO, T*B*K)
	clear(bs.dO)
	for r := range T * B {
		if !b.mask[r] {
			continue
		}
		o, d := tp.out[r*K:(r+1)*K], bs.dO[r*K:(r+1)*K]
		if b.squared {
			d[0] = 2 * b.weight * (o[0] - b.values[r])
			continue
		}
		softmaxGrad(d, o, b.classes[r], b.weight)
	}
	if err := modelOf(p.Cell).backward(ctx, tp, grads, opts); err != nil {
		return err
	}
	if grads != nil {
		addColumnSums(grads.C, bs.dO, T*B, K)
	}
	return nil
}

// backward runs backpropagation through time over a recurrent tape.
//
// A batch of several sequences with no per-step records runs as two
// halves at once, like forward, and then accumulates the parameter
// gradients over all steps in two products split by gate rows. Otherwise
// a goroutine turns the gate gradients into parameter gradients while the
// recurrence carries on.
func (m recurrent) backward(ctx context.Context, tp *tape, grads *Params, opts *backwardOptions) error {
	b, p := tp.batch, tp.p
	T, B, H, K := b.T, b.B, p.H, p.K
	gh := m.gates() * H
	dirsH := p.Dirs * H
	bs := &tp.back

	// Each state's direct share of ∂E/∂o_t.
	bs.direct = resize(bs.direct, T*B*dirsH)
	gemm(T*B, dirsH, K, bs.dO, K, 1, p.V, dirsH, 0, bs.direct, dirsH)
	bs.delta = resize(bs.delta, B*H)
	bs.carry = resize(bs.carry, B*H)
	bs.deriv = resize(bs.deriv, B*H)
	if m.info().CellState {
		bs.dcNext = resize(bs.dcNext, B*H)
	}
	split := B >= 2 && opts.dx == nil
	for d := range p.Dirs {
		split = split && opts.dhNorm[d] == nil && opts.dcNorm[d] == nil && opts.dh[d] == nil && opts.dc[d] == nil
	}
	var acc *gradAccumulator
	if grads != nil && !split {
		// On a core of its own if one is lent; else inline, chunk by chunk.
		release, ok := borrowCore(ctx)
		acc = newGradAccumulator(tp, grads, ok)
		defer release()
		defer acc.wait()
	}

	for d := range p.Dirs {
		ct := &tp.chain[d]
		// Each chain has its own gate gradients: the accumulator may still
		// be reading the previous chain's.
		bs.dAx[d] = resize(bs.dAx[d], T*B*gh)
		bs.dAh[d] = bs.dAx[d]
		if m.cell.separateHidden() {
			bs.dAhGRU[d] = resize(bs.dAhGRU[d], T*B*gh)
			bs.dAh[d] = bs.dAhGRU[d]
		}
		if B > 1 {
			bs.wh = packB(resize(bs.wh, packedLen(gh, H)), ct.w.Wh, gh, H, H, 1)
		}
		jobs := bs.jobs[:1]
		if split {
			jobs = bs.jobs[:2]
		}
		for i := range jobs {
			j := &jobs[i]
			if j.job == nil {
				j.tp, j.job = tp, newJob(j.exec)
			}
			j.ctx, j.d, j.opts = ctx, d, opts
			j.r0, j.r1 = i*B/len(jobs), (i+1)*B/len(jobs)
			if cap(j.clipped) < T {
				j.clipped = make([]bool, T)
			}
			j.clipped = j.clipped[:T]
			clear(j.clipped)
		}
		if split {
			both(ctx, jobs[0].job, jobs[1].job)
		} else {
			j := &jobs[0]
			j.overflow, j.err = tp.backwardRows(ctx, d, 0, B, opts, acc, j.clipped)
		}
		// A step counts as clipped when clipping changed any sequence's δ;
		// the first overflow going back is the latest step of either half.
		for i := range T {
			for k := range jobs {
				if jobs[k].clipped[i] {
					opts.clipped++
					break
				}
			}
		}
		first := 0
		for k := range jobs {
			j := &jobs[k]
			j.ctx, j.opts = nil, nil
			if j.err != nil {
				return j.err
			}
			first = max(first, j.overflow)
		}
		if d == 0 && opts.overflowStep == 0 {
			opts.overflowStep = first
		}
		if grads != nil && split {
			// Two products over all T·B rows, split by gate rows at a
			// multiple of the kernel's tile.
			mid := gh / 2 / gemmMR * gemmMR
			for i, r := range [2][2]int{{0, mid}, {mid, gh}} {
				g := &bs.grads[i]
				if g.job == nil {
					g.tp, g.job = tp, newJob(g.exec)
				}
				g.d, g.gw, g.i0, g.i1 = d, &grads.Chain[d], r[0], r[1]
			}
			both(ctx, bs.grads[0].job, bs.grads[1].job)
		}
		if grads != nil {
			// V_d += Σ_t ∂E/∂o_tᵀ s_t.
			gemm(K, H, T*B, bs.dO, 1, K, ct.s[B*H:(T+1)*B*H], H, 1, grads.V[d*H:], dirsH)
		}
		if opts.dx != nil {
			// x_t enters every gate through Wx: ∂E/∂x_t = Wxᵀ dA_t.
			mulAB(opts.dx, bs.dAx[d], ct.w.Wx, T*B, gh, p.D, 1)
		}
	}
	return nil
}

// backwardRows runs the backward recurrence of chain d for sequences
// [r0, r1), filling their gate gradients, and returns the first step
// going back whose δ is not finite (chain 0 only), or 0. It marks in
// clipped the steps at which step clipping changed δ. The records of
// opts are filled only by a job over the whole batch; acc, if not nil,
// is sent the gate gradients as they complete.
func (tp *tape) backwardRows(ctx context.Context, d, r0, r1 int, opts *backwardOptions, acc *gradAccumulator, clipped []bool) (int, error) {
	pacer := pacerOf(ctx)
	b, p, bs := tp.batch, tp.p, &tp.back
	T, B, H := b.T, b.B, p.H
	ct := &tp.chain[d]
	gh := ct.gh
	dirsH := p.Dirs * H
	dAx, dAh := bs.dAx[d], bs.dAh[d]
	n := r1 - r0
	delta := bs.delta
	dRows := delta[r0*H : r1*H]
	if ct.cell.info().CellState {
		clear(bs.dcNext[r0*H : r1*H])
	}
	overflow := 0
	t := ct.last(T)
	addDirect(delta, bs.direct, t, d, r0, r1, B, H, dirsH, false)
	sent := 0
	for i := range T {
		if err := checkpoint(ctx, pacer); err != nil {
			return 0, err
		}
		if opts.clip.IsStep() && clipStep(dRows, n, H, opts.clip, opts.threshold) {
			clipped[i] = true
		}
		if d == 0 && overflow == 0 && !allFinite(dRows) {
			overflow = t
		}
		record(opts.dhNorm[d], opts.dh[d], t, delta)

		pt := ct.prev(t)
		ax := dAx[(t-1)*B*gh : t*B*gh]
		ah := dAh[(t-1)*B*gh : t*B*gh]
		ct.cell.gateGrads(tp, ct, d, t, r0, r1, ax, ah, opts)
		if acc != nil && (i+1-sent == gradChunkSteps || i == T-1) {
			steps := i + 1 - sent
			lo := t
			if ct.rev {
				lo = t - steps + 1
			}
			acc.add(gradChunk{chain: d, t0: lo, t1: lo + steps})
			sent = i + 1
		}
		if i == T-1 {
			break
		}
		// δ_{t−1} = Whᵀ (gate gradients at t) + direct terms.
		ahRows := ah[r0*gh : r1*gh]
		if n == 1 {
			mulAB(dRows, ahRows, ct.w.Wh, 1, gh, H, 0)
		} else {
			gemmPacked(n, H, gh, ahRows, gh, 1, bs.wh, 0, dRows, H)
		}
		ct.cell.carry(tp, r0, r1)
		addDirect(delta, bs.direct, pt, d, r0, r1, B, H, dirsH, true)
		t = pt
	}
	return overflow, nil
}

// gradChunkSteps is how many steps of gate gradients go into one
// parameter-gradient product: large enough for gemm to run near its best
// rate, small enough that the last chunk, which nothing overlaps, is short.
const gradChunkSteps = 128

// gradChunk is a range [t0, t1) of steps of one chain whose gate
// gradients are complete.
type gradChunk struct {
	chain, t0, t1 int
}

// gradAccumulator turns gate gradients into parameter gradients on its
// own goroutine while the backward recurrence, which is sequential and
// leaves a core idle, carries on.
type gradAccumulator struct {
	tp     *tape
	grads  *Params
	chunks chan gradChunk
	done   chan struct{}
}

func newGradAccumulator(tp *tape, grads *Params, concurrent bool) *gradAccumulator {
	acc := &gradAccumulator{tp: tp, grads: grads}
	if !concurrent {
		return acc
	}
	T := tp.batch.T
	acc.chunks = make(chan gradChunk, tp.p.Dirs*(T/gradChunkSteps+1))
	acc.done = make(chan struct{})
	// Exits when wait closes the channel, after the last chunk.
	go func() {
		defer close(acc.done)
		for c := range acc.chunks {
			acc.accumulate(c)
		}
	}()
	return acc
}

// add accumulates c, on the accumulator's goroutine if it has one.
func (acc *gradAccumulator) add(c gradChunk) {
	if acc.chunks == nil {
		acc.accumulate(c)
		return
	}
	acc.chunks <- c
}

func (acc *gradAccumulator) accumulate(c gradChunk) {
	gh := acc.tp.chain[c.chain].gh
	acc.tp.addParamGrads(c.chain, &acc.grads.Chain[c.chain], c.t0, c.t1, 0, gh)
}

// wait returns once every chunk is accumulated.
func (acc *gradAccumulator) wait() {
	if acc.chunks == nil {
		return
	}
	close(acc.chunks)
	<-acc.done
}

// addParamGrads accumulates, for gate rows [i0, i1) of chain d and the
// steps [t0, t1), Σ dA_tᵀ x_t into Wx, Σ dA_tᵀ s_prev(t) into Wh and the
// bias sums into gw. gemm reads the gate gradients transposed in place.
func (tp *tape) addParamGrads(d int, gw *CellWeights, t0, t1, i0, i1 int) {
	p, bs := tp.p, &tp.back
	B, H, D := tp.batch.B, p.H, p.D
	ct := &tp.chain[d]
	gh := ct.gh
	rows := (t1 - t0) * B
	r0 := (t0 - 1) * B
	dAx := bs.dAx[d][r0*gh : (r0+rows)*gh]
	dAh := bs.dAh[d][r0*gh : (r0+rows)*gh]
	m := i1 - i0

	gemm(m, D, rows, dAx[i0:], 1, gh, tp.batch.X[r0*D:], D, 1, gw.Wx[i0*D:], D)
	for r := range rows {
		bias := gw.B[i0:i1]
		for j, v := range dAx[r*gh+i0 : r*gh+i1] {
			bias[j] += v
		}
	}
	if ct.cell.separateHidden() && i1 > 2*H {
		lo := max(i0, 2*H)
		for r := range rows {
			bias := gw.BhN[lo-2*H : i1-2*H]
			for j, v := range dAh[r*gh+lo : r*gh+i1] {
				bias[j] += v
			}
		}
	}
	// The state before step t is row t−1 (forward chain) or t+1 (reverse).
	prev := t0 - 1
	if ct.rev {
		prev = t0 + 1
	}
	prevRows := ct.s[prev*B*H : (prev*B+rows)*H]
	gemm(m, H, rows, dAh[i0:], 1, gh, prevRows, H, 1, gw.Wh[i0*H:], H)
}

// addDirect sets (or adds to) rows [r0, r1) of v the output layer's
// share of ∂E/∂s_t for chain d: rows of direct = ∂E/∂o_t · V.
func addDirect(v, direct []float64, t, d, r0, r1, B, H, dirsH int, add bool) {
	for r := r0; r < r1; r++ {
		src := direct[((t-1)*B+r)*dirsH+d*H:][:H]
		dst := v[r*H : (r+1)*H]
		if !add {
			copy(dst, src)
			continue
		}
		for j, x := range src {
			dst[j] += x
		}
	}
}

// record stores the Frobenius norm of v at norms[t−1] and v itself in
// row t of all; either may be nil.
func record(norms, all []float64, t int, v []float64) {
	if norms != nil {
		norms[t-1] = norm2(v)
	}
	if all != nil {
		copy(all[(t-1)*len(v):t*len(v)], v)
	}
}

// clipStep applies a step clipping mode to each of the B rows of delta
// and reports whether it changed anything.
func clipStep(delta []float64, B, H int, mode ClipMode, threshold float64) bool {
	changed := false
	for r := range B {
		row := delta[r*H : (r+1)*H]
		switch mode {
		case ClipStepNorm:
			if n := norm2(row); n > threshold {
				scale := threshold / n
				for j := range row {
					row[j] *= scale
				}
				changed = true
			}
		case ClipStepValue:
			for j, v := range row {
				if v > threshold || v < -threshold {
					row[j] = math.Copysign(threshold, v)
					changed = true
				}
			}
		}
	}
	return changed
}

// ClipByGlobalNorm rescales g to norm threshold when its norm is larger
// (Pascanu et al. 2013, Algorithm 1) and returns the norm before and
// after. A non-finite norm leaves g unchanged: there is no direction to
// keep.
func ClipByGlobalNorm(g []float64, threshold float64) (before, after float64) {
	before = norm2(g)
	if before > threshold && !math.IsInf(before, 0) {
		scale := threshold / before
		for i := range g {
			g[i] *= scale
		}
		return before, threshold
	}
	return before, before
}
