package api_test

// A second, independent derivation of every number in the version-1 run
// export, from the equations of docs/design.md alone (the engine's net.go,
// backward.go and theory.go were deliberately not consulted). It reads
// only the decoded JSON, and is meant to be the code a student would
// write: plain loops over float64 slices, one step at a time.

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// ---------------------------------------------------------------------
// Reading the export. JSON has no NaN or Infinity; the export sends them
// as the strings "NaN", "Infinity" and "-Infinity".

// decodeExport parses a body into plain maps, slices, float64s, strings
// and bools, as Python's json.load would.
func decodeExport(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("export is not a JSON object: %v", err)
	}
	return v
}

// num reads one number of the export.
func num(t testing.TB, v any, what string) float64 {
	t.Helper()
	switch v := v.(type) {
	case float64:
		return v
	case string:
		switch v {
		case "NaN":
			return math.NaN()
		case "Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
	}
	t.Fatalf("%s: got %#v, want a number or \"NaN\", \"Infinity\", \"-Infinity\"", what, v)
	return 0
}

// vec reads an array of numbers.
func vec(t testing.TB, v any, what string) []float64 {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: got %T, want an array of numbers", what, v)
	}
	out := make([]float64, len(arr))
	for i, x := range arr {
		out[i] = num(t, x, fmt.Sprintf("%s[%d]", what, i))
	}
	return out
}

// matrix reads a rows×cols row-major nested array.
func matrix(t testing.TB, v any, rows, cols int, what string) [][]float64 {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: got %T, want a nested array", what, v)
	}
	if len(arr) != rows {
		t.Fatalf("%s: got %d rows, want %d", what, len(arr), rows)
	}
	out := make([][]float64, rows)
	for i, row := range arr {
		out[i] = vec(t, row, fmt.Sprintf("%s[%d]", what, i))
		if len(out[i]) != cols {
			t.Fatalf("%s[%d]: got %d columns, want %d", what, i, len(out[i]), cols)
		}
	}
	return out
}

func object(t testing.TB, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: got %T, want an object", what, v)
	}
	return m
}

func integer(t testing.TB, v any, what string) int {
	t.Helper()
	f := num(t, v, what)
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		t.Fatalf("%s: got %v, want a whole number", what, f)
	}
	return int(f)
}

// ---------------------------------------------------------------------
// The model, as read from the export.

// refChain is one chain of cells. Gate letters key the maps: "i","f","g","o"
// for LSTM, "r","z","n" for GRU, and "a" for the vanilla RNN's single block.
type refChain struct {
	Wx  map[string][][]float64 // H×D
	Wh  map[string][][]float64 // H×H
	B   map[string][]float64   // H
	BhN []float64              // GRU only
}

type refModel struct {
	Cell, Act  string
	T, H, D, K int
	LossSum    bool
	Clip       string
	Theta      float64
	Bidir      bool

	Chains []refChain  // [forward] or [forward, reverse]; none for attn
	Attn   *refAttn    // attn only
	V      [][]float64 // K × (dirs·H)
	C      []float64   // K
	X      [][]float64 // T × D, X[t-1] is x_t
	Y      []int       // Y[t-1] is y_t
}

func gateNames(cell string) []string {
	switch cell {
	case "lstm":
		return []string{"i", "f", "g", "o"}
	case "gru":
		return []string{"r", "z", "n"}
	}
	return []string{"a"}
}

