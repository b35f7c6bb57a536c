package engine

// The LSTM, as PyTorch's nn.LSTM: gates i, f, g, o stacked in that order,
//
//	c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t,   s_t = o_t ⊙ tanh(c_t),
//
// i, f, o sigmoids and g a tanh of Wx x_t + Wh s_{t−1} + b. The cell
// state's own path back, ∂c_t/∂c_{t−1} = diag(f_t), is the series it adds
// to a profile: ‖∂E/∂c_k‖ and the cell path Π f_j (analysis.go).

// CellLSTM is the long short-term memory cell.
const CellLSTM Cell = "lstm"

func init() { register(20, recurrent{lstmCell{}}) }

type lstmCell struct{}

var lstmInfo = ModelInfo{Cell: CellLSTM, Gates: []string{"i", "f", "g", "o"}, ForgetBias: true, Recurrent: true, CellState: true, BidirReversed: true, WorkFormula: recurrentWork}

func (lstmCell) info() ModelInfo { return lstmInfo }

func (lstmCell) record(ct *chainTape, T, B, H int) {
	ct.c = resize(ct.c, (T+2)*B*H)
	clear(ct.c[:B*H])
	clear(ct.c[(T+1)*B*H:])
	ct.tc = resize(ct.tc, T*B*H)
}

func (lstmCell) step(tp *tape, ct *chainTape, t, r0, r1 int, hh []float64) {
	B, H := tp.batch.B, tp.p.H
	gh := 4 * H
	pre := ct.pre[(t-1)*B*gh : t*B*gh]
	s := ct.s[t*B*H : (t+1)*B*H]
	prev := ct.prev(t)
	c := ct.c[t*B*H : (t+1)*B*H]
	cPrev := ct.c[prev*B*H : (prev+1)*B*H]
	tc := ct.tc[(t-1)*B*H : t*B*H]
	for b := r0; b < r1; b++ {
		g := pre[b*gh : (b+1)*gh]
		x := hh[(b-r0)*gh : (b-r0+1)*gh]
		for j, v := range x {
			g[j] += v
		}
		// Gates i and f are adjacent: one call for both.
		sigmoidVec(g[:2*H], g[:2*H])
		tanhVec(g[2*H:3*H], g[2*H:3*H])
		sigmoidVec(g[3*H:], g[3*H:])
		k := b * H
		for j := range H {
			c[k+j] = g[H+j]*cPrev[k+j] + g[j]*g[2*H+j]
		}
		tanhVec(tc[k:k+H], c[k:k+H])
		for j := range H {
			s[k+j] = g[3*H+j] * tc[k+j]
		}
	}
}

// gateGrads completes ∂E/∂c_t = ∂E/∂c_{t+1}·f_{t+1} + δ_t·o_t·(1 − tanh²c_t),
// records it, and leaves its share in c_{t−1}, ∂E/∂c_t ⊙ f_t, in
// tp.back.dcNext for the step before.
func (lstmCell) gateGrads(tp *tape, ct *chainTape, d, t, r0, r1 int, ax, ah []float64, opts *backwardOptions) {
	B, H := tp.batch.B, tp.p.H
	gh := 4 * H
	bs := &tp.back
	delta, dcNext := bs.delta, bs.dcNext
	pre := ct.pre[(t-1)*B*gh : t*B*gh]
	tc := ct.tc[(t-1)*B*H : t*B*H]
	pt := ct.prev(t)
	cPrev := ct.c[pt*B*H : (pt+1)*B*H]
	for r := r0; r < r1; r++ {
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
	for r := r0; r < r1; r++ {
		g := pre[r*gh : (r+1)*gh]
		for j := range H {
			dcNext[r*H+j] *= g[H+j]
		}
	}
}

func (lstmCell) carry(*tape, int, int) {}

// initBias sets the forget gate's bias to the setting forgetBias.
func (lstmCell) initBias(w *CellWeights, s Settings) {
	for i := range s.H {
		w.B[s.H+i] = s.ForgetBias
	}
}

func (lstmCell) separateHidden() bool { return false }
