package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gradviz/internal/engine"
)

// plotHandlers returns the three plot handlers as the router will mount
// them, sharing one runner.
func plotHandlers() map[string]http.HandlerFunc {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := engine.NewRunner(16)
	lim := engine.DefaultLimits()
	direct := func(ctx context.Context, _ int64, work func(context.Context) error) error { return work(ctx) }
	return map[string]http.HandlerFunc{
		"png": handlePlot(logger, runner.Profile, direct, lim, "png"),
		"svg": handlePlot(logger, runner.Profile, direct, lim, "svg"),
		"pdf": handlePlot(logger, runner.Profile, direct, lim, "pdf"),
		"gif": handlePlot(logger, runner.Profile, direct, lim, "gif"),
		"csv": handlePlot(logger, runner.Profile, direct, lim, "csv"),
	}
}

// servePlot answers GET /api/plot.<format>?query.
func servePlot(t *testing.T, h http.HandlerFunc, format, query string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/api/plot."+format+"?"+query, nil))
	return rec
}

// pin encodes settings as one pin value.
func pin(settings string) string { return "pin=" + url.QueryEscape(settings) }

func TestPlotGoodRequests(t *testing.T) {
	handlers := plotHandlers()
	tests := []struct {
		name, format, query string
		contentType, file   string
		check               func(t *testing.T, body []byte)
	}{
		{
			name: "default png", format: "png", query: "",
			contentType: "image/png", file: "gradviz-rnn-tanh-T100.png",
			check: wantPNG(1200, 700),
		},
		{
			name: "sized png with pins", format: "png",
			query:       "T=50&" + pin("act=sigmoid&T=50") + "&" + pin("cell=lstm&T=50") + "&w=800&h=500&x=back&lang=es",
			contentType: "image/png", file: "gradviz-rnn-tanh-T50.png",
			check: wantPNG(800, 500),
		},
		{
			name: "overflowing run", format: "png", query: "act=linear&gain=6&T=2000&H=8&seed=1",
			contentType: "image/png", file: "gradviz-rnn-linear-T2000.png",
			check: wantPNG(1200, 700),
		},
		{
			name: "svg names the pins", format: "svg",
			query:       pin("act=sigmoid") + "&" + pin("cell=lstm&label=long memory") + "&label=baseline",
			contentType: "image/svg+xml", file: "gradviz-rnn-tanh-T100.svg",
			check: func(t *testing.T, body []byte) {
				for _, want := range []string{"<svg", ">sigmoid<", ">long memory<", ">baseline<"} {
					if !bytes.Contains(body, []byte(want)) {
						t.Errorf("svg does not contain %q", want)
					}
				}
			},
		},
		{
			name: "pdf in spanish", format: "pdf", query: "T=40&clip=step-norm&lang=es&" + pin("act=sigmoid&T=40"),
			contentType: "application/pdf", file: "gradviz-rnn-tanh-T40.pdf",
			check: wantPDF(1200, 700),
		},
		{
			name: "csv", format: "csv", query: "cell=lstm&T=30&" + pin("cell=lstm&T=30&forgetBias=2"),
			contentType: "text/csv; charset=utf-8", file: "gradviz-lstm-T30.csv",
			check: func(t *testing.T, body []byte) {
				records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
				if err != nil {
					t.Fatalf("read csv: %v", err)
				}
				if got := len(records); got != 31 {
					t.Errorf("got %d records, want 30 steps plus a header", got)
				}
				want := "k|steps_back|" +
					"forgetBias=0:dE_ds|forgetBias=0:dE_ds_raw|forgetBias=0:dE_dc|forgetBias=0:dE_dc_raw|" +
					"forgetBias=0:stateNorm|forgetBias=0:cellPath|forgetBias=0:forgetPrediction|" +
					"forgetBias=2:dE_ds|forgetBias=2:dE_ds_raw|forgetBias=2:dE_dc|forgetBias=2:dE_dc_raw|" +
					"forgetBias=2:stateNorm|forgetBias=2:cellPath|forgetBias=2:forgetPrediction"
				if got := strings.Join(records[0], "|"); got != want {
					t.Errorf("got header %q, want %q", got, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := servePlot(t, handlers[tt.format], tt.format, tt.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("got status %d, want 200; body %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("got Content-Type %q, want %q", got, tt.contentType)
			}
			if got, want := rec.Header().Get("Content-Disposition"), "attachment; filename="+tt.file; got != want {
				t.Errorf("got Content-Disposition %q, want %q", got, want)
			}
			tt.check(t, rec.Body.Bytes())
		})
	}
}

// wantPNG checks that a body is a PNG of the given size.
func wantPNG(w, h int) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		saveArtifact(t, "png", body)
		img, err := png.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("decode png: %v", err)
		}
		if got := img.Bounds().Size(); got != (image.Point{w, h}) {
			t.Errorf("got size %v, want %dx%d", got, w, h)
		}
	}
}

