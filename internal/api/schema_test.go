package api

// Every consumer of the settings schema against the schema itself: the
// parser (query strings and JSON), the page's bootstrap block, the page's
// scripts and template, and the settings tables of docs/protocol.md and
// README.md. Run with -update to rewrite the table in docs/protocol.md
// from the schema.

import (
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gradviz/internal/engine"
	"gradviz/web"
)

var update = flag.Bool("update", false, "rewrite the settings table of docs/protocol.md from the schema")

// otherValue returns a valid value of sp other than its default, which
// is valid with every other setting at its default.
func otherValue(sp engine.SettingSpec) any {
	switch sp.Kind {
	case engine.KindEnum:
		for _, o := range sp.Options {
			if o != sp.Default {
				return o
			}
		}
	case engine.KindInt:
		return sp.Default.(int) + 1
	case engine.KindUint:
		return uint64(sp.Max)
	case engine.KindFloat:
		return sp.Default.(float64) + 0.5
	case engine.KindBool:
		return !sp.Default.(bool)
	}
	panic("no other value of " + sp.Name)
}

// TestSchemaRoundTrips: the parser knows every schema name and no other,
// and each setting's value, written as the schema formats it, reads back
// through a query string and through JSON, where its JSON type is the
// one its kind names; every other setting keeps its default.
func TestSchemaRoundTrips(t *testing.T) {
	lim := engine.DefaultLimits()
	specs := engine.SettingsSchema(lim)
	var names []string
	for _, sp := range specs {
		names = append(names, sp.Name)
	}
	var table []string
	for _, st := range settingTable {
		table = append(table, st.name)
	}
	if !slices.Equal(table, names) {
		t.Errorf("the parser reads %v, the schema has %v", table, names)
	}
	if got, want := settingNames(), strings.Join(names, ", "); got != want {
		t.Errorf("the unknown-setting error lists %q, want %q", got, want)
	}
	for _, sp := range specs {
		want := engine.Defaults()
		sp.Set(&want, otherValue(sp))

		got, err := settingsFromQuery(url.Values{sp.Name: {sp.Format(want)}}, lim)
		if err != nil || got != want {
			t.Errorf("%s=%s by query: got %+v, %v; want %+v", sp.Name, sp.Format(want), got, err, want)
		}

		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatal(err)
		}
		got, err = settingsFromJSON(fields, lim)
		if err != nil || got != want {
			t.Errorf("%s by JSON %s: got %+v, %v; want %+v", sp.Name, b, got, err, want)
		}
		jsonType := map[byte]string{'"': "string", 't': "boolean", 'f': "boolean"}[fields[sp.Name][0]]
		if jsonType == "" {
			jsonType = "number"
		}
		if want := (setting{kind: sp.Kind}).kindName(); jsonType != want {
			t.Errorf("%s: JSON %s is a %s, want a %s", sp.Name, fields[sp.Name], jsonType, want)
		}
		// The wrong JSON type is refused, naming the setting.
		wrong := map[engine.SettingKind]string{
			engine.KindEnum: `5`, engine.KindBool: `"true"`,
			engine.KindInt: `"5"`, engine.KindUint: `"5"`, engine.KindFloat: `"5"`,
		}[sp.Kind]
		_, err = settingsFromJSON(map[string]json.RawMessage{sp.Name: json.RawMessage(wrong)}, lim)
		if fe, ok := err.(*FieldError); !ok || fe.Field != sp.Name {
			t.Errorf("%s: %s was accepted or blamed elsewhere: %v", sp.Name, wrong, err)
		}
	}
}

