package api_test

// The page's other views in the browser: the guided presets, the training
// lab, the bidirectional view, the gradient map, the spectrum panel, and
// the language switch over all of them.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// preset is a step of the built-in tour (web/tours/builtin.json).
type preset struct {
	ID       string           `json:"id"`
	Tab      string           `json:"tab"`
	Settings map[string]any   `json:"settings"`
	Sequence []map[string]any `json:"sequence"`
	Train    bool             `json:"train"`
}

// controlIDs maps a setting to the control that shows it.
var controlIDs = map[string]string{
	"cell": "cell", "act": "act", "init": "init", "clip": "clip", "loss": "loss",
	"T": "T-num", "H": "H-num", "gain": "gain-num", "forgetBias": "forgetBias",
	"threshold": "threshold", "seed": "seed", "D": "D", "K": "K",
}

// waitForLong is waitFor with a longer limit, for training under -race.
func (tb *tab) waitForLong(what, cond string, limit time.Duration) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(limit)))
	if err != nil {
		tb.t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// stopTraining presses Stop training and waits until the lab says stopped.
func (tb *tab) stopTraining() {
	tb.t.Helper()
	if eval[bool](tb, `document.getElementById('train-stop').disabled`) {
		return
	}
	tb.click("Stop training")
	tb.waitForLong("the training to stop", `['stopped', 'finished', 'diverged'].includes(document.body.dataset.train)`, 20*time.Second)
}

// testPresets chooses every preset in turn: each must set its controls
// and URL, show its text, and draw a new result on its tab.
func (s *browserSuite) testPresets(t *testing.T) {
	tb := s.newTab(t)
	tb.open("")
	var presets []preset
	raw := eval[string](tb, `import('/static/tour.js').then((m) => JSON.stringify(m.tourSteps()))`)
	if err := json.Unmarshal([]byte(raw), &presets); err != nil {
		t.Fatal(err)
	}
	if len(presets) < 8 {
		t.Fatalf("%d presets, want at least 8", len(presets))
	}
	defaults := eval[map[string]any](tb, `JSON.parse(document.getElementById('bootstrap').textContent).defaults`)
	for _, p := range presets {
		t.Run(p.ID, func(t *testing.T) {
			tb.t = t
			draws := eval[int](tb, `Number(document.body.dataset.draws || 0)`)
			trainID := eval[string](tb, `document.body.dataset.trainId || ''`)
			tb.set("Preset", p.ID)
			tb.waitURL("preset", p.ID)
			if p.Tab != "profile" {
				tb.waitURL("tab", p.Tab)
			}
			want := map[string]any{}
			for k, v := range p.Settings {
				want[k] = v
			}
			if p.Sequence != nil {
				// The preset ends with its last step's settings.
				for k, v := range p.Sequence[len(p.Sequence)-1] {
					want[k] = v
				}
			}
			if p.Train {
				tb.waitForLong("a training to start and report", fmt.Sprintf(
					`document.body.dataset.trainId !== %q && Number(document.body.dataset.lossPoints || 0) > 0`, trainID), 30*time.Second)
				if p.Sequence != nil {
					tb.waitForLong("the preset's last step to train", fmt.Sprintf(
						`document.getElementById('clip').value === %q && document.body.dataset.train === 'running' && Number(document.body.dataset.lossPoints || 0) > 0`,
						want["clip"]), 30*time.Second)
					if ends := eval[string](tb, `document.body.dataset.trainEnds || ''`); !strings.Contains(ends, "diverged") {
						t.Errorf("the preset's first run ended %q, want diverged", ends)
					}
					if n := eval[string](tb, `document.getElementById('lab-loss').dataset.nan`); n == "0" || n == "" {
						t.Errorf("no NaN/Inf marked on the loss chart")
					}
				}
			} else {
				cond := []string{fmt.Sprintf(`Number(document.body.dataset.draws || 0) > %d`, draws), fmt.Sprintf(`JSON.parse(document.body.dataset.plotted).tab === %q`, p.Tab)}
				for k, v := range p.Settings {
					w, _ := json.Marshal(v)
					cond = append(cond, fmt.Sprintf(`JSON.parse(document.body.dataset.plotted).config[%q] === %s`, k, w))
				}
				tb.waitFor("the preset's plot", strings.Join(cond, " && "))
			}
			q := tb.query()
			for k, v := range want {
				text := fmt.Sprint(v)
				if id, ok := controlIDs[k]; ok {
					if got := eval[string](tb, fmt.Sprintf(`document.getElementById(%q).value`, id)); got != text {
						t.Errorf("control %s shows %q, want %q", id, got, text)
					}
				}
				if fmt.Sprint(defaults[k]) != text && q.Get(k) != text {
					t.Errorf("URL has %s=%q, want %q", k, q.Get(k), text)
				}
			}
			if text := eval[string](tb, `(() => { const b = document.getElementById('preset-text'); return b.hidden ? '' : b.innerText; })()`); len(text) < 80 {
				t.Errorf("preset text %q, want a few sentences", text)
			}
			tb.screenshot("preset-" + p.ID)
			if p.Train {
				tb.stopTraining()
			}
		})
	}
	tb.t = t
}

// testPresetLink opens a link that names only a preset, as a teacher
// would share it: the page applies the preset's settings and pins, and
// writes them into the URL. Once a setting changes, the URL drops the
// preset, so a reload reproduces the changed view, not the preset.
func (s *browserSuite) testPresetLink(t *testing.T) {
	tb := s.newTab(t)
	tb.open("preset=irnn")
	tb.waitFor("the preset's plot", `(() => { const p = JSON.parse(document.body.dataset.plotted || '{}'); return p.config && p.config.act === 'relu' && p.config.init === 'identity'; })()`)
	tb.waitURL("act", "relu")
	tb.waitURL("init", "identity")
	if got := eval[string](tb, `document.getElementById('act').value`); got != "relu" {
		t.Errorf("Activation shows %q, want relu", got)
	}
	// Back to the default activation and scheme: the URL holds only the
	// settings that differ from the defaults, and no longer the preset.
	tb.set("Activation", "tanh")
	tb.set("Initialization", "gaussian")
	// The page writes the URL at most ten times a second: wait for it.
	tb.waitFor("the URL without the preset, act and init", `(() => { const q = new URLSearchParams(location.search); return !q.has('preset') && !q.has('act') && !q.has('init'); })()`)
	tb.waitRendered("init", "gaussian")
	q := tb.query()
	tb.open(q.Encode())
	tb.waitRendered("act", "tanh")
	tb.waitRendered("init", "gaussian")
}

// testSpanishEverywhere switches to Spanish and looks at every tab: no
// visible label, tab, button, heading, option or legend may still read as
// its English dictionary entry.
func (s *browserSuite) testSpanishEverywhere(t *testing.T) {
	tb := s.newTab(t)
	tb.open("")
	tb.set("Language", "es")
	tb.waitURL("lang", "es")
	findEnglish := `import('/static/i18n.js').then(({languages: {en, es}}) => {
		const english = new Map();
		for (const k of Object.keys(en)) if (en[k] !== es[k]) english.set(en[k].trim(), k);
		const visible = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
		const out = [];
		const scopes = ['.controls', '.tabs', '.top', '.plot-area:not([hidden])'];
		const sel = 'label, legend, button, summary, h1, h2, h3, th, dt, p, figcaption, [role="tab"], option:checked, .u-legend th';
		for (const scope of scopes) {
			for (const root of document.querySelectorAll(scope)) {
				for (const e of root.querySelectorAll(sel)) {
					if (e.tagName !== 'OPTION' && !visible(e)) continue;
					if (e.tagName === 'OPTION' && !visible(e.parentElement)) continue;
					const text = e.textContent.trim();
					if (english.has(text)) out.push(scope + ' ' + e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ': ' + text + ' (' + english.get(text) + ')');
				}
			}
		}
		for (const e of document.querySelectorAll('button, [role="tab"], select, input')) {
			if (!visible(e)) continue;
			const name = e.getAttribute('aria-label') || e.title || '';
			if (english.has(name.trim())) out.push('accessible name of ' + (e.id || e.tagName) + ': ' + name);
		}
		return out;
	})`
	for _, tabName := range []string{"Perfil", "Laboratorio de entrenamiento", "Bidireccional", "Mapa del gradiente"} {
		tb.click(tabName)
		tb.waitFor("the tab "+tabName, fmt.Sprintf(`document.querySelector('[role="tab"][aria-selected="true"]').textContent.trim() === %q`, tabName))
		if tabName == "Bidireccional" {
			tb.waitFor("the sensitivity plot", `!!document.getElementById('bidir-plot').dataset.plotted`)
		}
		if tabName == "Mapa del gradiente" {
			tb.waitFor("the map", `!!document.getElementById('map-canvas').dataset.rows`)
		}
		for _, m := range eval[[]string](tb, findEnglish) {
			t.Errorf("%s: English still visible: %s", tabName, m)
		}
		tb.screenshot("spanish-" + strings.ReplaceAll(strings.ToLower(tabName), " ", "-"))
	}
	// The presets' texts too.
	tb.set("Ejemplo guiado", "lstm-bias")
	tb.waitURL("preset", "lstm-bias")
	for _, m := range eval[[]string](tb, findEnglish) {
		t.Errorf("preset: English still visible: %s", m)
	}
	if got := tb.query().Get("lang"); got != "es" {
		t.Errorf("URL has lang=%q, want es", got)
	}
}

// testTraining starts a training, sees it stream a loss curve and a
// heatmap, measures how fast a profile control reacts while it runs, and
// stops it.
func (s *browserSuite) testTraining(t *testing.T) {
	tb := s.newTab(t)
	// Three runs side by side: three streams of progress for the page.
	tb.do(chromedp.Navigate(s.srv.URL + "/?tab=lab&task=recall&T=20&iterations=3000&cells=rnn,lstm,gru"))
	tb.waitFor("the lab", `document.getElementById('panel-lab').hidden === false && !!document.body.dataset.connected`)
	tb.waitFor("connected", `document.body.dataset.connected === 'true'`)
	// Long tasks (over 50 ms) on the page's main thread while it trains.
	eval[bool](tb, `(() => {
		window.gvLongTasks = [];
		new PerformanceObserver((l) => { for (const e of l.getEntries()) window.gvLongTasks.push(Math.round(e.duration), Math.round(e.startTime)); }).observe({type: 'longtask'});
		return true;
	})()`)
	startAt := eval[float64](tb, `performance.now()`)
	tb.click("Start")
	tb.waitForLong("progress", `Number(document.body.dataset.progress || 0) > 2 && Number(document.getElementById('lab-loss').dataset.points || 0) > 2`, 30*time.Second)
	if st := eval[string](tb, `document.body.dataset.train`); st != "running" {
		t.Fatalf("train state %q, want running", st)
	}
	// The heatmap gets coloured columns: count saturated pixels (viridis
	// is saturated; the frame, text and background are grey).
	tb.waitForLong("heatmap columns", `Number(document.querySelector('.heat-canvas')?.dataset.columns || 0) > 2`, 20*time.Second)
	coloured := eval[int](tb, `(() => {
		const c = document.querySelector('.heat-canvas');
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]) > 40) n++;
		return n;
	})()`)
	if coloured < 50 {
		t.Errorf("the heatmap has %d coloured pixels, want a drawn column", coloured)
	}
	time.Sleep(1500 * time.Millisecond) // let it stream on the visible lab tab
	tb.screenshot("lab-training")
	long := eval[[]float64](tb, `window.gvLongTasks`)
	progress := eval[int](tb, `Number(document.body.dataset.progress || 0)`)
	t.Logf("lab tab while training 3 runs: %d progress reports, long tasks on the main thread (duration, start ms; Start pressed at %.0f ms): %v", progress, startAt, long)

	// While it trains, the Profile tab's controls stay quick: from the
	// Gain slider's input event to the config leaving the page (gv-send),
	// and to the redrawn plot (gv-redraw).
	tb.click("Profile")
	tb.waitFor("the profile", `!!document.body.dataset.ready`)
	type timings struct {
		Send   []float64 `json:"send"`
		Redraw []float64 `json:"redraw"`
		Sync   []float64 `json:"sync"`
	}
	m := on[timings](tb, tb.controlByName("Gain"), `async function(n) {
		const rendered = () => JSON.parse(document.body.dataset.rendered).gain;
		performance.clearMeasures('gv-send');
		performance.clearMeasures('gv-redraw');
		const sync = [];
		for (let i = 1; i <= n; i++) {
			const want = Number((0.7 + i / 50).toFixed(2));
			this.value = String(want);
			const t0 = performance.now();
			this.dispatchEvent(new Event('input', {bubbles: true}));
			// The page's own state after the handler: the number box beside
			// the slider shows the new value.
			if (Number(document.getElementById('gain-num').value) === want) sync.push(performance.now() - t0);
			const start = performance.now();
			while (rendered() !== want) {
				if (performance.now() - start > 10000) throw new Error('no plot for gain ' + want);
				await new Promise((r) => requestAnimationFrame(r));
			}
		}
		const d = (name) => performance.getEntriesByName(name).map((m) => m.duration);
		return {send: d('gv-send'), redraw: d('gv-redraw'), sync};
	}`, 10)
	if len(m.Send) == 0 || len(m.Sync) != 10 {
		t.Fatalf("measured %d sends and %d label updates, want 10 each", len(m.Send), len(m.Sync))
	}
	still := eval[string](tb, `document.body.dataset.train`)
	t.Logf("while training (%s): input → control updated median %.2f ms (max %.2f); input → config sent median %.1f ms (max %.1f); input → redrawn profile median %.1f ms (max %.1f)",
		still, medianOf(m.Sync), slices.Max(m.Sync), medianOf(m.Send), slices.Max(m.Send), medianOf(m.Redraw), slices.Max(m.Redraw))

	// Back in the lab, Stop ends the training and nothing more arrives.
	tb.click("Training lab")
	before := eval[int](tb, `Number(document.body.dataset.progress || 0)`)
	if st := eval[string](tb, `document.body.dataset.train`); st != "running" {
		t.Logf("the training is %s already (%d reports); the machine is fast", st, before)
	}
	tb.stopTraining()
	if st := eval[string](tb, `document.body.dataset.train`); st == "running" {
		t.Fatalf("train state %q after Stop", st)
	}
	stopped := eval[int](tb, `Number(document.body.dataset.progress || 0)`)
	time.Sleep(700 * time.Millisecond)
	if after := eval[int](tb, `Number(document.body.dataset.progress || 0)`); after != stopped {
		t.Errorf("%d progress reports after the stop, want none", after-stopped)
	}
	if st := eval[string](tb, `document.body.dataset.train`); st != "stopped" && st != "finished" {
		t.Errorf("train state %q, want stopped", st)
	}
	if disabled := eval[bool](tb, `document.getElementById('train-stop').disabled`); !disabled {
		t.Errorf("Stop training is still enabled after the stop")
	}
	tb.screenshot("lab-stopped")
}

// testCompare runs the one-click comparison and sees a run of every model.
func (s *browserSuite) testCompare(t *testing.T) {
	tb := s.newTab(t)
	tb.do(chromedp.Navigate(s.srv.URL + "/?tab=lab&T=20&K=8&iterations=400&forgetBias=1"))
	tb.waitFor("connected", `document.body.dataset.connected === 'true'`)
	tb.click("Compare RNN · LSTM · GRU · attention")
	tb.waitURL("cells", "rnn,lstm,gru,attn")
	tb.waitForLong("four runs reporting", `document.querySelectorAll('#lab-tbody tr').length === 4 && [...document.querySelectorAll('#lab-tbody tr')].every((r) => r.children[1].textContent !== '—')`, 30*time.Second)
	cells := eval[[]string](tb, `[...document.querySelectorAll('#lab-tbody th')].map((e) => e.dataset.cell)`)
	if !slices.Equal(cells, []string{"rnn", "lstm", "gru", "attn"}) {
		t.Errorf("runs %v, want rnn, lstm, gru, attn", cells)
	}
	tb.screenshot("lab-compare")
	tb.stopTraining()

	// A reload reproduces the lab's settings (not the finished training).
	tb.set("Optimizer", "sgd")
	tb.waitURL("optimizer", "sgd")
	q := tb.query()
	tb.do(chromedp.Navigate(s.srv.URL + "/?" + q.Encode()))
	tb.waitFor("the lab after a reload", `document.getElementById('panel-lab').hidden === false`)
	got := eval[[]string](tb, `['optimizer', 'iterations', 'cell-rnn', 'cell-lstm', 'cell-gru', 'cell-attn'].map((id) => { const e = document.getElementById(id); return e.type === 'checkbox' ? String(e.checked) : e.value; })`)
	if want := []string{"sgd", "400", "true", "true", "true", "true"}; !slices.Equal(got, want) {
		t.Errorf("after a reload the lab shows %v, want %v", got, want)
	}
	if T := eval[string](tb, `document.getElementById('T-num').value`); T != "20" {
		t.Errorf("after a reload Sequence length is %s, want 20", T)
	}
}

// testBidirectional reads the plotted sensitivities: zero right of t for
// the one-directional model, non-zero for the bidirectional one.
func (s *browserSuite) testBidirectional(t *testing.T) {
	tb := s.newTab(t)
	tb.do(chromedp.Navigate(s.srv.URL + "/?tab=bidir&cell=lstm&T=40&outputStep=20"))
	tb.waitFor("the sensitivity plot", `!!document.getElementById('bidir-plot').dataset.plotted`)
	check := func(step int) {
		t.Helper()
		var raw struct {
			T   int   `json:"outputStep"`
			Uni []any `json:"unidirectional"`
			Bi  []any `json:"bidirectional"`
		}
		if err := json.Unmarshal([]byte(eval[string](tb, `document.getElementById('bidir-plot').dataset.plotted`)), &raw); err != nil {
			t.Fatal(err)
		}
		if raw.T != step || len(raw.Uni) != 40 || len(raw.Bi) != 40 {
			t.Fatalf("plotted t=%d with %d and %d points, want t=%d and 40 each", raw.T, len(raw.Uni), len(raw.Bi), step)
		}
		for k := 1; k <= 40; k++ {
			u, _ := raw.Uni[k-1].(float64)
			b, _ := raw.Bi[k-1].(float64)
			if k > step && u != 0 {
				t.Errorf("t=%d: one-directional ‖∂E_t/∂x_%d‖ = %v, want 0 right of t", step, k, raw.Uni[k-1])
			}
			if k <= step && !(u > 0) {
				t.Errorf("t=%d: one-directional ‖∂E_t/∂x_%d‖ = %v, want > 0 at or left of t", step, k, raw.Uni[k-1])
			}
			if !(b > 0) {
				t.Errorf("t=%d: bidirectional ‖∂E_t/∂x_%d‖ = %v, want > 0 on both sides", step, k, raw.Bi[k-1])
			}
		}
	}
	check(20)
	tb.screenshot("bidirectional")
	tb.set("Output step t", "30")
	tb.waitURL("outputStep", "30")
	tb.waitFor("the plot for t=30", `JSON.parse(document.getElementById('bidir-plot').dataset.plotted).outputStep === 30`)
	check(30)
}

// testGradientMap draws the map and reads it back from the canvas.
func (s *browserSuite) testGradientMap(t *testing.T) {
	tb := s.newTab(t)
	tb.do(chromedp.Navigate(s.srv.URL + "/?tab=map&loss=sum&T=100"))
	tb.waitFor("the map", `!!document.getElementById('map-canvas').dataset.rows`)
	if rows := eval[string](tb, `document.getElementById('map-canvas').dataset.rows`); rows != "100" {
		t.Errorf("%s rows, want one per output step (100)", rows)
	}
	// Above the diagonal (k > t) is blank, below it coloured.
	px := eval[[]int](tb, `(() => {
		const c = document.getElementById('map-canvas');
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		const sat = (x, y) => { const i = (Math.floor(y) * c.width + Math.floor(x)) * 4; return Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]); };
		let lower = 0, upper = 0;
		const w = c.width, h = c.height;
		for (let i = 0; i < 400; i++) {
			const u = 0.1 + 0.8 * Math.random(), v = 0.1 + 0.8 * Math.random();
			const x = w * (0.08 + 0.9 * u), y = h * (0.05 + 0.8 * v);
			if (u < v - 0.1 && sat(x, y) > 40) lower++;
			if (u > v + 0.1 && sat(x, y) > 40) upper++;
		}
		return [lower, upper];
	})()`)
	if px[0] < 20 || px[1] > 5 {
		t.Errorf("coloured samples below/above the diagonal %v, want many below and none above", px)
	}
	tb.screenshot("gradient-map")
}

// testSpectrum checks that the spectrum panel draws H eigenvalues and
// follows Gain.
func (s *browserSuite) testSpectrum(t *testing.T) {
	tb := s.newTab(t)
	tb.open("H=24")
	tb.waitFor("the spectrum", `document.getElementById('spec-plane').dataset.points === '24'`)
	outside := eval[string](tb, `document.getElementById('spec-plane').dataset.outside`)
	tb.set("Gain", "0.5")
	tb.waitRendered("gain", 0.5)
	if got := eval[string](tb, `document.getElementById('spec-plane').dataset.outside`); got != "0" {
		t.Errorf("at gain 0.5, %s eigenvalues outside the unit circle, want 0 (at gain 1: %s)", got, outside)
	}
	tb.set("Activation", "sigmoid")
	tb.waitRendered("act", "sigmoid")
	if r := eval[string](tb, `document.getElementById('spec-plane').dataset.radius`); r != "4" {
		t.Errorf("sigmoid: 1/γ circle radius %s, want 4", r)
	}
	tb.screenshot("spectrum-sigmoid")

	// The per-step factors come after the profile, only when drawn, and
	// follow every change while they are.
	if !eval[bool](tb, `document.getElementById('jacplot').hidden`) {
		t.Errorf("the per-step factor chart shows before its box is ticked")
	}
	tb.click("Per-step factor ‖J_k‖")
	tb.waitFor("the per-step factors", `!document.getElementById('jacplot').hidden && document.getElementById('jacplot').dataset.drawn === '{"gain":0.5,"steps":100}'`)
	tb.set("Gain", "0.7")
	tb.waitFor("the factors of the new gain", `document.getElementById('jacplot').dataset.drawn === '{"gain":0.7,"steps":100}'`)
	tb.screenshot("per-step-factor")
	tb.click("Per-step factor ‖J_k‖")

	// An LSTM has no spectrum panel, but shows its two paths.
	tb.set("Cell", "lstm")
	tb.waitRendered("cell", "lstm")
	if !eval[bool](tb, `document.getElementById('spectrum').hidden`) {
		t.Errorf("the spectrum panel shows for an LSTM")
	}
	legend := eval[string](tb, `document.getElementById('legend').innerText`)
	for _, want := range []string{"‖∂E/∂h_k‖", "‖∂E/∂c_k‖", "cell path", "σ(b_f)^(T−k)"} {
		if !strings.Contains(legend, want) {
			t.Errorf("LSTM legend %q lacks %q", legend, want)
		}
	}
	tb.screenshot("lstm-paths")
}
