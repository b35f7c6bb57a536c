package api_test

// The reference for cell=attn, written like the rest of reference_test.go
// from the equations of docs/design.md alone: one position at a time,
// plain loops, every path of the backward pass spelled out.

import (
	"math"
	"testing"
)

// refAttn is the attention model's own weights.
type refAttn struct {
	Wx         [][]float64 // H×D
	B          []float64   // H
	Wq, Wk, Wv [][]float64 // H×H
}

func readAttn(t testing.TB, m *refModel, w map[string]any) *refAttn {
	t.Helper()
	a := &refAttn{
		Wx: matrix(t, w["Wx"], m.H, m.D, "weights.Wx"),
		B:  vec(t, w["b"], "weights.b"),
		Wq: matrix(t, w["Wq"], m.H, m.H, "weights.Wq"),
		Wk: matrix(t, w["Wk"], m.H, m.H, "weights.Wk"),
		Wv: matrix(t, w["Wv"], m.H, m.H, "weights.Wv"),
	}
	if len(a.B) != m.H {
		t.Fatalf("weights.b: got length %d, want H=%d", len(a.B), m.H)
	}
	for _, name := range []string{"Wh", "rev"} {
		if _, ok := w[name]; ok {
			t.Errorf("weights.%s: present for cell=attn", name)
		}
	}
	return a
}

// activate returns f(a) for the activation.
func activate(act string, a float64) float64 {
	switch act {
	case "sigmoid":
		return sigmoid(a)
	case "tanh":
		return math.Tanh(a)
	case "relu":
		return math.Max(a, 0)
	case "linear":
		return a
	}
	panic("unknown act " + act)
}

func dotProduct(u, v []float64) float64 {
	s := 0.0
	for i := range u {
		s += u[i] * v[i]
	}
	return s
}