// TestBootstrapCarriesSchema: the page's bootstrap block is the schema
// under the server's limits, with the options and defaults it implies.
func TestBootstrapCarriesSchema(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits.MaxT, cfg.Limits.MaxK = 321, 9
	rec := httptest.NewRecorder()
	handlePage(slog.New(slog.DiscardHandler), cfg)(rec, httptest.NewRequest("GET", "/", nil))
	m := regexp.MustCompile(`(?s)<script type="application/json" id="bootstrap">(.*?)</script>`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatal("no bootstrap block in the page")
	}
	var boot struct {
		Schema   []map[string]any
		Defaults map[string]any
		Options  map[string][]string
	}
	if err := json.Unmarshal([]byte(m[1]), &boot); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	want, err := json.Marshal(engine.SettingsSchema(cfg.Limits))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(boot.Schema)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal(want, &a)
	json.Unmarshal(got, &b)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("bootstrap schema\n%s\nwant\n%s", got, want)
	}
	for _, e := range boot.Schema {
		name := e["name"].(string)
		if fmt.Sprint(boot.Defaults[name]) != fmt.Sprint(e["default"]) {
			t.Errorf("%s: default %v, bootstrap defaults %v", name, e["default"], boot.Defaults[name])
		}
		if e["kind"] == "enum" && fmt.Sprint(boot.Options[name]) != fmt.Sprint(e["options"]) {
			t.Errorf("%s: options %v, bootstrap options %v", name, e["options"], boot.Options[name])
		}
		switch name {
		case "T":
			if e["max"] != 321.0 {
				t.Errorf("T's max is %v under -max-T 321", e["max"])
			}
		case "K":
			if e["max"] != 9.0 {
				t.Errorf("K's max is %v under -max-K 9", e["max"])
			}
		}
	}
}

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func schemaNames() []string {
	var out []string
	for _, sp := range engine.SettingsSchema(engine.DefaultLimits()) {
		out = append(out, sp.Name)
	}
	return out
}

// TestScriptsKeepNoSettingsList: the page's scripts take the settings
// from the schema (web/static/schema.js); none spells out a table of
// their kinds, a list of their names, or their labels and help in a
// dictionary, nor the labels of their values or of the lab's tasks and
// optimizers.
func TestScriptsKeepNoSettingsList(t *testing.T) {
	names := schemaNames()
	alt := strings.Join(names, "|")
	kinds := regexp.MustCompile(`\b(` + alt + `)\s*:\s*'(enum|int|uint|float|bool)'`)
	quoted := `'(?:` + alt + `)'`
	// A view may name the few settings it works with (the phase
	// diagram's axes); five or more in one list is a copy of the list.
	list := regexp.MustCompile(`\[\s*` + quoted + strings.Repeat(`\s*,\s*`+quoted, 4))
	texts := regexp.MustCompile(`(?m)(?:^|[{,])\s*'(?:short\.)?(?:` + alt + `)(?:\.title)?'\s*:`)
	files, err := fs.Glob(web.Static(), "*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, name := range files {
		b, err := fs.ReadFile(web.Static(), name)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, re := range []*regexp.Regexp{kinds, list, texts} {
			if m := re.FindString(src); m != "" {
				t.Errorf("%s keeps its own copy of the settings: %q", name, m)
			}
		}
	}

	// The labels of the settings' values come from the schema too: a
	// key 'opt.<setting>.' in a script is its own table of them.
	// So do those of the lab's tasks and optimizers ('lab.task.recall').
	var labValues []string
	for _, k := range engine.Tasks {
		labValues = append(labValues, `lab\.task\.`+string(k))
	}
	for _, k := range engine.Optimizers {
		labValues = append(labValues, `lab\.opt\.`+string(k))
	}
	optKey := regexp.MustCompile(`['"` + "`" + `](?:opt\.(?:` + alt + `)\.[\w-]+|` + strings.Join(labValues, "|") + `)['"` + "`" + `]\s*:`)
	for _, name := range files {
		b, err := fs.ReadFile(web.Static(), name)
		if err != nil {
			t.Fatal(err)
		}
		if m := optKey.FindString(string(b)); m != "" {
			t.Errorf("%s keeps its own option labels: %q", name, m)
		}
	}
}

