package engine

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// kindOfField is the schema kind a Settings field of type t must have.
func kindOfField(t reflect.Type) SettingKind {
	switch t.Kind() {
	case reflect.String:
		return KindEnum
	case reflect.Int:
		return KindInt
	case reflect.Uint64:
		return KindUint
	case reflect.Float64:
		return KindFloat
	case reflect.Bool:
		return KindBool
	}
	return ""
}

// TestSchemaCoversSettings: the schema has exactly one entry per JSON
// field of Settings, in the struct's order, of the field's kind.
func TestSchemaCoversSettings(t *testing.T) {
	st := reflect.TypeFor[Settings]()
	var fields []string
	kinds := map[string]SettingKind{}
	for f := range st.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			t.Errorf("Settings.%s has no JSON name", f.Name)
			continue
		}
		fields = append(fields, name)
		kinds[name] = kindOfField(f.Type)
	}
	specs := SettingsSchema(DefaultLimits())
	var names []string
	for _, sp := range specs {
		names = append(names, sp.Name)
		if k, ok := kinds[sp.Name]; ok && k != sp.Kind {
			t.Errorf("%s: the schema says %s, the field is %s", sp.Name, sp.Kind, k)
		}
	}
	if !slices.Equal(names, fields) {
		t.Errorf("schema names %v, Settings' JSON fields %v", names, fields)
	}
}

// otherValue returns a valid value of sp different from its default.
func otherValue(t *testing.T, sp SettingSpec) any {
	t.Helper()
	switch sp.Kind {
	case KindEnum:
		for _, o := range sp.Options {
			if o != sp.Default {
				return o
			}
		}
	case KindInt:
		return int(sp.Max)
	case KindUint:
		return uint64(sp.Max)
	case KindFloat:
		return sp.Max
	case KindBool:
		return !sp.Default.(bool)
	}
	t.Fatalf("%s: no value other than its default %v", sp.Name, sp.Default)
	return nil
}

// TestSchemaAccessors: each entry reads and writes its own field (the one
// its JSON name marks) and its default is that field in Defaults.
func TestSchemaAccessors(t *testing.T) {
	def := Defaults()
	defJSON := jsonMap(t, def)
	for _, sp := range SettingsSchema(DefaultLimits()) {
		if got := sp.Value(def); got != sp.Default {
			t.Errorf("%s: Value(Defaults()) = %v, Default %v", sp.Name, got, sp.Default)
		}
		if want := defJSON[sp.Name]; want != jsonValue(t, sp.Default) {
			t.Errorf("%s: default %v, Defaults() has %v in JSON", sp.Name, sp.Default, want)
		}
		s := def
		v := otherValue(t, sp)
		sp.Set(&s, v)
		if got := sp.Value(s); got != v {
			t.Errorf("%s: Set(%v) then Value gives %v", sp.Name, v, got)
		}
		got := jsonMap(t, s)
		for name, was := range defJSON {
			want := was
			if name == sp.Name {
				want = jsonValue(t, v)
			}
			if got[name] != want {
				t.Errorf("%s: Set(%v) made the JSON field %s %v, want %v", sp.Name, v, name, got[name], want)
			}
		}
		if err := s.Validate(DefaultLimits()); err != nil {
			t.Errorf("%s=%v: %v", sp.Name, v, err)
		}
	}
}

func jsonMap(t *testing.T, s Settings) map[string]string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range raw {
		out[k] = string(v)
	}
	return out
}

