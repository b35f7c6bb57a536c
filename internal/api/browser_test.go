package api_test

// The page in a real browser: headless Chromium driven by chromedp, against
// the real server in process, under the Content-Security-Policy that the
// server will send. Controls are found by their accessible names, the way a
// screen reader or a user reading the labels finds them.

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gradviz/internal/api"
	"gradviz/internal/engine"
)

// pageCSP is the policy the page must work under: no inline scripts, no
// inline styles, nothing from elsewhere.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Viewport of a laptop, the size the page is designed for first.
const (
	laptopWidth  = 1366
	laptopHeight = 768
)

// The controls' labels, in English and in Spanish, and the role of
// the control each one names.
var designLabels = []struct{ en, es, role string }{
	{"Cell", "Celda", "combobox"},
	{"Activation", "Activación", "combobox"},
	{"Sequence length", "Longitud de la secuencia", "slider"},
	{"Hidden units", "Unidades ocultas", "slider"},
	{"Initialization", "Inicialización", "combobox"},
	{"Gain", "Ganancia", "slider"},
	{"Clipping", "Recorte del gradiente", "combobox"},
	{"Threshold", "Umbral", "spinbutton"},
	{"Seed", "Semilla", "spinbutton"},
	{"Export PNG", "Exportar PNG", "button"},
}

// TestBrowser runs the page checks in one browser, a new tab each.
func TestBrowser(t *testing.T) {
	b := startBrowser(t)
	t.Run("load", b.testLoad)
	t.Run("keyboard", b.testKeyboard)
	t.Run("controls", b.testControls)
	t.Run("pins", b.testPins)
	t.Run("spanish", b.testSpanish)
	t.Run("export", b.testExport)
	t.Run("export buttons", b.testExportButtons)
	t.Run("overflow", b.testOverflow)
	t.Run("linear then a gated cell", b.testLinearThenGated)
	t.Run("server errors", b.testServerErrors)
	t.Run("play and large text", b.testPlayAndLargeText)
	t.Run("redraws", b.testRedraws)
	t.Run("presets", b.testPresets)
	t.Run("preset link", b.testPresetLink)
	t.Run("tour", b.testTour)
	t.Run("spanish everywhere", b.testSpanishEverywhere)
	t.Run("training", b.testTraining)
	t.Run("compare cells", b.testCompare)
	t.Run("bidirectional", b.testBidirectional)
	t.Run("gradient map", b.testGradientMap)
	t.Run("spectrum and LSTM paths", b.testSpectrum)
	t.Run("palette", b.testPalette)
	t.Run("attention", b.testAttention)
	t.Run("language lab", b.testLangLab)
}

// browserSuite is the server and the browser shared by the subtests.
type browserSuite struct {
	srv       *httptest.Server
	ctx       context.Context // the browser; each test opens a tab in it
	artifacts string
}

// startBrowser starts the server with the default configuration, less
// what configure changes, and a headless Chromium.
func startBrowser(t testing.TB, configure ...func(*api.Config)) *browserSuite {
	t.Helper()
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no Chromium at %s (set CHROMIUM to its path): the page tests need a browser; CI fails here instead of skipping", exe)
		}
		t.Fatalf("no Chromium at %s: %v", exe, err)
	}

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := api.DefaultConfig()
	cfg.ToursDir = "testdata/tours" // ?tour=class-demo
	for _, f := range configure {
		f(&cfg)
	}
	server := api.NewServer(logger, cfg)
	// The middleware that will set the policy is not written yet; the
	// page must already work under it.
	withCSP := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", pageCSP)
		server.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(withCSP)
	t.Cleanup(srv.Close)

	artifacts := os.Getenv("GRADVIZ_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", artifacts)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.WindowSize(laptopWidth, laptopHeight),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first call starts the browser and binds its life to the context
	// it is given, so that context has no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return &browserSuite{srv: srv, ctx: ctx, artifacts: artifacts}
}

