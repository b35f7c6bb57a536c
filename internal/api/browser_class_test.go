package api_test

// The page as a class sees it: a phone, a projector with Large text, both
// languages. Each case checks the layout at the viewport where a defect
// was seen: boxes that must not overlap, a plot that must keep its size
// and its axes, colours that must keep their contrast.

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserClass runs the classroom layout checks in one browser.
func TestBrowserClass(t *testing.T) {
	b := startBrowser(t)
	t.Run("phone", b.testPhone)
	t.Run("large text 1280", b.testLarge1280)
	t.Run("large text 1024", b.testLarge1024)
	t.Run("pressed button hover", b.testPressedHover)
	t.Run("banner and explanation", b.testBannerExplain)
	t.Run("first picture", b.testFirstPicture)
	t.Run("selects", b.testSelects)
	t.Run("view toggles keep the preset", b.testViewKeepsPreset)
	t.Run("adding accuracy", b.testAddingAccuracy)
	t.Run("skip link and keyboard cursor", b.testSkipAndKeys)
	t.Run("summaries", b.testSummaries)
}

// profileBoxes are the parts of the profile panel that must never be
// drawn over one another.
var profileBoxes = []string{"#plot", "#legend", "#jacplot", "#jaclegend", "#spectrum", "#spec-plane", "#spec-stems", ".spec-caption", "#notes", "#readout", "#banner-error", "#explain"}

// overlapsJS lists, for a list of selectors, the pairs of visible
// elements (neither inside the other) whose boxes overlap by more than a
// pixel, as "a ∩ b: rects".
const overlapsJS = `(sels) => {
	const els = [];
	for (const s of sels) for (const e of document.querySelectorAll(s)) {
		const r = e.getBoundingClientRect();
		if (r.width > 0 && r.height > 0 && e.offsetParent !== null) els.push({ s: s + (e.id ? '' : '[' + els.length + ']'), e, r });
	}
	const out = [];
	for (let i = 0; i < els.length; i++) for (let j = i + 1; j < els.length; j++) {
		const a = els[i], b = els[j];
		if (a.e.contains(b.e) || b.e.contains(a.e)) continue;
		const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
		const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
		if (w > 1 && h > 1) out.push(a.s + ' ∩ ' + b.s + ': ' + [a.r.left, a.r.top, a.r.right, a.r.bottom].map(Math.round) + ' / ' + [b.r.left, b.r.top, b.r.right, b.r.bottom].map(Math.round));
	}
	return out;
}`

// checkNoOverlap fails for every pair of the boxes that overlap.
func (tb *tab) checkNoOverlap(what string, sels []string) {
	tb.t.Helper()
	list := "['" + strings.Join(sels, "','") + "']"
	for _, o := range eval[[]string](tb, "("+overlapsJS+")("+list+")") {
		tb.t.Errorf("%s: %s overlap", what, o)
	}
}

// viewport sets the tab's size, as a phone or a projector has it.
func (tb *tab) viewport(w, h int64) {
	tb.t.Helper()
	tb.do(chromedp.EmulateViewport(w, h))
}

// largeText presses Large text, as the lecturer does at the projector.
func (tb *tab) largeText() {
	tb.t.Helper()
	eval[chromedp.Void](tb, `document.getElementById('large').click()`)
	tb.waitFor("large text", `document.documentElement.classList.contains('large')`)
	tb.waitFor("the plot redrawn at its new size", `(() => {
		const box = document.getElementById('plot'), c = box.querySelector('canvas');
		return c && Math.abs(c.getBoundingClientRect().width - box.clientWidth) < 2;
	})()`)
}

// shot saves a screenshot of the whole page, below the fold too.
func (tb *tab) fullShot(name string) {
	tb.t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.saveShot(name, buf)
}

