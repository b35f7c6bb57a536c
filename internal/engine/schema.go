package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// The settings schema: one entry per field of Settings, in the struct's
// order, and the only list of them. The parser in internal/api, Validate,
// the figure captions of internal/render, the page (through the bootstrap
// block of its HTML) and the settings table of docs/protocol.md are all
// derived from it, and tests in those packages fail when one of them
// disagrees.

// SettingKind is how a setting's value is written: a name from a list, a
// whole number (signed or not), a real number or a boolean. A query string
// carries each as plain text, JSON as a string, number or boolean.
type SettingKind string

// The kinds of settings.
const (
	KindEnum  SettingKind = "enum"
	KindInt   SettingKind = "int"
	KindUint  SettingKind = "uint"
	KindFloat SettingKind = "float"
	KindBool  SettingKind = "bool"
)

// Text is a phrase of the page in each of its languages.
type Text struct {
	En string `json:"en"`
	Es string `json:"es"`
}

// IdleWhen says that a setting has no effect while another setting, an
// enumeration, takes one of some values: the threshold while nothing is
// clipped.
type IdleWhen struct {
	Setting string   `json:"setting"`
	Values  []string `json:"values"`
}

// SettingSpec describes one setting. SettingsSchema returns them with
// every field resolved; the accessors (Value, Format, Set) reach the
// Settings field the spec describes without reflection.
type SettingSpec struct {
	// Name is the setting's name in query strings, websocket messages,
	// the page's URL and the export: the JSON name of its Settings field.
	Name string
	Kind SettingKind
	// Options are the values of an enumeration, from its registry (Cells,
	// Activations, InitSchemes, ClipModes, LossModes), in display order.
	Options []string
	// Min and Max bound a number; MinExclusive excludes Min itself.
	Min, Max     float64
	MinExclusive bool
	// Limit, when not empty, says that Max is server policy rather than
	// mathematics: it is the Limits field MaxT, MaxH, MaxD or MaxK (the
	// server's flags -max-T …), named as in the limits of the hello
	// message and the page's bootstrap ("T", "H", "D", "K").
	Limit string
	// Step is the increment of the setting's control; 0 means any value.
	Step float64
	// Default is the value in Defaults(), of the type Value returns.
	Default any
	// AppliesTo lists the models the setting affects, in display order:
	// act only those whose ModelInfo has Activation, forgetBias those
	// with ForgetBias, every other setting all of them.
	AppliesTo []Cell
	// IdleWhen, when not nil, names the setting whose values make this
	// one idle.
	IdleWhen *IdleWhen
	// Label names the setting's control, Short names it in a pin's label
	// (empty: the protocol name) and Help is its one-line explanation.
	Label, Short, Help Text
	// OptionLabels names each value of an enumeration, and "true" and
	// "false" of a boolean, in every language: what the page's controls,
	// its pin labels and the figures' captions and legends show. The
	// protocol names (Options) stay the names of URLs, messages and CSV.
	OptionLabels map[string]Text

	def *settingDef
}

// settingDef is a schema entry as written below; SettingsSchema resolves
// the parts that depend on the registries and the limits.
type settingDef struct {
	name         string
	kind         SettingKind
	options      *registry
	min, max     float64
	minExclusive bool
	limit        string
	step         float64
	// applies reports whether the setting affects a model; nil for all.
	applies  func(ModelInfo) bool
	idleWhen *IdleWhen
	// field returns a pointer to the setting's field in s, converted to
	// the pointer type of its kind: *string, *int, *uint64, *float64 or
	// *bool.
	field              func(s *Settings) any
	label, short, help Text
	// optionLabels names the values: every option of the registry (a
	// test checks that none is missing), true and false of a boolean.
	optionLabels map[string]Text
}

// registry reads one of the registries of names (Cells, Activations …)
// as strings, when asked: Cells fills up as the models register.
type registry struct {
	list func() []string
	has  func(string) bool
}

func names[V ~string](list *[]V) *registry {
	return &registry{
		list: func() []string {
			out := make([]string, len(*list))
			for i, v := range *list {
				out[i] = string(v)
			}
			return out
		},
		has: func(v string) bool { return slices.Contains(*list, V(v)) },
	}
}