// wantPDF checks that a body is a one-page PDF whose page is w×h pixels
// at 96 dpi, in points.
func wantPDF(w, h int) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		saveArtifact(t, "pdf", body)
		if !bytes.HasPrefix(body, []byte("%PDF-")) {
			t.Fatalf("body does not start with %%PDF-: %q", shortBytes(body))
		}
		if !bytes.Contains(body, []byte("%%EOF")) {
			t.Errorf("pdf has no %%%%EOF")
		}
		if n := bytes.Count(body, []byte("/Type /Page\n")) + bytes.Count(body, []byte("/Type /Page ")); n != 1 {
			t.Errorf("got %d pages, want 1", n)
		}
		box := fmt.Sprintf("/MediaBox [0 0 %.2f %.2f]", float64(w)*72/96, float64(h)*72/96)
		if !bytes.Contains(body, []byte(box)) {
			t.Errorf("pdf has no %q", box)
		}
	}
}

func shortBytes(b []byte) []byte { return b[:min(len(b), 40)] }

// saveArtifact writes body to $GRADVIZ_ARTIFACTS/<test name>.<ext>, to be
// looked at.
func saveArtifact(t *testing.T, ext string, body []byte) {
	dir := os.Getenv("GRADVIZ_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepathName(t) + "." + ext
	if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
		t.Fatal(err)
	}
}

// filepathName is the test's name as a file name.
func filepathName(t *testing.T) string {
	return strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
}

func TestPlotBadRequests(t *testing.T) {
	h := plotHandlers()["png"]
	eightPins := strings.Repeat(pin("T=10")+"&", 8)
	tests := []struct {
		name, query string
		field, msg  string
	}{
		{"narrow", "w=100", "w", "w must be a whole number of pixels 800..3840, got \"100\""},
		{"wide", "w=3841", "w", "800..3840"},
		{"width not a number", "w=big", "w", "got \"big\""},
		{"short", "h=499", "h", "h must be a whole number of pixels 500..2160, got \"499\""},
		{"tall", "h=2161", "h", "500..2160"},
		{"two widths", "w=900&w=1000", "w", "w is given 2 times"},
		{"x axis", "x=time", "x", "x must be step or back, got \"time\""},
		{"language", "lang=fr", "lang", "lang must be en or es, got \"fr\""},
		{"label too long", "label=" + strings.Repeat("a", 41), "label", "label must be at most 40 characters, got 41"},
		{"setting of the current run", "T=0", "T", "T must be 1..2000, got 0"},
		{"unknown name", "t=5", "t", "unknown setting"},
		{"pin setting out of range", pin("T=10") + "&" + pin("T=0"), "pin", "pin 2: T must be 1..2000, got 0"},
		{"pin with unknown name", pin("colour=red"), "pin", "pin 1: unknown setting \"colour\""},
		{"pin inside a pin", pin("pin=T%3D5"), "pin", "pin 1: unknown setting \"pin\""},
		{"pin not a query", "pin=" + url.QueryEscape("T=%zz"), "pin", "pin 1: not a query string"},
		{"pin label too long", pin("label=" + strings.Repeat("b", 41)), "pin", "pin 1: label must be at most 40 characters"},
		{"too many pins", strings.TrimSuffix(eightPins, "&"), "pin", "at most 7 pins, got 8"},
		{"label with a NUL", "label=a%00b", "label", "U+0000"},
		{"label with a tab", "label=%09%3D1%2B1", "label", "U+0009"},
		{"label with CR LF", "label=a%0D%0Ab", "label", "U+000D"},
		{"label with DEL", "label=a%7F", "label", "U+007F"},
		{"label with a C1 control", "label=a%C2%85", "label", "U+0085"},
		{"label with a bidi override", "label=" + url.QueryEscape("abc\u202egpj.exe"), "label", "U+202E"},
		{"label with a line separator", "label=" + url.QueryEscape("a\u2028b"), "label", "U+2028"},
		{"label not UTF-8", "label=%FF%FE", "label", "UTF-8"},
		{"label very long", "label=" + strings.Repeat("%E2%80%A6", 100000), "label", "at most 40 characters, got 100000"},
		{"label given twice", "label=a&label=b", "label", "label is given 2 times"},
		{"pin label with a NUL", pin("label=a\x00b"), "pin", "pin 1: label must not contain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := servePlot(t, h, "png", tt.query)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("got status %d, want 400; body %s", rec.Code, rec.Body)
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body is not JSON: %s", rec.Body)
			}
			if body.Field != tt.field {
				t.Errorf("got field %q, want %q (message %q)", body.Field, tt.field, body.Message)
			}
			if !strings.Contains(body.Message, tt.msg) {
				t.Errorf("got message %q, want it to contain %q", body.Message, tt.msg)
			}
		})
	}
}

func TestPlotUnknownFormatPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("got no panic for format \"bmp\", want one: it is a programming error")
		}
	}()
	handlePlot(slog.New(slog.NewTextHandler(io.Discard, nil)), engine.NewRunner(0).Profile, nil, engine.DefaultLimits(), "bmp")
}

// TestPlotLabelsAreInert: a label from the URL reaches the CSV header as
// text a spreadsheet will not run, and the SVG as escaped XML text.
func TestPlotLabelsAreInert(t *testing.T) {
	handlers := plotHandlers()
	for _, label := range []string{
		`=HYPERLINK("http://evil.example","x")`,
		`=cmd|' /C calc'!A0`,
		`@SUM(1+1)*cmd|' /C calc'!A0`,
		`+1+1`,
		`-1+1`,
		`  =1+1`,
		`a,=1+1`,
		`"=1+1`,
	} {
		query := "T=3&H=2&label=" + url.QueryEscape(label) + "&" + pin("T=4&H=2&label="+url.QueryEscape(label))
		rec := servePlot(t, handlers["csv"], "csv", query)
		if rec.Code != http.StatusOK {
			t.Fatalf("label %q: got %d %s, want 200", label, rec.Code, rec.Body)
		}
		header, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).Read()
		if err != nil {
			t.Fatalf("label %q: CSV header: %v", label, err)
		}
		found := 0
		for _, cell := range header {
			if c := strings.TrimLeft(cell, " "); c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("label %q: header cell %q would run as a formula", label, cell)
			}
			if strings.Contains(cell, strings.TrimSpace(label)) {
				found++
			}
		}
		if found == 0 {
			t.Errorf("label %q: header %q does not carry it", label, header)
		}
	}

	label := `</text><script>alert(1)</script>&'"`
	rec := servePlot(t, handlers["svg"], "svg", "T=3&H=2&label="+url.QueryEscape(label)+"&"+pin("T=4&H=2"))
	if rec.Code != http.StatusOK {
		t.Fatalf("svg: got %d %s, want 200", rec.Code, rec.Body)
	}
	dec := xml.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	var texts []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local == "script" {
				t.Fatalf("svg has a script element")
			}
		case xml.CharData:
			texts = append(texts, string(tok))
		}
	}
	if !strings.Contains(strings.Join(texts, ""), label) {
		t.Errorf("svg text does not carry the label %q as text", label)
	}
}