// modelFromExport reads config, weights, inputs and targets, checking every
// shape on the way.
func modelFromExport(t testing.TB, ex map[string]any) *refModel {
	t.Helper()
	cfg := object(t, ex["config"], "config")
	m := &refModel{
		Cell:    cfg["cell"].(string),
		Act:     cfg["act"].(string),
		T:       integer(t, cfg["T"], "config.T"),
		H:       integer(t, cfg["H"], "config.H"),
		D:       integer(t, cfg["D"], "config.D"),
		K:       integer(t, cfg["K"], "config.K"),
		LossSum: cfg["loss"] == "sum",
		Clip:    cfg["clip"].(string),
		Theta:   num(t, cfg["threshold"], "config.threshold"),
		Bidir:   cfg["bidir"] == true,
	}
	w := object(t, ex["weights"], "weights")
	if m.Cell == "attn" {
		m.Attn = readAttn(t, m, w)
	} else {
		m.Chains = append(m.Chains, readChain(t, m, w, "weights"))
	}
	if m.Bidir && m.Attn == nil {
		m.Chains = append(m.Chains, readChain(t, m, object(t, w["rev"], "weights.rev"), "weights.rev"))
	} else if _, ok := w["rev"]; ok {
		t.Errorf("weights.rev: present for a unidirectional model")
	}
	m.V = matrix(t, w["V"], m.K, max(len(m.Chains), 1)*m.H, "weights.V")
	m.C = vec(t, w["c"], "weights.c")
	if len(m.C) != m.K {
		t.Fatalf("weights.c: got length %d, want K=%d", len(m.C), m.K)
	}
	m.X = matrix(t, ex["inputs"], m.T, m.D, "inputs")
	ys, ok := ex["targets"].([]any)
	if !ok || len(ys) != m.T {
		t.Fatalf("targets: got %v, want an array of T=%d classes", ex["targets"], m.T)
	}
	for i, y := range ys {
		c := integer(t, y, fmt.Sprintf("targets[%d]", i))
		if c < 0 || c >= m.K {
			t.Fatalf("targets[%d]: got %d, want 0 ≤ y < K=%d", i, c, m.K)
		}
		m.Y = append(m.Y, c)
	}
	return m
}

func readChain(t testing.TB, m *refModel, w map[string]any, where string) refChain {
	t.Helper()
	ch := refChain{Wx: map[string][][]float64{}, Wh: map[string][][]float64{}, B: map[string][]float64{}}
	if m.Cell == "rnn" {
		ch.Wx["a"] = matrix(t, w["Wx"], m.H, m.D, where+".Wx")
		ch.Wh["a"] = matrix(t, w["Wh"], m.H, m.H, where+".Wh")
		ch.B["a"] = vec(t, w["b"], where+".b")
		if len(ch.B["a"]) != m.H {
			t.Fatalf("%s.b: got length %d, want H=%d", where, len(ch.B["a"]), m.H)
		}
		return ch
	}
	wx := object(t, w["Wx"], where+".Wx")
	wh := object(t, w["Wh"], where+".Wh")
	b := object(t, w["b"], where+".b")
	wantB := len(gateNames(m.Cell))
	if m.Cell == "gru" {
		wantB++
	}
	if len(wx) != len(gateNames(m.Cell)) || len(wh) != len(gateNames(m.Cell)) || len(b) != wantB {
		t.Fatalf("%s: got gates Wx %v, Wh %v, b %v; want exactly %v (b also bh_n for gru)",
			where, keys(wx), keys(wh), keys(b), gateNames(m.Cell))
	}
	for _, g := range gateNames(m.Cell) {
		ch.Wx[g] = matrix(t, wx[g], m.H, m.D, where+".Wx."+g)
		ch.Wh[g] = matrix(t, wh[g], m.H, m.H, where+".Wh."+g)
		ch.B[g] = vec(t, b[g], where+".b."+g)
		if len(ch.B[g]) != m.H {
			t.Fatalf("%s.b.%s: got length %d, want H=%d", where, g, len(ch.B[g]), m.H)
		}
	}
	if m.Cell == "gru" {
		ch.BhN = vec(t, b["bh_n"], where+".b.bh_n")
		if len(ch.BhN) != m.H {
			t.Fatalf("%s.b.bh_n: got length %d, want H=%d", where, len(ch.BhN), m.H)
		}
	}
	return ch
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ---------------------------------------------------------------------
// Small vector helpers.

func zeros(n int) []float64 { return make([]float64, n) }

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// matVec returns W v.
func matVec(W [][]float64, v []float64) []float64 {
	out := zeros(len(W))
	for i := range W {
		for j := range v {
			out[i] += W[i][j] * v[j]
		}
	}
	return out
}

// matTVec returns Wᵀ v.
func matTVec(W [][]float64, v []float64) []float64 {
	out := zeros(len(W[0]))
	for i := range W {
		for j := range W[i] {
			out[j] += W[i][j] * v[i]
		}
	}
	return out
}

// addOuter does G += u vᵀ.
func addOuter(G [][]float64, u, v []float64) {
	for i := range u {
		for j := range v {
			G[i][j] += u[i] * v[j]
		}
	}
}

func addTo(dst, v []float64) {
	for i := range v {
		dst[i] += v[i]
	}
}

// norm is the Euclidean norm. It divides by the largest |x_i| first so that
// a finite vector of huge entries (an exploding run) has a finite norm.
func norm(v []float64) float64 {
	scale := 0.0
	for _, x := range v {
		if math.IsNaN(x) {
			return math.NaN()
		}
		scale = math.Max(scale, math.Abs(x))
	}
	if scale == 0 || math.IsInf(scale, 1) {
		return scale
	}
	sum := 0.0
	for _, x := range v {
		sum += (x / scale) * (x / scale)
	}
	return scale * math.Sqrt(sum)
}

func zeroMatrix(rows, cols int) [][]float64 {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = zeros(cols)
	}
	return m
}

