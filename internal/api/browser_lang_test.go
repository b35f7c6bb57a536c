package api_test

// The page's languages at the lecturer's screen size: numbers typed and
// shown in Spanish and English, number boxes that commit once the user is
// done typing, field errors in plain words of the page's language, and
// the Spanish wording of the lab.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The lecturer's projector laptop.
const (
	langWidth  = 1280
	langHeight = 800
)

// TestBrowserLang runs the language checks in one browser, a tab each.
func TestBrowserLang(t *testing.T) {
	b := startBrowser(t)
	t.Run("spanish decimal comma", b.testSpanishDecimalComma)
	t.Run("english decimal point", b.testEnglishDecimalPoint)
	t.Run("field errors", b.testFieldErrors)
	t.Run("commit when done typing", b.testCommitWhenDone)
	t.Run("spanish wording", b.testSpanishWording)
}

// spyJS records, from the page's first script on, every text drawn on a
// canvas (the charts' ticks and labels) and every websocket message the
// page sends.
const spyJS = `(() => {
	window.gvTexts = [];
	const fill = CanvasRenderingContext2D.prototype.fillText;
	CanvasRenderingContext2D.prototype.fillText = function (s, ...rest) {
		window.gvTexts.push(String(s));
		return fill.call(this, s, ...rest);
	};
	window.gvSent = [];
	const send = WebSocket.prototype.send;
	WebSocket.prototype.send = function (d) {
		try { window.gvSent.push(JSON.parse(d)); } catch (e) {}
		return send.call(this, d);
	};
})();`

// langTab opens a tab at the lecturer's size that spies on the page.
func (s *browserSuite) langTab(t *testing.T) *tab {
	t.Helper()
	tb := s.newTab(t)
	tb.do(chromedp.EmulateViewport(langWidth, langHeight))
	if _, err := chromedp.Call(tb.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: spyJS}); err != nil {
		t.Fatal(err)
	}
	return tb
}

