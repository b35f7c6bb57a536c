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

// backward runs backpropagation through time over the record tp. It adds
// ∂E/∂θ to grads (unless grads is nil) and fills the records asked for in
// opts. It checks ctx between steps.
func backward(ctx context.Context, tp *tape, grads *Params, opts *backwardOptions) error {
	pacer := pacerOf(ctx)
	b, p := tp.batch, tp.p
	T, B, H, K := b.T, b.B, p.H, p.K
	gh := p.Cell.Gates() * H
	dirsH := p.Dirs * H

	// ∂E/∂o_t for every scored step, then its share in each state.
	dO := make([]float64, T*B*K)
	for r := range T * B {
		if !b.mask[r] {
			continue
		}
		o, d := tp.out[r*K:(r+1)*K], dO[r*K:(r+1)*K]
		if b.squared {
			d[0] = 2 * b.weight * (o[0] - b.values[r])
			continue
		}
		softmaxGrad(d, o, b.classes[r], b.weight)
	}
	direct := make([]float64, T*B*dirsH)
	mulAB(direct, dO, p.V, T*B, K, dirsH, 0)

	delta := make([]float64, B*H)
	carry := make([]float64, B*H)
	var dcNext []float64
	if p.Cell == CellLSTM {
		dcNext = make([]float64, B*H)
	}
	deriv := make([]float64, B*H)
	var acc *gradAccumulator
	if grads != nil {
		acc = newGradAccumulator(tp, grads)
		defer acc.wait()
	}

	for d := range p.Dirs {
		ct := &tp.chain[d]
		// Each chain has its own gate gradients: the accumulator may still
		// be reading the previous chain's.
		dAx := make([]float64, T*B*gh)
		dAh := dAx
		if p.Cell == CellGRU {
			dAh = make([]float64, T*B*gh)
		}
		clear(dcNext)
		t := ct.last(T)
		addDirect(delta, direct, t, d, B, H, dirsH, false)
		sent := 0
		unsent := func(done int) int { return done - sent }
		for i := range T {
			if err := checkpoint(ctx, pacer); err != nil {
				return err
			}
			if opts.clip.IsStep() && clipStep(delta, B, H, opts.clip, opts.threshold) {
				opts.clipped++
			}
			if d == 0 && opts.overflowStep == 0 && !allFinite(delta) {
				opts.overflowStep = t
			}
			record(opts.dhNorm[d], opts.dh[d], t, delta)

			pt := ct.prev(t)
			pre := ct.pre[(t-1)*B*gh : t*B*gh]
			ax := dAx[(t-1)*B*gh : t*B*gh]
			ah := dAh[(t-1)*B*gh : t*B*gh]
			switch p.Cell {
			case CellRNN:
				tp.act.deriv(deriv, ct.s[t*B*H:(t+1)*B*H])
				for k, v := range delta {
					ax[k] = deriv[k] * v
				}
			case CellLSTM:
				tc := ct.tc[(t-1)*B*H : t*B*H]
				cPrev := ct.c[pt*B*H : (pt+1)*B*H]
				for r := range B {
					g, a := pre[r*gh:(r+1)*gh], ax[r*gh:(r+1)*gh]
					for j := range H {
						k := r*H + j
						ig, fg, cg, og := g[j], g[H+j], g[2*H+j], g[3*H+j]
						dh := delta[k]
						dc := dcNext[k] + dh*og*(1-tc[k]*tc[k])
						a[j] = dc * cg * ig * (1 - ig)
						a[H+j] = dc * cPrev[k] * fg * (1 - fg)
						a[2*H+j] = dc * ig * (1 - cg*cg)
						a[3*H+j] = dh * tc[k] * og * (1 - og)
						dcNext[k] = dc // ∂E/∂c_t, turned into the carry below
					}
				}
				record(opts.dcNorm[d], opts.dc[d], t, dcNext)
				for r := range B {
					g := pre[r*gh : (r+1)*gh]
					for j := range H {
						dcNext[r*H+j] *= g[H+j]
					}
				}
			case CellGRU:
				hn := ct.hn[(t-1)*B*H : t*B*H]
				hPrev := ct.s[pt*B*H : (pt+1)*B*H]
				for r := range B {
					g := pre[r*gh : (r+1)*gh]
					x, h := ax[r*gh:(r+1)*gh], ah[r*gh:(r+1)*gh]
					for j := range H {
						k := r*H + j
						rg, zg, ng := g[j], g[H+j], g[2*H+j]
						dh := delta[k]
						dan := dh * (1 - zg) * (1 - ng*ng)
						dar := dan * hn[k] * rg * (1 - rg)
						daz := dh * (hPrev[k] - ng) * zg * (1 - zg)
						x[j], x[H+j], x[2*H+j] = dar, daz, dan
						h[j], h[H+j], h[2*H+j] = dar, daz, dan*rg
						carry[k] = dh * zg
					}
				}
			}
			if acc != nil && (unsent(i+1) == gradChunkSteps || i == T-1) {
				n := unsent(i + 1)
				lo := t
				if ct.rev {
					lo = t - n + 1
				}
				acc.chunks <- gradChunk{chain: d, t0: lo, t1: lo + n, dAx: dAx, dAh: dAh}
				sent = i + 1
			}
			if i == T-1 {
				break
			}
			// δ_{t−1} = Whᵀ (gate gradients at t) + direct terms.
			mulAB(delta, ah, ct.w.Wh, B, gh, H, 0)
			if p.Cell == CellGRU {
				for k, v := range carry {
					delta[k] += v
				}
			}
			addDirect(delta, direct, pt, d, B, H, dirsH, true)
			t = pt
		}
		if grads != nil {
			mulAtB(grads.V[d*H:], dO, ct.s[B*H:(T+1)*B*H], T*B, K, H, dirsH)
		}
		if opts.dx != nil {
			// x_t enters every gate through Wx: ∂E/∂x_t = Wxᵀ dA_t.
			mulAB(opts.dx, dAx, ct.w.Wx, T*B, gh, p.D, 1)
		}
	}
	if grads != nil {
		addColumnSums(grads.C, dO, T*B, K)
	}
	return nil
}

