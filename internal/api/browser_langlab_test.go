package api_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// waitLong polls a condition for up to four minutes: a training of
// hundreds of iterations on a shared machine.
func (tb *tab) waitLong(what, cond string) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(4*time.Minute))); err != nil {
		tb.t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// elementShot saves a screenshot of the element sel as name.png, at
// twice the page's scale.
func (tb *tab) elementShot(name, sel string) {
	tb.t.Helper()
	r := eval[[]float64](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.scrollIntoView(); const r = e.getBoundingClientRect();
		return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })()`, sel))
	yes := true
	res, err := chromedp.Call(tb.ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Clip: &page.Viewport{X: r[0], Y: r[1], Width: r[2], Height: r[3], Scale: 2}, CaptureBeyondViewport: &yes,
	})
	if err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tb.suite.artifacts, name+".png"), res.Data, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// heldOut reads the held-out accuracy of model in the results table.
func heldOut(tb *tab, model string) float64 {
	return eval[float64](tb, fmt.Sprintf(`Number(document.querySelector('#lang-results tr[data-model=%q] .lang-heldout').dataset.accuracy)`, model))
}

// stripShare reads, in the strip of model, ‖∂E/∂x_k‖ of the first word
// equal to word over the row's largest.
func stripShare(tb *tab, box, model, word string) float64 {
	return eval[float64](tb, fmt.Sprintf(`(() => {
		const row = document.querySelector('#%s .lang-row[data-model=%q]');
		const words = [...row.querySelectorAll('.lang-word')];
		const max = Math.max(...words.map((w) => Number(w.dataset.value)));
		const w = words.find((w) => w.dataset.word === %q);
		return w ? Number(w.dataset.value) / max : -1; })()`, box, model, word))
}

// testLangLab trains the article's sentences in the language lab, seeded
// (seed 1, the defaults): on the Kerala task at distance 30 an LSTM
// learns the language while a tanh RNN stays near chance (1/16), and
// the LSTM's strip lights up "kerala" 33 words back where the RNN's is
// dark; on the mouse task a bidirectional LSTM solves it while a
// one-directional one stays near one half, and only the bidirectional
// strip lights up "computers". Then the user's own sentence, an export,
// and the tab in Spanish.
func (s *browserSuite) testLangLab(t *testing.T) {
	// Two trainings: longer than newTab's 45 s under -race on a busy machine.
	tb := s.newTabFor(t, 10*time.Minute)
	tb.open("")
	tb.click("Language lab")
	tb.waitFor("the language lab shown", `!document.getElementById('panel-lang').hidden`)
	tb.set("Sentence", "kerala")
	tb.set("Distance (words)", "30")
	tb.click("Train")
	tb.waitLong("the Kerala training finished", `document.body.dataset.langState === 'finished'`)
	lstm, rnn := heldOut(tb, "lstm"), heldOut(tb, "rnn")
	t.Logf("kerala, distance 30, 800 iterations: LSTM %.3f, RNN %.3f", lstm, rnn)
	if lstm < 0.9 {
		t.Errorf("LSTM held-out accuracy %.3f, want at least 0.9", lstm)
	}
	if rnn > 0.125 {
		t.Errorf("tanh RNN held-out accuracy %.3f, want near chance 1/16 (at most 0.125)", rnn)
	}
	kl, kr := stripShare(tb, "lang-strip", "lstm", "kerala"), stripShare(tb, "lang-strip", "rnn", "kerala")
	t.Logf("strip at kerala over the row's largest: LSTM %.3g, RNN %.3g", kl, kr)
	if kl < 0.2 || kr > 0.05 {
		t.Errorf("strip at kerala: LSTM %.3g (want ≥ 0.2), RNN %.3g (want ≤ 0.05)", kl, kr)
	}
	top := eval[string](tb, `document.querySelector('#lang-guesses [data-model="lstm"] .lang-guess-word').textContent`)
	if top != "malayalam" {
		t.Errorf("the LSTM's best guess %q, want malayalam", top)
	}
	tb.screenshot("lang-kerala")
	tb.elementShot("lang-strip-kerala", "#lang-strip")
	tb.elementShot("lang-horizon-kerala", "#lang-horizon-chart")

	// Your own sentence: Bavaria, with a word outside the vocabulary.
	tb.set("Type a sentence with one blank (____); the trained models guess it as you type", "Omar was born in Bavaria. Zorblat! Omar speaks ____ fluently.")
	tb.waitLong("the own sentence read", `document.querySelector('#lang-own-guesses [data-model="lstm"] .lang-guess-word')?.textContent === 'german'`)
	if note := eval[string](tb, `document.getElementById('lang-own-note').textContent`); note != "Not in the vocabulary (struck through, not fed to the model): zorblat" {
		t.Errorf("own sentence note %q", note)
	}
	if v := stripShare(tb, "lang-own-strip", "lstm", "zorblat"); v != 0 {
		t.Errorf("an unknown word has strip %g, want 0", v)
	}
	tb.click("Export the strip as SVG")
	tb.waitFor("the strip exported", `document.body.dataset.exported === 'svg'`)

	// The mouse task: the clue after the blank.
	tb.set("Sentence", "mouse")
	if !eval[bool](tb, `document.getElementById('lang-model-bi-lstm').checked && document.getElementById('lang-model-lstm').checked && !document.getElementById('lang-model-rnn').checked`) {
		t.Fatal("the mouse task does not compare lstm with bi-lstm")
	}
	tb.click("Train")
	tb.waitLong("the mouse training finished", `document.body.dataset.langEnds?.split(',').length === 2 && document.body.dataset.langState === 'finished'`)
	bi, uni := heldOut(tb, "bi-lstm"), heldOut(tb, "lstm")
	t.Logf("mouse, distance 5, 400 iterations: bidirectional LSTM %.3f, LSTM %.3f", bi, uni)
	if bi < 0.9 || uni > 0.65 {
		t.Errorf("mouse: bidirectional %.3f (want ≥ 0.9), one-directional %.3f (want ≤ 0.65)", bi, uni)
	}
	cb, cu := stripShare(tb, "lang-strip", "bi-lstm", "computers"), stripShare(tb, "lang-strip", "lstm", "computers")
	t.Logf("strip at computers over the row's largest: bidirectional %.3g, one-directional %.3g", cb, cu)
	if cb < 0.1 || cu != 0 {
		t.Errorf("strip at computers: bidirectional %.3g (want ≥ 0.1), one-directional %.3g (want 0)", cb, cu)
	}
	tb.screenshot("lang-mouse")
	tb.elementShot("lang-strip-mouse", "#lang-strip")

	// In Spanish: the tab, and the sentences follow the page.
	tb.set("Language", "es")
	tb.waitURL("lang", "es")
	if got := eval[string](tb, `document.getElementById('tab-lang').textContent`); got != "Laboratorio de lenguaje" {
		t.Errorf("Spanish tab label %q", got)
	}
	if got := eval[string](tb, `document.getElementById('lang-lang').value`); got != "es" {
		t.Errorf("sentence language %q after switching the page to Spanish, want es", got)
	}
	tb.screenshot("lang-es")
	tb.checkConsole()
}
