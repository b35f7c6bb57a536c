package api_test

// The series table (render.Table) drives the wire's profile fields and
// what the page receives and draws: these tests fail when any of them
// disagrees with it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gradviz/internal/engine"
	"gradviz/internal/render"
	"gradviz/web"
)

// TestPageCarriesTheSeriesTable: the page's bootstrap data holds the table
// exactly as the server draws with it.
func TestPageCarriesTheSeriesTable(t *testing.T) {
	srv := newTestServer(t)
	status, _, body := get(t, srv, "/")
	if status != 200 {
		t.Fatalf("GET /: status %d", status)
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="bootstrap">(.*?)</script>`).FindSubmatch(body)
	if m == nil {
		t.Fatal("the page has no bootstrap data block")
	}
	var boot struct {
		Series any `json:"series"`
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &boot); err != nil {
		t.Fatalf("bootstrap data: %v", err)
	}
	var want any
	b, _ := json.Marshal(render.Table())
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(boot.Series, want) {
		t.Errorf("the page's series table differs from render.Table():\n got %v\nwant %v", boot.Series, want)
	}
}

// TestWireProfileFollowsTheTable: a profile's fields are the table's data
// series the model has, under their ids, in table order.
func TestWireProfileFollowsTheTable(t *testing.T) {
	srv := newTestServer(t)
	for _, cell := range engine.Cells {
		for _, bidir := range []bool{false, true} {
			s := engine.Defaults()
			s.Cell, s.Bidir = cell, bidir
			var want []string
			for _, ser := range render.DataSeries() {
				if ser.When.Model().Holds(s) {
					want = append(want, ser.ID)
				}
			}
			_, _, body := get(t, srv, fmt.Sprintf("/api/profile?cell=%s&bidir=%t&T=20&H=8", cell, bidir))
			var doc struct {
				Profile json.RawMessage `json:"profile"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("%s bidir=%t: %v", cell, bidir, err)
			}
			if got := objectKeys(t, doc.Profile); !slices.Equal(got, want) {
				t.Errorf("%s bidir=%t: profile fields %q, want %q", cell, bidir, got, want)
			}
		}
	}
}

// objectKeys returns the keys of a JSON object in their order.
func objectKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %.40s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestPlotScriptHasNoSeriesColours: the page's plot takes every series
// and pin colour from the table; the only colours its scripts may name
// are the plot's ink.
func TestPlotScriptHasNoSeriesColours(t *testing.T) {
	literal := regexp.MustCompile(`#[0-9A-Fa-f]{3,8}\b|rgba?\(\s*\d[^)]*\)`)
	ink := []string{"#222", "rgba(255,255,255,0.9)"}
	table := render.Table()
	colours := append([]string{table.Run, table.Overflow}, table.Pins...)
	for _, s := range table.Series {
		colours = append(colours, s.Color)
	}
	for _, name := range []string{"plot.js", "app.js"} {
		src, err := fs.ReadFile(web.Static(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range literal.FindAllString(string(src), -1) {
			if !slices.Contains(ink, c) {
				t.Errorf("%s names the colour %s: series and pin colours come from the series table", name, c)
			}
		}
		for _, c := range colours {
			if c != "" && strings.Contains(strings.ToUpper(string(src)), strings.ToUpper(c)) {
				t.Errorf("%s names the table's colour %s", name, c)
			}
		}
	}
}
