package engine

import (
	"context"
	"math"
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

// tape records a forward pass for the backward pass to read. A tape can
// be recorded again (the Trainer keeps one): every buffer is resized and
// overwritten, so nothing of the earlier pass survives.
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
	// scoredOnly skips the probabilities of unscored steps, which only a
	// display reads.
	scoredOnly bool

	// overflowStep is the first step t whose state is not finite, or 0.
	overflowStep int

	vT   []float64 // V_dᵀ packed for gemm
	fwd  [2]fwdJob
	back backScratch

	attn attnTape // attention's record; empty for the recurrent cells
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

	wxT, whT []float64 // Wxᵀ and Whᵀ packed for gemm

	cell recurrentCell
	gh   int // gates·H
}

// fwdJob is the forward recurrence of one chain over sequences [r0, r1)
// of the batch.
type fwdJob struct {
	tp       *tape
	ctx      context.Context
	d        int
	r0, r1   int
	hh       []float64 // (r1−r0)·gates·H: Wh s_prev for the rows
	overflow int
	err      error
	job      *job
}

func (j *fwdJob) exec() { j.overflow, j.err = j.tp.forwardRows(j.ctx, j.d, j.r0, j.r1, j.hh, nil) }

// forBackward returns a tape that shares tp's forward record and has
// scratch of its own, so a second backward pass can run beside one on
// tp. Neither may record a forward pass while the other is in use.
func (tp *tape) forBackward() *tape {
	return &tape{
		p: tp.p, act: tp.act, batch: tp.batch, chain: tp.chain,
		out: tp.out, loss: tp.loss, correct: tp.correct, scored: tp.scored,
		overflowStep: tp.overflowStep, attn: tp.attn.record(),
	}
}

