package engine

import (
	"context"
	"math"
)

// Sensitivity is ‖∂E_t/∂x_k‖ for one output step t and every input
// position k: how much the prediction at t depends on each word of the
// sequence. A unidirectional model is blind to k > t; a bidirectional one
// sees both sides (the article's "The mouse … is used to ____ …").
type Sensitivity struct {
	Settings   Settings
	OutputStep int
	// DEtDx[k−1] is ‖∂E_t/∂x_k‖₂.
	DEtDx []float64
}

// InputSensitivity computes the Sensitivity of E_t, the loss at output
// step t alone, for the model and sequence of s.
func InputSensitivity(ctx context.Context, s Settings, t int) (*Sensitivity, error) {
	if t < 1 || t > s.T {
		return nil, fieldErrorf("outputStep", "outputStep must be 1..%d, got %d", s.T, t)
	}
	p := InitParams(s)
	inputs, targets := sequence(s)
	b := &batch{T: s.T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, s.T), weight: 1}
	b.mask[t-1] = true
	tp, err := forward(ctx, p, s.Act, b, nil)
	if err != nil {
		return nil, err
	}
	opts := backwardOptions{dx: make([]float64, s.T*s.D)}
	if err := backward(ctx, tp, nil, &opts); err != nil {
		return nil, err
	}
	out := &Sensitivity{Settings: s, OutputStep: t, DEtDx: make([]float64, s.T)}
	for k := range s.T {
		out.DEtDx[k] = norm2(opts.dx[k*s.D : (k+1)*s.D])
	}
	return out, nil
}

// GradientMap is ‖∂E_t/∂s_k‖ for output steps t (rows) and every state
// k: the whole triangle that loss=sum adds up. Row r is for output step
// Steps[r]; entries with k > t are zero in a unidirectional model.
type GradientMap struct {
	Settings Settings
	Steps    []int       // the output steps t of the rows, increasing
	Values   [][]float64 // Values[r][k−1] = ‖∂E_{Steps[r]}/∂s_k‖
}

// MaxMapRows bounds the rows of a GradientMap: each row is one backward
// pass, and a heatmap has no use for more rows than a screen has pixels.
const MaxMapRows = 200

// FullGradientMap computes the map for s at up to rows output steps,
// evenly spaced and always including T, using the forward chain.
func FullGradientMap(ctx context.Context, s Settings, rows int) (*GradientMap, error) {
	if rows < 1 || rows > MaxMapRows {
		return nil, fieldErrorf("rows", "rows must be 1..%d, got %d", MaxMapRows, rows)
	}
	rows = min(rows, s.T)
	p := InitParams(s)
	inputs, targets := sequence(s)
	b := &batch{T: s.T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, s.T), weight: 1}
	tp, err := forward(ctx, p, s.Act, b, nil)
	if err != nil {
		return nil, err
	}
	m := &GradientMap{Settings: s}
	for r := range rows {
		// Spread the rows over 1..T with the last on T.
		t := s.T - int(math.Round(float64(rows-1-r)*float64(s.T-1)/float64(max(rows-1, 1))))
		if len(m.Steps) > 0 && t <= m.Steps[len(m.Steps)-1] {
			continue
		}
		clear(b.mask)
		b.mask[t-1] = true
		opts := backwardOptions{}
		opts.dhNorm[0] = make([]float64, s.T)
		if err := backward(ctx, tp, nil, &opts); err != nil {
			return nil, err
		}
		m.Steps = append(m.Steps, t)
		m.Values = append(m.Values, opts.dhNorm[0])
	}
	return m, nil
}

// cellPath returns, for an LSTM tape of one sequence, the mean over units
// of Π_{j=k+1}^{T} f_j (the share of c_k that survives to c_T along the
// cell path, where ∂c_T/∂c_k = diag(Π f_j)), and the prediction
// σ̄(b_f)^(T−k) that holds when the forget gates stay at their bias.
func cellPath(tp *tape) (path, prediction []float64) {
	T, H := tp.batch.T, tp.p.H
	gh := 4 * H
	ct := &tp.chain[0]
	prod := make([]float64, H)
	for i := range prod {
		prod[i] = 1
	}
	path = make([]float64, T)
	prediction = make([]float64, T)
	bias := 0.0
	for _, b := range tp.p.Gate(tp.p.Chain[0].B, 1, 1) {
		bias += sigmoid(b)
	}
	bias /= float64(H)
	for k := T; k >= 1; k-- {
		sum := 0.0
		for _, v := range prod {
			sum += v
		}
		path[k-1] = sum / float64(H)
		prediction[k-1] = math.Pow(bias, float64(T-k))
		// Multiply in f_k for the steps before it.
		f := ct.pre[(k-1)*gh+H : (k-1)*gh+2*H]
		for i := range prod {
			prod[i] *= f[i]
		}
	}
	return path, prediction
}