func jsonValue(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSchemaOptionsAndRanges: an enumeration's options are its registry,
// Validate accepts each and refuses others; a number's bounds are
// accepted and what lies just outside them is refused, with a message
// that gives the schema's range; a bound named by Limit follows the
// limits.
func TestSchemaOptionsAndRanges(t *testing.T) {
	registries := map[string][]string{
		"cell": names(&Cells).list(), "act": names(&Activations).list(), "init": names(&InitSchemes).list(),
		"clip": names(&ClipModes).list(), "loss": names(&LossModes).list(),
	}
	lim := Limits{MaxT: 50, MaxH: 20, MaxD: 7, MaxK: 9}
	base := Defaults()
	base.T, base.H = 30, 16
	refused := func(sp SettingSpec, v any, want string) {
		t.Helper()
		s := base
		sp.Set(&s, v)
		err := s.Validate(lim)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != sp.Name || !strings.Contains(fe.Message, want) {
			t.Errorf("%s=%v: got %v, want a FieldError on %s saying %q", sp.Name, v, err, sp.Name, want)
		}
	}
	accepted := func(sp SettingSpec, v any) {
		t.Helper()
		s := base
		sp.Set(&s, v)
		if err := s.Validate(lim); err != nil {
			t.Errorf("%s=%v: %v", sp.Name, v, err)
		}
	}
	for _, sp := range SettingsSchema(lim) {
		switch sp.Kind {
		case KindEnum:
			if !slices.Equal(sp.Options, registries[sp.Name]) {
				t.Errorf("%s: options %v, registry %v", sp.Name, sp.Options, registries[sp.Name])
			}
			for _, o := range sp.Options {
				accepted(sp, o)
			}
			refused(sp, "nope", sp.Name+" must be one of "+strings.Join(sp.Options, ", "))
			continue
		case KindBool:
			continue
		}
		if sp.Default == nil {
			t.Fatalf("%s has no default", sp.Name)
		}
		limits := map[string]int{"T": lim.MaxT, "H": lim.MaxH, "D": lim.MaxD, "K": lim.MaxK}
		if sp.Limit != "" && sp.Max != float64(limits[sp.Limit]) {
			t.Errorf("%s: max %v, the limit %s is %d", sp.Name, sp.Max, sp.Limit, limits[sp.Limit])
		}
		if (sp.Kind == KindInt) != (sp.Limit != "") {
			t.Errorf("%s: a %s setting with limit %q; whole-number sizes are server policy", sp.Name, sp.Kind, sp.Limit)
		}
		if sp.Step < 0 || (sp.Kind != KindFloat && sp.Step != 1) {
			t.Errorf("%s: step %v", sp.Name, sp.Step)
		}
		switch sp.Kind {
		case KindInt:
			accepted(sp, int(sp.Min))
			accepted(sp, int(sp.Max))
			refused(sp, int(sp.Min)-1, sp.Name+" must be "+sp.Range())
			refused(sp, int(sp.Max)+1, sp.Name+" must be "+sp.Range())
		case KindUint:
			accepted(sp, uint64(sp.Min))
			accepted(sp, uint64(sp.Max))
			refused(sp, uint64(sp.Max)+1, sp.Name+" must be "+sp.Range())
		case KindFloat:
			if !sp.MinExclusive {
				accepted(sp, sp.Min)
			}
			accepted(sp, sp.Max)
			below := math.Nextafter(sp.Min, math.Inf(-1))
			if sp.MinExclusive {
				below = sp.Min
			}
			refused(sp, below, sp.Name+" must be "+sp.Range())
			refused(sp, math.Nextafter(sp.Max, math.Inf(1)), sp.Name+" must be "+sp.Range())
			refused(sp, math.NaN(), sp.Name+" must be "+sp.Range())
		}
	}
}

// TestSchemaAppliesTo: act applies to the models with an activation,
// forgetBias to those with a forget gate, the rest to every model; the
// threshold is idle while nothing is clipped.
func TestSchemaAppliesTo(t *testing.T) {
	for _, sp := range SettingsSchema(DefaultLimits()) {
		var want []Cell
		for _, m := range Models() {
			switch {
			case sp.Name == "act" && !m.Activation, sp.Name == "forgetBias" && !m.ForgetBias:
				continue
			}
			want = append(want, m.Cell)
		}
		if !slices.Equal(sp.AppliesTo, want) {
			t.Errorf("%s applies to %v, want %v", sp.Name, sp.AppliesTo, want)
		}
		for _, c := range Cells {
			if got := sp.Applies(c); got != slices.Contains(want, c) {
				t.Errorf("%s: Applies(%s) = %v", sp.Name, c, got)
			}
			s := Defaults()
			s.Cell = c
			for _, clip := range ClipModes {
				s.Clip = clip
				want := slices.Contains(want, c) && !(sp.Name == "threshold" && clip == ClipNone)
				if got := sp.Active(s); got != want {
					t.Errorf("%s: Active(cell=%s, clip=%s) = %v, want %v", sp.Name, c, clip, got, want)
				}
			}
		}
		if w := sp.IdleWhen; w != nil {
			other, ok := Setting(w.Setting, DefaultLimits())
			if !ok || other.Kind != KindEnum {
				t.Errorf("%s is idle by %q, which is not an enumeration", sp.Name, w.Setting)
			}
			for _, v := range w.Values {
				if !slices.Contains(other.Options, v) {
					t.Errorf("%s is idle when %s=%s, which is not one of its options", sp.Name, w.Setting, v)
				}
			}
		}
	}
}

// TestSchemaTexts: every setting has a label and a help line in English
// and in Spanish, and the Spanish label is a translation.
func TestSchemaTexts(t *testing.T) {
	for _, sp := range SettingsSchema(DefaultLimits()) {
		for what, tx := range map[string]Text{"label": sp.Label, "help": sp.Help} {
			if strings.TrimSpace(tx.En) == "" || strings.TrimSpace(tx.Es) == "" {
				t.Errorf("%s: %s %+v lacks a language", sp.Name, what, tx)
			}
			if tx.En == tx.Es {
				t.Errorf("%s: the Spanish %s is the English %q", sp.Name, what, tx.En)
			}
			if strings.Contains(tx.En, "\n") || strings.Contains(tx.Es, "\n") {
				t.Errorf("%s: %s is more than one line", sp.Name, what)
			}
		}
		if (sp.Short.En == "") != (sp.Short.Es == "") {
			t.Errorf("%s: short name %+v in one language only", sp.Name, sp.Short)
		}
	}
}

// TestSchemaJSON: the page's copy has bounds for numbers only, options
// for enumerations only and a short name always.
func TestSchemaJSON(t *testing.T) {
	b, err := json.Marshal(SettingsSchema(DefaultLimits()))
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		_, hasMax := e["max"]
		_, hasOptions := e["options"]
		kind := SettingKind(e["kind"].(string))
		numeric := kind == KindInt || kind == KindUint || kind == KindFloat
		if hasMax != numeric || hasOptions != (kind == KindEnum) {
			t.Errorf("%v: max %v, options %v", e["name"], hasMax, hasOptions)
		}
		if short := e["short"].(map[string]any); short["en"] == "" || short["es"] == "" {
			t.Errorf("%v: short %v", e["name"], short)
		}
	}
	if got[2]["name"] != "T" || got[2]["max"] != 2000.0 || got[2]["limit"] != "T" || got[2]["default"] != 100.0 {
		t.Errorf("T is %v", got[2])
	}
}

