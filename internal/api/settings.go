package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gradviz/internal/engine"
)

// settingKind is how a setting's text is read: its kind in the schema.
type settingKind = engine.SettingKind

const (
	kindEnum  = engine.KindEnum
	kindInt   = engine.KindInt
	kindUint  = engine.KindUint
	kindFloat = engine.KindFloat
	kindBool  = engine.KindBool
)

// setting is one name of the shared vocabulary: query strings, websocket
// messages, the page's URL and the export all use it.
type setting struct {
	name string
	kind settingKind
	spec engine.SettingSpec
}

// settingTable is the engine's settings schema as the parser reads it.
// The bounds of its specs are not used here: Validate checks them against
// the server's limits.
var settingTable = func() []setting {
	specs := engine.SettingsSchema(engine.DefaultLimits())
	out := make([]setting, len(specs))
	for i, sp := range specs {
		out[i] = setting{name: sp.Name, kind: sp.Kind, spec: sp}
	}
	return out
}()

// isSetting reports whether name is one of the settings.
func isSetting(name string) bool {
	for _, st := range settingTable {
		if st.name == name {
			return true
		}
	}
	return false
}

// FieldError is a request error that names the field at fault, so the
// page can show the message next to the control. It is the engine's own
// type, so a setting out of range needs no translation on its way out.
type FieldError = engine.FieldError

func fieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// rawValue is a setting's text as it arrived. Query values are untyped
// text; JSON values carry their type, which must match the setting's.
type rawValue struct {
	text   string
	json   bool // from a JSON object
	quoted bool // a JSON string
}

// parseSettings reads the settings in values over the defaults and
// validates them against lim. Missing names keep their defaults. This is
// the one reader of settings: query strings and websocket messages both
// come through it.
func parseSettings(values map[string]rawValue, lim engine.Limits) (engine.Settings, error) {
	s := engine.Defaults()
	for _, st := range settingTable {
		raw, ok := values[st.name]
		if !ok {
			continue
		}
		if err := st.parse(&s, raw); err != nil {
			return s, err
		}
	}
	if err := validateSettings(s, lim); err != nil {
		return s, err
	}
	if s.Act == engine.ActLinear && !lookupSetting("act").spec.Applies(s.Cell) {
		return s, fieldErrorf("act", "act linear is for a model with an activation; %s uses its gates' own sigmoid and tanh, so leave act out", s.Cell)
	}
	return s, nil
}

// validateSettings is Settings.Validate with the work limit told apart:
// settings each in range but together over -max-work are a
// codeWorkLimit error, the message unchanged.
func validateSettings(s engine.Settings, lim engine.Limits) error {
	err := s.Validate(lim)
	if err == nil || lim.MaxWork <= 0 {
		return err
	}
	unbounded := lim
	unbounded.MaxWork = 0
	var fe *FieldError
	if s.Validate(unbounded) == nil && errors.As(err, &fe) {
		return withCode(codeWorkLimit, fe)
	}
	return err
}

func (st setting) parse(s *engine.Settings, raw rawValue) error {
	// The text is read as it came: " 5" or "rnn " is not a value, in a
	// query string or in JSON.
	text := raw.text
	show := shorten(text)
	switch st.kind {
	case kindEnum:
		if raw.json && !raw.quoted {
			return fieldErrorf(st.name, "%s must be a string, got %s", st.name, show)
		}
		// No valid name is longer than shortLen, so shortening one
		// changes no answer but keeps the error message short.
		st.spec.Set(s, shorten(text))
		return nil
	case kindBool:
		// true and false only: not 1, t or TRUE, in JSON or a query.
		if raw.quoted || (text != "true" && text != "false") {
			return fieldErrorf(st.name, "%s must be true or false, got %q", st.name, show)
		}
		st.spec.Set(s, text == "true")
		return nil
	}
	if raw.quoted {
		return fieldErrorf(st.name, "%s must be a number, got the string %q", st.name, show)
	}
	switch st.kind {
	case kindInt:
		if !isDecimal(text, true, false) {
			return fieldErrorf(st.name, "%s must be a whole number, got %q", st.name, show)
		}
		n, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return fieldErrorf(st.name, "%s is far out of range, got %q", st.name, show)
		}
		st.spec.Set(s, int(n))
	case kindUint:
		u, err := strconv.ParseUint(text, 10, 64)
		if err != nil || !isDecimal(text, false, false) {
			return fieldErrorf(st.name, "%s must be a whole number from %d to %d, got %q", st.name, uint64(st.spec.Min), uint64(st.spec.Max), show)
		}
		st.spec.Set(s, u)
	case kindFloat:
		if !isDecimal(text, true, true) {
			return fieldErrorf(st.name, "%s must be a number, got %q", st.name, show)
		}
		// The grammar leaves only range errors, which give ±Inf or 0
		// and are refused (or taken as 0) by Validate as out of range.
		f, _ := strconv.ParseFloat(text, 64)
		st.spec.Set(s, f)
	}
	return nil
}