func (s *browserSuite) testPhone(t *testing.T) {
	for _, lang := range []string{"en", "es"} {
		tb := s.newTab(t)
		tb.viewport(390, 844)
		tb.open("lang=" + lang)
		tb.waitFor("the notes", `document.getElementById('notes').textContent !== ''`)
		tb.waitFor("the spectrum drawn", `document.getElementById('spec-caption').textContent !== ''`)
		tb.checkNoOverlap("390×844 "+lang, profileBoxes)
		tb.checkPlotFits()
		// Nothing wider than the phone, and the name still shown.
		wide := eval[string](tb, `[...document.querySelectorAll('body *')].filter(e => {
			const r = e.getBoundingClientRect();
			return r.width > 0 && r.right > document.documentElement.clientWidth + 0.5 && getComputedStyle(e).visibility !== 'hidden';
		}).map(e => e.id || e.className || e.tagName).join(' ')`)
		if wide != "" {
			t.Errorf("390×844 %s: wider than the screen: %s", lang, wide)
		}
		if w := eval[float64](tb, `document.querySelector('.top h1').getBoundingClientRect().width`); w < 60 {
			t.Errorf("390×844 %s: the name gradviz is %.0f px wide, want it shown", lang, w)
		}
		tb.fullShot("class-phone-" + lang)
		// Every other tab fits the width too (a wide table scrolls in
		// its own box).
		for _, tab := range []string{"lab", "bidir", "map", "phase", "lang"} {
			eval[chromedp.Void](tb, `document.getElementById('tab-`+tab+`').click()`)
			tb.waitFor("the "+tab+" tab shown", `!document.getElementById('panel-`+tab+`').hidden`)
			if w := eval[float64](tb, `document.documentElement.scrollWidth`); w > 390 {
				t.Errorf("390×844 %s, tab %s: the page is %.0f px wide", lang, tab, w)
			}
		}
	}
}

func (s *browserSuite) testLarge1280(t *testing.T) {
	for _, lang := range []string{"en", "es"} {
		tb := s.newTab(t)
		tb.viewport(1280, 800)
		tb.open("lang=" + lang)
		tb.waitFor("the notes", `document.getElementById('notes').textContent !== ''`)
		tb.checkNoOverlap("1280×800 "+lang, profileBoxes)
		tb.screenshot("class-1280-" + lang)
		tb.largeText()
		tb.checkNoOverlap("1280×800 large "+lang, profileBoxes)
		tb.checkPlotFits()
		tb.screenshot("class-large-1280-" + lang)
		tb.fullShot("class-large-1280-full-" + lang)
	}
}

func (s *browserSuite) testLarge1024(t *testing.T) {
	for _, lang := range []string{"en", "es"} {
		tb := s.newTab(t)
		tb.viewport(1024, 768)
		tb.open("lang=" + lang)
		tb.largeText()
		tb.checkNoOverlap("1024×768 large "+lang, profileBoxes)
		tb.checkPlotFits()
		if w := eval[float64](tb, `document.getElementById('plot').getBoundingClientRect().width`); w < 0.5*1024 {
			t.Errorf("%s: the main plot is %.0f px wide at 1024 px with Large text, want at least about half the width", lang, w)
		}
		tb.screenshot("class-large-1024-" + lang)
		tb.fullShot("class-large-1024-full-" + lang)
	}
	// With the per-step factors, a banner and the explanation as well.
	tb := s.newTab(t)
	tb.viewport(1024, 768)
	tb.open("jac=1&large=1")
	tb.waitFor("the factors", `!!document.getElementById('jacplot').dataset.drawn`)
	eval[chromedp.Void](tb, `(() => { const b = document.getElementById('banner-error'); b.textContent = 'T: must be 2..5000'; b.hidden = false; document.getElementById('explain').open = true; })()`)
	tb.waitFor("the explanation open", `document.getElementById('explain').getBoundingClientRect().height > 100`)
	tb.checkNoOverlap("1024×768 large, factors, banner, explanation", profileBoxes)
	tb.checkPlotFits()
}

// contrastJS is the WCAG contrast ratio of two CSS colours "rgb(r, g, b)".
const contrastJS = `(a, b) => {
	const lum = (c) => {
		const [r, g, bl] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
			v /= 255;
			return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
		});
		return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
	};
	const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
	return (x + 0.05) / (y + 0.05);
}`

func (s *browserSuite) testPressedHover(t *testing.T) {
	tb := s.newTab(t)
	tb.viewport(1280, 800)
	tb.open("")
	tb.largeText()
	r := eval[[]float64](tb, `(() => { const r = document.getElementById('large').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`)
	if _, err := chromedp.Call(tb.ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: r[0], Y: r[1]}); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the pointer over Large text", `document.getElementById('large').matches(':hover')`)
	got := eval[[]any](tb, `(() => {
		const cs = getComputedStyle(document.getElementById('large'));
		return [cs.color, cs.backgroundColor, (`+contrastJS+`)(cs.color, cs.backgroundColor)];
	})()`)
	if c, _ := got[2].(float64); c < 4.5 {
		t.Errorf("pressed Large text under the pointer: %v on %v, contrast %.2f:1, want at least 4.5:1", got[0], got[1], c)
	}
}

