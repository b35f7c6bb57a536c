package api_test

// The guided tour in the browser: a served tour by ?tour=, tour files
// opened from disk (a bad one, then a good one), links to training steps,
// and the step select under the keyboard.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gradviz/web"
)

// openTourFile hands the page's file input a file holding text, as
// choosing it in the file dialog does.
func (tb *tab) openTourFile(text string) { tb.t.Helper(); tb.openPaddedTourFile(text, 0) }

// openPaddedTourFile opens text after pad spaces: still the same JSON,
// pad bytes larger.
func (tb *tab) openPaddedTourFile(text string, pad int) {
	tb.t.Helper()
	eval[bool](tb, fmt.Sprintf(`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([' '.repeat(%d), %q], 'tour.json', { type: 'application/json' }));
		const el = document.getElementById('tour-file');
		el.files = dt.files;
		el.dispatchEvent(new Event('change'));
		return true;
	})()`, pad, text))
}

const badTourFile = `{"id":"mine","title":{"en":"Mine","es":"Mía"},"steps":[
 {"id":"one","title":{"en":"One","es":"Uno"},"text":{"en":"a","es":"a"}},
 {"id":"clip-train","title":{"en":"Two","es":"Dos"},"text":{"en":"b","es":"b"},"settings":{"gain":-1}}]}`

const goodTourFile = `{"id":"mine","title":{"en":"My class","es":"Mi clase"},"steps":[
 {"id":"one","title":{"en":"Sigmoid, short","es":"Sigmoide, corta"},"text":{"en":"Short.","es":"Corta."},"settings":{"act":"sigmoid","T":20}},
 {"id":"two","title":{"en":"Sigmoid, long","es":"Sigmoide, larga"},"text":{"en":"Long.","es":"Larga."},"settings":{"act":"sigmoid","T":80}}]}`