// gradChunkSteps is how many steps of gate gradients go into one
// parameter-gradient product: large enough for Gemm to run near its best
// rate, small enough that the last chunk, which nothing overlaps, is short.
const gradChunkSteps = 128

// gradChunk is a range [t0, t1) of steps of one chain whose gate
// gradients, in the chain's dAx and dAh, are complete.
type gradChunk struct {
	chain, t0, t1 int
	dAx, dAh      []float64
}

// gradAccumulator turns gate gradients into parameter gradients on its
// own goroutine while the backward recurrence, which is sequential and
// leaves a core idle, carries on.
type gradAccumulator struct {
	tp     *tape
	grads  *Params
	dAT    []float64 // transposed chunk of gate gradients
	xT     []float64 // transposed chunk of inputs
	chunks chan gradChunk
	done   chan struct{}
}

func newGradAccumulator(tp *tape, grads *Params) *gradAccumulator {
	T, B := tp.batch.T, tp.batch.B
	gh := tp.p.Cell.Gates() * tp.p.H
	acc := &gradAccumulator{
		tp: tp, grads: grads,
		dAT:    make([]float64, min(T, gradChunkSteps)*B*gh),
		xT:     make([]float64, min(T, gradChunkSteps)*B*tp.p.D),
		chunks: make(chan gradChunk, tp.p.Dirs*(T/gradChunkSteps+1)),
		done:   make(chan struct{}),
	}
	// Exits when wait closes the channel, after the last chunk.
	go func() {
		defer close(acc.done)
		for c := range acc.chunks {
			acc.add(c)
		}
	}()
	return acc
}

// wait closes the queue and returns once every chunk is accumulated.
func (acc *gradAccumulator) wait() {
	close(acc.chunks)
	<-acc.done
}

// add accumulates Σ dA_tᵀ x_t into Wx, Σ dA_tᵀ s_prev(t) into Wh and the
// bias sums over the steps of c. gonum's Gemm is three times faster on a
// stored transpose than on a transposed operand, and the transpose costs
// a tenth of the product.
func (acc *gradAccumulator) add(c gradChunk) {
	tp, p := acc.tp, acc.tp.p
	B, H, D := tp.batch.B, p.H, p.D
	gh := p.Cell.Gates() * H
	ct := &tp.chain[c.chain]
	gw := &acc.grads.Chain[c.chain]
	rows := (c.t1 - c.t0) * B
	r0 := (c.t0 - 1) * B
	dAx := c.dAx[r0*gh : (r0+rows)*gh]
	dAh := c.dAh[r0*gh : (r0+rows)*gh]
	dAT := acc.dAT[:rows*gh]

	transpose(dAT, dAx, rows, gh)
	xT := acc.xT[:D*rows]
	transpose(xT, tp.batch.X[r0*D:(r0+rows)*D], rows, D)
	mulABt(gw.Wx, dAT, xT, gh, rows, D, 1)
	addColumnSums(gw.B, dAx, rows, gh)
	// The state before step t is row t−1 (forward chain) or t+1 (reverse).
	prev := c.t0 - 1
	if ct.rev {
		prev = c.t0 + 1
	}
	prevRows := ct.s[prev*B*H : (prev*B+rows)*H]
	if p.Cell == CellGRU {
		transpose(dAT, dAh, rows, gh)
		for r := range rows {
			for j, v := range dAh[r*gh+2*H : (r+1)*gh] {
				gw.BhN[j] += v
			}
		}
	}
	mulAB(gw.Wh, dAT, prevRows, gh, rows, H, 1)
}

// addDirect sets (or adds to) v the output layer's share of ∂E/∂s_t for
// chain d: rows of direct = ∂E/∂o_t · V.
func addDirect(v, direct []float64, t, d, B, H, dirsH int, add bool) {
	for r := range B {
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