// tab is one page under test.
type tab struct {
	t     testing.TB
	suite *browserSuite
	ctx   context.Context
	// base is the server the tab opens, when not the suite's.
	base string

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newTab opens a tab at the laptop size that records its console. When the
// test ends, any console error, exception or policy violation fails it.
func (s *browserSuite) newTab(t testing.TB, opts ...chromedp.ContextOption) *tab {
	t.Helper()
	return s.newTabFor(t, 45*time.Second, opts...)
}

// newTabFor is newTab for a test that needs the tab for longer.
func (s *browserSuite) newTabFor(t testing.TB, limit time.Duration, opts ...chromedp.ContextOption) *tab {
	t.Helper()
	tabCtx, cancel := chromedp.NewContext(s.ctx, opts...)
	ctx, cancelTimeout := context.WithTimeout(tabCtx, limit)
	tb := &tab{t: t, suite: s, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(laptopWidth, laptopHeight)); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	// Exits when the tab's context ends, at the end of the test.
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		<-done
		tb.checkConsole()
	})
	return tb
}

// checkConsole fails on errors, exceptions and CSP reports. Warnings are
// logged, and fail too when they are about the policy.
func (tb *tab) checkConsole() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.console {
		csp := strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Content-Security-Policy")
		switch {
		case m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || csp:
			tb.t.Errorf("console %s at %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text)
		case m.Type == chromedp.ConsoleWarning:
			tb.t.Logf("console warning at %s:%d: %s", m.URL, m.Line+1, m.Text)
		}
	}
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatal(err)
	}
}

// eval runs JavaScript in the page, awaiting a promise it returns.
func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// open loads the page at query and waits for its first plot. It returns
// the page's own time from navigation to the first drawn plot.
func (tb *tab) open(query string) time.Duration {
	tb.t.Helper()
	u := tb.suite.srv.URL + "/"
	if tb.base != "" {
		u = tb.base + "/"
	}
	if query != "" {
		u += "?" + query
	}
	tb.do(chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(`body[data-ready]`)))
	ms := eval[float64](tb, `performance.getEntriesByName('gv-first-plot')[0]?.startTime ?? -1`)
	return time.Duration(ms * float64(time.Millisecond))
}

// waitFor polls a JavaScript condition until it is true.
func (tb *tab) waitFor(what, cond string) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		tb.t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// rendered returns the settings of the profile the plot shows.
func (tb *tab) rendered() map[string]any {
	tb.t.Helper()
	var cfg map[string]any
	if err := json.Unmarshal([]byte(eval[string](tb, `document.body.dataset.rendered`)), &cfg); err != nil {
		tb.t.Fatal(err)
	}
	return cfg
}

// waitRendered waits until the plotted profile has setting name = want.
func (tb *tab) waitRendered(name string, want any) {
	tb.t.Helper()
	w, _ := json.Marshal(want)
	tb.waitFor(fmt.Sprintf("a plot with %s=%s", name, w),
		fmt.Sprintf(`(JSON.parse(document.body.dataset.rendered || '{}')[%q] ?? null) === %s`, name, w))
}

func (tb *tab) query() url.Values {
	tb.t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		tb.t.Fatal(err)
	}
	return u.Query()
}

// waitURL waits until the page's URL has name=value.
func (tb *tab) waitURL(name, value string) {
	tb.t.Helper()
	tb.waitFor(fmt.Sprintf("%s=%s in the URL", name, value),
		fmt.Sprintf(`new URLSearchParams(location.search).getAll(%q).includes(%q)`, name, value))
}

func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.saveShot(name, buf)
}

