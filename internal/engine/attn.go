package engine

import (
	"context"
	"math"
)

// Self-attention, the model that ends the article: instead of carrying
// the past through one state after another, every position reads every
// other directly. With x_t the inputs, f the chosen activation and P the
// sinusoidal position code,
//
//	s_t  = f(Wx x_t + b + P[t])                 position t's state
//	q_t  = Wq s_t,  k_j = Wk s_j,  v_j = Wv s_j
//	α_tj = softmax over j of q_t·k_j/√H         j ≤ t; every j when bidir
//	z_t  = Σ_j α_tj v_j
//	o_t  = V z_t + c
//
// P[t][2i] = sin(t/10000^(2i/H)) and P[t][2i+1] = cos(t/10000^(2i/H)),
// t counted from 1 and i from 0. The error signal reaches s_k from every
// later output in one step, through q_t, k_k and v_k, so ∂E/∂s_k has no
// product of Jacobians to vanish in: path length 1 at every distance.
// Gain scales Wq, Wk and Wv, the matrices that mix positions; Wx and V
// take the scheme at gain 1, as for the recurrent models.

// CellAttn is single-head causal self-attention.
const CellAttn Cell = "attn"

func init() { register(40, attention{}) }

var attnInfo = ModelInfo{Cell: CellAttn, Activation: true, WorkFormula: "T·H·(D+3H) + T²·H (2·T²·H with bidir)"}

type attention struct{}

func (attention) info() ModelInfo { return attnInfo }

// attnTape is attention's part of a forward record, besides the
// pre-activations and states it keeps in tape.chain[0] like a recurrent
// chain (row t of s is s_t, rows 0 and T+1 zero).
type attnTape struct {
	pos     []float64 // T·H position code, for posT, posH
	posT    int
	posH    int
	qkv     []float64 // T·B·3H: [q_t k_t v_t] of each row
	alpha   []float64 // B·T·T: α_tj of each sequence, zero where masked
	z       []float64 // T·B·H
	wqkvT   []float64 // [Wq; Wk; Wv]ᵀ packed
	packed  []float64 // one sequence's Kᵀ (forward) or Vᵀ (backward) packed
	dZ      []float64 // T·B·H: ∂E/∂z_t
	dScore  []float64 // T·T: ∂E/∂(q_t·k_j) of one sequence
	dqkv    []float64 // T·B·3H
	deltaAt []float64 // T·B·H: ∂E/∂s_t of every row, then ∂E/∂a_t
}

// record returns the forward record of at without its backward scratch.
func (at *attnTape) record() attnTape {
	return attnTape{pos: at.pos, posT: at.posT, posH: at.posH, qkv: at.qkv, alpha: at.alpha, z: at.z}
}

// The weights' order in Params.Data: Wx (H×D), b, then Wq, Wk and Wv
// (H×H each) stacked as one 3H×H matrix, then V and c.
func (attention) layout(p *Params, add func(string, *[]float64, int, int)) {
	w := &p.Chain[0]
	add("Wx", &w.Wx, p.H, p.D)
	add("b", &w.B, p.H, 1)
	// Read together, through qkvWeights.
	add("Wq", nil, p.H, p.H)
	add("Wk", nil, p.H, p.H)
	add("Wv", nil, p.H, p.H)
}

// qkvWeights returns [Wq; Wk; Wv], the 3H×H matrix after Wx and b.
func qkvWeights(p *Params) []float64 {
	at := p.H*p.D + p.H
	return p.Data[at : at+3*p.H*p.H]
}

func (attention) init(p *Params, s Settings) {
	w := &p.Chain[0]
	initMatrix(w.Wx, s.H, s.D, s.Init, 1, stream(s.Seed, "Wx/"))
	qkv := qkvWeights(p)
	for i, name := range []string{"Wq", "Wk", "Wv"} {
		initMatrix(qkv[i*s.H*s.H:(i+1)*s.H*s.H], s.H, s.H, s.Init, s.Gain, stream(s.Seed, name))
	}
}

