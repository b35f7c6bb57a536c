package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gradviz/internal/engine"
	"gradviz/internal/render"
)

// wantGIF checks that a body is an animated GIF of the given size with at
// least minFrames frames, and returns its frames composed as a viewer
// shows them.
func wantGIF(t *testing.T, body []byte, w, h, minFrames int) []*image.RGBA {
	t.Helper()
	saveArtifact(t, "gif", body)
	anim, err := gif.DecodeAll(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("decode gif: %v", err)
	}
	if anim.Config.Width != w || anim.Config.Height != h {
		t.Errorf("got %d×%d, want %d×%d", anim.Config.Width, anim.Config.Height, w, h)
	}
	if len(anim.Image) < minFrames {
		t.Fatalf("got %d frames, want at least %d", len(anim.Image), minFrames)
	}
	if len(body) > 2<<20 {
		t.Errorf("gif is %d bytes, over 2 MiB", len(body))
	}
	t.Logf("gif: %d frames, %d bytes", len(anim.Image), len(body))
	var frames []*image.RGBA
	canvas := image.NewRGBA(image.Rect(0, 0, w, h))
	for _, fr := range anim.Image {
		draw.Draw(canvas, fr.Bounds(), fr, fr.Bounds().Min, draw.Over)
		frames = append(frames, image.NewRGBA(canvas.Rect))
		copy(frames[len(frames)-1].Pix, canvas.Pix)
	}
	if dir := os.Getenv("GRADVIZ_ARTIFACTS"); dir != "" {
		for _, i := range []int{0, len(frames) / 2, len(frames) - 1} {
			var b bytes.Buffer
			png.Encode(&b, frames[i])
			os.WriteFile(filepath.Join(dir, filepathName(t)+fmt.Sprintf("-frame%02d.png", i)), b.Bytes(), 0o644)
		}
	}
	return frames
}

// countColor counts the pixels of img that are exactly c.
func countColor(img *image.RGBA, c color.NRGBA) int {
	n := 0
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i] == c.R && img.Pix[i+1] == c.G && img.Pix[i+2] == c.B && img.Pix[i+3] == 0xFF {
			n++
		}
	}
	return n
}

func TestPlotGIF(t *testing.T) {
	h := plotHandlers()["gif"]
	rec := servePlot(t, h, "gif", "T=100&gain=0.9&lang=es")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != "image/gif" {
		t.Errorf("Content-Type %q", got)
	}
	if got, want := rec.Header().Get("Content-Disposition"), "attachment; filename=gradviz-rnn-tanh-T100.gif"; got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	frames := wantGIF(t, rec.Body.Bytes(), render.GIFWidth, render.GIFHeight, 10)
	// The current run's curve is drawn in its exact colour, and grows from
	// frame to frame: the signal travels back.
	var run color.NRGBA
	if _, err := fmt.Sscanf(render.RunColor, "#%02x%02x%02x", &run.R, &run.G, &run.B); err != nil {
		t.Fatal(err)
	}
	run.A = 0xFF
	prev := -1
	for i, fr := range frames {
		n := countColor(fr, run)
		if n <= prev {
			t.Errorf("frame %d has %d pixels of the run's colour, frame %d had %d: the curve does not grow", i, n, i-1, prev)
		}
		prev = n
	}
	if first := countColor(frames[0], run); first*4 > prev {
		t.Errorf("the first frame has %d pixels of the run's colour, the last %d: the first should show a short stretch", first, prev)
	}

	// A sized GIF, and one over full HD is refused, naming the field.
	rec = servePlot(t, h, "gif", "T=20&w=800&h=500")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	wantGIF(t, rec.Body.Bytes(), 800, 500, 10)
	for q, field := range map[string]string{"w=2400": "w", "h=1200": "h", "T=0": "T", "frames=3": "frames", "lang=de": "lang"} {
		rec = servePlot(t, h, "gif", q)
		var e struct{ Field, Message string }
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusBadRequest || e.Field != field {
			t.Errorf("%s: status %d, field %q (%s), want 400 naming %q", q, rec.Code, e.Field, e.Message, field)
		}
	}
}

