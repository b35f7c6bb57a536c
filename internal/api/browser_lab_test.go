package api_test

import (
	"slices"
	"strings"

	"github.com/chromedp/chromedp"
	"testing"
	"time"
)

// TestBrowserLab runs the training lab's state checks in a browser of
// their own.
func TestBrowserLab(t *testing.T) {
	b := startBrowser(t)
	t.Run("lab state", b.testLabState)
	t.Run("compare teaches", b.testCompareTeaches)
}

// testCompareTeaches presses Compare on the lab's defaults, at 1280×800
// where it once taught the opposite (the RNN learning, the gated cells at
// chance): now the LSTM and the GRU learn recall and the RNN stays at
// chance. It trains the defaults' first 300 iterations, which the engine's
// TestDefaultsTeach shows are enough on this seed, so it is not slow
// under -race.
func (s *browserSuite) testCompareTeaches(t *testing.T) {
	tb := s.newTabFor(t, 600*time.Second)
	tb.do(chromedp.EmulateViewport(1280, 800))
	tb.open("iterations=300")
	tb.click("Training lab")
	tb.waitURL("tab", "lab")
	tb.waitURL("iterations", "300")
	tb.waitFor("the lab's own model", `document.getElementById('T-num').value === '40' && document.getElementById('K').value === '8' && document.getElementById('forgetBias').value === '3'`)
	tb.click("Compare RNN · LSTM · GRU · attention")
	if eval[bool](tb, `document.getElementById('forgetBias-field').hidden`) {
		t.Errorf("the forget bias is hidden during Compare")
	}
	tb.waitForLong("the comparison to finish", `document.body.dataset.train === 'finished'`, 400*time.Second)
	acc := eval[map[string]float64](tb, `Object.fromEntries([...document.querySelectorAll('#lab-tbody tr')].map((r) => [r.children[0].dataset.cell, Number(r.children[3].textContent)]))`)
	t.Logf("accuracy after 300 iterations: %v", acc)
	for _, cell := range []string{"lstm", "gru"} {
		if !(acc[cell] >= 0.9) {
			t.Errorf("%s accuracy %v after Compare on the defaults, want at least 0.9", cell, acc[cell])
		}
	}
	if !(acc["rnn"] <= 0.25) {
		t.Errorf("RNN accuracy %v after Compare on the defaults, want chance (1/8), at most 0.25", acc["rnn"])
	}
	tb.screenshot("lab-compare-teaches")
}

// testLabState: the lab opened on the page's defaults takes its own model
// (on which Compare teaches), shows the forget bias whenever a gated cell
// is among the trained ones, keeps every one of its settings across a
// reload, and exports its run as JSON.
func (s *browserSuite) testLabState(t *testing.T) {
	tb := s.newTab(t)
	tb.open("")
	tb.click("Training lab")
	tb.waitURL("tab", "lab")
	for name, want := range map[string]string{"T": "40", "K": "8", "gain": "0.8", "forgetBias": "3"} {
		tb.waitURL(name, want)
	}
	hidden := func() bool { return eval[bool](tb, `document.getElementById('forgetBias-field').hidden`) }
	// One RNN: no forget gate anywhere.
	if !hidden() {
		t.Errorf("the forget bias is shown while the lab trains an RNN only")
	}
	// Cell stays RNN; an LSTM among the runs shows the forget bias.
	tb.click("LSTM")
	tb.waitURL("cells", "rnn,lstm")
	if hidden() {
		t.Errorf("the forget bias is hidden while the lab trains an LSTM (Cell RNN)")
	}
	tb.click("LSTM")
	tb.waitFor("the lab's runs back to the Cell's", `!new URLSearchParams(location.search).has('cells')`)
	if !hidden() {
		t.Errorf("the forget bias is still shown after the LSTM left the runs")
	}
	tb.click("Compare RNN · LSTM · GRU · attention")
	tb.waitURL("cells", "rnn,lstm,gru,attn")
	if hidden() {
		t.Errorf("the forget bias is hidden during Compare")
	}
	// Every model the lab can train is drawn in a colour of its own.
	colours := eval[[]string](tb, `import('/static/lab.js').then((m) => [...document.querySelectorAll('input[id^="cell-"][type=checkbox]')].map((e) => e.value + ' ' + (m.CELL_COLORS[e.value] || 'none')))`)
	if len(colours) != 4 {
		t.Errorf("the lab offers %d cells (%v), want 4", len(colours), colours)
	}
	seen := map[string]bool{}
	for _, c := range colours {
		cell, colour, _ := strings.Cut(c, " ")
		if colour == "none" || seen[colour] {
			t.Errorf("the lab draws %s in %s: every cell needs a colour of its own (%v)", cell, colour, colours)
		}
		seen[colour] = true
	}
	tb.stopTraining()

	// Every lab setting through its control, then a reload.
	tb.set("Task", "adding")
	tb.set("Optimizer", "sgd")
	tb.set("Learning rate", "0.05")
	tb.set("Batch", "16")
	tb.set("Iterations", "30")
	tb.set("Right chart", "grad")
	tb.set("Forget bias", "2.5")
	tb.click("Self-attention")
	tb.waitURL("cells", "rnn,lstm,gru")
	tb.waitURL("forgetBias", "2.5")
	tb.waitURL("chart", "grad")
	q := tb.query()
	// In a tab of its own, as a link opened later would be.
	tb = s.newTab(t)
	tb.do(chromedp.Navigate(s.srv.URL + "/?" + q.Encode()))
	tb.waitFor("the lab after a reload", `document.getElementById('panel-lab').hidden === false && document.body.dataset.connected === 'true'`)
	ids := []string{"task", "optimizer", "lr", "batch", "iterations", "lab-chart", "forgetBias", "T-num", "K", "cell-rnn", "cell-lstm", "cell-gru", "cell-attn"}
	got := eval[[]string](tb, `['`+joinIDs(ids)+`'].map((id) => { const e = document.getElementById(id); return e.type === 'checkbox' ? String(e.checked) : e.value; })`)
	want := []string{"adding", "sgd", "0.05", "16", "30", "grad", "2.5", "40", "8", "true", "true", "true", "false"}
	if !slices.Equal(got, want) {
		t.Errorf("after a reload the lab shows\n%v for\n%v, want\n%v", got, ids, want)
	}
	if hidden() {
		t.Errorf("after a reload the forget bias is hidden, with an LSTM and a GRU among the runs")
	}

	// The run as JSON: the server trains it again and the page saves it.
	tb.click("Export run (JSON)")
	tb.waitForLong("the JSON export", `document.body.dataset.exported === 'json' || !!document.body.dataset.exportError`, 60*time.Second)
	if e := eval[string](tb, `document.body.dataset.exportError || ''`); e != "" {
		t.Errorf("the export failed: %s", e)
	}
	tb.screenshot("lab-state")
}

func joinIDs(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += "','"
		}
		out += id
	}
	return out
}
