package engine

// The GRU, as PyTorch's nn.GRU: gates r, z, n stacked in that order,
//
//	n_t = tanh(Wx_n x_t + b_n + r_t ⊙ (Wh_n s_{t−1} + bh_n)),
//	s_t = (1 − z_t) ⊙ n_t + z_t ⊙ s_{t−1},
//
// r and z sigmoids of Wx x_t + Wh s_{t−1} + b. The z_t ⊙ s_{t−1} term is
// a path back that bypasses Wh.

// CellGRU is the gated recurrent unit.
const CellGRU Cell = "gru"

func init() { register(30, recurrent{gruCell{}}) }

type gruCell struct{}

var gruInfo = ModelInfo{Cell: CellGRU, Gates: []string{"r", "z", "n"}, ForgetBias: true, Recurrent: true, BidirReversed: true, WorkFormula: recurrentWork}

func (gruCell) info() ModelInfo { return gruInfo }

func (gruCell) record(ct *chainTape, T, B, H int) { ct.hn = resize(ct.hn, T*B*H) }

func (gruCell) step(tp *tape, ct *chainTape, t, r0, r1 int, hh []float64) {
	B, H := tp.batch.B, tp.p.H
	gh := 3 * H
	pre := ct.pre[(t-1)*B*gh : t*B*gh]
	s := ct.s[t*B*H : (t+1)*B*H]
	prev := ct.prev(t)
	sPrev := ct.s[prev*B*H : (prev+1)*B*H]
	hn := ct.hn[(t-1)*B*H : t*B*H]
	for b := r0; b < r1; b++ {
		g := pre[b*gh : (b+1)*gh]
		x := hh[(b-r0)*gh : (b-r0+1)*gh]
		for j, v := range x[:2*H] {
			g[j] += v
		}
		sigmoidVec(g[:2*H], g[:2*H])
		k := b * H
		for j := range H {
			hn[k+j] = x[2*H+j] + ct.w.BhN[j]
			g[2*H+j] += g[j] * hn[k+j]
		}
		tanhVec(g[2*H:], g[2*H:])
		for j := range H {
			z, n := g[H+j], g[2*H+j]
			s[k+j] = (1-z)*n + z*sPrev[k+j]
		}
	}
}

// gateGrads sets the gate gradients, which differ through Wh (where r_t
// multiplies the n block) from those through Wx, and keeps δ_t ⊙ z_t, the
// share of s_{t−1} that bypasses Wh, in tp.back.carry.
func (gruCell) gateGrads(tp *tape, ct *chainTape, d, t, r0, r1 int, ax, ah []float64, opts *backwardOptions) {
	B, H := tp.batch.B, tp.p.H
	gh := 3 * H
	bs := &tp.back
	pre := ct.pre[(t-1)*B*gh : t*B*gh]
	hn := ct.hn[(t-1)*B*H : t*B*H]
	pt := ct.prev(t)
	hPrev := ct.s[pt*B*H : (pt+1)*B*H]
	for r := r0; r < r1; r++ {
		g := pre[r*gh : (r+1)*gh]
		x, h := ax[r*gh:(r+1)*gh], ah[r*gh:(r+1)*gh]
		for j := range H {
			k := r*H + j
			rg, zg, ng := g[j], g[H+j], g[2*H+j]
			dh := bs.delta[k]
			dan := dh * (1 - zg) * (1 - ng*ng)
			dar := dan * hn[k] * rg * (1 - rg)
			daz := dh * (hPrev[k] - ng) * zg * (1 - zg)
			x[j], x[H+j], x[2*H+j] = dar, daz, dan
			h[j], h[H+j], h[2*H+j] = dar, daz, dan*rg
			bs.carry[k] = dh * zg
		}
	}
}

func (gruCell) carry(tp *tape, r0, r1 int) {
	H, bs := tp.p.H, &tp.back
	for k := r0 * H; k < r1*H; k++ {
		bs.delta[k] += bs.carry[k]
	}
}

// initBias sets the update gate's bias to the setting forgetBias: z_t
// is the share of s_{t−1} kept, the GRU's forget gate, so a bias of 1
// starts it at σ(1) ≈ 0.73 as it does the LSTM's f_t.
func (gruCell) initBias(w *CellWeights, s Settings) {
	for i := range s.H {
		w.B[s.H+i] = s.ForgetBias
	}
}
func (gruCell) separateHidden() bool { return true }