// saveShot writes a screenshot into the artifacts folder.
func (tb *tab) saveShot(name string, buf []byte) {
	tb.t.Helper()
	path := filepath.Join(tb.suite.artifacts, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// controlByName finds the control whose accessible name is name, among the
// roles a form control can have, and returns a handle on its DOM node.
func (tb *tab) controlByName(name string) runtime.RemoteObjectID {
	tb.t.Helper()
	obj, _, err := findControl(tb.ctx, name)
	if err != nil {
		tb.t.Fatalf("control named %q: %v", name, err)
	}
	return obj
}

var controlRoles = []string{"combobox", "slider", "spinbutton", "checkbox", "button", "textbox", "radio", "tab"}

func findControl(ctx context.Context, name string) (runtime.RemoteObjectID, string, error) {
	doc, err := chromedp.Call(ctx, dom.GetDocument, dom.GetDocumentParams{})
	if err != nil {
		return "", "", err
	}
	res, err := chromedp.Call(ctx, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
		BackendNodeID: doc.Root.BackendNodeID, AccessibleName: name,
	})
	if err != nil {
		return "", "", err
	}
	var found []*accessibility.Node
	for _, n := range res.Nodes {
		if n.Ignored || n.Role == nil || n.BackendDOMNodeID == 0 {
			continue
		}
		var role string
		if err := json.Unmarshal(n.Role.Value, &role); err != nil {
			continue
		}
		if slices.Contains(controlRoles, role) {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return "", "", fmt.Errorf("%d visible controls have that accessible name, want 1", len(found))
	}
	var role string
	json.Unmarshal(found[0].Role.Value, &role)
	obj, err := chromedp.Call(ctx, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: found[0].BackendDOMNodeID})
	if err != nil {
		return "", "", err
	}
	return obj.Object.ObjectID, role, nil
}

// on calls a function with the control as this.
func on[T any](tb *tab, obj runtime.RemoteObjectID, fn string, args ...any) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.CallFunctionOn[T](fn, func(p *runtime.CallFunctionOnParams) {
		p.ObjectID = obj
		p.AwaitPromise = new(true)
	}, args...))
	if err != nil {
		tb.t.Fatalf("call on control: %v", err)
	}
	return v
}

// setControl changes a control as a user does: pick an option, or move a
// slider, and the browser fires input and change.
const setControlJS = `function(v) {
	this.focus();
	this.value = v;
	this.dispatchEvent(new Event('input', {bubbles: true}));
	this.dispatchEvent(new Event('change', {bubbles: true}));
	return this.value;
}`

func (tb *tab) set(name, value string) {
	tb.t.Helper()
	got := on[string](tb, tb.controlByName(name), setControlJS, value)
	if got != value {
		tb.t.Fatalf("%s: set %q, the control holds %q", name, value, got)
	}
}

func (tb *tab) click(name string) {
	tb.t.Helper()
	on[chromedp.Void](tb, tb.controlByName(name), `function() { this.click(); }`)
}

func (s *browserSuite) testLoad(t *testing.T) {
	tb := s.newTab(t)
	// How soon is BenchmarkBrowser's business; here the page must mark it.
	if firstPlot := tb.open(""); firstPlot < 0 {
		t.Errorf("no gv-first-plot mark after the first plot")
	}
	tb.screenshot("default")

	for _, l := range designLabels {
		_, role, err := findControl(tb.ctx, l.en)
		if err != nil {
			t.Errorf("%q: %v", l.en, err)
			continue
		}
		if role != l.role {
			t.Errorf("%q names a %s, want a %s", l.en, role, l.role)
		}
	}
	cfg := tb.rendered()
	if cfg["cell"] != "rnn" || cfg["act"] != "tanh" || cfg["T"] != 100.0 {
		t.Errorf("the default plot shows %v, want the defaults rnn, tanh, T=100", cfg)
	}
	if n := eval[int](tb, `document.querySelectorAll('#plot canvas').length`); n != 1 {
		t.Errorf("%d canvases in the plot, want 1", n)
	}
	if got := eval[string](tb, `document.getElementById('ro-sigma').textContent`); got == "" || got == "—" {
		t.Errorf("σ_max readout is %q, want a number", got)
	}
}