// ---------------------------------------------------------------------
// Forward pass.

// chainRun is one chain's forward pass. Arrays are indexed by time
// t = 0..T+1: the forward chain starts from the zero state at t = 0, the
// reverse chain from the zero state at t = T+1.
type chainRun struct {
	reverse bool
	s       [][]float64            // state s_t (h_t for the gated cells)
	a       [][]float64            // rnn: pre-activation a_t
	c       [][]float64            // lstm: cell c_t
	gate    map[string][][]float64 // gated cells: gate values at t
	hn      [][]float64            // gru: Wh_n h_prev + bh_n
}

// times lists the steps in the order the chain reads them.
func (r *chainRun) times(T int) []int {
	ts := make([]int, T)
	for i := range ts {
		if r.reverse {
			ts[i] = T - i
		} else {
			ts[i] = i + 1
		}
	}
	return ts
}

// prev is the time whose state the chain reads at t.
func (r *chainRun) prev(t int) int {
	if r.reverse {
		return t + 1
	}
	return t - 1
}

func runChain(m *refModel, w refChain, reverse bool) *chainRun {
	T, H := m.T, m.H
	r := &chainRun{reverse: reverse, gate: map[string][][]float64{}}
	r.s, r.a, r.c, r.hn = zeroMatrix(T+2, H), zeroMatrix(T+2, H), zeroMatrix(T+2, H), zeroMatrix(T+2, H)
	for _, g := range gateNames(m.Cell) {
		r.gate[g] = zeroMatrix(T+2, H)
	}
	// pre returns Wx_g x + Wh_g h + b_g.
	pre := func(g string, x, h []float64) []float64 {
		out := matVec(w.Wx[g], x)
		addTo(out, matVec(w.Wh[g], h))
		addTo(out, w.B[g])
		return out
	}
	for _, t := range r.times(T) {
		x, hp := m.X[t-1], r.s[r.prev(t)]
		switch m.Cell {
		case "rnn":
			a := pre("a", x, hp)
			r.a[t] = a
			for j := range H {
				switch m.Act {
				case "sigmoid":
					r.s[t][j] = sigmoid(a[j])
				case "tanh":
					r.s[t][j] = math.Tanh(a[j])
				case "relu":
					r.s[t][j] = math.Max(a[j], 0)
				case "linear":
					r.s[t][j] = a[j]
				default:
					panic("unknown act " + m.Act)
				}
			}
		case "lstm":
			ai, af, ag, ao := pre("i", x, hp), pre("f", x, hp), pre("g", x, hp), pre("o", x, hp)
			cp := r.c[r.prev(t)]
			for j := range H {
				i, f, g, o := sigmoid(ai[j]), sigmoid(af[j]), math.Tanh(ag[j]), sigmoid(ao[j])
				r.gate["i"][t][j], r.gate["f"][t][j], r.gate["g"][t][j], r.gate["o"][t][j] = i, f, g, o
				r.c[t][j] = f*cp[j] + i*g
				r.s[t][j] = o * math.Tanh(r.c[t][j])
			}
		case "gru":
			ar, az := pre("r", x, hp), pre("z", x, hp)
			xn := matVec(w.Wx["n"], x)
			hn := matVec(w.Wh["n"], hp)
			addTo(hn, w.BhN)
			r.hn[t] = hn
			for j := range H {
				rr, z := sigmoid(ar[j]), sigmoid(az[j])
				n := math.Tanh(xn[j] + w.B["n"][j] + rr*hn[j])
				r.gate["r"][t][j], r.gate["z"][t][j], r.gate["n"][t][j] = rr, z, n
				r.s[t][j] = (1-z)*n + z*hp[j]
			}
		default:
			panic("unknown cell " + m.Cell)
		}
	}
	return r
}