// resize returns v with length n, reusing its array when it is large
// enough. The contents are unspecified.
func resize(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	return v[:n]
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

// forward runs the model over the batch and returns a new record. It
// checks ctx between steps.
func forward(ctx context.Context, p *Params, act Activation, b *batch, bump *perturbation) (*tape, error) {
	tp := new(tape)
	if err := tp.forward(ctx, p, act, b, bump); err != nil {
		return nil, err
	}
	return tp, nil
}

// forward records a pass of p over b into tp: the model's own pass,
// then the output layer's scores. A recorded tape can be recorded again.
func (tp *tape) forward(ctx context.Context, p *Params, act Activation, b *batch, bump *perturbation) error {
	T, B, K := b.T, b.B, p.K
	tp.p, tp.act, tp.batch = p, act, b
	tp.loss, tp.correct, tp.scored, tp.overflowStep = 0, 0, 0, 0
	tp.out = resize(tp.out, T*B*K)
	for r := range T * B {
		copy(tp.out[r*K:(r+1)*K], p.C)
	}
	if err := modelOf(p.Cell).forward(ctx, tp, bump); err != nil {
		return err
	}
	tp.score()
	return nil
}

// recurrent is the family of models whose state at step t is a cell of
// the input x_t and the state s_{t−1} alone: the vanilla RNN, the LSTM
// and the GRU. They share the recurrence below and in backward.go; a
// recurrentCell supplies what differs.
type recurrent struct{ cell recurrentCell }

// recurrentCell is what one recurrent cell adds to the shared recurrence.
type recurrentCell interface {
	info() ModelInfo
	// record sizes the cell's own records of ct for T steps of B
	// sequences of H units.
	record(ct *chainTape, T, B, H int)
	// step computes the states of sequences [r0, r1) at time t from
	// hh = Wh s_prev (all gates) for those sequences.
	step(tp *tape, ct *chainTape, t, r0, r1 int, hh []float64)
	// gateGrads sets, for sequences [r0, r1) at step t, the gate
	// gradients ax (through Wx and b) and ah (through Wh; the same
	// slice unless separateHidden) from δ_t in tp.back.delta, and
	// records what the cell records of chain d in opts.
	gateGrads(tp *tape, ct *chainTape, d, t, r0, r1 int, ax, ah []float64, opts *backwardOptions)
	// carry adds to δ_{t−1} (rows [r0, r1) of tp.back.delta, which
	// already hold Whᵀ ah) what reaches s_{t−1} other than through Wh.
	carry(tp *tape, r0, r1 int)
	// initBias sets the cell's bias of one chain for s.
	initBias(w *CellWeights, s Settings)
	// separateHidden reports that the gate gradients through Wh differ
	// from those through Wx, with a bias bh_n inside the n gate (GRU).
	separateHidden() bool
}

func (m recurrent) info() ModelInfo { return m.cell.info() }

// recurrentWork names what the recurrent models' Settings.Work counts.
const recurrentWork = "T·H²·gates·directions"

// gates returns how many gate blocks the cell stacks in Wx, Wh and b.
func (m recurrent) gates() int { return max(len(m.info().Gates), 1) }

func (m recurrent) layout(p *Params, add func(string, *[]float64, int, int)) {
	gh := m.gates() * p.H
	for d := range p.Dirs {
		prefix := ""
		if d == 1 {
			prefix = "rev."
		}
		w := &p.Chain[d]
		add(prefix+"Wx", &w.Wx, gh, p.D)
		add(prefix+"Wh", &w.Wh, gh, p.H)
		add(prefix+"b", &w.B, gh, 1)
		if m.cell.separateHidden() {
			add(prefix+"bh_n", &w.BhN, p.H, 1)
		}
	}
}

func (m recurrent) init(p *Params, s Settings) {
	gates := m.info().Gates
	if gates == nil {
		gates = []string{""}
	}
	for d := range p.Dirs {
		w := &p.Chain[d]
		for g, name := range gates {
			tag := chainTag(d) + name
			initMatrix(p.Gate(w.Wx, g, s.D), s.H, s.D, s.Init, 1, stream(s.Seed, "Wx"+tag))
			initMatrix(p.Gate(w.Wh, g, s.H), s.H, s.H, s.Init, s.Gain, stream(s.Seed, "Wh"+tag))
		}
		m.cell.initBias(w, s)
	}
}

func (m recurrent) work(s Settings) int64 {
	return int64(s.T) * int64(s.H) * int64(s.H) * int64(m.gates()) * int64(s.Directions())
}

func (m recurrent) workingFloats(s Settings, batch int) int64 {
	T, H, D := int64(s.T), int64(s.H), int64(s.D)
	dirs := int64(s.Directions())
	gh := int64(m.gates()) * H
	steps := T * int64(batch)
	perStep := 2*gh + 4*H // pre and its gradient, s, c, tanh c, hn
	if m.cell.separateHidden() {
		perStep += gh // the recurrent half's gradient
	}
	// The weights three times over: themselves, their gradient, a copy.
	return dirs*steps*perStep + 3*dirs*(gh*(D+H)+gh)
}

// forward runs each chain's recurrence over the batch, then adds the
// output layer's share of every chain's states to the logits. A batch of
// several sequences runs as two halves at once (see both); each state is
// the same either way, as gemm computes every element alike.
func (m recurrent) forward(ctx context.Context, tp *tape, bump *perturbation) error {
	p, b := tp.p, tp.batch
	T, B, H, D := b.T, b.B, p.H, p.D
	gh := m.gates() * H
	split := B >= 2 && bump == nil
	for d := range p.Dirs {
		ct := &tp.chain[d]
		ct.w = &p.Chain[d]
		ct.rev = d == 1
		ct.cell = m.cell
		ct.gh = gh
		ct.pre = resize(ct.pre, T*B*gh)
		ct.s = resize(ct.s, (T+2)*B*H)
		clear(ct.s[:B*H])
		clear(ct.s[(T+1)*B*H:])
		m.cell.record(ct, T, B, H)
		// The input half of every pre-activation at once: b + Wx x_t.
		ct.wxT = packB(resize(ct.wxT, packedLen(D, gh)), ct.w.Wx, D, gh, 1, D)
		for r := range T * B {
			copy(ct.pre[r*gh:(r+1)*gh], ct.w.B)
		}
		gemmPacked(T*B, gh, D, b.X, D, 1, ct.wxT, 1, ct.pre, gh)
		if B > 1 {
			ct.whT = packB(resize(ct.whT, packedLen(H, gh)), ct.w.Wh, H, gh, 1, H)
		}
		if !split {
			tp.fwd[0].hh = resize(tp.fwd[0].hh, B*gh)
			overflow, err := tp.forwardRows(ctx, d, 0, B, tp.fwd[0].hh, bump)
			if err != nil {
				return err
			}
			if d == 0 {
				tp.overflowStep = overflow
			}
			continue
		}
		mid := B / 2
		for i, r := range [2][2]int{{0, mid}, {mid, B}} {
			j := &tp.fwd[i]
			if j.job == nil {
				j.tp, j.job = tp, newJob(j.exec)
			}
			j.ctx, j.d, j.r0, j.r1 = ctx, d, r[0], r[1]
			j.hh = resize(j.hh, (r[1]-r[0])*gh)
		}
		both(ctx, tp.fwd[0].job, tp.fwd[1].job)
		for i := range tp.fwd {
			j := &tp.fwd[i]
			j.ctx = nil
			if j.err != nil {
				return j.err
			}
			// The first step at which any sequence overflowed.
			if d == 0 && j.overflow > 0 && (tp.overflowStep == 0 || j.overflow < tp.overflowStep) {
				tp.overflowStep = j.overflow
			}
		}
	}
	tp.logits()
	return nil
}

// forwardRows runs the recurrence of chain d for sequences [r0, r1) and
// returns the first step whose state overflowed (chain 0 only), or 0.
func (tp *tape) forwardRows(ctx context.Context, d, r0, r1 int, hh []float64, bump *perturbation) (int, error) {
	pacer := pacerOf(ctx)
	ct := &tp.chain[d]
	T, B, H := tp.batch.T, tp.batch.B, tp.p.H
	gh := ct.gh
	n := r1 - r0
	overflow := 0
	for i, t := 0, ct.first(T); i < T; i, t = i+1, ct.next(t) {
		if err := checkpoint(ctx, pacer); err != nil {
			return 0, err
		}
		prev := ct.prev(t)
		sPrev := ct.s[(prev*B+r0)*H : (prev*B+r1)*H]
		switch {
		case i == 0:
			clear(hh)
		case n == 1:
			mulABt(hh, sPrev, ct.w.Wh, 1, H, gh, 0)
		default:
			gemmPacked(n, gh, H, sPrev, H, 1, ct.whT, 0, hh, gh)
		}
		ct.cell.step(tp, ct, t, r0, r1, hh)
		if bump != nil && bump.chain == d && bump.t == t {
			bump.apply(tp, ct, t)
		}
		if d == 0 && overflow == 0 && !allFinite(ct.s[(t*B+r0)*H:(t*B+r1)*H]) {
			overflow = t
		}
	}
	return overflow, nil
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
				ct.tc[(t-1)*B*H+k] = tanhGo(c[k])
				ct.s[t*B*H+k] = ct.pre[(t-1)*B*gh+b*gh+3*H+j] * ct.tc[(t-1)*B*H+k]
			}
		}
	}
	for k, v := range bp.dh {
		ct.s[t*B*H+k] += v
	}
}

// logits adds V [s_t; s'_t] to the logits for every step.
func (tp *tape) logits() {
	b, p := tp.batch, tp.p
	T, B, H, K := b.T, b.B, p.H, p.K
	for d := range p.Dirs {
		states := tp.chain[d].s[B*H : (T+1)*B*H]
		// out += states · V_dᵀ, V_d being columns [d·H, (d+1)·H) of V.
		tp.vT = packB(resize(tp.vT, packedLen(H, K)), p.V[d*H:], H, K, 1, p.Dirs*H)
		gemmPacked(T*B, K, H, states, H, 1, tp.vT, 1, tp.out, K)
	}
}

// score computes the loss of the logits over the scored steps and turns
// logits into probabilities (cross-entropy).
func (tp *tape) score() {
	b, K := tp.batch, tp.p.K
	T, B := b.T, b.B
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
	if b.squared || tp.scoredOnly {
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

func allFinite(v []float64) bool {
	for _, x := range v {
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return false
		}
	}
	return true
}