// testKeyboard tabs through the page: every control is reachable, shows a
// focus ring, and the sliders move with the arrow keys.
func (s *browserSuite) testKeyboard(t *testing.T) {
	tb := s.newTab(t)
	tb.open("")
	var reached []string
	for range 55 {
		tb.do(chromedp.KeyEvent(kb.Tab))
		id := eval[string](tb, `(() => {
			const e = document.activeElement;
			if (!e || e === document.body) return '';
			// Radios are drawn by their labels, which carry the ring.
			const ringed = e.type === 'radio' ? document.querySelector('label[for="' + e.id + '"]') : e;
			const style = getComputedStyle(ringed);
			return (e.id || e.tagName.toLowerCase()) + (style.outlineStyle === 'none' || style.outlineWidth === '0px' ? ':no-ring' : '');
		})()`)
		reached = append(reached, id)
	}
	for _, id := range reached {
		if strings.HasSuffix(id, ":no-ring") {
			t.Errorf("%s has no visible focus ring", strings.TrimSuffix(id, ":no-ring"))
		}
	}
	for _, id := range []string{"lang", "large", "preset", "tab-profile", "show-spectrum", "cell", "act", "T", "T-num", "H", "H-num", "init", "seed", "gain", "gain-num", "clip", "summary", "x-step", "states", "jac", "play", "speed", "pin", "export-png", "export-svg", "export-csv"} {
		if !slices.Contains(reached, id) {
			t.Errorf("Tab never reaches %s; reached %v", id, reached)
		}
	}

	// Arrow keys move the Sequence length slider, and the plot follows.
	tb.do(chromedp.Focus(chromedp.ID("T")))
	tb.do(chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight))
	T := eval[string](tb, `document.getElementById('T-num').value`)
	if T == "100" {
		t.Fatalf("arrow keys left Sequence length at 100")
	}
	tb.waitRendered("T", json.Number(T))
}

// checkPlotFits fails when the plot's canvas is larger than its box: the
// x axis would be cut off.
func (tb *tab) checkPlotFits() {
	tb.t.Helper()
	over := eval[string](tb, `(() => {
		const box = document.getElementById('plot');
		const c = box.querySelector('canvas');
		const h = c.getBoundingClientRect().height, w = c.getBoundingClientRect().width;
		return (h > box.clientHeight + 1 || w > box.clientWidth + 1) ? w + 'x' + h + ' in ' + box.clientWidth + 'x' + box.clientHeight : '';
	})()`)
	if over != "" {
		tb.t.Errorf("plot canvas %s: part of the plot is cut off", over)
	}
}

