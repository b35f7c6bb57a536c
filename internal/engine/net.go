package engine

import (
	"context"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// batch is B sequences of T steps, stored time-major: the row for step t
// (1-based) and sequence b is (t−1)·B + b.
type batch struct {
	T, B, D int
	X       []float64 // T·B·D inputs

	// Scored steps. A step whose mask entry is false adds nothing to E.
	mask    []bool    // T·B
	classes []int     // T·B class labels, for cross-entropy
	values  []float64 // T·B regression targets, for squared error (K = 1)
	squared bool      // squared error instead of softmax cross-entropy
	weight  float64   // factor on every scored term of E
}

// tape records a forward pass for the backward pass to read.
type tape struct {
	p     *Params
	act   Activation
	batch *batch
	chain [2]chainTape

	// out holds, for every step, the probabilities ŷ_t (cross-entropy) or
	// the outputs o_t (squared error); T·B·K.
	out     []float64
	loss    float64
	correct int // scored steps predicted right (argmax or |o−y| < 0.04)
	scored  int

	// overflowStep is the first step t whose state is not finite, or 0.
	overflowStep int
}

// chainTape is the record of one direction. Row t of s is the state at
// time t; rows 0 and T+1 are the zero initial states of the forward and
// reverse chains.
type chainTape struct {
	w   *CellWeights
	rev bool
	pre []float64 // T·B·gates·H: gate values (lstm, gru) or scratch (rnn)
	s   []float64 // (T+2)·B·H
	c   []float64 // lstm: (T+2)·B·H cell states
	tc  []float64 // lstm: T·B·H, tanh(c_t)
	hn  []float64 // gru: T·B·H, Wh_n h_{t−1} + bh_n
}

// perturbation adds a vector to one state right after it is computed. It
// exists so tests can measure ∂E/∂s_k by finite differences through the
// real forward pass.
type perturbation struct {
	chain, t int
	dh, dc   []float64 // B·H each, either may be nil
}

// first, prev and next walk a chain's time indices in processing order.
func (c *chainTape) first(T int) int {
	if c.rev {
		return T
	}
	return 1
}

func (c *chainTape) last(T int) int {
	if c.rev {
		return 1
	}
	return T
}

func (c *chainTape) prev(t int) int {
	if c.rev {
		return t + 1
	}
	return t - 1
}

func (c *chainTape) next(t int) int {
	if c.rev {
		return t - 1
	}
	return t + 1
}

// forward runs the model over the batch and returns the record. It checks
// ctx between steps.
func forward(ctx context.Context, p *Params, act Activation, b *batch, bump *perturbation) (*tape, error) {
	pacer := pacerOf(ctx)
	T, B, H, D := b.T, b.B, p.H, p.D
	gh := p.Cell.Gates() * H
	tp := &tape{p: p, act: act, batch: b}
	scratch := make([]float64, B*gh)
	wxT := make([]float64, D*gh)
	for d := range p.Dirs {
		ct := &tp.chain[d]
		ct.w = &p.Chain[d]
		ct.rev = d == 1
		ct.pre = make([]float64, T*B*gh)
		ct.s = make([]float64, (T+2)*B*H)
		switch p.Cell {
		case CellLSTM:
			ct.c = make([]float64, (T+2)*B*H)
			ct.tc = make([]float64, T*B*H)
		case CellGRU:
			ct.hn = make([]float64, T*B*H)
		}
		// The input half of every pre-activation at once: Wx x_t + b. With
		// D small, gonum's Gemm is fastest on a stored Wxᵀ.
		transpose(wxT, ct.w.Wx, gh, D)
		mulAB(ct.pre, b.X, wxT, T*B, D, gh, 0)
		for r := range T * B {
			row := ct.pre[r*gh : (r+1)*gh]
			for j, v := range ct.w.B {
				row[j] += v
			}
		}
		for i, t := 0, ct.first(T); i < T; i, t = i+1, ct.next(t) {
			if err := checkpoint(ctx, pacer); err != nil {
				return nil, err
			}
			prev := ct.prev(t)
			sPrev := ct.s[prev*B*H : (prev+1)*B*H]
			if i == 0 {
				clear(scratch)
			} else {
				mulABt(scratch, sPrev, ct.w.Wh, B, H, gh, 0)
			}
			tp.step(ct, t, scratch)
			if bump != nil && bump.chain == d && bump.t == t {
				bump.apply(tp, ct, t)
			}
			if d == 0 && tp.overflowStep == 0 && !allFinite(ct.s[t*B*H:(t+1)*B*H]) {
				tp.overflowStep = t
			}
		}
	}
	tp.outputs()
	return tp, nil
}

// step computes the state at time t from hh = Wh s_prev (all gates).
func (tp *tape) step(ct *chainTape, t int, hh []float64) {
	B, H := tp.batch.B, tp.p.H
	gh := tp.p.Cell.Gates() * H
	pre := ct.pre[(t-1)*B*gh : t*B*gh]
	s := ct.s[t*B*H : (t+1)*B*H]
	prev := ct.prev(t)
	switch tp.p.Cell {
	case CellRNN:
		for j, v := range hh {
			pre[j] += v
		}
		tp.act.apply(s, pre)
	case CellLSTM:
		c := ct.c[t*B*H : (t+1)*B*H]
		cPrev := ct.c[prev*B*H : (prev+1)*B*H]
		tc := ct.tc[(t-1)*B*H : t*B*H]
		for b := range B {
			g := pre[b*gh : (b+1)*gh]
			x := hh[b*gh : (b+1)*gh]
			for j := range H {
				ig := sigmoid(g[j] + x[j])
				fg := sigmoid(g[H+j] + x[H+j])
				cg := math.Tanh(g[2*H+j] + x[2*H+j])
				og := sigmoid(g[3*H+j] + x[3*H+j])
				g[j], g[H+j], g[2*H+j], g[3*H+j] = ig, fg, cg, og
				k := b*H + j
				c[k] = fg*cPrev[k] + ig*cg
				tc[k] = math.Tanh(c[k])
				s[k] = og * tc[k]
			}
		}
	case CellGRU:
		sPrev := ct.s[prev*B*H : (prev+1)*B*H]
		hn := ct.hn[(t-1)*B*H : t*B*H]
		for b := range B {
			g := pre[b*gh : (b+1)*gh]
			x := hh[b*gh : (b+1)*gh]
			for j := range H {
				r := sigmoid(g[j] + x[j])
				z := sigmoid(g[H+j] + x[H+j])
				k := b*H + j
				hn[k] = x[2*H+j] + ct.w.BhN[j]
				n := math.Tanh(g[2*H+j] + r*hn[k])
				g[j], g[H+j], g[2*H+j] = r, z, n
				s[k] = (1-z)*n + z*sPrev[k]
			}
		}
	}
}

func (bp *perturbation) apply(tp *tape, ct *chainTape, t int) {
	B, H := tp.batch.B, tp.p.H
	if bp.dc != nil {
		// Changing c_t changes h_t = o_t ⊙ tanh(c_t) too.
		gh := 4 * H
		c := ct.c[t*B*H : (t+1)*B*H]
		for b := range B {
			for j := range H {
				k := b*H + j
				c[k] += bp.dc[k]
				ct.tc[(t-1)*B*H+k] = math.Tanh(c[k])
				ct.s[t*B*H+k] = ct.pre[(t-1)*B*gh+b*gh+3*H+j] * math.Tanh(c[k])
			}
		}
	}
	for k, v := range bp.dh {
		ct.s[t*B*H+k] += v
	}
}

// outputs computes o_t = V [s_t; s'_t] + c for every step, then the loss
// over the scored steps.
func (tp *tape) outputs() {
	b, p := tp.batch, tp.p
	T, B, H, K := b.T, b.B, p.H, p.K
	tp.out = make([]float64, T*B*K)
	for r := range T * B {
		copy(tp.out[r*K:(r+1)*K], p.C)
	}
	for d := range p.Dirs {
		states := tp.chain[d].s[B*H : (T+1)*B*H]
		// out += states · V_dᵀ, V_d being columns [d·H, (d+1)·H) of V.
		gemmABtStrided(tp.out, states, p.V[d*H:], T*B, H, K, p.Dirs*H)
	}
	for r := range T * B {
		if !b.mask[r] {
			continue
		}
		o := tp.out[r*K : (r+1)*K]
		tp.scored++
		if b.squared {
			e := o[0] - b.values[r]
			tp.loss += b.weight * e * e
			if math.Abs(e) < 0.04 {
				tp.correct++
			}
			continue
		}
		y := b.classes[r]
		tp.loss += b.weight * crossEntropy(o, y)
		lse, best := logSumExp(o)
		if best == y {
			tp.correct++
		}
		for j := range o {
			o[j] = math.Exp(o[j] - lse)
		}
	}
	if b.squared {
		return
	}
	// Unscored steps still report probabilities, for display.
	for r := range T * B {
		if b.mask[r] {
			continue
		}
		o := tp.out[r*K : (r+1)*K]
		lse, _ := logSumExp(o)
		for j := range o {
			o[j] = math.Exp(o[j] - lse)
		}
	}
}

// crossEntropy returns −log softmax(o)[y]. When y is the most likely
// class, lse − o_y would cancel to zero for a confident model, so it is
// computed as log1p(Σ_{j≠y} exp(o_j − o_y)), exact to the last digit.
func crossEntropy(o []float64, y int) float64 {
	lse, best := logSumExp(o)
	if best != y || math.IsNaN(lse) {
		return lse - o[y]
	}
	rest := 0.0
	for j, v := range o {
		if j != y {
			rest += math.Exp(v - o[y])
		}
	}
	return math.Log1p(rest)
}

// softmaxGrad sets d = weight·(ŷ − e_y), the gradient of the cross-entropy
// with respect to the logits, given the probabilities p. The target's
// entry is −Σ_{j≠y} ŷ_j rather than ŷ_y − 1, which for a confident model
// rounds away every digit.
func softmaxGrad(d, p []float64, y int, weight float64) {
	rest := 0.0
	for j, v := range p {
		d[j] = weight * v
		if j != y {
			rest += v
		}
	}
	d[y] = -weight * rest
}

// logSumExp returns log Σ exp(o_j) computed stably, and the index of the
// largest o_j. A non-finite largest entry yields NaN.
func logSumExp(o []float64) (float64, int) {
	best := 0
	for j, v := range o {
		if v > o[best] {
			best = j
		}
	}
	m := o[best]
	if math.IsInf(m, 0) || math.IsNaN(m) {
		return math.NaN(), best
	}
	sum := 0.0
	for _, v := range o {
		sum += math.Exp(v - m)
	}
	return m + math.Log(sum), best
}

// gemmABtStrided adds a·bᵀ to c, where a is m×k, b is n×k with row
// stride ldb, and c is m×n.
func gemmABtStrided(c, a, b []float64, m, k, n, ldb int) {
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, general(a, m, k, k), general(b, n, k, ldb), 1, general(c, m, n, n))
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return false
		}
	}
	return true
}
