package engine

import (
	"fmt"
	"math"
	"strconv"
)

// Cell names a model: a recurrent cell or self-attention. Each model's
// file declares its name and registers it (see model.go).
type Cell string

// Activation names the nonlinearity f of a vanilla RNN, s_t = f(a_t).
type Activation string

// The activations of the vanilla RNN.
const (
	ActSigmoid Activation = "sigmoid"
	ActTanh    Activation = "tanh"
	ActReLU    Activation = "relu"
	ActLinear  Activation = "linear"
)

// Activations lists every Activation in display order.
var Activations = []Activation{ActSigmoid, ActTanh, ActReLU, ActLinear}

// InitScheme names how the weight matrices are drawn.
type InitScheme string

// The initialisation schemes. Gain scales the recurrent matrix Wh only;
// Wx and V use the same scheme at gain 1 (see Params).
const (
	InitGaussian   InitScheme = "gaussian"
	InitUniform    InitScheme = "uniform"
	InitOrthogonal InitScheme = "orthogonal"
	InitIdentity   InitScheme = "identity"
	InitXavier     InitScheme = "xavier"
	InitHe         InitScheme = "he"
)

// InitSchemes lists every InitScheme in display order.
var InitSchemes = []InitScheme{InitGaussian, InitUniform, InitOrthogonal, InitIdentity, InitXavier, InitHe}

// ClipMode names a gradient clipping rule.
type ClipMode string

// The clipping modes; docs/design.md gives their exact effect.
const (
	ClipNone       ClipMode = "none"
	ClipGlobalNorm ClipMode = "global-norm"
	ClipStepNorm   ClipMode = "step-norm"
	ClipStepValue  ClipMode = "step-value"
)

// ClipModes lists every ClipMode in display order.
var ClipModes = []ClipMode{ClipNone, ClipGlobalNorm, ClipStepNorm, ClipStepValue}

// IsStep reports whether the mode acts on δ_k inside the backward pass,
// and so changes the profile itself.
func (m ClipMode) IsStep() bool { return m == ClipStepNorm || m == ClipStepValue }

// LossMode names which steps are scored.
type LossMode string

// The loss modes: only the final step, or every step.
const (
	LossLast LossMode = "last"
	LossSum  LossMode = "sum"
)

// LossModes lists every LossMode.
var LossModes = []LossMode{LossLast, LossSum}

// Settings is everything that determines a run. The zero value is not
// valid; start from Defaults. The JSON names are the names used in every
// query string, websocket message and export. Every field has its entry
// in the settings schema (schema.go), which says how it is read, checked,
// described and shown.
type Settings struct {
	Cell       Cell       `json:"cell"`
	Act        Activation `json:"act"`
	T          int        `json:"T"`
	H          int        `json:"H"`
	D          int        `json:"D"`
	K          int        `json:"K"`
	Init       InitScheme `json:"init"`
	Gain       float64    `json:"gain"`
	ForgetBias float64    `json:"forgetBias"`
	Clip       ClipMode   `json:"clip"`
	Threshold  float64    `json:"threshold"`
	Loss       LossMode   `json:"loss"`
	Seed       uint64     `json:"seed"`
	// Bidir adds a second chain of the same cell that reads the sequence
	// from t = T down to 1; the output at t sees both chains.
	Bidir bool `json:"bidir"`
}

// Defaults returns the settings of the first picture a user sees: a tanh
// RNN whose gradient visibly fades over 100 steps.
func Defaults() Settings {
	return Settings{
		Cell:       CellRNN,
		Act:        ActTanh,
		T:          100,
		H:          32,
		D:          4,
		K:          4,
		Init:       InitGaussian,
		Gain:       1,
		ForgetBias: 0,
		Clip:       ClipNone,
		Threshold:  1,
		Loss:       LossLast,
		Seed:       1,
	}
}

// Limits bounds what a caller may ask of the engine. The server sets them
// from flags; the engine has no limits of its own beyond positivity.
type Limits struct {
	MaxT int
	MaxH int
	MaxD int
	MaxK int
	// MaxWork bounds T·H²·gates·directions, the multiply-adds of one
	// forward pass through the recurrence; 0 means no bound.
	MaxWork int64
}

// DefaultLimits returns limits under which one profile takes well under a
// second on a laptop.
func DefaultLimits() Limits {
	return Limits{MaxT: 2000, MaxH: 256, MaxD: 64, MaxK: 64, MaxWork: 2000 * 256 * 256 * 4}
}

// Ranges of the settings that Limits does not bound. They are properties
// of the mathematics (a threshold must be positive), not server policy;
// the schema (schema.go) uses them.
const (
	MaxGain       = 100
	MaxForgetBias = 20
	MaxThreshold  = 1e12
	MaxSeed       = math.MaxUint32
)

// FieldError reports a setting that is out of range. Field is the
// setting's name as it appears in a query string or message.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Message }

func fieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Gates returns how many gate blocks the cell stacks in Wx, Wh and b: 1
// for a model without gates.
func (c Cell) Gates() int { return max(len(c.Info().Gates), 1) }

// GateNames returns the cell's gate letters in storage order, or nil for
// a model without gates.
func (c Cell) GateNames() []string { return c.Info().Gates }

// Directions returns 2 for a bidirectional recurrent model, which has a
// second chain, and 1 otherwise.
func (s Settings) Directions() int {
	if s.Bidir && s.Cell.Info().BidirReversed {
		return 2
	}
	return 1
}

// Work returns the size of the sequential part of a forward pass, which
// Limits.MaxWork bounds: T·H²·gates·directions for a recurrent model.
func (s Settings) Work() int64 { return modelOf(s.Cell).work(s) }

// Validate checks every setting against lim, in the schema's order, and
// returns a *FieldError naming the first field out of range, its allowed
// values and the value received; then the work of the whole run.
func (s Settings) Validate(lim Limits) error {
	for i := range schema {
		if err := schema[i].check(&s, lim); err != nil {
			return err
		}
	}
	if lim.MaxWork > 0 && s.Work() > lim.MaxWork {
		return fieldErrorf("T", "%s must be at most %d, got %d (T=%d, H=%d, %s): shorten the sequence or use fewer hidden units",
			modelOf(s.Cell).info().WorkFormula, lim.MaxWork, s.Work(), s.T, s.H, s.Cell)
	}
	return nil
}

func oneOf[V ~string](field string, got V, allowed []V) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	list := ""
	for i, a := range allowed {
		if i > 0 {
			list += ", "
		}
		list += string(a)
	}
	return fieldErrorf(field, "%s must be one of %s, got %q", field, list, string(got))
}

func inRange(field string, got, min, max float64) error {
	if math.IsNaN(got) || got < min || got > max {
		return fieldErrorf(field, "%s must be %s..%s, got %s", field, formatFloat(min), formatFloat(max), formatFloat(got))
	}
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
