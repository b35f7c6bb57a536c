package api_test

// The phase diagram tab in the browser: the diagram streams in, the dot
// drags (mouse, touch, keys) and moves the settings everywhere, the
// labels follow the language, and the export downloads.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gradviz/internal/render"
)

// TestBrowserPhase runs the phase diagram checks in a browser of their
// own (go test -run TestBrowser runs them with the others).
func TestBrowserPhase(t *testing.T) {
	b := startBrowser(t)
	t.Run("phase diagram", b.testPhase)
	t.Run("phase diagram in Spanish, narrow", b.testPhaseSpanish)
	t.Run("phase diagram after another analysis tab", b.testPhaseAfterAnalysis)
}

// testPhaseAfterAnalysis leaves the Phase diagram tab while its diagram
// streams for the Bidirectional one, whose request takes the server's
// analysis worker and so cancels the diagram; back on the tab, the
// diagram is asked for again and completes.
func (s *browserSuite) testPhaseAfterAnalysis(t *testing.T) {
	tb := s.newTab(t)
	// An LSTM at T=1000 over Hidden units: seconds of streaming.
	tb.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.srv.URL+"/?tab=phase&cell=lstm&T=1000&phaseY=H"))
	tb.waitFor("the diagram to start", `!!document.getElementById('phase-canvas') && document.getElementById('phase-canvas').dataset.rows !== undefined`)
	if eval[string](tb, `document.getElementById('phase-canvas').dataset.done || ''`) == "1" {
		t.Fatal("the diagram finished before the tab switch: the test needs a slower one")
	}
	tb.click("Bidirectional")
	tb.waitFor("the sensitivity", `JSON.parse(document.body.dataset.plotted || '{}').tab === 'bidir'`)
	tb.click("Phase diagram")
	tb.waitPhase()
}

// waitPhase waits for a whole diagram on the page.
func (tb *tab) waitPhase() {
	tb.t.Helper()
	tb.waitForLong("the phase diagram", `(() => { const c = document.getElementById('phase-canvas'); return !!c && c.dataset.done === '1' && c.dataset.rows === c.dataset.ny; })()`, 30*time.Second)
}

// dotAt returns the dot's centre and the diagram's data area, in CSS
// pixels of the viewport.
func (tb *tab) dotAt() (x, y float64, area [4]float64) {
	tb.t.Helper()
	r := eval[[]float64](tb, `(() => {
		const d = document.getElementById('phase-dot').getBoundingClientRect();
		const c = document.getElementById('phase-canvas').getBoundingClientRect();
		return [d.left + d.width / 2, d.top + d.height / 2, c.left, c.top, c.width, c.height];
	})()`)
	return r[0], r[1], [4]float64{r[2], r[3], r[4], r[5]}
}

func (tb *tab) number(id string) float64 {
	tb.t.Helper()
	v, err := strconv.ParseFloat(eval[string](tb, fmt.Sprintf(`document.getElementById(%q).value`, id)), 64)
	if err != nil {
		tb.t.Fatal(err)
	}
	return v
}