func (s *browserSuite) testControls(t *testing.T) {
	tb := s.newTab(t)
	tb.open("")

	tb.set("Activation", "sigmoid")
	tb.waitRendered("act", "sigmoid")
	tb.waitURL("act", "sigmoid")
	tb.screenshot("activation-sigmoid")

	// Sequence length is a logarithmic slider: move it, then read the length
	// it chose from the number box beside it, as a user reads it.
	tb.set("Sequence length", "300")
	T := eval[string](tb, `document.getElementById('T-num').value`)
	if T == "" || T == "100" {
		t.Fatalf("moving the slider left the length at %q", T)
	}
	tb.waitRendered("T", json.Number(T))
	tb.waitURL("T", T)
	tb.screenshot("sequence-length")

	tb.set("Clipping", "step-norm")
	tb.waitRendered("clip", "step-norm")
	tb.waitURL("clip", "step-norm")
	if disabled := on[bool](tb, tb.controlByName("Threshold"), `function() { return this.disabled; }`); disabled {
		t.Errorf("Threshold is disabled with clipping on")
	}
	if n := eval[int](tb, `[...document.querySelectorAll('#legend .u-series')].filter(e => /clipping/.test(e.textContent)).length`); n != 1 {
		t.Errorf("%d legend entries for the unclipped profile, want 1 beside the clipped one", n)
	}
	tb.screenshot("clipping-step-norm")
	// A new threshold is written into the legend of the plot shown.
	legendTheta := `[...document.querySelectorAll('#legend .u-series th')].map(e => e.textContent).filter(s => s.includes('θ = ')).join('|')`
	tb.set("Threshold", "2.5")
	tb.waitRendered("threshold", json.Number("2.5"))
	if got := eval[string](tb, legendTheta); !strings.Contains(got, "θ = 2.5 ") || strings.Contains(got, "θ = 1 ") {
		t.Errorf("legend after Threshold 2.5: %q, want θ = 2.5 and not the old θ = 1", got)
	}

	tb.set("Cell", "lstm")
	tb.waitRendered("cell", "lstm")
	tb.waitURL("cell", "lstm")
	if disabled := on[bool](tb, tb.controlByName("Activation"), `function() { return this.disabled; }`); !disabled {
		t.Errorf("Activation is enabled for an LSTM")
	}
	tb.screenshot("lstm")
	tb.checkPlotFits()

	// The URL reproduces the view.
	before := tb.rendered()
	q := tb.query()
	for name, want := range map[string]string{"act": "sigmoid", "T": T, "clip": "step-norm", "cell": "lstm"} {
		if got := q.Get(name); got != want {
			t.Errorf("URL has %s=%q, want %q", name, got, want)
		}
	}
	tb.open(q.Encode())
	if after := tb.rendered(); !equalJSON(before, after) {
		t.Errorf("after a reload the plot shows %v, want %v", after, before)
	}
}

func (s *browserSuite) testPins(t *testing.T) {
	tb := s.newTab(t)
	tb.open("")
	tb.click("Pin")
	tb.waitURL("pin", "cell=rnn")
	tb.set("Activation", "sigmoid")
	tb.waitRendered("act", "sigmoid")

	curves := `[...document.querySelectorAll('#legend .u-series th')].map(e => e.textContent.trim()).filter(s => s.startsWith('‖∂E/∂s_k‖') || s.startsWith('pin'))`
	labels := eval[[]string](tb, curves)
	if len(labels) != 2 || !slices.ContainsFunc(labels, func(s string) bool { return strings.HasPrefix(s, "pin") && strings.Contains(s, "tanh") }) {
		t.Errorf("legend has %q, want the current curve and a pin labelled tanh", labels)
	}
	tb.screenshot("pinned-tanh-sigmoid")

	// A reload recomputes the pin and shows the same two curves.
	before := tb.rendered()
	tb.open(tb.query().Encode())
	tb.waitFor("the pin to come back", `document.body.dataset.renderedPins === '1'`)
	if after := tb.rendered(); !equalJSON(before, after) {
		t.Errorf("after a reload the plot shows %v, want %v", after, before)
	}
	if again := eval[[]string](tb, curves); !slices.Equal(again, labels) {
		t.Errorf("after a reload the legend has %q, want %q", again, labels)
	}
	tb.checkPlotFits()

	tb.click("Clear pins")
	tb.waitFor("the pins to go", `!new URLSearchParams(location.search).has('pin') && document.body.dataset.renderedPins === '0'`)
}