// TestSchemaOptionLabels: every value of an enumeration, as its registry
// lists it, and true and false of a boolean, have a label in each
// language, and the schema labels nothing else.
func TestSchemaOptionLabels(t *testing.T) {
	for _, sp := range SettingsSchema(DefaultLimits()) {
		var want []string
		switch sp.Kind {
		case KindEnum:
			want = sp.Options
		case KindBool:
			want = []string{"true", "false"}
		}
		for _, v := range want {
			l, ok := sp.OptionLabels[v]
			if !ok || strings.TrimSpace(l.En) == "" || strings.TrimSpace(l.Es) == "" {
				t.Errorf("%s: option %q has the labels %+v", sp.Name, v, l)
			}
		}
		if len(sp.OptionLabels) != len(want) {
			t.Errorf("%s: %d option labels for the values %q", sp.Name, len(sp.OptionLabels), want)
		}
	}
	s := Defaults()
	s.Clip = ClipStepNorm
	if l, ok := lookupSpec(t, "clip").OptionLabel(s); !ok || l.Es != "norma por paso" {
		t.Errorf("clip=step-norm is labelled %+v, %v", l, ok)
	}
	if _, ok := lookupSpec(t, "T").OptionLabel(s); ok {
		t.Error("a number has an option label")
	}
}

// TestLabOptionLabels: every task and optimizer has a label in each
// language.
func TestLabOptionLabels(t *testing.T) {
	labels := LabOptionLabels()
	check := func(choice, v string) {
		l, ok := labels[choice][v]
		if !ok || strings.TrimSpace(l.En) == "" || strings.TrimSpace(l.Es) == "" {
			t.Errorf("%s %q has the labels %+v", choice, v, l)
		}
	}
	for _, k := range Tasks {
		check("task", string(k))
	}
	for _, k := range Optimizers {
		check("optimizer", string(k))
	}
	if len(labels["task"]) != len(Tasks) || len(labels["optimizer"]) != len(Optimizers) {
		t.Errorf("labels for %d tasks and %d optimizers", len(labels["task"]), len(labels["optimizer"]))
	}
}

func lookupSpec(t *testing.T, name string) SettingSpec {
	t.Helper()
	sp, ok := Setting(name, DefaultLimits())
	if !ok {
		t.Fatalf("no setting %s", name)
	}
	return sp
}
