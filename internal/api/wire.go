package api

import (
	"encoding/json"
	"strconv"
	"strings"

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
	Weights Weights         `json:"weights,omitempty"`
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

// Weights are the parameters, by the model's own names in storage order,
// matrices as row-major nested arrays: Wx, Wh, b for the RNN; for LSTM
// and GRU, Wx, Wh and b are objects keyed by gate letter, and the GRU's
// b has "bh_n" besides "r", "z" and "n"; attention has Wx, b, Wq, Wk and
// Wv. "rev" holds the reverse chain of a bidirectional recurrent model.
// Every model ends with V and c.
type Weights []NamedWeight

// NamedWeight is one entry of Weights: a Matrix, Floats, an object keyed
// by gate letter, or the reverse chain's Weights.
type NamedWeight struct {
	Name  string
	Value any
}

// MarshalJSON writes the weights as one object, in order.
func (w Weights) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, nw := range w {
		if i > 0 {
			buf = append(buf, ',')
		}
		name, _ := json.Marshal(nw.Name)
		value, err := json.Marshal(nw.Value)
		if err != nil {
			return nil, err
		}
		buf = append(append(append(buf, name...), ':'), value...)
	}
	return append(buf, '}'), nil
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
	e.Weights = exportWeights(r.Params)
	e.Inputs = &Matrix{Rows: r.Settings.T, Cols: r.Params.D, Data: r.Inputs}
	e.Targets = r.Targets
	return e
}

// exportWeights arranges p's arrays as the export writes them: arrays of
// a reverse chain (named "rev.…") in a nested "rev", gate-stacked arrays
// split by gate letter, and the GRU's bh_n inside b.
func exportWeights(p *engine.Params) Weights {
	gates := p.Cell.GateNames()
	var out, rev Weights
	for _, bl := range p.Blocks() {
		dst, name := &out, bl.Name
		if n, ok := strings.CutPrefix(name, "rev."); ok {
			dst, name = &rev, n
		}
		if name == "V" && rev != nil {
			out = append(out, NamedWeight{"rev", rev})
			rev = nil
		}
		var value any = Matrix{Rows: bl.Rows, Cols: bl.Cols, Data: bl.Data}
		if bl.Vector() {
			value = Floats(bl.Data)
		}
		switch {
		case strings.HasPrefix(name, "bh_") && len(*dst) > 0 && (*dst)[len(*dst)-1].Name == "b":
			// The GRU's bias inside the n gate joins b's gates.
			(*dst)[len(*dst)-1].Value.(map[string]any)[name] = value
			continue
		case gates != nil && name != "V" && bl.Rows == len(gates)*p.H:
			byGate := map[string]any{}
			for g, letter := range gates {
				part := bl.Data[g*p.H*bl.Cols : (g+1)*p.H*bl.Cols]
				if bl.Vector() {
					byGate[letter] = Floats(part)
				} else {
					byGate[letter] = Matrix{Rows: p.H, Cols: bl.Cols, Data: part}
				}
			}
			value = byGate
		}
		*dst = append(*dst, NamedWeight{name, value})
	}
	return out
}