func (s *browserSuite) testBannerExplain(t *testing.T) {
	tb := s.newTab(t)
	tb.viewport(1280, 800)
	tb.open("")
	// A server error shows the banner; the profile must move down, not
	// be drawn over it.
	eval[chromedp.Void](tb, `(() => { const b = document.getElementById('banner-error'); b.textContent = 'T: must be 2..5000'; b.hidden = false; })()`)
	eval[chromedp.Void](tb, `document.getElementById('explain').open = true`)
	tb.waitFor("the explanation open", `document.getElementById('explain').getBoundingClientRect().height > 100`)
	tb.checkNoOverlap("banner and explanation", profileBoxes)
	tb.fullShot("class-banner-explain")
}

// testFirstPicture: the default run (tanh, gain 1) has γ·σ_max ≥ 1 but
// its gradient vanishes. The readout says both, the bound neutrally and
// what the curve did in its colour; the y range follows the curve, not
// Pascanu's bound; the x axis says which way the backward pass runs.
func (s *browserSuite) testFirstPicture(t *testing.T) {
	tb := s.newTab(t)
	tb.viewport(1280, 800)
	tb.open("")
	tb.waitFor("the readout", `document.getElementById('ro-regime').dataset.outcome !== undefined && document.getElementById('ro-regime').dataset.outcome !== ''`)
	got := eval[map[string]string](tb, `(() => {
		const dd = document.getElementById('ro-regime');
		return {
			regime: dd.dataset.regime, outcome: dd.dataset.outcome, text: dd.textContent,
			bound: getComputedStyle(dd.querySelector('.bound')).color,
			what: getComputedStyle(dd.querySelector('.outcome')).color,
			ink: getComputedStyle(document.body).color,
		};
	})()`)
	if got["regime"] != "may-explode" || got["outcome"] != "vanishes" {
		t.Fatalf("default run: regime %q, outcome %q, want may-explode and vanishes", got["regime"], got["outcome"])
	}
	if !strings.Contains(got["text"], "here it vanishes: ‖∂E/∂s_1‖ = ") || !strings.Contains(got["text"], "of ‖∂E/∂s_T‖") {
		t.Errorf("the readout says %q, want what the curve did", got["text"])
	}
	if got["bound"] != got["ink"] {
		t.Errorf("the bound's verdict is drawn in %s, want the text colour %s (it is no warning)", got["bound"], got["ink"])
	}
	if got["what"] == "rgb(163, 61, 0)" {
		t.Errorf("a vanishing run's outcome is in the warning colour")
	}
	// The curve runs from about 1e-18 to about 1: the range holds it and
	// no more, and the bound (1e15 at k = 1) leaves the plot.
	yr := eval[[]float64](tb, `JSON.parse(document.getElementById('plot').dataset.yRange)`)
	if yr[1] > 2 || yr[0] < -20 {
		t.Errorf("y range 1e%v..1e%v, want it set by the curve (about 1e-18..1), not by the bound", yr[0], yr[1])
	}
	tb.screenshot("class-first-picture")

	// An exploding run: the warning colour.
	tb.set("Gain", "2.5")
	tb.waitRendered("gain", 2.5)
	tb.waitFor("the explosion read out", `document.getElementById('ro-regime').dataset.outcome === 'explodes'`)
	if c := eval[string](tb, `getComputedStyle(document.querySelector('#ro-regime .outcome')).color`); c != "rgb(163, 61, 0)" {
		t.Errorf("an exploding run's outcome is %s, want the warning colour", c)
	}
	if txt := eval[string](tb, `document.getElementById('ro-regime').textContent`); !strings.Contains(txt, "here it explodes") {
		t.Errorf("the readout says %q for gain 2.5, want it to say the gradient explodes", txt)
	}
}