func (s *browserSuite) testPhase(t *testing.T) {
	tb := s.newTab(t)
	tb.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.srv.URL+"/?tab=phase"))
	tb.waitPhase()
	if got := eval[string](tb, `document.querySelector('[role="tab"][aria-selected="true"]').textContent.trim()`); got != "Phase diagram" {
		t.Errorf("selected tab %q, want Phase diagram", got)
	}
	if nx, ny := eval[string](tb, `document.getElementById('phase-canvas').dataset.nx`), eval[string](tb, `document.getElementById('phase-canvas').dataset.ny`); nx != "48" || ny != "48" {
		t.Errorf("grid %s×%s, want 48×48", nx, ny)
	}
	// Blue (vanishing), orange (exploding) and the black of gain 0 are
	// all on the default diagram.
	px := eval[[]int](tb, `(() => {
		const c = document.getElementById('phase-canvas');
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let blue = 0, orange = 0, black = 0;
		for (let i = 0; i < d.length; i += 4 * 7) {
			const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
			if (b > r + 60) blue++;
			if (r > b + 60 && g > 40) orange++;
			if (r + g + b < 20 && d[i + 3] === 255) black++;
		}
		return [blue, orange, black];
	})()`)
	if px[0] < 100 || px[1] < 100 || px[2] < 10 {
		t.Errorf("blue, orange and black pixels %v: want every kind of cell", px)
	}
	if eval[bool](tb, `document.querySelector('.phase-key-item:has(.edge)').hidden`) {
		t.Errorf("no edge of chaos in the key for a tanh RNN")
	}
	tb.screenshot("phase")

	// The page's colour scale is the export's.
	samples := []float64{-45, -40, -33.3, -12, -1.5, -0.01, 0, 0.3, 2.5, 7, 12}
	rows := [][]float64{samples}
	lo, hi := render.PhaseScale(rows)
	js := eval[[][]int](tb, fmt.Sprintf(`import('/static/phase.js').then(({scaleOf, colorOf}) => {
		const v = %s;
		const [lo, hi] = scaleOf([v]);
		return [[lo, hi], ...v.map((x) => colorOf(x, lo, hi)), colorOf(-Infinity, lo, hi), colorOf(NaN, lo, hi)];
	})`, jsArray(samples)))
	if js[0][0] != int(lo) || js[0][1] != int(hi) {
		t.Errorf("page scale %v, export's %v..%v", js[0], lo, hi)
	}
	for i, v := range append(samples, math.Inf(-1), math.NaN()) {
		c := render.PhaseColor(v, lo, hi)
		if got := js[1+i]; got[0] != int(c.R) || got[1] != int(c.G) || got[2] != int(c.B) {
			t.Errorf("%v decades: page rgb%v, export %v", v, got, c)
		}
	}

	// Drag the dot with the mouse to 70% across, 30% up.
	x, y, a := tb.dotAt()
	gain0, T0 := tb.number("gain-num"), tb.number("T-num")
	tx, ty := a[0]+0.7*a[2], a[1]+0.3*a[3]
	mouse := func(typ input.DispatchMouseEventType, x, y float64, buttons int64) {
		t.Helper()
		if _, err := chromedp.Call(tb.ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{
			Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: buttons, ClickCount: 1,
		}); err != nil {
			t.Fatal(err)
		}
	}
	mouse(input.DispatchMouseEventTypeMousePressed, x, y, 1)
	for i := 1; i <= 5; i++ {
		f := float64(i) / 5
		mouse(input.DispatchMouseEventTypeMouseMoved, x+f*(tx-x), y+f*(ty-y), 1)
	}
	mouse(input.DispatchMouseEventTypeMouseReleased, tx, ty, 0)
	tb.waitFor("the gain control to follow the dot", fmt.Sprintf(`Number(document.getElementById('gain-num').value) !== %v`, gain0))
	gain1, T1 := tb.number("gain-num"), tb.number("T-num")
	if T1 == T0 || gain1 <= gain0 {
		t.Errorf("after the drag Gain %v → %v and T %v → %v: want both moved, Gain up", gain0, gain1, T0, T1)
	}
	tb.waitURL("gain", strconv.FormatFloat(gain1, 'f', -1, 64))
	tb.waitURL("T", strconv.FormatFloat(T1, 'f', -1, 64))
	// The dot is where it was dropped, and the diagram was not asked for
	// again: it does not depend on its own axes.
	if nx, ny, _ := tb.dotAt(); math.Abs(nx-tx) > 12 || math.Abs(ny-ty) > 12 {
		t.Errorf("dot at (%.0f, %.0f), dropped at (%.0f, %.0f)", nx, ny, tx, ty)
	}
	if done := eval[string](tb, `document.getElementById('phase-canvas').dataset.done || ''`); done != "1" {
		t.Errorf("the diagram was asked for again after a drag of its own axes")
	}

	// Keys: one cell right, one cell down.
	tb.do(chromedp.Focus(chromedp.ID("phase-dot")), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowDown))
	tb.waitFor("the keys to move the settings", fmt.Sprintf(`Number(document.getElementById('gain-num').value) > %v && Number(document.getElementById('T-num').value) < %v`, gain1, T1))

	// Touch: a tap low on the left moves the settings there.
	gain2 := tb.number("gain-num")
	touch := func(typ input.DispatchTouchEventType, pts []*input.TouchPoint) {
		t.Helper()
		if _, err := chromedp.Call(tb.ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: pts}); err != nil {
			t.Fatal(err)
		}
	}
	touch(input.DispatchTouchEventTypeTouchStart, []*input.TouchPoint{{X: a[0] + 0.25*a[2], Y: a[1] + 0.8*a[3]}})
	touch(input.DispatchTouchEventTypeTouchEnd, []*input.TouchPoint{})
	tb.waitFor("a touch to move the settings", fmt.Sprintf(`Number(document.getElementById('gain-num').value) < %v`, gain2))

	// The profile follows the settings the dot chose.
	gain3 := tb.number("gain-num")
	tb.click("Profile")
	tb.waitFor("the profile at the dot's gain", fmt.Sprintf(`(JSON.parse(document.body.dataset.rendered || '{}').gain) === %v`, gain3))

	// A setting off the axes redraws the diagram.
	tb.click("Phase diagram")
	tb.set("Activation", "sigmoid")
	tb.waitFor("a new diagram", `JSON.parse(document.body.dataset.plotted).tab === 'phase' && JSON.parse(document.body.dataset.plotted).config.act === 'sigmoid'`)
	tb.waitPhase()

	// Hidden units up the side: the edge of chaos bends with H.
	tb.set("Up", "H")
	tb.waitURL("phaseY", "H")
	tb.waitPhase()
	tb.screenshot("phase-sigmoid-H")

	tb.do(chromedp.EmulateViewport(390, 844))
	tb.waitFor("the narrow layout", `document.getElementById('phase-canvas').getBoundingClientRect().width < 390`)
	tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('panel-phase').scrollIntoView()`))
	tb.screenshot("phase-narrow")

	// The export downloads a PNG.
	tb.click("Export PNG")
	tb.waitForLong("the export", `document.body.dataset.exported === 'png' || !!document.body.dataset.exportError`, 30*time.Second)
	if msg := eval[string](tb, `document.body.dataset.exportError || ''`); msg != "" {
		t.Errorf("Export PNG failed: %s", msg)
	}
}

// testPhaseSpanish looks at the tab in Spanish on a phone's screen.
func (s *browserSuite) testPhaseSpanish(t *testing.T) {
	tb := s.newTab(t)
	tb.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.srv.URL+"/?tab=phase&lang=es"))
	tb.waitPhase()
	tb.screenshot("phase-es")
	for _, want := range []struct{ js, text string }{
		{`document.getElementById('tab-phase').textContent`, "Diagrama de fases"},
		{`document.querySelector('label[for="phase-x"]').textContent`, "Horizontal"},
		{`document.querySelector('label[for="phase-y"]').textContent`, "Vertical"},
		{`document.getElementById('phase-x').selectedOptions[0].textContent`, "Ganancia"},
		{`document.getElementById('phase-y').selectedOptions[0].textContent`, "Longitud de la secuencia T"},
		{`document.querySelector('#panel-phase h2').textContent`, "Diagrama de fases: cuántas décadas pierde o gana la señal de error en toda la secuencia"},
		{`document.getElementById('phase-export-png').textContent`, "Exportar PNG"},
		{`document.querySelector('#panel-phase summary').textContent`, "¿Qué estoy viendo?"},
	} {
		if got := eval[string](tb, want.js); got != want.text {
			t.Errorf("%s: %q, want %q", want.js, got, want.text)
		}
	}
	// On a phone the diagram and its dot fit the width.
	tb.do(chromedp.EmulateViewport(390, 844))
	tb.waitFor("the narrow layout", `document.getElementById('phase-canvas').getBoundingClientRect().width < 390`)
	tb.waitPhase()
	w := eval[[]float64](tb, `[document.getElementById('phase-canvas').getBoundingClientRect().right, document.documentElement.clientWidth, document.getElementById('phase-dot').hidden ? 0 : 1]`)
	if w[0] > w[1]+1 || w[2] != 1 {
		t.Errorf("canvas right edge %v in a %v wide page, dot shown %v", w[0], w[1], w[2])
	}
	tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('panel-phase').scrollIntoView()`))
	tb.screenshot("phase-es-narrow")
	// An error the page explains in Spanish: more work than the server
	// allows.
	tb.do(chromedp.Navigate(s.srv.URL + "/?tab=phase&lang=es&cell=lstm&H=256&T=2000"))
	tb.waitForLong("the work error", `!document.getElementById('phase-error').hidden`, 20*time.Second)
	if got := eval[string](tb, `document.getElementById('phase-error').textContent`); got == "" || got[0:4] != "Este" {
		t.Errorf("work error %q, want the Spanish message", got)
	}
}

func jsArray(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