// TestTemplateControlsAreSettings: every control of the page that names
// a setting (data-field) names one of the schema, and the English text a
// setting's label carries before the scripts run is the schema's.
func TestTemplateControlsAreSettings(t *testing.T) {
	page := readRepoFile(t, "web/templates/index.html")
	names := schemaNames()
	fields := regexp.MustCompile(`data-field="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(fields) == 0 {
		t.Fatal("no data-field controls in index.html")
	}
	seen := map[string]bool{}
	for _, m := range fields {
		if !slices.Contains(names, m[1]) {
			t.Errorf("index.html has a control for %q, which is not a setting", m[1])
		}
		seen[m[1]] = true
	}
	for _, n := range names {
		if !seen[n] {
			t.Logf("%s has no control of its own", n)
		}
	}
	labels := regexp.MustCompile(`<label for="[^"]*" data-i18n="([^"]*)">([^<]*)</label>`).FindAllStringSubmatch(page, -1)
	for _, sp := range engine.SettingsSchema(engine.DefaultLimits()) {
		for _, m := range labels {
			if m[1] == sp.Name && html.UnescapeString(m[2]) != sp.Label.En {
				t.Errorf("index.html labels %s %q, the schema %q", sp.Name, m[2], sp.Label.En)
			}
		}
	}
}

const (
	tableStart = "<!-- settings table: generated from engine.SettingsSchema; go test ./internal/api -run TestProtocolSettingsTable -update -->\n"
	tableEnd   = "<!-- end of settings table -->\n"
)

// settingsTable writes the settings table of docs/protocol.md.
func settingsTable() string {
	code := func(vs []string) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = "`" + v + "`"
		}
		return strings.Join(out, ", ")
	}
	var b strings.Builder
	b.WriteString("| name | values | default | models | what it is |\n|---|---|---|---|---|\n")
	for _, sp := range engine.SettingsSchema(engine.DefaultLimits()) {
		var values, def string
		switch sp.Kind {
		case engine.KindEnum:
			values, def = code(sp.Options), "`"+sp.Default.(string)+"`"
		case engine.KindBool:
			values, def = "`true`, `false`", fmt.Sprintf("`%v`", sp.Default)
		default:
			values, def = sp.Range(), fmt.Sprint(sp.Default)
			if sp.Limit != "" {
				lo, hi, _ := strings.Cut(values, "..")
				values = fmt.Sprintf("%s..`-max-%s` (%s)", lo, sp.Limit, hi)
			}
		}
		models := "all"
		if len(sp.AppliesTo) < len(engine.Cells) {
			cells := make([]string, len(sp.AppliesTo))
			for i, c := range sp.AppliesTo {
				cells[i] = string(c)
			}
			models = code(cells)
		}
		if w := sp.IdleWhen; w != nil {
			models += "; no effect while `" + w.Setting + "` is " + code(w.Values)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", sp.Name, values, def, models, sp.Help.En)
	}
	return b.String()
}

// TestProtocolSettingsTable: docs/protocol.md's table of settings is the
// schema's: names, values, defaults, models and help.
func TestProtocolSettingsTable(t *testing.T) {
	const path = "docs/protocol.md"
	doc := readRepoFile(t, path)
	start := strings.Index(doc, tableStart)
	end := strings.Index(doc, tableEnd)
	if start < 0 || end < start {
		t.Fatalf("%s has no generated settings table between %q and %q", path, tableStart, tableEnd)
	}
	got := doc[start+len(tableStart) : end]
	want := settingsTable()
	if got == want {
		return
	}
	if *update {
		doc = doc[:start+len(tableStart)] + want + doc[end:]
		if err := os.WriteFile("../../"+path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's settings table is not the schema's (go test ./internal/api -run TestProtocolSettingsTable -update rewrites it):\n%s\nwant\n%s", path, got, want)
}

// readmeList writes README's list of the settings: each name in the
// schema's order, an enumeration's options in parentheses.
func readmeList() string {
	var items []string
	for _, sp := range engine.SettingsSchema(engine.DefaultLimits()) {
		item := "`" + sp.Name + "`"
		if sp.Kind == engine.KindEnum {
			item += " (" + strings.Join(sp.Options, ", ") + ")"
		}
		items = append(items, item)
	}
	return strings.Join(items, ", ")
}

// wrap fills text into lines of at most width characters.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(text) {
		n := len([]rune(w))
		switch {
		case i == 0:
		case line+1+n > width:
			b.WriteString("\n")
			line = 0
		default:
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += n
	}
	return b.String()
}

// TestReadmeListsSettings: README's one-paragraph list of the settings
// names every setting in the schema's order, with the options of each
// enumeration (-update rewrites it).
func TestReadmeListsSettings(t *testing.T) {
	const (
		path = "README.md"
		lead = "Every setting has one name, the same in the page URL, the query string and websocket messages: "
		tail = ". Missing names"
	)
	readme := readRepoFile(t, path)
	start := strings.Index(readme, "Every setting has one name")
	if start < 0 {
		t.Fatalf("%s has no list of settings", path)
	}
	end := start + strings.Index(readme[start:], "\n\n")
	para := readme[start:end]
	flat := strings.Join(strings.Fields(para), " ")
	rest, ok := strings.CutPrefix(flat, lead)
	list, after, ok2 := strings.Cut(rest, tail)
	if !ok || !ok2 {
		t.Fatalf("%s's list of settings does not read %q … %q: %q", path, lead, tail, para)
	}
	want := readmeList()
	if list == want {
		return
	}
	if *update {
		readme = readme[:start] + wrap(lead+want+tail+after, 72) + readme[end:]
		if err := os.WriteFile("../../"+path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s lists the settings\n%s\nthe schema has\n%s\n(go test ./internal/api -run TestReadmeListsSettings -update rewrites it)", path, list, want)
}
