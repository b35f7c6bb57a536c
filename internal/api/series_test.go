package api_test

// The series table (render.Table) drives the wire's profile fields and
// what the page receives: these tests fail when either disagrees with it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"gradviz/internal/engine"
	"gradviz/internal/render"
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
