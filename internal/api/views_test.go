package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"html"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
)

// getExport answers GET path on a test server: status, headers, body.
func getExport(t *testing.T, base, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestViewExports: every analysis view exports PNG, SVG, PDF and CSV of
// the settings it is given, with the CSV's shape following them.
func TestViewExports(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	tests := []struct {
		view, query string
		header      string
		rows        int // CSV data rows
		file        string
	}{
		{"bidir", "cell=lstm&T=30&H=8&outputStep=12", "k,t,unidirectional,bidirectional", 30, "gradviz-bidir-lstm-T30"},
		{"map", "T=25&H=8&rows=10", "t,k1,k2", 10, "gradviz-map-rnn-tanh-T25"},
		{"spectrum", "T=20&H=12&gain=1.3&act=sigmoid", "i,re,im,modulus,singular_value", 12, "gradviz-spectrum-rnn-sigmoid-T20"},
	}
	for _, tt := range tests {
		t.Run(tt.view, func(t *testing.T) {
			for _, format := range []string{"png", "svg", "pdf", "csv"} {
				q := tt.query
				if format != "csv" {
					q += "&w=1000&h=600&lang=es"
				}
				resp, body := getExport(t, ts.URL, "/api/"+tt.view+"."+format+"?"+q)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d: %s", format, resp.StatusCode, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != plotContentTypes[format] {
					t.Errorf("%s: Content-Type %q", format, ct)
				}
				if cd := resp.Header.Get("Content-Disposition"); cd != "attachment; filename="+tt.file+"."+format {
					t.Errorf("%s: Content-Disposition %q", format, cd)
				}
				saveArtifact(t, format, body)
				switch format {
				case "png":
					img, err := png.Decode(bytes.NewReader(body))
					if err != nil {
						t.Fatalf("png: %v", err)
					}
					if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 600 {
						t.Errorf("png is %v, want 1000×600", b)
					}
				case "svg":
					d := xml.NewDecoder(bytes.NewReader(body))
					for {
						if _, err := d.Token(); err == io.EOF {
							break
						} else if err != nil {
							t.Fatalf("svg does not parse: %v", err)
						}
					}
					text := strings.ReplaceAll(html.UnescapeString(string(body)), "\u00a0", " ")
					for _, want := range []string{"Celda: ", "Unidades ocultas: ", "Esta vista: http://"} {
						if !strings.Contains(text, want) {
							t.Errorf("Spanish svg caption lacks %q", want)
						}
					}
					if strings.Contains(text, "H=8 ") || strings.Contains(text, "H=12 ") {
						t.Errorf("Spanish svg caption has a key=value dump")
					}
				case "pdf":
					wantPDF(1000, 600)(t, body)
				case "csv":
					rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
					if err != nil {
						t.Fatal(err)
					}
					if got := strings.Join(rows[0], ","); !strings.HasPrefix(got, tt.header) {
						t.Errorf("csv header %q, want it to start %q", got, tt.header)
					}
					if len(rows)-1 != tt.rows {
						t.Errorf("csv has %d rows, want %d", len(rows)-1, tt.rows)
					}
				}
			}
		})
	}
}

// TestViewExportsBadRequests: a bad field is a 400 that names it.
func TestViewExportsBadRequests(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	tests := []struct{ path, field string }{
		{"/api/bidir.png?T=20&outputStep=21", "outputStep"},
		{"/api/bidir.png?outputStep=x", "outputStep"},
		{"/api/map.csv?rows=0", "rows"},
		{"/api/map.svg?rows=201", "rows"},
		{"/api/spectrum.png?cell=lstm", "cell"},
		{"/api/spectrum.pdf?T=0", "T"},
		{"/api/map.png?lang=fr", "lang"},
		{"/api/bidir.svg?w=10", "w"},
		{"/api/spectrum.png?wat=1", "wat"},
		{"/api/bidir.png?outputStep=NaN", "outputStep"},
		{"/api/bidir.png?outputStep=-1", "outputStep"},
		{"/api/bidir.png?outputStep=99999999999999999999", "outputStep"},
		{"/api/map.csv?rows=Inf", "rows"},
		{"/api/map.csv?rows=1e3", "rows"},
		{"/api/map.csv?rows=1&rows=2", "rows"},
		{"/api/map.png?w=NaN", "w"},
		{"/api/map.png?h=-Inf", "h"},
		{"/api/map.png?h=1e9", "h"},
		{"/api/spectrum.svg?gain=NaN", "gain"},
		{"/api/spectrum.svg?gain=Inf", "gain"},
		{"/api/bidir.csv?T=-5", "T"},
		{"/api/bidir.csv?T=1e9", "T"},
	}
	for _, tt := range tests {
		resp, body := getExport(t, ts.URL, tt.path)
		var e struct{ Code, Field, Message string }
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusBadRequest || e.Field != tt.field {
			t.Errorf("%s: status %d, field %q (%s), want 400 naming %q", tt.path, resp.StatusCode, e.Field, e.Message, tt.field)
		}
	}
	if resp, _ := getExport(t, ts.URL, "/api/map.gif"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("map.gif: status %d, want 404", resp.StatusCode)
	}
}