// outputs computes ŷ_t for every t and returns the loss and ∂E/∂o_t
// (ŷ_t − e_{y_t} on scored steps, zero elsewhere), indexed t−1.
func outputs(m *refModel, runs []*chainRun) (loss float64, dO [][]float64, states [][]float64) {
	dO = zeroMatrix(m.T, m.K)
	states = make([][]float64, m.T)
	for t := 1; t <= m.T; t++ {
		var st []float64 // [s_t; s'_t]
		for _, r := range runs {
			st = append(st, r.s[t]...)
		}
		states[t-1] = st
		if !m.LossSum && t != m.T {
			continue
		}
		o := matVec(m.V, st)
		addTo(o, m.C)
		// Softmax with the maximum subtracted. Where the model is nearly sure
		// of the right class (ŷ_y → 1), both 1 − ŷ_y and −log ŷ_y would
		// cancel catastrophically if computed from the rounded ŷ_y, so they
		// are computed from the other classes' shares:
		//   ŷ_y − 1 = −Σ_{j≠y} ŷ_j,   E_t = −log ŷ_y = log1p(Σ_{j≠y} e^{o_j−o_y}).
		y := m.Y[t-1]
		mx := math.Inf(-1)
		for _, v := range o {
			mx = math.Max(mx, v)
		}
		sum, others := 0.0, 0.0
		for k, v := range o {
			sum += math.Exp(v - mx)
			if k != y {
				others += math.Exp(v - mx)
			}
		}
		if o[y] == mx {
			loss += math.Log1p(others) // sum = 1 + others exactly
		} else {
			loss += math.Log(sum) - (o[y] - mx) // no cancellation: both terms ≥ 0
		}
		for k, v := range o {
			if k != y {
				dO[t-1][k] = math.Exp(v-mx) / sum
				dO[t-1][y] -= dO[t-1][k]
			}
		}
	}
	return loss, dO, states
}

// ---------------------------------------------------------------------
// Backward pass through time.

// chainGrads is ∂E/∂(one chain's weights), in refChain's layout.
type chainGrads = refChain

func newChainGrads(m *refModel) chainGrads {
	g := refChain{Wx: map[string][][]float64{}, Wh: map[string][][]float64{}, B: map[string][]float64{}, BhN: zeros(m.H)}
	for _, name := range gateNames(m.Cell) {
		g.Wx[name] = zeroMatrix(m.H, m.D)
		g.Wh[name] = zeroMatrix(m.H, m.H)
		g.B[name] = zeros(m.H)
	}
	return g
}

// clipStep applies a step clipping mode to δ_k in place.
func clipStep(d []float64, mode string, theta float64) {
	switch mode {
	case "step-norm":
		if n := norm(d); n > theta {
			for i := range d {
				d[i] *= theta / n
			}
		}
	case "step-value":
		for i := range d {
			d[i] = math.Max(-theta, math.Min(theta, d[i]))
		}
	}
}

