package api

import (
	"strconv"

	"gradviz/internal/engine"
	"gradviz/internal/render"
)

// ExportVersion is the version of the run export and of the websocket
// protocol; a change that breaks readers increments it.
const ExportVersion = 1

// Export is the version-1 run export served by GET /api/profile. Every
// number can be recomputed from config, weights and inputs.
type Export struct {
	Version int             `json:"version"`
	Config  engine.Settings `json:"config"`
	Weights *Weights        `json:"weights,omitempty"`
	Inputs  *Matrix         `json:"inputs,omitempty"`
	Targets []int           `json:"targets,omitempty"`
	Result
}

// Result is what a run measured: the common part of the export and of
// the websocket "profile" message.
type Result struct {
	Loss            Float     `json:"loss"`
	GradNorm        Float     `json:"gradNorm"`
	GradNormClipped Float     `json:"gradNormClipped"`
	Profile         Profile   `json:"profile"`
	Theory          *Theory   `json:"theory"`
	Overflow        *Overflow `json:"overflow"`
	ElapsedMs       float64   `json:"elapsedMs"`
}

// Profile holds the per-step series in time order, k = 1..T: every data
// series of the series table (render.DataSeries) that the run has, under
// its ID and in the table's order, so the wire, the CSV and the page name
// a series alike. ∂E/∂s_k, its unclipped twin and the state norms are in
// every profile; the others are left out when the run has none (dE_dc,
// cellPath and forgetPrediction for the LSTM, the reverse chain for a
// bidirectional model, bound and jacobianNorm for the RNN).
type Profile struct {
	series engine.Profile
}

// MarshalJSON implements json.Marshaler.
func (p Profile) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 1024)
	b = append(b, '{')
	for _, s := range render.DataSeries() {
		values := s.Values(&p.series)
		if values == nil {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, s.ID)
		b = append(b, ':')
		b = appendFloats(b, values)
	}
	return append(b, '}'), nil
}

// Theory is the spectrum of Wh for the vanilla RNN.
type Theory struct {
	Gamma          Float         `json:"gamma"`
	SigmaMax       Float         `json:"sigmaMax"`
	SpectralRadius Float         `json:"spectralRadius"`
	Regime         engine.Regime `json:"regime"`
	SingularValues Floats        `json:"singularValues"`
	// Eigenvalues are [re, im] pairs in decreasing order of modulus.
	Eigenvalues [][2]Float `json:"eigenvalues"`
}

// Overflow says where a run stopped being finite; absent when it did not.
type Overflow struct {
	Forward  int  `json:"forward,omitempty"`
	Backward int  `json:"backward,omitempty"`
	Loss     bool `json:"loss,omitempty"`
}

// Weights are the parameters, matrices as row-major nested arrays. For
// LSTM and GRU, Wx, Wh and b are objects keyed by gate letter; the GRU's
// b has "bh_n" besides "r", "z" and "n". Rev holds the reverse chain of a
// bidirectional model.
type Weights struct {
	Wx  any      `json:"Wx"`
	Wh  any      `json:"Wh"`
	B   any      `json:"b"`
	Rev *Weights `json:"rev,omitempty"`
	V   *Matrix  `json:"V,omitempty"`
	C   Floats   `json:"c,omitempty"`
}

// newResult converts an engine result to its wire form.
func newResult(r *engine.Result) Result {
	out := Result{
		Loss:            Float(r.Loss),
		GradNorm:        Float(r.GradNorm),
		GradNormClipped: Float(r.GradNormClipped),
		Profile:         Profile{series: r.Profile},
	}
	if sp := r.Spectrum; sp != nil {
		t := &Theory{
			Gamma: Float(sp.Gamma), SigmaMax: Float(sp.SigmaMax), SpectralRadius: Float(sp.SpectralRadius),
			Regime: sp.Regime(), SingularValues: sp.SingularValues,
			Eigenvalues: make([][2]Float, len(sp.Eigenvalues)),
		}
		for i, ev := range sp.Eigenvalues {
			t.Eigenvalues[i] = [2]Float{Float(real(ev)), Float(imag(ev))}
		}
		out.Theory = t
	}
	if o := r.Overflow; o.Any() {
		out.Overflow = &Overflow{Forward: o.Forward, Backward: o.Backward, Loss: o.Loss}
	}
	return out
}

// newExport converts an engine result to the version-1 export, with the
// weights, inputs and targets when withData is set.
func newExport(r *engine.Result, withData bool) *Export {
	e := &Export{Version: ExportVersion, Config: r.Settings, Result: newResult(r)}
	if !withData {
		return e
	}
	p := r.Params
	e.Weights = chainWeights(p, 0)
	if p.Dirs == 2 {
		e.Weights.Rev = chainWeights(p, 1)
	}
	e.Weights.V = &Matrix{Rows: p.K, Cols: p.Dirs * p.H, Data: p.V}
	e.Weights.C = p.C
	e.Inputs = &Matrix{Rows: r.Settings.T, Cols: p.D, Data: r.Inputs}
	e.Targets = r.Targets
	return e
}

func chainWeights(p *engine.Params, chain int) *Weights {
	w := p.Chain[chain]
	gates := p.Cell.GateNames()
	if gates == nil {
		return &Weights{
			Wx: Matrix{Rows: p.H, Cols: p.D, Data: w.Wx},
			Wh: Matrix{Rows: p.H, Cols: p.H, Data: w.Wh},
			B:  Floats(w.B),
		}
	}
	wx, wh, b := map[string]Matrix{}, map[string]Matrix{}, map[string]Floats{}
	for g, name := range gates {
		wx[name] = Matrix{Rows: p.H, Cols: p.D, Data: p.Gate(w.Wx, g, p.D)}
		wh[name] = Matrix{Rows: p.H, Cols: p.H, Data: p.Gate(w.Wh, g, p.H)}
		b[name] = p.Gate(w.B, g, 1)
	}
	if w.BhN != nil {
		b["bh_n"] = w.BhN
	}
	return &Weights{Wx: wx, Wh: wh, B: b}
}