// A GIF whose client is gone stops between frames.
func TestPlotGIFCancelled(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := engine.NewRunner(4)
	ctx, cancel := context.WithCancel(context.Background())
	var drawErr error
	slot := func(c context.Context, _ int64, work func(context.Context) error) error {
		cancel() // the client leaves as the drawing starts
		drawErr = work(c)
		return drawErr
	}
	h := handlePlot(logger, runner.Profile, slot, engine.DefaultLimits(), "gif")
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/api/plot.gif?T=30", nil).WithContext(ctx))
	if !errors.Is(drawErr, context.Canceled) {
		t.Errorf("drawing returned %v, want context.Canceled", drawErr)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("a cancelled GIF was answered with %d bytes", rec.Body.Len())
	}
}

// The caption is in the request's language: the schema's labels, a
// takeaway in words and the link that reproduces the view, on the host
// the client asked.
func TestPlotCaptionInLanguage(t *testing.T) {
	h := plotHandlers()["svg"]
	get := func(query string) string {
		t.Helper()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/plot.svg?"+query, nil)
		req.Host = "aula.example:8080"
		h(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", query, rec.Code, rec.Body)
		}
		saveArtifact(t, "svg", rec.Body.Bytes())
		// The SVG writes text as XML; the caption's spaces are no-break.
		return strings.ReplaceAll(html.UnescapeString(rec.Body.String()), "\u00a0", " ")
	}
	es := get("T=60&gain=0.5&clip=step-norm&threshold=0.25&lang=es&x=back")
	for _, want := range []string{
		"Celda: RNN", "Longitud de la secuencia: 60", "Ganancia: 0,5", "Recorte del gradiente: norma por paso, umbral 0,25", "Bidireccional: no",
		"El primer paso recibe", "de la señal del último: el gradiente se desvanece.",
		"Esta vista: http://aula.example:8080/?T=60&gain=0.5&clip=step-norm&threshold=0.25&lang=es&x=back",
	} {
		if !strings.Contains(es, want) {
			t.Errorf("Spanish caption lacks %q", want)
		}
	}
	for _, unwanted := range []string{"cell=", "gain=0.5 ", "T=60 ", "bidir=", "Sequence length", "sin recortar"} {
		if strings.Contains(es, unwanted) {
			t.Errorf("Spanish caption has %q", unwanted)
		}
	}
	en := get("T=20&gain=1.5&act=linear")
	for _, want := range []string{"Cell: RNN", "Activation: linear", "Gain: 1.5", "times the last step's signal: the gradient explodes.", "This view: http://aula.example:8080/?act=linear&T=20&gain=1.5"} {
		if !strings.Contains(en, want) {
			t.Errorf("English caption lacks %q", want)
		}
	}
}