func (s *browserSuite) testSpanish(t *testing.T) {
	tb := s.newTab(t)
	tb.open("")
	tb.set("Language", "es")
	tb.waitURL("lang", "es")
	for _, l := range designLabels {
		if _, _, err := findControl(tb.ctx, l.es); err != nil {
			t.Errorf("Spanish label %q: %v", l.es, err)
		}
	}
	text := eval[string](tb, `document.body.innerText`)
	for _, l := range designLabels {
		if strings.Contains(text, l.en) {
			t.Errorf("English label %q still shows in Spanish", l.en)
		}
	}
	for _, en := range []string{"Export SVG", "Clear pins", "Play", "What am I looking at?", "Steps back", "Settings", "Regime"} {
		if strings.Contains(text, en) {
			t.Errorf("%q still shows in Spanish", en)
		}
	}
	missing := eval[[]string](tb, `import('/static/i18n.js').then(({languages: {en, es}}) => [
		...Object.keys(en).filter((k) => !(k in es)).map((k) => 'es lacks ' + k),
		...Object.keys(es).filter((k) => !(k in en)).map((k) => 'en lacks ' + k)])`)
	for _, m := range missing {
		t.Errorf("dictionary: %s", m)
	}
	if lang := eval[string](tb, `document.documentElement.lang`); lang != "es" {
		t.Errorf("<html lang=%q>, want es", lang)
	}
	tb.screenshot("spanish")
	tb.open(tb.query().Encode())
	if _, _, err := findControl(tb.ctx, "Celda"); err != nil {
		t.Errorf("after a reload with lang=es: %v", err)
	}
}

func (s *browserSuite) testExport(t *testing.T) {
	tb := s.newTab(t)
	tb.open("act=sigmoid&T=200")
	dir := t.TempDir()
	_, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: new(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	tb.click("Export PNG")
	var path string
	deadline := time.Now().Add(15 * time.Second)
	for path == "" && time.Now().Before(deadline) {
		if msg := eval[string](tb, `document.body.dataset.exportError || ''`); msg != "" {
			t.Fatalf("Export PNG failed in the page: %s", msg)
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "*.png"))
		if len(matches) > 0 {
			path = matches[0]
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if path == "" {
		t.Fatalf("no PNG downloaded into %s", dir)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", filepath.Base(path), err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 500 {
		t.Errorf("PNG is %dx%d, want at least 800x500", b.Dx(), b.Dy())
	}
	href := eval[string](tb, `document.getElementById('export-png').dataset.href`)
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/api/plot.png" || q.Get("act") != "sigmoid" || q.Get("T") != "200" || q.Get("x") != "step" || q.Get("lang") != "en" {
		t.Errorf("export link %s does not carry the view", href)
	}
}

func (s *browserSuite) testOverflow(t *testing.T) {
	tb := s.newTab(t)
	tb.open("act=linear&gain=6&T=2000&H=8")
	step := eval[string](tb, `document.body.dataset.overflow || ''`)
	if step == "" {
		t.Fatalf("no overflow marked for linear, gain 6, T=2000")
	}
	banner := eval[string](tb, `(() => { const b = document.getElementById('banner-overflow'); return b.hidden ? '' : b.textContent; })()`)
	if !strings.Contains(banner, "overflowed at step "+step) || !strings.Contains(banner, "NaN") {
		t.Errorf("overflow banner says %q, want it to name step %s and NaN", banner, step)
	}
	tb.screenshot("overflow")
}

// testLinearThenGated: the server refuses act=linear with a gated cell,
// so a page left on linear by the RNN asks for the LSTM without act, and
// its export link too; back on rnn, linear is still chosen.
func (s *browserSuite) testLinearThenGated(t *testing.T) {
	tb := s.newTab(t)
	tb.open("act=linear&T=50&H=8")
	tb.waitRendered("act", "linear")
	tb.set("Cell", "lstm")
	tb.waitRendered("cell", "lstm")
	if errs := eval[string](tb, `[...document.querySelectorAll('.field-error')].filter((e) => !e.hidden).map((e) => e.textContent).join('; ')`); errs != "" {
		t.Errorf("errors shown for lstm after linear: %q", errs)
	}
	href := eval[string](tb, `document.getElementById('export-png').dataset.href`)
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Has("act") || q.Get("cell") != "lstm" {
		t.Errorf("export link %s: want cell=lstm and no act", href)
	}
	tb.set("Cell", "rnn")
	tb.waitRendered("act", "linear")
}

// testServerErrors: a field's error is shown in the page's language,
// next to the control it names, in the same words whether the page's own
// check found it (gain 101) or the server did, by the code, field and
// range its error carries (a training past the server's bound on T).
func (s *browserSuite) testServerErrors(t *testing.T) {
	typeInto := func(tb *tab, id, value string) {
		eval[bool](tb, fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = %q; el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, id, value))
	}
	shown := func(tb *tab, id string) string {
		tb.waitFor("the error in #"+id, fmt.Sprintf(`!document.getElementById(%q).hidden`, id))
		return eval[string](tb, fmt.Sprintf(`document.getElementById(%q).textContent`, id))
	}
	for _, tc := range []struct {
		lang, gain, train string
	}{
		{"en", "Gain: must be between 0 and 100 (you entered 101).",
			"Sequence length: must be between 1 and 500 (you entered 1000). This is the server’s limit for training."},
		{"es", "Ganancia: debe estar entre 0 y 100 (se escribió 101).",
			"Longitud de la secuencia: debe estar entre 1 y 500 (se escribió 1000). Es el límite del servidor para entrenar."},
	} {
		tb := s.newTab(t)
		tb.open("lang=" + tc.lang + "&T=50&H=8")
		tb.waitRendered("T", 50.0)
		typeInto(tb, "gain-num", "101")
		if got := shown(tb, "err-gain"); got != tc.gain {
			t.Errorf("%s: gain 101 shows %q by its control, want %q", tc.lang, got, tc.gain)
		}
		typeInto(tb, "gain-num", "1")
		tb.waitFor("the error cleared", `document.getElementById('err-gain').hidden`)

		tb.do(chromedp.Navigate(s.srv.URL + "/?lang=" + tc.lang + "&tab=lab&T=1000&H=8"))
		tb.waitFor("connected", `document.body.dataset.connected === 'true'`)
		eval[bool](tb, `(() => { document.getElementById('train-start').click(); return true; })()`)
		if got := shown(tb, "err-lab"); got != tc.train {
			t.Errorf("%s: training T=1000 shows %q, want %q", tc.lang, got, tc.train)
		}
		tb.waitFor("the lab's error state", `document.body.dataset.train === 'error'`)
	}
}