// work counts the products with the weights and the T×T scores: about
// T²·H multiply-adds for the causal half of them, twice as many without
// the mask.
func (attention) work(s Settings) int64 {
	T, H, D := int64(s.T), int64(s.H), int64(s.D)
	scores := T * T * H
	if s.Bidir {
		scores *= 2
	}
	return T*H*(D+3*H) + scores
}

func (attention) workingFloats(s Settings, batch int) int64 {
	T, H, D := int64(s.T), int64(s.H), int64(s.D)
	B := int64(batch)
	perRow := 2*H + H + 3*H + H + H + 3*H + H // pre, s (padded), pos, qkv, z, dZ, dqkv, δ
	return T*B*perRow + B*T*T + T*T + 2*(3*H*H+H*T) + 3*(H*D+H+3*H*H)
}

// forward computes the states, the attention of every position and the
// logits. The T×T scores are computed in blocks of rows, and the softmax
// a step at a time, so that a pass checks ctx once per step like a
// recurrence.
func (attention) forward(ctx context.Context, tp *tape, bump *perturbation) error {
	pacer := pacerOf(ctx)
	p, b := tp.p, tp.batch
	T, B, H, D, K := b.T, b.B, p.H, p.D, p.K
	at := &tp.attn
	ct := &tp.chain[0]
	ct.w = &p.Chain[0]
	ct.rev = false
	ct.gh = H
	ct.pre = resize(ct.pre, T*B*H)
	ct.s = resize(ct.s, (T+2)*B*H)
	clear(ct.s[:B*H])
	clear(ct.s[(T+1)*B*H:])
	at.position(T, H)

	// a_t = b + P[t] + Wx x_t, then s_t = f(a_t).
	for t := 1; t <= T; t++ {
		for r := range B {
			row := ct.pre[((t-1)*B+r)*H : ((t-1)*B+r+1)*H]
			for j, v := range at.pos[(t-1)*H : t*H] {
				row[j] = ct.w.B[j] + v
			}
		}
	}
	ct.wxT = packB(resize(ct.wxT, packedLen(D, H)), ct.w.Wx, D, H, 1, D)
	gemmPacked(T*B, H, D, b.X, D, 1, ct.wxT, 1, ct.pre, H)
	states := ct.s[B*H : (T+1)*B*H]
	tp.act.apply(states, ct.pre)
	if bump != nil && bump.chain == 0 {
		for k, v := range bump.dh {
			ct.s[bump.t*B*H+k] += v
		}
	}
	for t := 1; t <= T; t++ {
		if !allFinite(ct.s[t*B*H : (t+1)*B*H]) {
			tp.overflowStep = t
			break
		}
	}

	// [q k v] of every row at once.
	wqkv := qkvWeights(p)
	at.wqkvT = packB(resize(at.wqkvT, packedLen(H, 3*H)), wqkv, H, 3*H, 1, H)
	at.qkv = resize(at.qkv, T*B*3*H)
	gemmPacked(T*B, 3*H, H, states, H, 1, at.wqkvT, 0, at.qkv, 3*H)

	at.alpha = resize(at.alpha, B*T*T)
	at.z = resize(at.z, T*B*H)
	at.packed = resize(at.packed, packedLen(H, T))
	scale := 1 / math.Sqrt(float64(H))
	causal := !p.Bidir
	ld := B * 3 * H // row stride of one sequence's q, k or v
	for t0 := 0; t0 < T; t0 += attnBlock {
		t1 := min(t0+attnBlock, T)
		cols := T
		if causal {
			cols = t1
		}
		// Rows t0..t1−1 of q·kᵀ/√H for every sequence, then a softmax over
		// each row's visible positions, a step at a time.
		for r := range B {
			q, k := at.qkv[r*3*H:], at.qkv[r*3*H+H:]
			kT := packB(at.packed, k, H, cols, 1, ld)
			gemmPacked(t1-t0, cols, H, q[t0*ld:], ld, 1, kT, 0, at.alpha[r*T*T+t0*T:], T)
		}
		for t := t0; t < t1; t++ {
			if err := checkpoint(ctx, pacer); err != nil {
				return err
			}
			seen := T
			if causal {
				seen = t + 1
			}
			for r := range B {
				row := at.alpha[r*T*T+t*T : r*T*T+(t+1)*T]
				softmaxScaled(row[:seen], scale)
				clear(row[seen:])
			}
		}
		// z_t = Σ_j α_tj v_j for the block's rows.
		for r := range B {
			v := at.qkv[r*3*H+2*H:]
			gemm(t1-t0, H, cols, at.alpha[r*T*T+t0*T:], T, 1, v, ld, 0, at.z[(t0*B+r)*H:], B*H)
		}
	}
	tp.vT = packB(resize(tp.vT, packedLen(H, K)), p.V, H, K, 1, H)
	gemmPacked(T*B, K, H, at.z, H, 1, tp.vT, 1, tp.out, K)
	return nil
}