// backChain runs BPTT through one chain. direct[t-1] is the output's
// share of ∂E/∂s_t, Vᵀ(ŷ_t − e_{y_t}) restricted to this chain's columns.
// It returns ‖∂E/∂s_k‖ (after clipping), ‖∂E/∂c_k‖ for LSTM, both indexed
// k−1, and the weight gradient built from the (clipped) δ's.
func backChain(m *refModel, w refChain, r *chainRun, direct [][]float64, clip string) (dsNorm, dcNorm []float64, g chainGrads) {
	T, H := m.T, m.H
	dsNorm, dcNorm, g = zeros(T), zeros(T), newChainGrads(m)
	carryH := zeros(H) // ∂E/∂s_k through the step the chain reads after k
	carryC := zeros(H) // lstm: ∂E/∂c_k through c_{k+1}
	times := r.times(T)
	for i := T - 1; i >= 0; i-- {
		t := times[i]
		x, hp := m.X[t-1], r.s[r.prev(t)]

		// δ_t is complete: the output's share plus what flowed back.
		dh := zeros(H)
		for j := range H {
			dh[j] = direct[t-1][j] + carryH[j]
		}
		clipStep(dh, clip, m.Theta)
		dsNorm[t-1] = norm(dh)

		switch m.Cell {
		case "rnn":
			// da = f′(a_t) ⊙ δ_t, with f′ from the textbook formulas.
			da := zeros(H)
			for j := range H {
				da[j] = slope(m.Act, r.s[t][j], r.a[t][j]) * dh[j]
			}
			addOuter(g.Wx["a"], da, x)
			addOuter(g.Wh["a"], da, hp)
			addTo(g.B["a"], da)
			carryH = matTVec(w.Wh["a"], da)

		case "lstm":
			i, f, gg, o := r.gate["i"][t], r.gate["f"][t], r.gate["g"][t], r.gate["o"][t]
			c, cp := r.c[t], r.c[r.prev(t)]
			dc := zeros(H)
			dai, daf, dag, dao := zeros(H), zeros(H), zeros(H), zeros(H)
			for j := range H {
				tc := math.Tanh(c[j])
				// total ∂E/∂c_t: through h_t = o ⊙ tanh(c_t), and through c_{t+1}.
				dc[j] = dh[j]*o[j]*(1-tc*tc) + carryC[j]
				dai[j] = dc[j] * gg[j] * i[j] * (1 - i[j])
				daf[j] = dc[j] * cp[j] * f[j] * (1 - f[j])
				dag[j] = dc[j] * i[j] * (1 - gg[j]*gg[j])
				dao[j] = dh[j] * tc * o[j] * (1 - o[j])
			}
			dcNorm[t-1] = norm(dc)
			carryH = zeros(H)
			for _, gd := range []struct {
				name string
				da   []float64
			}{{"i", dai}, {"f", daf}, {"g", dag}, {"o", dao}} {
				name, da := gd.name, gd.da
				addOuter(g.Wx[name], da, x)
				addOuter(g.Wh[name], da, hp)
				addTo(g.B[name], da)
				addTo(carryH, matTVec(w.Wh[name], da))
			}
			carryC = zeros(H)
			for j := range H {
				carryC[j] = dc[j] * f[j]
			}

		case "gru":
			rr, z, n, hn := r.gate["r"][t], r.gate["z"][t], r.gate["n"][t], r.hn[t]
			dar, daz, dan, dhn := zeros(H), zeros(H), zeros(H), zeros(H)
			throughZ := zeros(H) // δ_t's path to h_{t-1} through the z ⊙ h_{t-1} term
			for j := range H {
				dn := dh[j] * (1 - z[j])
				dz := dh[j] * (hp[j] - n[j])
				dan[j] = dn * (1 - n[j]*n[j]) // ∂E/∂(pre-activation of n)
				dhn[j] = dan[j] * rr[j]       // ∂E/∂(Wh_n h + bh_n)
				dar[j] = dan[j] * hn[j] * rr[j] * (1 - rr[j])
				daz[j] = dz * z[j] * (1 - z[j])
				throughZ[j] = dh[j] * z[j]
			}
			addOuter(g.Wx["r"], dar, x)
			addOuter(g.Wh["r"], dar, hp)
			addTo(g.B["r"], dar)
			addOuter(g.Wx["z"], daz, x)
			addOuter(g.Wh["z"], daz, hp)
			addTo(g.B["z"], daz)
			addOuter(g.Wx["n"], dan, x)
			addTo(g.B["n"], dan)
			addOuter(g.Wh["n"], dhn, hp)
			addTo(g.BhN, dhn)
			carryH = throughZ
			addTo(carryH, matTVec(w.Wh["r"], dar))
			addTo(carryH, matTVec(w.Wh["z"], daz))
			addTo(carryH, matTVec(w.Wh["n"], dhn))
		}
	}
	return dsNorm, dcNorm, g
}