// isDecimal reports whether s is a plain decimal number as JSON writes
// one: an optional minus (when signed), digits without leading zeros,
// and, when real, an optional fraction and exponent. strconv would also
// take "+5", "1_0", "0x1p3", "Inf" and "NaN"; none of them is a setting.
func isDecimal(s string, signed, real bool) bool {
	i := 0
	if signed && i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i - start
	}
	start := i
	n := digits()
	if n == 0 || (n > 1 && s[start] == '0') {
		return false
	}
	if real && i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if real && i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// settingsFromQuery reads settings from a query string. Names outside the
// settings and extra (a handler's own parameters) are an error, so a typo
// such as "t=500" does not silently give the default.
func settingsFromQuery(q url.Values, lim engine.Limits, extra ...string) (engine.Settings, error) {
	values := make(map[string]rawValue, len(q))
	for _, name := range sortedKeys(q) {
		if !isSetting(name) {
			if err := checkExtra(name, extra); err != nil {
				return engine.Settings{}, err
			}
			continue
		}
		vs := q[name]
		if len(vs) > 1 {
			return engine.Settings{}, fieldErrorf(name, "%s is given %d times", name, len(vs))
		}
		values[name] = rawValue{text: vs[0]}
	}
	return parseSettings(values, lim)
}

// checkExtra accepts a name that is not a setting only when it is one of
// extra, the caller's own fields. Query strings and JSON objects get the
// same answer.
func checkExtra(name string, extra []string) error {
	if contains(extra, name) {
		return nil
	}
	return codedf(codeUnknownField, shorten(name), "unknown setting %q; the settings are %s", shorten(name), settingNames())
}

func lookupSetting(name string) setting {
	for _, st := range settingTable {
		if st.name == name {
			return st
		}
	}
	panic("api: unknown setting " + name)
}

// settingsFromJSON reads settings from the fields of a JSON object; names
// outside the settings and extra are an error.
func settingsFromJSON(fields map[string]json.RawMessage, lim engine.Limits, extra ...string) (engine.Settings, error) {
	values := make(map[string]rawValue, len(fields))
	for _, name := range sortedKeys(fields) {
		raw := fields[name]
		if !isSetting(name) {
			if err := checkExtra(name, extra); err != nil {
				return engine.Settings{}, err
			}
			continue
		}
		// raw is one valid JSON value, so its first byte says its type.
		// A number is kept as text: 1e400 is a number out of range, not
		// bad JSON.
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			return engine.Settings{}, fieldErrorf(name, "%s is not valid JSON", name)
		}
		switch raw[0] {
		case '"':
			var text string
			if err := json.Unmarshal(raw, &text); err != nil {
				return engine.Settings{}, fieldErrorf(name, "%s is not valid JSON", name)
			}
			values[name] = rawValue{text: text, json: true, quoted: true}
		case 'n':
			return engine.Settings{}, fieldErrorf(name, "%s must not be null", name)
		case '[', '{':
			return engine.Settings{}, fieldErrorf(name, "%s must be a %s, got %s", name, lookupSetting(name).kindName(), jsonKind(raw[0]))
		default: // a number, true or false
			values[name] = rawValue{text: string(raw), json: true}
		}
	}
	return parseSettings(values, lim)
}

func (st setting) kindName() string {
	switch st.kind {
	case kindEnum:
		return "string"
	case kindBool:
		return "boolean"
	}
	return "number"
}

// jsonKind names a JSON array or object by its first byte.
func jsonKind(first byte) string {
	if first == '[' {
		return "an array"
	}
	return "an object"
}

func settingNames() string {
	names := make([]string, len(settingTable))
	for i, st := range settingTable {
		names[i] = st.name
	}
	return strings.Join(names, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// shortLen is how many bytes of a client's text an error message or a
// log line repeats.
const shortLen = 40

// shorten keeps hostile names out of error messages and logs in full. It
// cuts at a character boundary, so the result stays valid UTF-8 when s is.
func shorten(s string) string {
	if len(s) <= shortLen {
		return s
	}
	cut := shortLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