// selectsCutJS lists the visible selects whose shown option (or, with
// every set, any option) is wider than the room the select gives its text.
const selectsCutJS = `(every) => {
	const out = [];
	const ctx = document.createElement('canvas').getContext('2d');
	for (const s of document.querySelectorAll('select')) {
		if (s.offsetParent === null || s.getBoundingClientRect().width === 0) continue;
		const cs = getComputedStyle(s);
		ctx.font = cs.font;
		// The arrow takes about 1em at the right; padding both sides.
		const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - parseFloat(cs.fontSize);
		const opts = every ? [...s.options] : [s.options[s.selectedIndex]].filter(Boolean);
		for (const o of opts) {
			const w = ctx.measureText(o.text).width;
			if (w > room + 0.5) out.push((s.id || s.name) + ': "' + o.text + '" needs ' + Math.round(w) + ' px, has ' + Math.round(room));
		}
	}
	return out;
}`

func (tb *tab) checkSelectsFit(what string, every bool) {
	tb.t.Helper()
	for _, c := range eval[[]string](tb, fmt.Sprintf("(%s)(%v)", selectsCutJS, every)) {
		tb.t.Errorf("%s: %s", what, c)
	}
}

// testSelects: no select cuts its text, at any of the class's sizes.
func (s *browserSuite) testSelects(t *testing.T) {
	for _, lang := range []string{"en", "es"} {
		for _, vp := range []struct {
			w, h  int64
			large bool
		}{{1366, 768, false}, {1280, 800, true}, {1024, 768, true}, {390, 844, false}} {
			tb := s.newTab(t)
			tb.viewport(vp.w, vp.h)
			tb.open("lang=" + lang)
			if vp.large {
				tb.largeText()
			}
			what := fmt.Sprintf("%s %d×%d large=%v", lang, vp.w, vp.h, vp.large)
			tb.checkSelectsFit(what+" profile", false)
			eval[chromedp.Void](tb, `document.getElementById('tab-lab').click()`)
			tb.waitFor("the lab", `!document.getElementById('panel-lab').hidden`)
			tb.checkSelectsFit(what+" lab", false)
		}
	}
}

// testViewKeepsPreset: the x axis and the companion charts are ways of
// looking at a preset; switching them leaves the preset chosen.
func (s *browserSuite) testViewKeepsPreset(t *testing.T) {
	tb := s.newTab(t)
	tb.open("preset=sigmoid")
	tb.waitURL("preset", "sigmoid")
	for _, id := range []string{"x-back", "states", "jac", "show-spectrum", "x-step"} {
		eval[chromedp.Void](tb, `document.getElementById('`+id+`').click()`)
		tb.waitFor("the URL written", `document.getElementById('x-back').checked === (new URLSearchParams(location.search).get('x') === 'back')`)
		if got := tb.query().Get("preset"); got != "sigmoid" {
			t.Errorf("after %s the URL's preset is %q, want sigmoid", id, got)
		}
		if txt := eval[string](tb, `document.getElementById('preset-body').textContent`); strings.Contains(txt, "changed") {
			t.Errorf("after %s the preset says %q", id, txt)
		}
	}
	// Settings do change it.
	tb.set("Gain", "2")
	tb.waitFor("the preset marked changed", `!new URLSearchParams(location.search).has('preset')`)
}

// testAddingAccuracy: the adding task is a regression; its accuracy is
// named for what it is, the share within ±0.04 of the sum.
func (s *browserSuite) testAddingAccuracy(t *testing.T) {
	for _, c := range []struct{ lang, opt, col string }{
		{"en", "Share within ±0.04 of the sum", "Within ±0.04"},
		{"es", "Proporción con error < 0,04 en la suma", "Error < 0,04"},
	} {
		tb := s.newTab(t)
		tb.do(chromedp.Navigate(s.srv.URL + "/?tab=lab&lang=" + c.lang))
		tb.waitFor("the lab", `!document.getElementById('panel-lab').hidden && document.getElementById('task').options.length > 0`)
		on[string](tb, tb.controlByName(map[string]string{"en": "Task", "es": "Tarea"}[c.lang]), setControlJS, "adding")
		got := eval[[]string](tb, `[document.querySelector('#lab-chart option[value="accuracy"]').textContent, document.getElementById('lab-acc-col').textContent]`)
		if got[0] != c.opt || got[1] != c.col {
			t.Errorf("%s adding task: chart %q, column %q, want %q and %q", c.lang, got[0], got[1], c.opt, c.col)
		}
		tb.checkSelectsFit(c.lang+" adding task", false)
		tb.viewport(1024, 768)
		eval[chromedp.Void](tb, `document.getElementById('large').click()`)
		tb.waitFor("large text", `document.documentElement.classList.contains('large')`)
		tb.checkSelectsFit(c.lang+" adding task, 1024×768 large", false)
		tb.screenshot("class-lab-adding-large-1024-" + c.lang)
		on[string](tb, tb.controlByName(map[string]string{"en": "Task", "es": "Tarea"}[c.lang]), setControlJS, "recall")
		if got := eval[string](tb, `document.getElementById('lab-acc-col').textContent`); got != map[string]string{"en": "Accuracy", "es": "Exactitud"}[c.lang] {
			t.Errorf("%s recall task: column %q, want accuracy", c.lang, got)
		}
	}
}