// referenceAttention computes every number of an attention export.
func referenceAttention(m *refModel) *refResult {
	T, H := m.T, m.H
	w := m.Attn
	// visible says whether position t attends to j.
	visible := func(t, j int) bool { return m.Bidir || j <= t }

	// Forward, indexed 1..T.
	a, s := zeroMatrix(T+1, H), zeroMatrix(T+1, H)
	q, k, v := zeroMatrix(T+1, H), zeroMatrix(T+1, H), zeroMatrix(T+1, H)
	for t := 1; t <= T; t++ {
		a[t] = matVec(w.Wx, m.X[t-1])
		addTo(a[t], w.B)
		for i := range H {
			// P[t][2i'] = sin(t/10000^(2i'/H)), P[t][2i'+1] = cos(same angle).
			angle := float64(t) / math.Pow(10000, float64(i-i%2)/float64(H))
			if i%2 == 0 {
				a[t][i] += math.Sin(angle)
			} else {
				a[t][i] += math.Cos(angle)
			}
			s[t][i] = activate(m.Act, a[t][i])
		}
		q[t], k[t], v[t] = matVec(w.Wq, s[t]), matVec(w.Wk, s[t]), matVec(w.Wv, s[t])
	}
	alpha := zeroMatrix(T+1, T+1)
	z := zeroMatrix(T+2, H) // z[t] for t = 1..T, as a chain's states
	for t := 1; t <= T; t++ {
		mx := math.Inf(-1)
		for j := 1; j <= T; j++ {
			if visible(t, j) {
				alpha[t][j] = dotProduct(q[t], k[j]) / math.Sqrt(float64(H))
				mx = math.Max(mx, alpha[t][j])
			}
		}
		sum := 0.0
		for j := 1; j <= T; j++ {
			if visible(t, j) {
				alpha[t][j] = math.Exp(alpha[t][j] - mx)
				sum += alpha[t][j]
			}
		}
		for j := 1; j <= T; j++ {
			if visible(t, j) {
				alpha[t][j] /= sum
				for i := range H {
					z[t][i] += alpha[t][j] * v[j][i]
				}
			}
		}
	}
	res := &refResult{StateNorm: zeros(T)}
	for t := 1; t <= T; t++ {
		res.StateNorm[t-1] = norm(s[t])
		if res.OverflowForward == 0 && !allFinite(s[t]) {
			res.OverflowForward = t
		}
	}
	var dO, feats [][]float64
	res.Loss, dO, feats = outputs(m, []*chainRun{{s: z}})

	// ∂E/∂V, ∂E/∂c and everything up to δ_k do not depend on clipping.
	dz := make([][]float64, T+1)
	for t := 1; t <= T; t++ {
		dz[t] = matTVec(m.V, dO[t-1])
	}
	dq, dk, dv := zeroMatrix(T+1, H), zeroMatrix(T+1, H), zeroMatrix(T+1, H)
	for t := 1; t <= T; t++ {
		// ∂E/∂α_tj = dz_t · v_j; through the softmax and the 1/√H scale.
		dalpha := zeros(T + 1)
		mean := 0.0
		for j := 1; j <= T; j++ {
			if visible(t, j) {
				dalpha[j] = dotProduct(dz[t], v[j])
				mean += alpha[t][j] * dalpha[j]
			}
		}
		for j := 1; j <= T; j++ {
			if !visible(t, j) {
				continue
			}
			dscore := alpha[t][j] * (dalpha[j] - mean) / math.Sqrt(float64(H))
			for i := range H {
				dq[t][i] += dscore * k[j][i]
				dk[j][i] += dscore * q[t][i]
				dv[j][i] += alpha[t][j] * dz[t][i]
			}
		}
	}
	delta := make([][]float64, T+1)
	for t := 1; t <= T; t++ {
		delta[t] = matTVec(w.Wq, dq[t])
		addTo(delta[t], matTVec(w.Wk, dk[t]))
		addTo(delta[t], matTVec(w.Wv, dv[t]))
	}
	fixed := 0.0 // the squared norm of the gradients clipping leaves alone
	gV, gC := zeroMatrix(m.K, H), zeros(m.K)
	gWq, gWk, gWv := zeroMatrix(H, H), zeroMatrix(H, H), zeroMatrix(H, H)
	for t := 1; t <= T; t++ {
		addOuter(gV, dO[t-1], feats[t-1])
		addTo(gC, dO[t-1])
		addOuter(gWq, dq[t], s[t])
		addOuter(gWk, dk[t], s[t])
		addOuter(gWv, dv[t], s[t])
	}
	for _, g := range [][][]float64{gV, gWq, gWk, gWv} {
		for _, row := range g {
			fixed += dotProduct(row, row)
		}
	}
	fixed += dotProduct(gC, gC)

	// One pass from δ_k to Wx and b, with a clipping mode.
	pass := func(clip string) (ds []float64, gradNorm float64) {
		ds = zeros(T)
		gWx, gB := zeroMatrix(H, m.D), zeros(H)
		for t := 1; t <= T; t++ {
			d := append([]float64(nil), delta[t]...)
			if isStepClip(clip) {
				clipStep(d, clip, m.Theta)
			}
			ds[t-1] = norm(d)
			da := zeros(H)
			for i := range H {
				da[i] = slope(m.Act, s[t][i], a[t][i]) * d[i]
			}
			addOuter(gWx, da, m.X[t-1])
			addTo(gB, da)
		}
		sq := fixed + dotProduct(gB, gB)
		for _, row := range gWx {
			sq += dotProduct(row, row)
		}
		return ds, math.Sqrt(sq)
	}
	res.DEdsRaw, res.GradNorm = pass("none")
	switch {
	case isStepClip(m.Clip):
		res.DEds, res.GradNormClipped = pass(m.Clip)
	case m.Clip == "global-norm":
		res.DEds, res.GradNormClipped = res.DEdsRaw, math.Min(m.Theta, res.GradNorm)
	default:
		res.DEds, res.GradNormClipped = res.DEdsRaw, res.GradNorm
	}
	return res
}