func (s *browserSuite) testTour(t *testing.T) {
	t.Run("served", func(t *testing.T) {
		tb := s.newTab(t)
		tb.open("tour=class-demo&preset=long")
		tb.waitFor("the served tour", `document.body.dataset.tour === 'class-demo'`)
		tb.waitRendered("T", 150)
		if n := eval[int](tb, `document.getElementById('preset').options.length`); n != 3 {
			t.Errorf("%d options, want none and the tour's 2 steps", n)
		}
		if got := eval[string](tb, `document.getElementById('preset-count').textContent`); got != "2 / 2" {
			t.Errorf("step count %q, want 2 / 2", got)
		}
		if got := eval[string](tb, `document.getElementById('preset-name').textContent`); got != "A long sequence" {
			t.Errorf("step title %q", got)
		}
		tb.waitURL("tour", "class-demo")
		// A name that cannot be a tour's is said, not fetched.
		tb.open("tour=Class_Demo")
		tb.waitFor("the error", `document.body.dataset.tourError.includes('The tour “Class_Demo” could not be loaded: a tour’s name is 1 to 64 of a-z, 0-9 and -')`)
	})
	t.Run("bptt", func(t *testing.T) {
		tb := s.newTab(t)
		tb.do(chromedp.EmulateViewport(1280, 800))
		tb.open("preset=bptt")
		if n := eval[int](tb, `document.querySelectorAll('#tour-panel math').length`); n < 3 {
			t.Errorf("%d MathML elements in the panel, want the 3 equations and the values", n)
		}
		tb.waitFor("the measured factors", `document.getElementById('tour-panel').dataset.values !== ''`)
		type vals struct {
			DE3, J3, J2, DE1, Gain float64
			Act                    string
		}
		read := func() vals {
			return eval[vals](tb, `(() => { const v = JSON.parse(document.getElementById('tour-panel').dataset.values); return { DE3: v.dE3, J3: v.J3, J2: v.J2, DE1: v.dE1, Gain: v.gain, Act: v.act }; })()`)
		}
		v := read()
		if v.Gain != 1 || v.DE3 <= 0 || v.J3 <= 0 || v.J2 <= 0 || v.DE1 > v.DE3*v.J3*v.J2*(1+1e-12) {
			t.Errorf("values %+v: want positive factors whose product bounds ‖∂E₃/∂s₁‖", v)
		}
		if got := eval[string](tb, `document.querySelector('#tour-panel [data-value="J3"]').textContent`); got == "—" {
			t.Errorf("‖J₃‖ is not shown")
		}
		tb.screenshot("tour-bptt-en")
		tb.set("Activation", "sigmoid")
		tb.waitFor("the factors for the sigmoid", `JSON.parse(document.getElementById('tour-panel').dataset.values || '{}').act === 'sigmoid'`)
		if w := read(); w.J3 >= v.J3 || w.J3 > 0.25*4 {
			t.Errorf("sigmoid ‖J₃‖ = %g, tanh %g: want the sigmoid's smaller", w.J3, v.J3)
		}
		tb.open("preset=bptt&lang=es")
		tb.waitFor("the measured factors", `document.getElementById('tour-panel').dataset.values !== ''`)
		tb.screenshot("tour-bptt-es")
	})
	t.Run("predict", func(t *testing.T) {
		tb := s.newTab(t)
		tb.do(chromedp.EmulateViewport(1280, 800))
		tb.open("preset=sigmoid")
		tb.waitFor("the hidden curve", `document.body.dataset.predict === 'hidden' && document.getElementById('plot').dataset.curve === 'hidden'`)
		// Hidden means no run's line has a value: the legend's data are all
		// empty, and the readout (which would give the answer) is not shown.
		if got := eval[string](tb, `getComputedStyle(document.getElementById('readout')).visibility`); got != "hidden" {
			t.Errorf("readout visibility %q while predicting", got)
		}
		if got := eval[string](tb, `document.getElementById('plot').dataset.guess`); got != "0" {
			t.Errorf("the first guess is drawn at %q, want 0 (1e0)", got)
		}
		tb.screenshot("tour-predict-hidden-en")
		// A press on the plot, low down, places the guess there.
		box := eval[[]float64](tb, `(() => { const r = document.querySelector('#plot .u-over').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
		tb.do(chromedp.MouseClickXY(box[0]+box[2]*0.2, box[1]+box[3]*0.8))
		tb.waitFor("a guess from the press", `Number(document.getElementById('plot').dataset.guess) < -50`)
		// The keyboard moves it: five orders of magnitude up.
		tb.do(chromedp.Focus(chromedp.ID("predict-guess")))
		before := eval[float64](tb, `Number(document.getElementById('plot').dataset.guess)`)
		for i := 0; i < 5; i++ {
			tb.do(chromedp.KeyEvent(kb.ArrowUp))
		}
		after := eval[float64](tb, `Number(document.getElementById('plot').dataset.guess)`)
		if d := after - before; d < 4.99 || d > 5.01 {
			t.Errorf("five arrows moved the guess from %g to %g, want +5", before, after)
		}
		tb.click("Reveal")
		tb.waitFor("the revealed curve", `document.body.dataset.predict === 'revealed' && document.getElementById('plot').dataset.curve === 'shown'`)
		tb.waitFor("the result", `document.getElementById('predict-result').textContent.includes('orders of magnitude')`)
		if got := eval[float64](tb, `Number(document.getElementById('plot').dataset.guess)`); got != after {
			t.Errorf("after Reveal the guess is drawn at %g, want %g", got, after)
		}
		off := eval[float64](tb, `Number(document.getElementById('predict-result').dataset.off)`)
		// The server's own profile of the step says where the curve lands.
		actual := eval[float64](tb, `fetch('/api/profile?act=sigmoid').then((r) => r.json()).then((p) => Math.log10(p.profile.dE_ds[0]))`)
		if d := off - (after - actual); d < -1e-9 || d > 1e-9 || actual > -10 {
			t.Errorf("the result says off by %g; the guess %g and the curve's 1e%g make it %g", off, after, actual, after-actual)
		}
		if got := eval[string](tb, `getComputedStyle(document.getElementById('readout')).visibility`); got != "visible" {
			t.Errorf("readout visibility %q after Reveal", got)
		}
		tb.screenshot("tour-predict-revealed-en")
		tb.set("Language", "es")
		tb.waitFor("the result in Spanish", `document.getElementById('predict-result').textContent.includes('órdenes de magnitud')`)
		tb.screenshot("tour-predict-revealed-es")
	})
	t.Run("clipping step", func(t *testing.T) {
		tb := s.newTab(t)
		tb.do(chromedp.EmulateViewport(1280, 800))
		tb.open("preset=clip-profile")
		tb.waitRendered("clip", "step-norm")
		tb.screenshot("tour-clip-profile-en")
	})
	var builtin struct {
		Steps []struct{ ID string } `json:"steps"`
	}
	if err := json.Unmarshal(web.BuiltinTour(), &builtin); err != nil {
		t.Fatal(err)
	}
	steps := len(builtin.Steps)
	t.Run("module API", func(t *testing.T) {
		tb := s.newTab(t)
		tb.open("")
		type event struct {
			Index, Count, Current int
			ID                    string
		}
		got := eval[event](tb, `import('/static/tour.js').then((m) => new Promise((done) => {
			document.addEventListener('tour-step', (e) => done({ Index: e.detail.index, Count: e.detail.count, ID: e.detail.step?.id ?? '', Current: m.currentStep() }), { once: true });
			m.goToStep(2);
		}))`)
		if want := (event{Index: 2, Count: steps, Current: 2, ID: "tanh-small"}); got != want {
			t.Errorf("tour-step %+v, want %+v", got, want)
		}
		tb.waitURL("preset", "tanh-small")
		tb.waitRendered("gain", 0.5)
		if n := eval[int](tb, `import('/static/tour.js').then((m) => m.tourSteps().length)`); n != steps {
			t.Errorf("tourSteps: %d steps", n)
		}
		if eval[bool](tb, fmt.Sprintf(`import('/static/tour.js').then((m) => m.goToStep(%d))`, steps)) {
			t.Errorf("goToStep past the last step applied something")
		}
		// Leaving the tour: index -1.
		got = eval[event](tb, `import('/static/tour.js').then((m) => new Promise((done) => {
			document.addEventListener('tour-step', (e) => done({ Index: e.detail.index, Count: e.detail.count, ID: e.detail.step?.id ?? '', Current: m.currentStep() }), { once: true });
			const sel = document.getElementById('preset');
			sel.value = '';
			sel.dispatchEvent(new Event('change'));
		}))`)
		if want := (event{Index: -1, Count: steps, Current: -1}); got != want {
			t.Errorf("leaving the tour: %+v, want %+v", got, want)
		}
	})
	t.Run("open file", func(t *testing.T) {
		tb := s.newTab(t)
		tb.open("")
		tb.openTourFile(badTourFile)
		want := "Step 2 (clip-train), field settings.gain: must be between 0 and 100, got -1"
		tb.waitFor("the error in English", fmt.Sprintf(`document.getElementById('tour-msg').textContent.includes(%q)`, want))
		tb.set("Language", "es")
		tb.openTourFile(badTourFile)
		want = "Paso 2 (clip-train), campo settings.gain: debe estar entre 0 y 100, pero vale -1"
		tb.waitFor("the error in Spanish", fmt.Sprintf(`document.getElementById('tour-msg').textContent.includes(%q)`, want))
		if n := eval[int](tb, `document.getElementById('preset').options.length`); n != steps+1 {
			t.Errorf("after a bad file: %d options, want the built-in tour's %d and none", n, steps)
		}
		tb.screenshot("tour-bad-file-es")
		// A file over the server's bound for a tour is refused before it
		// is read, whatever it holds.
		tb.openPaddedTourFile(goodTourFile, 1<<20)
		want = "Este archivo de visita no se puede usar: ocupa más de 1 MB"
		tb.waitFor("the size error", fmt.Sprintf(`document.getElementById('tour-msg').textContent.includes(%q)`, want))
		if got := eval[string](tb, `document.body.dataset.tour || ''`); got == "mine" {
			t.Errorf("a tour file over 1 MB was used")
		}
		tb.openTourFile(goodTourFile)
		tb.waitFor("the good tour", `document.body.dataset.tour === 'mine' && document.getElementById('preset').options.length === 3`)
		if got := eval[string](tb, `document.getElementById('tour-msg').textContent`); got != "Visita «Mi clase»: 2 pasos." {
			t.Errorf("message %q", got)
		}
		tb.set("Ejemplo guiado", "two")
		tb.waitRendered("T", 80)
		// A step of a file has no address: a reload would not find it.
		tb.waitURL("T", "80")
		if q := tb.query(); q.Has("preset") {
			t.Errorf("URL %v, want T=80 and no preset", q)
		}
		if got := eval[string](tb, `document.getElementById('preset-name').textContent`); got != "Sigmoide, larga" {
			t.Errorf("step title %q", got)
		}
	})
	t.Run("training links", func(t *testing.T) {
		for _, id := range []string{"recall", "clip-train"} {
			tb := s.newTab(t)
			for _, how := range []string{"link", "reload"} {
				// The lab's tab draws no profile: no first plot to wait for.
				tb.do(chromedp.Navigate(tb.suite.srv.URL + "/?preset=" + id))
				tb.waitForLong(id+" training ("+how+")", `document.body.dataset.train === 'running' && Number(document.body.dataset.lossPoints || 0) > 0`, 30*time.Second)
				if ends := eval[string](tb, `document.body.dataset.trainEnds || ''`); strings.Contains(ends, "error") {
					t.Errorf("%s (%s): a training ended in error: %s", id, how, ends)
				}
				if !eval[bool](tb, `document.getElementById('err-lab').hidden`) {
					t.Errorf("%s (%s): the lab shows an error: %s", id, how, eval[string](tb, `document.getElementById('err-lab').textContent`))
				}
			}
			tb.stopTraining()
		}
	})
	t.Run("select keyboard", func(t *testing.T) {
		tb := s.newTab(t)
		tb.open("")
		draws := eval[int](tb, `Number(document.body.dataset.draws || 0)`)
		tb.do(chromedp.Focus(chromedp.ID("preset")))
		// Past every step, the training ones included.
		for i := 0; i < 12; i++ {
			tb.do(chromedp.KeyEvent(kb.ArrowDown))
		}
		if got := eval[string](tb, `document.getElementById('preset').value`); got != "recall" {
			t.Fatalf("after 12 arrows the select shows %q, want recall", got)
		}
		if q := tb.query(); q.Has("preset") {
			t.Errorf("arrowing applied %s", q.Get("preset"))
		}
		tb.do(chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent(kb.Enter))
		tb.waitURL("preset", "map")
		tb.waitFor("the map step's picture", fmt.Sprintf(`Number(document.body.dataset.draws || 0) > %d && JSON.parse(document.body.dataset.plotted).tab === 'map'`, draws))
		// By the time the map is drawn, a training started by passing
		// clip-train or recall would have said so.
		if got := eval[string](tb, `document.body.dataset.train || ''`); got != "" {
			t.Errorf("arrowing started a training (%s)", got)
		}
	})
}
