package engine

// The vanilla RNN: s_t = f(Wx x_t + Wh s_{t−1} + b), with f the chosen
// activation. Its per-step Jacobian is diag(f′(a_t))·Wh, whose norms and
// the spectrum of Wh give the theory of a profile (theory.go).

// CellRNN is the vanilla RNN.
const CellRNN Cell = "rnn"

func init() { register(10, recurrent{rnnCell{}}) }

type rnnCell struct{}

var rnnInfo = ModelInfo{Cell: CellRNN, Activation: true, Recurrent: true, Spectrum: true, BidirReversed: true, WorkFormula: recurrentWork}

func (rnnCell) info() ModelInfo { return rnnInfo }

func (rnnCell) record(*chainTape, int, int, int) {}

func (rnnCell) step(tp *tape, ct *chainTape, t, r0, r1 int, hh []float64) {
	B, H := tp.batch.B, tp.p.H
	pre := ct.pre[(t-1)*B*H : t*B*H]
	s := ct.s[t*B*H : (t+1)*B*H]
	rows := pre[r0*H : r1*H]
	for j, v := range hh {
		rows[j] += v
	}
	tp.act.apply(s[r0*H:r1*H], rows)
}

// gateGrads sets dA_t = f′(a_t) ⊙ δ_t, f′ read from the state.
func (rnnCell) gateGrads(tp *tape, ct *chainTape, d, t, r0, r1 int, ax, ah []float64, opts *backwardOptions) {
	B, H := tp.batch.B, tp.p.H
	bs := &tp.back
	tp.act.deriv(bs.deriv[r0*H:r1*H], ct.s[(t*B+r0)*H:(t*B+r1)*H])
	for k := r0 * H; k < r1*H; k++ {
		ax[k] = bs.deriv[k] * bs.delta[k]
	}
}

func (rnnCell) carry(*tape, int, int)           {}
func (rnnCell) initBias(*CellWeights, Settings) {}
func (rnnCell) separateHidden() bool            { return false }