func hasActivation(m ModelInfo) bool { return m.Activation }
func hasForgetBias(m ModelInfo) bool { return m.ForgetBias }

// schema is every setting in the order of the Settings struct, which is
// also the order of validation, captions and the export's config.
var schema = []settingDef{
	{
		name: "cell", kind: KindEnum, options: names(&Cells),
		field: func(s *Settings) any { return (*string)(&s.Cell) },
		label: Text{"Cell", "Celda"},
		help: Text{
			"The model: a plain RNN, an LSTM (input, forget and output gates), a GRU or self-attention",
			"El modelo: una RNN simple, una LSTM (puertas de entrada, olvido y salida), una GRU o una red de autoatención",
		},
		optionLabels: map[string]Text{
			"rnn":  {"RNN", "RNN"},
			"lstm": {"LSTM", "LSTM"},
			"gru":  {"GRU", "GRU"},
			"attn": {"Self-attention", "Autoatención"},
		},
	},
	{
		name: "act", kind: KindEnum, options: names(&Activations), applies: hasActivation,
		field: func(s *Settings) any { return (*string)(&s.Act) },
		label: Text{"Activation", "Activación"},
		help: Text{
			"The nonlinearity f of the plain RNN, s_t = f(Wx·x_t + Wh·s_{t−1} + b), and of self-attention's states",
			"La función no lineal f de la RNN simple, s_t = f(Wx·x_t + Wh·s_{t−1} + b), y de los estados de la autoatención",
		},
		optionLabels: map[string]Text{
			"sigmoid": {"sigmoid", "sigmoide"},
			"tanh":    {"tanh", "tanh"},
			"relu":    {"ReLU", "ReLU"},
			"linear":  {"linear", "lineal"},
		},
	},
	{
		name: "T", kind: KindInt, min: 1, limit: "T", step: 1,
		field: func(s *Settings) any { return &s.T },
		label: Text{"Sequence length", "Longitud de la secuencia"},
		short: Text{"T", "T"},
		help: Text{
			"How many time steps the error signal travels back through",
			"Cuántos pasos de tiempo recorre hacia atrás la señal de error",
		},
	},
	{
		name: "H", kind: KindInt, min: 1, limit: "H", step: 1,
		field: func(s *Settings) any { return &s.H },
		label: Text{"Hidden units", "Unidades ocultas"},
		short: Text{"H", "H"},
		help:  Text{"Size of the state s_t; Wh (or Wq, Wk, Wv) is H×H", "Tamaño del estado s_t; Wh (o Wq, Wk, Wv) es de H×H"},
	},
	{
		name: "D", kind: KindInt, min: 1, limit: "D", step: 1,
		field: func(s *Settings) any { return &s.D },
		label: Text{"Input features", "Dimensión de la entrada"},
		short: Text{"D", "D"},
		help:  Text{"Size of each input x_t", "Tamaño de cada entrada x_t"},
	},
	{
		name: "K", kind: KindInt, min: 2, limit: "K", step: 1,
		field: func(s *Settings) any { return &s.K },
		label: Text{"Classes", "Clases"},
		short: Text{"K", "K"},
		help:  Text{"Number of output classes", "Número de clases de salida"},
	},
	{
		name: "init", kind: KindEnum, options: names(&InitSchemes),
		field: func(s *Settings) any { return (*string)(&s.Init) },
		label: Text{"Initialization", "Inicialización"},
		help: Text{
			"How the weights are drawn; Gain then scales Wh (attention: Wq, Wk, Wv)",
			"Cómo se eligen los pesos iniciales; después la ganancia escala Wh (en la atención, Wq, Wk y Wv)",
		},
		optionLabels: map[string]Text{
			"gaussian":   {"Gaussian", "gaussiana"},
			"uniform":    {"uniform", "uniforme"},
			"orthogonal": {"orthogonal", "ortogonal"},
			"identity":   {"identity", "identidad"},
			"xavier":     {"Xavier", "Xavier"},
			"he":         {"He", "He"},
		},
	},
	{
		name: "gain", kind: KindFloat, min: 0, max: MaxGain, step: 0.01,
		field: func(s *Settings) any { return &s.Gain },
		label: Text{"Gain", "Ganancia"},
		short: Text{"gain", "ganancia"},
		help: Text{
			"Multiplies Wh (attention: Wq, Wk, Wv): in a recurrence the signal fades below about 1 and may grow above it",
			"Multiplica Wh (en la atención, Wq, Wk y Wv): en una recurrencia, con una ganancia menor que 1, aproximadamente, la señal se apaga, y con una mayor puede crecer",
		},
	},
	{
		name: "forgetBias", kind: KindFloat, min: -MaxForgetBias, max: MaxForgetBias, step: 0.1, applies: hasForgetBias,
		field: func(s *Settings) any { return &s.ForgetBias },
		label: Text{"Forget bias", "Sesgo de olvido"},
		short: Text{"forget bias", "sesgo de olvido"},
		help: Text{
			"The bias of the gate that keeps the past (LSTM: forget gate f; GRU: update gate z): 1 or more keeps it open (Gers et al. 2000; Jozefowicz et al. 2015)",
			"El sesgo de la puerta que conserva el pasado (LSTM: puerta de olvido f; GRU: puerta de actualización z): con 1 o más la mantiene abierta (Gers et al. 2000; Jozefowicz et al. 2015)",
		},
	},
	{
		name: "clip", kind: KindEnum, options: names(&ClipModes),
		field: func(s *Settings) any { return (*string)(&s.Clip) },
		label: Text{"Clipping", "Recorte del gradiente"},
		short: Text{"clipping", "recorte"},
		help: Text{
			"Cap the gradient: the whole update (global norm) or δ_k at every step (step norm, step value)",
			"Limitar el gradiente: la actualización completa (norma global) o δ_k en cada paso (norma por paso, valor por paso)",
		},
		optionLabels: map[string]Text{
			"none":        {"none", "ninguno"},
			"global-norm": {"global norm", "norma global"},
			"step-norm":   {"step norm", "norma por paso"},
			"step-value":  {"step value", "valor por paso"},
		},
	},
	{
		name: "threshold", kind: KindFloat, min: 0, minExclusive: true, max: MaxThreshold,
		idleWhen: &IdleWhen{Setting: "clip", Values: []string{string(ClipNone)}},
		field:    func(s *Settings) any { return &s.Threshold },
		label:    Text{"Threshold", "Umbral"},
		short:    Text{"θ", "θ"},
		help:     Text{"The clipping threshold θ", "El umbral de recorte θ"},
	},
	{
		name: "loss", kind: KindEnum, options: names(&LossModes),
		field: func(s *Settings) any { return (*string)(&s.Loss) },
		label: Text{"Loss", "Pérdida"},
		short: Text{"loss", "pérdida"},
		help:  Text{"Score only the last step, or every step", "Calcular la pérdida solo en el último paso o en todos"},
		optionLabels: map[string]Text{
			"last": {"last step", "último paso"},
			"sum":  {"sum over steps", "suma de los pasos"},
		},
	},
	{
		name: "seed", kind: KindUint, min: 0, max: MaxSeed, step: 1,
		field: func(s *Settings) any { return &s.Seed },
		label: Text{"Seed", "Semilla"},
		short: Text{"seed", "semilla"},
		help: Text{
			"Same seed, same weights and inputs: the same numbers everywhere",
			"Con la misma semilla, los mismos pesos y entradas: los mismos números en todas las vistas",
		},
	},
	{
		name: "bidir", kind: KindBool,
		field: func(s *Settings) any { return &s.Bidir },
		label: Text{"Bidirectional", "Bidireccional"},
		help: Text{
			"Add a second chain that reads the sequence backwards (attention: every position also sees the later ones)",
			"Añadir una segunda cadena que lee la secuencia al revés (atención: cada posición ve también las posteriores)",
		},
		optionLabels: map[string]Text{
			"true":  {"bidirectional", "bidireccional"},
			"false": {"one direction", "un sentido"},
		},
	},
}