// testSkipAndKeys: Tab's first stop is the skip link, which takes the
// focus to the plot; there the arrow keys move a cursor through the steps,
// the legend shows its values and a live region reads them out.
func (s *browserSuite) testSkipAndKeys(t *testing.T) {
	for _, c := range []struct{ lang, skip, step string }{{"en", "Skip to the plot", "Step k"}, {"es", "Saltar al gráfico", "Paso k"}} {
		tb := s.newTab(t)
		tb.open("lang=" + c.lang)
		tb.do(chromedp.KeyEvent(kb.Tab))
		got := eval[[]string](tb, `[document.activeElement.id, document.activeElement.textContent]`)
		if got[0] != "skip" || got[1] != c.skip {
			t.Fatalf("%s: Tab's first stop is #%s %q, want the skip link %q", c.lang, got[0], got[1], c.skip)
		}
		if top := eval[float64](tb, `document.activeElement.getBoundingClientRect().top`); top < 0 {
			t.Errorf("%s: the focused skip link is off the screen (top %v)", c.lang, top)
		}
		tb.do(chromedp.KeyEvent(kb.Enter))
		tb.waitFor("the plot focused", `document.activeElement.id === 'plot'`)

		// The first arrow goes to k = T, where the backward pass starts.
		tb.do(chromedp.KeyEvent(kb.ArrowLeft))
		tb.waitFor("the cursor at k = T", `document.getElementById('plot').dataset.cursor === '100'`)
		tb.do(chromedp.KeyEvent(kb.ArrowLeft), chromedp.KeyEvent(kb.ArrowLeft))
		tb.waitFor("the cursor at k = 98", `document.getElementById('plot').dataset.cursor === '98'`)
		live := eval[string](tb, `document.getElementById('plot-live').textContent`)
		if !strings.HasPrefix(live, c.step+" 98: ‖∂E/∂s_k‖ ") {
			t.Errorf("%s: the live region reads %q, want the values at step 98", c.lang, live)
		}
		legend := eval[string](tb, `document.querySelector('#legend .u-series:nth-child(2) .u-value').textContent`)
		if legend == "—" || !strings.Contains(live, legend) {
			t.Errorf("%s: the legend shows %q at the cursor, the live region %q", c.lang, legend, live)
		}
		tb.do(chromedp.KeyEvent(kb.Home))
		tb.waitFor("the cursor at k = 1", `document.getElementById('plot').dataset.cursor === '1'`)
		tb.do(chromedp.KeyEvent(kb.End))
		tb.waitFor("the cursor at k = T", `document.getElementById('plot').dataset.cursor === '100'`)
		tb.do(chromedp.KeyEvent(kb.ArrowRight))
		tb.waitFor("the cursor held at the end", `document.getElementById('plot').dataset.cursor === '100'`)
		tb.screenshot("class-keyboard-cursor-" + c.lang)
	}
}

// descOf returns the text that describes element id (aria-describedby).
const descOfJS = `(id) => {
	const el = document.getElementById(id);
	const ids = (el && el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
	return ids.map((d) => document.getElementById(d)?.textContent ?? '').join(' ');
}`

func (tb *tab) desc(id string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf("(%s)(%q)", descOfJS, id))
}

