package api_test

import (
	"net/url"
	"strings"
	"testing"
)

// testExportButtons: the profile's export buttons, PDF and GIF among
// them, are labelled in the page's language and link to the server's
// drawing of exactly this view (settings and language); the GIF link is
// a slide's size and the server answers it with an animation. The phase
// diagram has its PDF button.
func (s *browserSuite) testExportButtons(t *testing.T) {
	tb := s.newTab(t)
	tb.open("act=sigmoid&T=40&lang=es&x=back&iterations=30&batch=4")
	tb.waitRendered("T", 40)
	want := map[string]string{"png": "Exportar PNG", "svg": "Exportar SVG", "pdf": "Exportar PDF", "csv": "Exportar CSV", "gif": "Exportar GIF"}
	for format, label := range want {
		id := "export-" + format
		if got := eval[string](tb, `document.getElementById('`+id+`')?.textContent ?? ''`); got != label {
			t.Errorf("%s says %q, want %q", id, got, label)
		}
		href := eval[string](tb, `document.getElementById('`+id+`')?.dataset.href ?? ''`)
		u, err := url.Parse(href)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if u.Path != "/api/plot."+format || q.Get("act") != "sigmoid" || q.Get("T") != "40" || q.Get("lang") != "es" || q.Get("x") != "back" {
			t.Errorf("%s links to %s, want /api/plot.%s with act=sigmoid, T=40, lang=es, x=back", id, href, format)
		}
		if format == "gif" && (q.Get("w") != "960" || q.Get("h") != "540") {
			t.Errorf("GIF link %s is not 960×540", href)
		}
	}
	gif := eval[string](tb, `fetch(document.getElementById('export-gif').dataset.href).then(async (r) => r.status + ' ' + r.headers.get('Content-Type') + ' ' + (await r.arrayBuffer()).byteLength)`)
	if !strings.HasPrefix(gif, "200 image/gif ") {
		t.Errorf("the GIF link answers %q, want 200 image/gif", gif)
	}
	for _, format := range []string{"png", "svg", "pdf", "csv"} {
		id := "phase-export-" + format
		if got := eval[string](tb, `document.getElementById('`+id+`')?.textContent ?? ''`); got != want[format] {
			t.Errorf("%s says %q, want %q", id, got, want[format])
		}
		href := eval[string](tb, `document.getElementById('`+id+`')?.dataset.href ?? ''`)
		u, err := url.Parse(href)
		if err != nil {
			t.Fatal(err)
		}
		if q := u.Query(); u.Path != "/api/phase."+format || q.Get("act") != "sigmoid" || q.Get("lang") != "es" || q.Get("x") == "" || q.Get("y") == "" {
			t.Errorf("%s links to %s, want /api/phase.%s with act=sigmoid, lang=es and its axes", id, href, format)
		}
	}

	// The analysis views: each its four buttons, linking to its route
	// with the settings, its own fields and the language.
	views := []struct {
		prefix, path string
		fields       map[string]string
	}{
		{"bidir", "/api/bidir.", map[string]string{"outputStep": "20"}},
		{"map", "/api/map.", map[string]string{"rows": "40"}},
		{"spectrum", "/api/spectrum.", nil},
	}
	for _, v := range views {
		for _, format := range []string{"png", "svg", "pdf", "csv"} {
			id := v.prefix + "-export-" + format
			if got := eval[string](tb, `document.getElementById('`+id+`')?.textContent ?? ''`); got != want[format] {
				t.Errorf("%s says %q, want %q", id, got, want[format])
			}
			href := eval[string](tb, `document.getElementById('`+id+`')?.dataset.href ?? ''`)
			u, err := url.Parse(href)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if u.Path != v.path+format || q.Get("act") != "sigmoid" || q.Get("T") != "40" || q.Get("lang") != "es" {
				t.Errorf("%s links to %s, want %s%s with act=sigmoid, T=40, lang=es", id, href, v.path, format)
			}
			for k, val := range v.fields {
				if q.Get(k) != val {
					t.Errorf("%s links to %s, want %s=%s", id, href, k, val)
				}
			}
		}
	}
	// The lab's, with its own settings and a GIF.
	for _, format := range []string{"png", "svg", "pdf", "csv", "gif"} {
		id := "lab-export-" + format
		if got := eval[string](tb, `document.getElementById('`+id+`')?.textContent ?? ''`); got != want[format] {
			t.Errorf("%s says %q, want %q", id, got, want[format])
		}
		href := eval[string](tb, `document.getElementById('`+id+`')?.dataset.href ?? ''`)
		u, err := url.Parse(href)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if u.Path != "/api/lab."+format || q.Get("act") != "sigmoid" || q.Get("iterations") != "30" || q.Get("batch") != "4" ||
			q.Get("cells") != "rnn" || q.Get("task") != "recall" || q.Get("lang") != "es" {
			t.Errorf("%s links to %s, want /api/lab.%s with act=sigmoid, iterations=30, batch=4, cells=rnn, task=recall, lang=es", id, href, format)
		}
	}
	// The server draws what the links ask for.
	for _, id := range []string{"bidir-export-png", "map-export-csv", "spectrum-export-svg", "lab-export-csv"} {
		got := eval[string](tb, `fetch(document.getElementById('`+id+`').dataset.href).then((r) => String(r.status))`)
		if got != "200" {
			t.Errorf("%s answers %s, want 200", id, got)
		}
	}
}