// SettingsSchema returns every setting in the order of the Settings
// struct, with its options from the registries and, where Limit is set,
// its maximum from lim.
func SettingsSchema(lim Limits) []SettingSpec {
	out := make([]SettingSpec, len(schema))
	for i := range schema {
		out[i] = schema[i].resolve(lim)
	}
	return out
}

// Setting returns the spec of the setting name under lim, and false when
// there is no such setting.
func Setting(name string, lim Limits) (SettingSpec, bool) {
	if d := lookup(name); d != nil {
		return d.resolve(lim), true
	}
	return SettingSpec{}, false
}

func (d *settingDef) resolve(lim Limits) SettingSpec {
	sp := SettingSpec{
		Name: d.name, Kind: d.kind, Min: d.min, Max: d.max, MinExclusive: d.minExclusive,
		Limit: d.limit, Step: d.step, IdleWhen: d.idleWhen,
		Label: d.label, Short: d.short, Help: d.help, OptionLabels: maps.Clone(d.optionLabels), def: d,
	}
	if d.options != nil {
		sp.Options = d.options.list()
	}
	sp.Max = d.maxOf(lim)
	def := Defaults()
	sp.Default = d.value(&def)
	for _, m := range Models() {
		if d.applies == nil || d.applies(m) {
			sp.AppliesTo = append(sp.AppliesTo, m.Cell)
		}
	}
	return sp
}