// typeKeys types text into the box id with real key events, after
// selecting what it holds, as a user replacing a value does.
func (tb *tab) typeKeys(id, text string) {
	tb.t.Helper()
	eval[bool](tb, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.focus(); e.select(); return true; })()`, id))
	tb.do(chromedp.KeyEvent(text))
}

// typeFast types text into the box id one character at a time, an input
// event each, all within one task of the page: no pause can come between
// the keys, however busy the machine is.
func (tb *tab) typeFast(id, text string) {
	tb.t.Helper()
	eval[bool](tb, fmt.Sprintf(`(() => {
		const e = document.getElementById(%q);
		e.focus();
		e.value = '';
		for (const c of %q) {
			e.value += c;
			e.dispatchEvent(new InputEvent('input', {bubbles: true, data: c, inputType: 'insertText'}));
		}
		return true;
	})()`, id, text))
}

// fieldError waits for the error by a field to read want, and returns
// what it reads.
func (tb *tab) fieldError(id, want string) string {
	tb.t.Helper()
	cond := fmt.Sprintf(`!document.getElementById(%q).hidden && document.getElementById(%q).textContent === %q`, id, id, want)
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		tb.t.Logf("waiting for %q in #%s: %v", want, id, err)
	}
	return eval[string](tb, fmt.Sprintf(`(() => { const e = document.getElementById(%q); return e.hidden ? '' : e.textContent; })()`, id))
}

// canvasTexts returns what the charts drew since the last call.
func (tb *tab) canvasTexts() []string {
	tb.t.Helper()
	return eval[[]string](tb, `(() => { const t = window.gvTexts; window.gvTexts = []; return t; })()`)
}

// hoverPlot puts the mouse over the middle of the profile plot, so that
// its legend shows the values there.
func (tb *tab) hoverPlot() {
	tb.t.Helper()
	box := eval[[]float64](tb, `(() => { const r = document.querySelector('#plot canvas').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`)
	tb.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0], box[1]))
	tb.waitFor("the legend's values", `[...document.querySelectorAll('#legend .u-value')].some((e) => /\d/.test(e.textContent))`)
}

// readouts returns the readout panel's values.
func (tb *tab) readouts() []string {
	tb.t.Helper()
	return eval[[]string](tb, `[...document.querySelectorAll('#readout dd')].map((e) => e.textContent)`)
}

var (
	decimalPoint = regexp.MustCompile(`\d\.\d`)
	decimalComma = regexp.MustCompile(`\d,\d`)
	spaceGrouped = regexp.MustCompile(`\d[\x{202f}\x{a0}]\d{3}`)
)

// checkNumbers fails for each text that writes a number the way the
// page's language does not: a point between digits in Spanish (a decimal
// point, or 1.000), a comma between digits in English (a decimal comma,
// or 1,000), and thousands grouped by a space in either.
func checkNumbers(t *testing.T, lang, where string, texts []string) {
	t.Helper()
	for _, s := range texts {
		switch {
		case lang == "es" && decimalPoint.MatchString(s):
			t.Errorf("%s: %q has a point between digits on the Spanish page", where, s)
		case lang == "en" && decimalComma.MatchString(s):
			t.Errorf("%s: %q has a comma between digits on the English page", where, s)
		case spaceGrouped.MatchString(s):
			t.Errorf("%s: %q groups thousands", where, s)
		}
	}
}

// testSpanishDecimalComma: in Spanish, "1,5" typed into Gain is 1.5, the
// plot's ticks read 1000 and 2000, and the readouts and legend write a
// decimal comma; "1.500" is refused as ambiguous, and a point is a
// decimal mark too.
func (s *browserSuite) testSpanishDecimalComma(t *testing.T) {
	tb := s.langTab(t)
	tb.open("lang=es&T=2000&H=8")
	texts := tb.canvasTexts()
	for _, want := range []string{"1000", "2000"} {
		if !slices.Contains(texts, want) {
			t.Errorf("no tick %q on the Spanish plot of T = 2000; the charts drew %q", want, texts)
		}
	}
	checkNumbers(t, "es", "Spanish chart text", texts)

	tb.typeKeys("gain-num", "1,5")
	tb.waitRendered("gain", 1.5)
	tb.waitURL("gain", "1.5")
	if got := eval[string](tb, `document.getElementById('gain-num').value`); got != "1,5" {
		t.Errorf("the Gain box holds %q after typing 1,5, want it unchanged", got)
	}
	if shown := eval[bool](tb, `!document.getElementById('err-gain').hidden`); shown {
		t.Errorf("an error by Gain after 1,5: %q", eval[string](tb, `document.getElementById('err-gain').textContent`))
	}
	ro := tb.readouts()
	checkNumbers(t, "es", "Spanish readout", ro)
	if sigma := eval[string](tb, `document.getElementById('ro-sigma').textContent`); !decimalComma.MatchString(sigma) {
		t.Errorf("σ_max reads %q at gain 1.5, want a decimal comma", sigma)
	}
	tb.hoverPlot()
	legend := eval[[]string](tb, `[...document.querySelectorAll('#legend .u-value')].map((e) => e.textContent)`)
	checkNumbers(t, "es", "Spanish legend", legend)
	if !slices.ContainsFunc(legend, decimalComma.MatchString) && !slices.ContainsFunc(legend, func(s string) bool { return strings.Contains(s, "e-") }) {
		t.Errorf("the legend reads %q under the cursor, want its values", legend)
	}
	checkNumbers(t, "es", "Spanish chart text at gain 1,5", tb.canvasTexts())
	tb.screenshot("lang-es-gain-1,5")

	// "1.500" may be 1500 or 1.5: an error, not a guess, and nothing sent.
	tb.typeKeys("gain-num", "1.500")
	want := "Ganancia: «1.500» es ambiguo: escribe los decimales con coma (1,5) y los miles sin separador (1500)."
	if got := tb.fieldError("err-gain", want); got != want {
		t.Errorf("1.500 in Gain shows %q, want %q", got, want)
	}
	if q := tb.query().Get("gain"); q != "1.5" {
		t.Errorf("URL has gain=%q after an ambiguous value, want the last good 1.5", q)
	}
	tb.screenshot("lang-es-gain-ambiguous")
	// A point is a decimal mark in Spanish too.
	tb.typeKeys("gain-num", "0.75")
	tb.waitRendered("gain", 0.75)
	tb.waitFor("the error cleared", `document.getElementById('err-gain').hidden`)
	// Leaving the box shows the value the Spanish way.
	eval[bool](tb, `(() => { document.getElementById('gain-num').blur(); return true; })()`)
	if got := eval[string](tb, `document.getElementById('gain-num').value`); got != "0,75" {
		t.Errorf("the Gain box shows %q for 0.75 on the Spanish page, want 0,75", got)
	}
	// In English the same value reads with a point.
	tb.set("Idioma", "en")
	tb.waitFor("English", `document.documentElement.lang === 'en'`)
	if got := eval[string](tb, `document.getElementById('gain-num').value`); got != "0.75" {
		t.Errorf("the Gain box shows %q for 0.75 on the English page, want 0.75", got)
	}
	tb.waitFor("the readouts in English", `/\d\.\d/.test(document.getElementById('ro-sigma').textContent)`)
}

// testEnglishDecimalPoint: the English page writes a point and no
// thousands separator, and refuses "1,5" rather than reading 15.
func (s *browserSuite) testEnglishDecimalPoint(t *testing.T) {
	tb := s.langTab(t)
	tb.open("T=2000&H=8&gain=1.5")
	texts := tb.canvasTexts()
	if !slices.Contains(texts, "1000") || slices.Contains(texts, "1,000") {
		t.Errorf("the English plot of T = 2000 drew %q, want a tick 1000 and no 1,000", texts)
	}
	checkNumbers(t, "en", "English chart text", texts)
	checkNumbers(t, "en", "English readout", tb.readouts())
	if sigma := eval[string](tb, `document.getElementById('ro-sigma').textContent`); !decimalPoint.MatchString(sigma) {
		t.Errorf("σ_max reads %q at gain 1.5, want a decimal point", sigma)
	}
	sent := eval[int](tb, `window.gvSent.length`)
	tb.typeKeys("gain-num", "1,5")
	want := "Gain: “1,5” is ambiguous: write decimals with a point (1.5) and thousands without a separator (1500)."
	if got := tb.fieldError("err-gain", want); got != want {
		t.Errorf("1,5 in Gain shows %q, want %q", got, want)
	}
	if n := eval[int](tb, `window.gvSent.filter((m) => m.type === 'config' && m.gain === 15).length`); n != 0 {
		t.Errorf("1,5 sent gain 15 %d times", n)
	}
	if q := tb.query().Get("gain"); q != "1.5" {
		t.Errorf("URL has gain=%q after 1,5, want the last good 1.5", q)
	}
	if later := eval[int](tb, `window.gvSent.length`); later != sent {
		t.Errorf("%d messages sent for a refused value", later-sent)
	}
}

// testFieldErrors: the page's own checks and the server's errors say a
// bad value in the page's language, by the field's label, with the range
// and the value given, and the URL keeps the last good settings.
func (s *browserSuite) testFieldErrors(t *testing.T) {
	serverText := func(tb *tab, code, field, message string) string {
		return eval[string](tb, fmt.Sprintf(`import('/static/socket.js').then((m) => m.errorText({code: %q, field: %q, message: %q}))`, code, field, message))
	}
	for _, tc := range []struct {
		lang                              string
		t0, t15, gainABC, threshold, seed string
		serverT, serverThreshold, train   string
	}{
		{
			lang:            "es",
			t0:              "Longitud de la secuencia: debe estar entre 1 y 2000 (se escribió 0).",
			t15:             "Longitud de la secuencia: debe ser un número entero entre 1 y 2000 (se escribió 1,5).",
			gainABC:         "Ganancia: «abc» no es un número.",
			threshold:       "Umbral: debe ser mayor que 0 y como mucho 1e12 (se escribió 0).",
			seed:            "Semilla: debe estar entre 0 y 4294967295 (se escribió -1).",
			serverT:         "Longitud de la secuencia: debe estar entre 1 y 2000 (se escribió 0).",
			serverThreshold: "Umbral: debe ser mayor que 0 y como mucho 1e12 (se escribió 0).",
			train:           "Longitud de la secuencia: debe estar entre 1 y 500 (se escribió 1000). Es el límite del servidor para entrenar.",
		},
		{
			lang:            "en",
			t0:              "Sequence length: must be between 1 and 2000 (you entered 0).",
			t15:             "Sequence length: must be a whole number between 1 and 2000 (you entered 1.5).",
			gainABC:         "Gain: “abc” is not a number.",
			threshold:       "Threshold: must be greater than 0 and at most 1e12 (you entered 0).",
			seed:            "Seed: must be between 0 and 4294967295 (you entered -1).",
			serverT:         "Sequence length: must be between 1 and 2000 (you entered 0).",
			serverThreshold: "Threshold: must be greater than 0 and at most 1e12 (you entered 0).",
			train:           "Sequence length: must be between 1 and 500 (you entered 1000). This is the server’s limit for training.",
		},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			tb := s.langTab(t)
			tb.open("lang=" + tc.lang + "&T=50&H=8&clip=global-norm")
			tb.waitRendered("T", 50.0)
			for _, c := range []struct{ id, err, text, want string }{
				{"T-num", "err-T", "0", tc.t0},
				{"T-num", "err-T", map[string]string{"es": "1,5", "en": "1.5"}[tc.lang], tc.t15},
				{"gain-num", "err-gain", "abc", tc.gainABC},
				{"threshold", "err-threshold", "0", tc.threshold},
				{"seed", "err-seed", "-1", tc.seed},
			} {
				tb.typeFast(c.id, c.text)
				if got := tb.fieldError(c.err, c.want); got != c.want {
					t.Errorf("%s %q shows %q, want %q", c.id, c.text, got, c.want)
				}
			}
			tb.screenshot("lang-" + tc.lang + "-field-errors")
			q := tb.query()
			for _, name := range []string{"T", "gain", "threshold", "seed"} {
				if want := map[string]string{"T": "50"}[name]; q.Get(name) != want {
					t.Errorf("URL has %s=%q after refused values, want %q", name, q.Get(name), want)
				}
			}
			if n := eval[int](tb, `window.gvSent.filter((m) => m.type === 'config' && (m.T !== 50 || m.seed !== 1 || m.threshold !== 1 || m.gain !== 1)).length`); n != 0 {
				t.Errorf("%d requests sent with a refused value", n)
			}
			// The server's errors about the same values read the same.
			if got := serverText(tb, "bad-field", "T", "T must be 1..2000, got 0"); got != tc.serverT {
				t.Errorf("the server's T error reads %q, want %q", got, tc.serverT)
			}
			if got := serverText(tb, "bad-field", "threshold", "threshold must be greater than 0 and at most 1e+12, got 0"); got != tc.serverThreshold {
				t.Errorf("the server's threshold error reads %q, want %q", got, tc.serverThreshold)
			}

			// A switch of language words the errors shown again, and keeps
			// what was typed.
			other := map[string]string{"es": "en", "en": "es"}[tc.lang]
			tb.set(map[string]string{"es": "Idioma", "en": "Language"}[tc.lang], other)
			wantSeed := map[string]string{
				"en": "Seed: must be between 0 and 4294967295 (you entered -1).",
				"es": "Semilla: debe estar entre 0 y 4294967295 (se escribió -1).",
			}[other]
			if got := tb.fieldError("err-seed", wantSeed); got != wantSeed {
				t.Errorf("after a switch to %s the seed's error reads %q, want %q", other, got, wantSeed)
			}
			if got := eval[string](tb, `document.getElementById('seed').value`); got != "-1" {
				t.Errorf("after a switch of language the Seed box holds %q, want -1 as typed", got)
			}

			// The lab's own boxes, and a limit only the server knows.
			tb.do(chromedp.Navigate(s.srv.URL + "/?lang=" + tc.lang + "&tab=lab&T=1000&H=8"))
			tb.waitFor("connected", `document.body.dataset.connected === 'true'`)
			max := eval[int](tb, `JSON.parse(document.getElementById('bootstrap').textContent).limits.train.iterations`)
			tb.typeFast("iterations", "0")
			wantIter := map[string]string{
				"es": fmt.Sprintf("Iteraciones: debe estar entre 1 y %d (se escribió 0).", max),
				"en": fmt.Sprintf("Iterations: must be between 1 and %d (you entered 0).", max),
			}[tc.lang]
			if got := tb.fieldError("err-lab", wantIter); got != wantIter {
				t.Errorf("iterations 0 shows %q, want %q", got, wantIter)
			}
			tb.typeFast("iterations", "20")
			tb.waitFor("the lab's error cleared", `document.getElementById('err-lab').hidden`)
			eval[bool](tb, `(() => { document.getElementById('train-start').click(); return true; })()`)
			tb.waitFor("the lab's error state", `document.body.dataset.train === 'error'`)
			if got := tb.fieldError("err-lab", tc.train); got != tc.train {
				t.Errorf("training T=1000 shows %q, want %q", got, tc.train)
			}
			if got := tb.fieldError("err-T", tc.train); got != tc.train {
				t.Errorf("training T=1000 shows %q by Sequence length, want %q", got, tc.train)
			}
		})
	}
}

// testCommitWhenDone: typing 99999 into the T box computes nothing on the
// way and, out of range, is refused; typing 1500 computes T = 1500 alone.
// Neither the digits on the way nor the refused value reach the URL.
func (s *browserSuite) testCommitWhenDone(t *testing.T) {
	tb := s.langTab(t)
	tb.open("lang=es&T=100&H=8")
	sentT := func() []int {
		return eval[[]int](tb, `window.gvSent.filter((m) => m.type === 'config').map((m) => m.T)`)
	}
	before := len(sentT())
	tb.typeFast("T-num", "99999")
	want := "Longitud de la secuencia: debe estar entre 1 y 2000 (se escribió 99999)."
	if got := tb.fieldError("err-T", want); got != want {
		t.Errorf("99999 shows %q, want %q", got, want)
	}
	if sent := sentT()[before:]; len(sent) != 0 {
		t.Errorf("typing 99999 sent T = %v, want nothing", sent)
	}
	if q := tb.query().Get("T"); q != "" && q != "100" {
		t.Errorf("URL has T=%q after 99999, want the last good 100", q)
	}
	if got := tb.rendered()["T"]; got != 100.0 {
		t.Errorf("the plot shows T = %v, want the last good 100", got)
	}

	tb.typeFast("T-num", "1500")
	tb.waitRendered("T", 1500.0)
	tb.waitURL("T", "1500")
	tb.waitFor("the error cleared", `document.getElementById('err-T').hidden`)
	if sent := sentT()[before:]; !slices.Equal(sent, []int{1500}) {
		t.Errorf("typing 1500 sent T = %v, want [1500] alone", sent)
	}
	if pos := eval[string](tb, `document.getElementById('T').getAttribute('aria-valuetext')`); pos != "1500" {
		t.Errorf("the slider says %q after 1500 was typed, want 1500", pos)
	}

	// Enter commits at once, without waiting for the pause.
	tb.typeFast("T-num", "300")
	tb.do(chromedp.KeyEvent(kb.Enter))
	tb.waitRendered("T", 300.0)
	if sent := sentT()[before:]; !slices.Equal(sent, []int{1500, 300}) {
		t.Errorf("typing 1500, then 300 and Enter, sent T = %v, want [1500 300]", sent)
	}
	// The arrow keys step a box, as on a native number box.
	tb.do(chromedp.KeyEvent(kb.ArrowUp))
	tb.waitRendered("T", 301.0)
}

// testSpanishWording: the lab's Spanish words for its task, its chance
// line and a finished training, and the labels of the settings.
func (s *browserSuite) testSpanishWording(t *testing.T) {
	tb := s.langTab(t)
	tb.do(chromedp.Navigate(s.srv.URL + "/?lang=es&tab=lab&task=adding&T=10&H=8&iterations=30"))
	tb.waitFor("connected", `document.body.dataset.connected === 'true'`)
	if got := eval[string](tb, `document.querySelector('#task option[value="recall"]').textContent`); got != "recuerdo de la clave" {
		t.Errorf("the recall task reads %q, want «recuerdo de la clave»", got)
	}
	// Option labels come from the schema's bootstrap, not the dictionary.
	for sel, want := range map[string]string{
		`#optimizer option[value="sgd"]`:                      "SGD con momento",
		`select[data-field="init"] option[value="gaussian"]`:  "gaussiana",
		`select[data-field="clip"] option[value="step-norm"]`: "norma por paso",
	} {
		if got := eval[string](tb, `(document.querySelector('`+sel+`') || {}).textContent || ''`); got != want {
			t.Errorf("%s reads %q, want «%s»", sel, got, want)
		}
	}
	tb.click("Empezar")
	deadline := 60 * time.Second
	tb.waitForLong("the training to finish", `document.body.dataset.train === 'finished'`, deadline)
	summary := eval[string](tb, `document.getElementById('lab-summary').textContent`)
	if !strings.HasPrefix(summary, "Entrenamiento: ") {
		t.Errorf("the finished training's summary reads %q, want «Entrenamiento: …»", summary)
	}
	legend := eval[string](tb, `document.getElementById('lab-loss-legend').textContent`)
	if !strings.Contains(legend, "nivel de azar 0,167") {
		t.Errorf("the loss legend reads %q, want «nivel de azar 0,167»", legend)
	}
	if note := eval[string](tb, `document.getElementById('lab-task-note').textContent`); !strings.Contains(note, "0,167") || decimalPoint.MatchString(note) {
		t.Errorf("the task note reads %q, want 0,167 with a decimal comma", note)
	}
	checkNumbers(t, "es", "Spanish lab table", eval[[]string](tb, `[...document.querySelectorAll('#lab-tbody td')].map((e) => e.textContent)`))
	checkNumbers(t, "es", "Spanish lab summary", []string{summary})
	checkNumbers(t, "es", "Spanish lab charts", tb.canvasTexts())
	tb.screenshot("lang-es-lab-finished")

	eval[bool](tb, `(() => { document.getElementById('advanced').open = true; return true; })()`)
	for _, l := range []struct{ name, role string }{
		{"Recorte del gradiente", "combobox"},
		{"Dimensión de la entrada", "spinbutton"},
	} {
		if _, role, err := findControl(tb.ctx, l.name); err != nil || role != l.role {
			t.Errorf("control %q: role %q, %v; want a %s", l.name, role, err, l.role)
		}
	}
	if got := eval[string](tb, `document.getElementById('forgetBias-one').textContent`); got != "1,0" {
		t.Errorf("the forget bias button reads %q, want 1,0", got)
	}
}