// ---------------------------------------------------------------------
// The whole reference.

// refResult is every number of an export, recomputed.
type refResult struct {
	Loss, GradNorm, GradNormClipped float64
	DEds, DEdsRaw                   []float64
	DEdc, DEdcRaw                   []float64 // lstm
	CellPath, ForgetPrediction      []float64 // lstm
	DEdsRev, DEdsRevRaw             []float64 // bidir
	StateNorm                       []float64
	OverflowForward                 int // first t with a non-finite s_t, 0 if none

	// rnn only
	JacobianNorm, Bound []float64
	Gamma, SigmaMax     float64
	SpectralRadius      float64
	SingularValues      []float64
	Eigenvalues         []complex128 // by decreasing modulus
	Regime              string
}

func isStepClip(mode string) bool { return mode == "step-norm" || mode == "step-value" }

func reference(m *refModel) *refResult {
	if m.Attn != nil {
		return referenceAttention(m)
	}
	res := &refResult{}
	runs := []*chainRun{runChain(m, m.Chains[0], false)}
	if m.Bidir {
		runs = append(runs, runChain(m, m.Chains[1], true))
	}
	var dO, states [][]float64
	res.Loss, dO, states = outputs(m, runs)

	res.StateNorm = zeros(m.T)
	for t := 1; t <= m.T; t++ {
		res.StateNorm[t-1] = norm(runs[0].s[t])
		if res.OverflowForward == 0 && !allFinite(runs[0].s[t]) {
			res.OverflowForward = t
		}
	}

	// direct[d][t-1] = the d-th chain's columns of Vᵀ(ŷ_t − e_{y_t}).
	direct := make([][][]float64, len(runs))
	for d := range runs {
		direct[d] = zeroMatrix(m.T, m.H)
		for t := range m.T {
			for k := range m.K {
				for j := range m.H {
					direct[d][t][j] += m.V[k][d*m.H+j] * dO[t][k]
				}
			}
		}
	}

	// ∂E/∂V and ∂E/∂c do not involve δ_k, so clipping leaves them alone.
	gV, gC := zeroMatrix(m.K, len(runs)*m.H), zeros(m.K)
	for t := range m.T {
		addOuter(gV, dO[t], states[t])
		addTo(gC, dO[t])
	}
	sumSq := func(grads []chainGrads) float64 {
		s := 0.0
		add := func(v []float64) {
			for _, x := range v {
				s += x * x
			}
		}
		for _, g := range grads {
			for _, name := range gateNames(m.Cell) {
				for _, row := range g.Wx[name] {
					add(row)
				}
				for _, row := range g.Wh[name] {
					add(row)
				}
				add(g.B[name])
			}
			if m.Cell == "gru" {
				add(g.BhN)
			}
		}
		for _, row := range gV {
			add(row)
		}
		add(gC)
		return s
	}

	pass := func(clip string) (ds, dc, dsRev []float64, gradNorm float64) {
		var grads []chainGrads
		for d, r := range runs {
			dsd, dcd, g := backChain(m, m.Chains[d], r, direct[d], clip)
			grads = append(grads, g)
			if d == 0 {
				ds, dc = dsd, dcd
			} else {
				dsRev = dsd
			}
		}
		return ds, dc, dsRev, math.Sqrt(sumSq(grads))
	}

	res.DEdsRaw, res.DEdcRaw, res.DEdsRevRaw, res.GradNorm = pass("none")
	switch {
	case isStepClip(m.Clip):
		res.DEds, res.DEdc, res.DEdsRev, res.GradNormClipped = pass(m.Clip)
	case m.Clip == "global-norm":
		res.DEds, res.DEdc, res.DEdsRev = res.DEdsRaw, res.DEdcRaw, res.DEdsRevRaw
		res.GradNormClipped = math.Min(m.Theta, res.GradNorm)
	default:
		res.DEds, res.DEdc, res.DEdsRev = res.DEdsRaw, res.DEdcRaw, res.DEdsRevRaw
		res.GradNormClipped = res.GradNorm
	}

	if m.Cell == "rnn" {
		theory(m, runs[0], direct[0], res)
	}
	if m.Cell == "lstm" {
		// cellPath_k = mean_j Π_{t=k+1}^{T} f_t[j], by the definition;
		// forgetPrediction_k = (mean_j σ(b_f[j]))^(T−k).
		res.CellPath, res.ForgetPrediction = zeros(m.T), zeros(m.T)
		bias := 0.0
		for _, b := range m.Chains[0].B["f"] {
			bias += sigmoid(b)
		}
		bias /= float64(m.H)
		for k := 1; k <= m.T; k++ {
			sum := 0.0
			for j := range m.H {
				prod := 1.0
				for t := k + 1; t <= m.T; t++ {
					prod *= runs[0].gate["f"][t][j]
				}
				sum += prod
			}
			res.CellPath[k-1] = sum / float64(m.H)
			res.ForgetPrediction[k-1] = math.Pow(bias, float64(m.T-k))
		}
	}
	return res
}