func (s *browserSuite) testPlayAndLargeText(t *testing.T) {
	tb := s.newTab(t)
	tb.open("T=400")
	tb.set("Speed (steps/s)", "200")
	tb.click("Play")
	tb.waitFor("animation frames", `document.getElementById('play').dataset.playing === 'true' && /animating/.test(document.getElementById('notes').textContent)`)
	tb.screenshot("animation")
	tb.click("Stop")
	tb.waitFor("the animation to stop", `document.getElementById('play').dataset.playing === 'false'`)

	tb.do(chromedp.EmulateViewport(1920, 1080))
	tb.click("Large text")
	tb.waitURL("large", "1")
	tb.waitFor("large text", `document.documentElement.classList.contains('large')`)
	tb.screenshot("large-text-1920x1080")
	tb.checkPlotFits()
}

// testRedraws changes controls one value at a time at a heavy setting,
// as a user who looks at each plot does: every change is drawn, once,
// with the value asked for. BenchmarkBrowser times the same changes.
func (s *browserSuite) testRedraws(t *testing.T) {
	tb := s.newTab(t)
	for _, c := range redrawCases("rnn")[:2] {
		tb.open(redrawQuery("rnn", c))
		m := measureRedraws(tb, c)
		if len(m.Redraw) != len(c.values) || len(m.Draw) != len(c.values) {
			t.Errorf("%s: %d redraws and %d draws for %d changes, want one each", c.label, len(m.Redraw), len(m.Draw), len(c.values))
		}
	}
}

// redrawQuery is where the redraw measurements of c start, for a cell:
// the defaults at T=1000, H=128, with step clipping for Threshold, which
// only counts then.
func redrawQuery(cell string, c redrawCase) string {
	q := "cell=" + cell + "&T=1000&H=128"
	if c.field == "threshold" {
		q += "&clip=step-norm"
	}
	return q
}