// maxOf returns the setting's maximum under lim: the policy of the
// limit it names, or its own.
func (d *settingDef) maxOf(lim Limits) float64 {
	switch d.limit {
	case "":
		return d.max
	case "T":
		return float64(lim.MaxT)
	case "H":
		return float64(lim.MaxH)
	case "D":
		return float64(lim.MaxD)
	case "K":
		return float64(lim.MaxK)
	}
	panic("engine: no limit " + d.limit)
}

// lookup returns the entry of the setting name, or nil.
func lookup(name string) *settingDef {
	for i := range schema {
		if schema[i].name == name {
			return &schema[i]
		}
	}
	return nil
}

// value returns the setting's value in s as a string, int, uint64,
// float64 or bool, by its kind.
func (d *settingDef) value(s *Settings) any {
	switch p := d.field(s).(type) {
	case *string:
		return *p
	case *int:
		return *p
	case *uint64:
		return *p
	case *float64:
		return *p
	case *bool:
		return *p
	}
	panic("engine: setting " + d.name + " has a field of no kind")
}

// Value returns the setting's value in s: a string for an enumeration,
// an int, a uint64, a float64 or a bool.
func (sp SettingSpec) Value(s Settings) any { return sp.def.value(&s) }

// Format writes the setting's value in s as a query string carries it:
// the name, the decimal number (the shortest that reads back exactly),
// true or false.
func (sp SettingSpec) Format(s Settings) string {
	switch v := sp.Value(s).(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	panic("unreachable")
}

// Set stores v in the setting's field of s. v must have the type Value
// returns for the setting's kind; anything else is a programming error
// and panics. Set does not validate: Validate does.
func (sp SettingSpec) Set(s *Settings, v any) {
	switch p := sp.def.field(s).(type) {
	case *string:
		*p = v.(string)
	case *int:
		*p = v.(int)
	case *uint64:
		*p = v.(uint64)
	case *float64:
		*p = v.(float64)
	case *bool:
		*p = v.(bool)
	}
}

// OptionLabel returns the label of the setting's value in s, an
// enumeration's option or a boolean's "true" or "false", and false when
// the schema has none.
func (sp SettingSpec) OptionLabel(s Settings) (Text, bool) {
	if sp.Kind != KindEnum && sp.Kind != KindBool {
		return Text{}, false
	}
	l, ok := sp.OptionLabels[sp.Format(s)]
	return l, ok
}

// LabOptionLabels returns the labels of the training lab's own choices,
// by choice ("task", "optimizer") and protocol name, for the page's
// bootstrap: TaskLabels and OptimizerLabels.
func LabOptionLabels() map[string]map[string]Text {
	out := map[string]map[string]Text{"task": {}, "optimizer": {}}
	for k, l := range TaskLabels {
		out["task"][string(k)] = l
	}
	for k, l := range OptimizerLabels {
		out["optimizer"][string(k)] = l
	}
	return out
}

// Applies reports whether the setting affects a run of cell.
func (sp SettingSpec) Applies(cell Cell) bool {
	return sp.def.applies == nil || sp.def.applies(cell.Info())
}

// Active reports whether the setting affects the run of s: it applies to
// the model and is not idle by another setting's value.
func (sp SettingSpec) Active(s Settings) bool {
	if !sp.Applies(s.Cell) {
		return false
	}
	if w := sp.def.idleWhen; w != nil {
		other, _ := lookup(w.Setting).value(&s).(string)
		return !slices.Contains(w.Values, other)
	}
	return true
}

// Range writes the allowed values of a number as the error messages and
// docs/protocol.md give them: "1..2000", "greater than 0 and at most 1e+12".
func (sp SettingSpec) Range() string {
	format := formatFloat
	if sp.Kind == KindInt || sp.Kind == KindUint {
		format = func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	}
	if sp.MinExclusive {
		return fmt.Sprintf("greater than %s and at most %s", format(sp.Min), format(sp.Max))
	}
	return format(sp.Min) + ".." + format(sp.Max)
}

// MarshalJSON writes the spec for the page: the bounds of numbers only,
// options of enumerations only, and Short defaulting to the name.
func (sp SettingSpec) MarshalJSON() ([]byte, error) {
	type bounds struct {
		Min          float64 `json:"min"`
		Max          float64 `json:"max"`
		MinExclusive bool    `json:"minExclusive,omitempty"`
		Step         float64 `json:"step"`
	}
	out := struct {
		Name    string      `json:"name"`
		Kind    SettingKind `json:"kind"`
		Options []string    `json:"options,omitempty"`
		*bounds
		Limit     string    `json:"limit,omitempty"`
		Default   any       `json:"default"`
		AppliesTo []Cell    `json:"appliesTo"`
		IdleWhen  *IdleWhen `json:"idleWhen,omitempty"`
		Label     Text      `json:"label"`
		Short     Text      `json:"short"`
		Help      Text      `json:"help"`
		// OptionLabels: the label of each value, by its protocol name.
		OptionLabels map[string]Text `json:"optionLabels,omitempty"`
	}{
		Name: sp.Name, Kind: sp.Kind, Options: sp.Options, Limit: sp.Limit, Default: sp.Default,
		AppliesTo: sp.AppliesTo, IdleWhen: sp.IdleWhen, Label: sp.Label, Short: sp.Short, Help: sp.Help,
		OptionLabels: sp.OptionLabels,
	}
	switch sp.Kind {
	case KindInt, KindUint, KindFloat:
		out.bounds = &bounds{sp.Min, sp.Max, sp.MinExclusive, sp.Step}
	}
	if out.Short == (Text{}) {
		out.Short = Text{sp.Name, sp.Name}
	}
	return json.Marshal(out)
}

// check returns a *FieldError when the setting's value in s is not
// allowed under lim, with the wording the protocol documents.
func (d *settingDef) check(s *Settings, lim Limits) error {
	// The field's pointer, not its value, goes through the interface: a
	// value would be boxed, an allocation per setting.
	switch p := d.field(s).(type) {
	case *string:
		if v := *p; !d.options.has(v) {
			return oneOf(d.name, v, d.options.list())
		}
	case *int:
		if v, hi := *p, int(d.maxOf(lim)); v < int(d.min) || v > hi {
			return fieldErrorf(d.name, "%s must be %d..%d, got %d", d.name, int(d.min), hi, v)
		}
	case *uint64:
		if v := *p; v > uint64(d.max) {
			return fieldErrorf(d.name, "%s must be %d..%d, got %d", d.name, uint64(d.min), uint64(d.max), v)
		}
	case *float64:
		v := *p
		if d.minExclusive {
			if !(v > d.min && v <= d.max) {
				return fieldErrorf(d.name, "%s must be greater than %s and at most %s, got %s",
					d.name, formatFloat(d.min), formatFloat(d.max), formatFloat(v))
			}
			return nil
		}
		return inRange(d.name, v, d.min, d.max)
	}
	return nil
}
