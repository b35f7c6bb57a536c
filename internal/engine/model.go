package engine

import (
	"context"
	"slices"
)

// A model is one kind of network the engine can run. Each lives in a
// file of its own and registers itself there: the recurrent cells in
// rnn.go, lstm.go and gru.go, which share the recurrence of net.go and
// backward.go, and self-attention in attn.go, whose every step reads
// every earlier one. Everything else (profiles, sensitivity, the
// gradient map, training, memory estimates, exports) reaches a model
// only through this interface and its ModelInfo.
type model interface {
	// info describes the model to the rest of the program.
	info() ModelInfo
	// layout declares, through add, the model's weight arrays in storage
	// order, except the output layer's V and c, which every model has.
	layout(p *Params, add func(name string, dst *[]float64, rows, cols int))
	// init draws the weights that layout declares for s.
	init(p *Params, s Settings)
	// work is the size of the sequential part of one forward pass, in
	// multiply-adds; Limits.MaxWork bounds it.
	work(s Settings) int64
	// workingFloats is how many float64s one forward and backward pass
	// over batch sequences keeps at its peak, parameters excluded.
	workingFloats(s Settings, batch int) int64
	// forward records a pass of tp.p over tp.batch into tp and adds to
	// tp.out, which holds c at every step, the rest of the logits o_t;
	// the caller scores them. It applies bump (tests only) to the state
	// it names right after computing it, and checks ctx between steps.
	forward(ctx context.Context, tp *tape, bump *perturbation) error
	// backward runs the backward pass over tp from tp.back.dO = ∂E/∂o:
	// it fills the records opts asks for and, unless grads is nil, adds
	// ∂E/∂θ for every weight except c, which the caller adds.
	backward(ctx context.Context, tp *tape, grads *Params, opts *backwardOptions) error
}

// ModelInfo says what a model has, for the code that validates settings,
// draws its series and explains its theory.
type ModelInfo struct {
	Cell Cell
	// Gates are the gate letters in storage order, nil for a model
	// without gates.
	Gates []string
	// Activation reports that the setting act chooses the model's f.
	Activation bool
	// ForgetBias reports that the setting forgetBias applies.
	ForgetBias bool
	// Recurrent reports that step t reads only step t−1, so that
	// ∂E/∂s_k is a product of one Jacobian per step; false for
	// attention, where every step reaches every other in one.
	Recurrent bool
	// Spectrum reports that a profile carries the spectrum of Wh, the
	// per-step Jacobian norms and Pascanu et al.'s bound.
	Spectrum bool
	// CellState reports the series of a cell state: ‖∂E/∂c_k‖ and the
	// cell path with its forget-gate prediction.
	CellState bool
	// BidirReversed reports that bidir adds a second chain reading the
	// sequence backwards; for attention bidir lifts the causal mask.
	BidirReversed bool
	// WorkFormula names what Settings.Work counts, for error messages.
	WorkFormula string
}

// registered holds the models in display order.
var registered []registration

type registration struct {
	order int
	m     model
}

// Cells lists every Cell in display order.
var Cells []Cell

// register adds m to the models, at position order among them. Each
// model's file calls it from init.
func register(order int, m model) {
	registered = append(registered, registration{order, m})
	slices.SortFunc(registered, func(a, b registration) int { return a.order - b.order })
	Cells = Cells[:0]
	for _, r := range registered {
		Cells = append(Cells, r.m.info().Cell)
	}
}

// modelOf returns the model of cell c. It panics for a cell that is not
// registered, which validation rules out.
func modelOf(c Cell) model {
	for _, r := range registered {
		if r.m.info().Cell == c {
			return r.m
		}
	}
	panic("engine: unknown cell " + string(c))
}

// Info returns what the model of c has. The zero ModelInfo describes a
// cell that does not exist.
func (c Cell) Info() ModelInfo {
	for _, r := range registered {
		if i := r.m.info(); i.Cell == c {
			return i
		}
	}
	return ModelInfo{}
}

// Models returns the ModelInfo of every model in display order.
func Models() []ModelInfo {
	out := make([]ModelInfo, len(registered))
	for i, r := range registered {
		out[i] = r.m.info()
	}
	return out
}