// redrawCase is a Profile control and the values a measurement sets it to.
type redrawCase struct {
	label  string // the control's accessible name
	field  string // its setting, as the rendered profile names it
	values []string
}

// redrawCases lists, for a cell, every Profile control that a class moves
// at T=1000 H=128, each with 20 values that make a new profile each time.
// The page starts at redrawQuery; each list starts away from the value
// there.
func redrawCases(cell string) []redrawCase {
	const changes = 20
	var gains, lengths, seeds, thresholds, acts, inits, clips, losses, biases []string
	for i := range changes {
		gains = append(gains, fmt.Sprintf("%.2f", 1+float64(i+1)/100))
		lengths = append(lengths, fmt.Sprint(999-i))
		seeds = append(seeds, fmt.Sprint(2+i))
		thresholds = append(thresholds, fmt.Sprintf("%.1f", 0.5+float64(i)/10))
		acts = append(acts, []string{"sigmoid", "tanh"}[i%2])
		inits = append(inits, []string{"orthogonal", "gaussian"}[i%2])
		clips = append(clips, []string{"global-norm", "step-norm"}[i%2])
		losses = append(losses, []string{"sum", "last"}[i%2])
		biases = append(biases, fmt.Sprintf("%.1f", float64(i+1)/10))
	}
	cases := []redrawCase{
		{"Gain", "gain", gains},
		{"Sequence length, exact value", "T", lengths},
		{"Seed", "seed", seeds},
		{"Initialization", "init", inits},
		{"Clipping", "clip", clips},
		{"Loss", "loss", losses},
	}
	m := engine.Cell(cell).Info()
	if m.Activation {
		cases = append(cases, redrawCase{"Activation", "act", acts})
	}
	if m.ForgetBias {
		cases = append(cases, redrawCase{"Forget bias", "forgetBias", biases})
	}
	return append(cases, redrawCase{"Threshold", "threshold", thresholds})
}

// redrawTimings are what the page measured for a series of changes.
type redrawTimings struct {
	Redraw  []float64 `json:"redraw"`  // input event → drawn plot (gv-redraw)
	Draw    []float64 `json:"draw"`    // answer → drawn plot (gv-draw)
	Elapsed []float64 `json:"elapsed"` // the server's run, as it reports it
	Send    []float64 `json:"send"`    // input event → request sent (gv-send)
}

// measureRedraws sets c's control to each of its values in turn and waits
// for the plot of each.
func measureRedraws(tb *tab, c redrawCase) redrawTimings {
	tb.t.Helper()
	return on[redrawTimings](tb, tb.controlByName(c.label), `async function(field, values) {
		const rendered = () => String(JSON.parse(document.body.dataset.rendered)[field]);
		performance.clearMeasures('gv-redraw');
		performance.clearMeasures('gv-draw');
		performance.clearMeasures('gv-send');
		const elapsed = [];
		for (const want of values) {
			this.value = want;
			this.dispatchEvent(new Event('input', {bubbles: true}));
			this.dispatchEvent(new Event('change', {bubbles: true}));
			const start = performance.now();
			while (rendered() !== String(Number.isNaN(Number(want)) ? want : Number(want))) {
				if (performance.now() - start > 30000) throw new Error('no plot for ' + field + ' ' + want);
				await new Promise((r) => requestAnimationFrame(r));
			}
			elapsed.push(Number(document.body.dataset.elapsedMs));
		}
		const d = (name) => performance.getEntriesByName(name).map((m) => m.duration);
		return {redraw: d('gv-redraw'), draw: d('gv-draw'), elapsed, send: d('gv-send')};
	}`, c.field, c.values)
}

func medianOf(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n == 0 {
		return 0
	}
	return (s[(n-1)/2] + s[n/2]) / 2
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