// theory fills in the vanilla RNN's Jacobian norms, Pascanu's bound and
// the spectrum of the forward chain's Wh, with dense gonum factorisations.
func theory(m *refModel, r *chainRun, direct [][]float64, res *refResult) {
	H := m.H
	Wh := mat.NewDense(H, H, nil)
	for i := range H {
		for j := range H {
			Wh.Set(i, j, m.Chains[0].Wh["a"][i][j])
		}
	}

	res.Gamma = 1
	if m.Act == "sigmoid" {
		res.Gamma = 0.25
	}

	var svd mat.SVD
	if !svd.Factorize(Wh, mat.SVDNone) {
		panic("SVD of Wh failed")
	}
	res.SingularValues = svd.Values(nil)
	res.SigmaMax = res.SingularValues[0]

	var eig mat.Eigen
	if !eig.Factorize(Wh, mat.EigenNone) {
		panic("eigen-decomposition of Wh failed")
	}
	res.Eigenvalues = eig.Values(nil)
	sort.SliceStable(res.Eigenvalues, func(a, b int) bool {
		return cmplxAbs(res.Eigenvalues[a]) > cmplxAbs(res.Eigenvalues[b])
	})
	for _, ev := range res.Eigenvalues {
		res.SpectralRadius = math.Max(res.SpectralRadius, cmplxAbs(ev))
	}
	res.Regime = "may-explode"
	if res.Gamma*res.SigmaMax < 1 {
		res.Regime = "vanishing"
	}

	// ‖J_k‖₂ = σ_max(diag(f′(a_k)) Wh), by a full SVD of each J_k.
	res.JacobianNorm = zeros(m.T)
	for k := 1; k <= m.T; k++ {
		J := mat.NewDense(H, H, nil)
		for i := range H {
			fp := slope(m.Act, r.s[k][i], r.a[k][i])
			for j := range H {
				J.Set(i, j, fp*m.Chains[0].Wh["a"][i][j])
			}
		}
		var js mat.SVD
		if !js.Factorize(J, mat.SVDNone) {
			panic("SVD of J_k failed")
		}
		res.JacobianNorm[k-1] = js.Values(nil)[0]
	}

	// bound_k = Σ_{t≥k} ‖v_t‖ (γ σ_max)^(t−k), v_t the output's direct share
	// of δ_t in the forward chain (zero on unscored steps). For loss=last this
	// is ‖δ_T‖ (γ σ_max)^(T−k).
	rate := res.Gamma * res.SigmaMax
	res.Bound = zeros(m.T)
	for k := 1; k <= m.T; k++ {
		for t := k; t <= m.T; t++ {
			v := norm(direct[t-1])
			if v == 0 {
				continue
			}
			res.Bound[k-1] += v * math.Pow(rate, float64(t-k))
		}
	}
}

func cmplxAbs(z complex128) float64 { return math.Hypot(real(z), imag(z)) }

func allFinite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// slope returns f′(a) for the activation, from the state s = f(a) and the
// pre-activation a, by the textbook formulas; f′(0) = 0 for ReLU.
func slope(act string, s, a float64) float64 {
	switch act {
	case "sigmoid":
		return s * (1 - s)
	case "tanh":
		return 1 - s*s
	case "relu":
		if a > 0 {
			return 1
		}
		return 0
	case "linear":
		return 1
	}
	panic("unknown act " + act)
}