// attnBlock is how many rows of scores attention computes in one product
// with Kᵀ: enough for gemm to run near its best rate.
const attnBlock = 64

// position fills at.pos with the position code for T steps of H units,
// unless it already holds it.
func (at *attnTape) position(T, H int) {
	if at.posT == T && at.posH == H {
		return
	}
	at.pos = resize(at.pos, T*H)
	for t := 1; t <= T; t++ {
		row := at.pos[(t-1)*H : t*H]
		for i := 0; 2*i < H; i++ {
			angle := float64(t) / math.Pow(10000, float64(2*i)/float64(H))
			row[2*i] = math.Sin(angle)
			if 2*i+1 < H {
				row[2*i+1] = math.Cos(angle)
			}
		}
	}
	at.posT, at.posH = T, H
}

// softmaxScaled sets row to softmax(scale·row). A row whose largest
// score is not finite becomes NaN: there is no distribution to keep.
func softmaxScaled(row []float64, scale float64) {
	m := math.Inf(-1)
	for i, v := range row {
		v *= scale
		row[i] = v
		if v > m || math.IsNaN(v) {
			m = v
		}
	}
	if math.IsInf(m, 0) || math.IsNaN(m) {
		for i := range row {
			row[i] = math.NaN()
		}
		return
	}
	sum := 0.0
	for i, v := range row {
		e := math.Exp(v - m)
		row[i] = e
		sum += e
	}
	for i := range row {
		row[i] /= sum
	}
}