// testSummaries: every plot is described in words from its data, in the
// page's language, and the words change with the data.
func (s *browserSuite) testSummaries(t *testing.T) {
	tb := s.newTab(t)
	tb.open("jac=1")
	tb.waitFor("the factors", `!!document.getElementById('jacplot').dataset.drawn`)
	prof := tb.desc("plot")
	if !regexp.MustCompile(`^tanh RNN, T=100: ‖∂E/∂s_k‖ falls from [0-9.e-]+ at step 100 to [0-9.e-]+ at step 1 \(vanishes, 1[0-9] orders of magnitude\)\.`).MatchString(prof) {
		t.Errorf("the profile is described as %q", prof)
	}
	if d := tb.desc("jacplot"); !strings.HasPrefix(d, "Per-step factor ‖J_k‖ over 99 steps, from ") && !strings.HasPrefix(d, "Per-step factor ‖J_k‖ over 100 steps, from ") {
		t.Errorf("the factor chart is described as %q", d)
	}
	if d := tb.desc("spec-stems"); !strings.HasPrefix(d, "32 singular values of Wh, from 1.") {
		t.Errorf("the singular values are described as %q", d)
	}
	if d := tb.desc("spec-plane"); !strings.HasPrefix(d, "32 eigenvalues") {
		t.Errorf("the eigenvalues are described as %q", d)
	}
	tb.set("Gain", "2.5")
	tb.waitRendered("gain", 2.5)
	tb.waitFor("a new description", fmt.Sprintf(`(%s)('plot').includes('explodes')`, descOfJS))
	tb.set("Language", "es")
	tb.waitFor("the description in Spanish", fmt.Sprintf(`(%s)('plot').includes('(explota, ')`, descOfJS))

	// Spanish, with the decimal comma.
	es := s.newTab(t)
	es.open("lang=es")
	if d := es.desc("plot"); !regexp.MustCompile(`^RNN tanh, T=100: ‖∂E/∂s_k‖ cae de [0-9,e-]+ en el paso 100 a [0-9,e-]+ en el paso 1 \(se desvanece, 1[0-9] órdenes de magnitud\)\.`).MatchString(d) || strings.Contains(d, "0.") {
		t.Errorf("the profile is described in Spanish as %q", d)
	}

	// The other tabs' plots.
	bi := s.newTab(t)
	bi.do(chromedp.Navigate(s.srv.URL + "/?tab=bidir&T=40&outputStep=20"))
	bi.waitFor("the sensitivity plot", `!!document.getElementById('bidir-plot').dataset.plotted`)
	if d := bi.desc("bidir-plot"); !strings.HasPrefix(d, "Output step t = 20 of 40: the unidirectional model’s ‖∂E_t/∂x_k‖ goes from ") {
		t.Errorf("the sensitivity plot is described as %q", d)
	}
	mp := s.newTab(t)
	mp.do(chromedp.Navigate(s.srv.URL + "/?tab=map&loss=sum&T=50"))
	mp.waitFor("the map", `!!document.getElementById('map-canvas').dataset.rows`)
	if d := mp.desc("map-canvas"); !strings.HasPrefix(d, "Gradient map of 50 output steps t by 50 steps k: ‖∂E_t/∂s_k‖ from ") {
		t.Errorf("the map is described as %q", d)
	}
	ph := s.newTab(t)
	ph.do(chromedp.Navigate(s.srv.URL + "/?tab=phase&lang=es"))
	ph.waitPhase()
	if d := ph.desc("phase-canvas"); !strings.HasPrefix(d, "Diagrama de fases sobre Ganancia y Longitud de la secuencia T: log10(‖∂E/∂s_1‖/‖∂E/∂s_T‖) de ") {
		t.Errorf("the phase diagram is described as %q", d)
	}
	lab := s.newTab(t)
	lab.do(chromedp.Navigate(s.srv.URL + "/?tab=lab&task=recall&T=10&iterations=40&cells=rnn,lstm"))
	lab.waitFor("connected", `document.body.dataset.connected === 'true'`)
	lab.click("Start")
	lab.waitForLong("the training to end", `['stopped', 'finished', 'diverged'].includes(document.body.dataset.train)`, 30*time.Second)
	lab.waitFor("the lab described", fmt.Sprintf(`(%s)('lab-loss').startsWith('Training loss over 40 iterations: RNN from ')`, descOfJS))
	if d := lab.desc("lab-side"); !strings.HasPrefix(d, "Accuracy at iteration 40: RNN ") || !strings.Contains(d, "LSTM") {
		t.Errorf("the lab's right chart is described as %q", d)
	}
	if d := lab.desc("lab-heat-1"); !strings.HasPrefix(d, "LSTM: ‖∂E/∂s_k‖ on the probe sequence over ") {
		t.Errorf("the LSTM's heatmap is described as %q", d)
	}
}