// TestSpanishExportNamesNoProtocol: a Spanish figure with pins names
// every option and pin by the schema's Spanish labels and writes every
// number with a decimal comma; only the link that reproduces the view
// keeps the URL's names. The PNG of the same request is saved for a look.
func TestSpanishExportNamesNoProtocol(t *testing.T) {
	query := "cell=lstm&init=orthogonal&clip=step-norm&threshold=0.25&loss=sum&T=40&gain=1.5&lang=es" +
		"&pin=" + url.QueryEscape("cell=rnn&act=sigmoid&init=orthogonal&clip=step-norm&threshold=0.25&loss=sum&T=40&gain=1.5") +
		"&pin=" + url.QueryEscape("cell=lstm&init=orthogonal&clip=global-norm&threshold=0.25&loss=sum&T=40&gain=1.5")
	get := func(format string) []byte {
		t.Helper()
		rec := httptest.NewRecorder()
		plotHandlers()[format](rec, httptest.NewRequest(http.MethodGet, "/api/plot."+format+"?"+query, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", format, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	saveArtifact(t, "png", get("png"))
	all := figureText(t, get("svg"))
	for _, want := range []string{"Celda: LSTM", "Inicialización: ortogonal", "Recorte del gradiente: norma por paso, umbral 0,25", "Pérdida: suma de los pasos",
		"LSTM · recorte: norma por paso", "RNN · sigmoide", "recorte: norma global"} {
		if !strings.Contains(all, want) {
			t.Errorf("the Spanish figure lacks %q:\n%s", want, all)
		}
	}
	checkSpanishFigure(t, "profile", all)
}

// TestSpanishViewExports: every other view's Spanish figure, the lab's
// too, names no option by its protocol name and writes no decimal point.
func TestSpanishViewExports(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTPRequestsPerSecond = 0
	ts, _ := newTestServer(t, cfg)
	for _, path := range []string{
		"/api/bidir.svg?T=20&H=8&gain=0.75&init=uniform&lang=es",
		"/api/map.svg?T=20&H=8&loss=sum&gain=0.75&clip=step-value&threshold=0.5&lang=es",
		"/api/spectrum.svg?T=20&H=8&gain=0.75&init=orthogonal&act=sigmoid&lang=es",
		"/api/phase.svg?H=8&nx=5&ny=4&xmin=0.5&xmax=2.5&ymin=10&ymax=40&act=linear&lang=es",
		"/api/lab.svg?task=adding&T=8&H=8&batch=8&iterations=20&every=5&cells=rnn,attn&optimizer=sgd&lr=0.05&lang=es&chart=loss",
		"/api/lab.svg?task=copy&T=8&H=8&batch=8&iterations=20&every=5&cells=gru,lstm&lang=es&chart=profile",
	} {
		resp, body := getExport(t, ts.URL, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, resp.StatusCode, body)
		}
		checkSpanishFigure(t, path, figureText(t, body))
	}
}

// figureText returns the text of an SVG figure, one line per text
// element, without the link that reproduces the view.
func figureText(t *testing.T, svg []byte) string {
	t.Helper()
	var text []string
	for _, m := range regexp.MustCompile(`<text[^>]*>([^<]*)</text>`).FindAllStringSubmatch(string(svg), -1) {
		line := strings.ReplaceAll(html.UnescapeString(m[1]), "\u00a0", " ")
		// The link, "Esta vista: http://…", wraps onto lines of its own.
		if !strings.HasPrefix(line, "Esta vista: ") && !strings.HasPrefix(line, "&") {
			text = append(text, line)
		}
	}
	if len(text) == 0 {
		t.Fatal("the SVG has no text")
	}
	return strings.Join(text, "\n")
}

// checkSpanishFigure fails when a Spanish figure's text has a decimal
// point between digits or an option's protocol name that differs from
// its Spanish label.
func checkSpanishFigure(t *testing.T, name, all string) {
	t.Helper()
	if m := regexp.MustCompile(`[0-9]\.[0-9]`).FindString(all); m != "" {
		t.Errorf("%s: the Spanish figure writes a decimal point, %q:\n%s", name, m, all)
	}
	check := func(setting, o string, l engine.Text) {
		if l.Es == o {
			return
		}
		word := regexp.MustCompile(`(^|[^\pL-])` + regexp.QuoteMeta(o) + `($|[^\pL-])`)
		if word.MatchString(all) {
			t.Errorf("%s: the Spanish figure names %s=%s by its protocol name:\n%s", name, setting, o, all)
		}
	}
	for _, sp := range engine.SettingsSchema(engine.DefaultLimits()) {
		for _, o := range sp.Options {
			check(sp.Name, o, sp.OptionLabels[o])
		}
	}
	for choice, labels := range engine.LabOptionLabels() {
		for o, l := range labels {
			check(choice, o, l)
		}
	}
}