// backward computes ∂E/∂s_k through every path at once: through the
// values v_k that later outputs read, through the keys k_k that later
// queries match, and through the query q_k of its own output. Then, step
// by step from T back to 1, it clips δ_k, records it and passes it
// through f′ to Wx and b.
func (attention) backward(ctx context.Context, tp *tape, grads *Params, opts *backwardOptions) error {
	pacer := pacerOf(ctx)
	p, b := tp.p, tp.batch
	T, B, H, K := b.T, b.B, p.H, p.K
	bs, at, ct := &tp.back, &tp.attn, &tp.chain[0]
	states := ct.s[B*H : (T+1)*B*H]
	scale := 1 / math.Sqrt(float64(H))
	causal := !p.Bidir
	ld := B * 3 * H

	// ∂E/∂z_t = Vᵀ ∂E/∂o_t, and V's own gradient Σ_t ∂E/∂o_t z_tᵀ.
	at.dZ = resize(at.dZ, T*B*H)
	gemm(T*B, H, K, bs.dO, K, 1, p.V, H, 0, at.dZ, H)
	if grads != nil {
		gemm(K, H, T*B, bs.dO, 1, K, at.z, H, 1, grads.V, H)
	}

	at.dqkv = resize(at.dqkv, T*B*3*H)
	at.dScore = resize(at.dScore, T*T)
	at.packed = resize(at.packed, packedLen(H, T))
	for r := range B {
		if err := checkpoint(ctx, pacer); err != nil {
			return err
		}
		q, k, v := at.qkv[r*3*H:], at.qkv[r*3*H+H:], at.qkv[r*3*H+2*H:]
		dq, dk, dv := at.dqkv[r*3*H:], at.dqkv[r*3*H+H:], at.dqkv[r*3*H+2*H:]
		alpha := at.alpha[r*T*T : (r+1)*T*T]
		dZ := at.dZ[r*H:]
		// dk and dv gather over rows t; they start from zero.
		for t := range T {
			clear(dk[t*ld : t*ld+H])
			clear(dv[t*ld : t*ld+H])
		}
		vT := packB(at.packed, v, H, T, 1, ld)
		// A block of rows t0..t1−1 reads columns j < t1 only when causal.
		// Each block is one pause point: a long sequence's backward pass
		// stops within a block once ctx is done.
		for t0 := 0; t0 < T; t0 += attnBlock {
			if t0 > 0 {
				if err := checkpoint(ctx, pacer); err != nil {
					return err
				}
			}
			t1 := min(t0+attnBlock, T)
			cols := T
			if causal {
				cols = t1
			}
			// ∂E/∂α_tj = ∂E/∂z_t · v_j.
			dS := at.dScore[t0*T:]
			gemmPacked(t1-t0, cols, H, dZ[t0*B*H:], B*H, 1, vT, 0, dS, T)
			// Through the softmax: ∂E/∂score_tj = α_tj (∂E/∂α_tj − Σ_i α_ti ∂E/∂α_ti),
			// times 1/√H for the score's scale.
			for t := t0; t < t1; t++ {
				a, d := alpha[t*T:(t+1)*T], at.dScore[t*T:(t+1)*T]
				seen := T
				if causal {
					seen = t + 1
				}
				sum := 0.0
				for j := range seen {
					sum += a[j] * d[j]
				}
				for j := range seen {
					d[j] = scale * a[j] * (d[j] - sum)
				}
				clear(d[seen:cols])
			}
			// q's gradient Σ_j ∂score_tj k_j for the block's rows; the
			// block's share of k's Σ_t ∂score_tj q_t and of v's
			// Σ_t α_tj ∂E/∂z_t, for the columns it reaches.
			gemm(t1-t0, H, cols, dS, T, 1, k, ld, 0, dq[t0*ld:], ld)
			gemm(cols, H, t1-t0, dS, 1, T, q[t0*ld:], ld, 1, dk, ld)
			gemm(cols, H, t1-t0, alpha[t0*T:], 1, T, dZ[t0*B*H:], B*H, 1, dv, ld)
		}
	}

	// δ_t = ∂E/∂s_t = Wqᵀ ∂q_t + Wkᵀ ∂k_t + Wvᵀ ∂v_t, every path at once.
	wqkv := qkvWeights(p)
	delta := resize(at.deltaAt, T*B*H)
	at.deltaAt = delta
	gemm(T*B, H, 3*H, at.dqkv, 3*H, 1, wqkv, H, 0, delta, H)
	if grads != nil {
		gemm(3*H, H, T*B, at.dqkv, 1, 3*H, states, H, 1, qkvWeights(grads), H)
	}

	// Step by step back from T: clip δ_t, record it, then ∂E/∂a_t.
	bs.deriv = resize(bs.deriv, B*H)
	for t := T; t >= 1; t-- {
		if err := checkpoint(ctx, pacer); err != nil {
			return err
		}
		rows := delta[(t-1)*B*H : t*B*H]
		if opts.clip.IsStep() && clipStep(rows, B, H, opts.clip, opts.threshold) {
			opts.clipped++
		}
		if opts.overflowStep == 0 && !allFinite(rows) {
			opts.overflowStep = t
		}
		record(opts.dhNorm[0], opts.dh[0], t, rows)
		tp.act.deriv(bs.deriv, ct.s[t*B*H:(t+1)*B*H])
		for i, d := range bs.deriv {
			rows[i] *= d
		}
	}
	if grads != nil {
		w := &grads.Chain[0]
		gemm(H, p.D, T*B, delta, 1, H, b.X, p.D, 1, w.Wx, p.D)
		addColumnSums(w.B, delta, T*B, H)
	}
	if opts.dx != nil {
		mulAB(opts.dx, delta, ct.w.Wx, T*B, H, p.D, 1)
	}
	return nil
}
