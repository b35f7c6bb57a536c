package api_test

import (
	"strconv"
	"strings"

	"testing"

	"github.com/chromedp/chromedp"
)

// testAttention opens the tour's last step, self-attention beside a
// pinned tanh RNN at T = 200, and reads what the page says of it: a flat
// profile (‖∂E/∂s_1‖/‖∂E/∂s_T‖ well above the RNN's), "path length 1"
// in the readout, no spectrum theory; then the same in Spanish on a
// phone, and the readout's RNN wording once the cell is rnn again.
func (s *browserSuite) testAttention(t *testing.T) {
	tb := s.newTab(t)
	tb.open("preset=attention")
	tb.waitFor("attention and its pin drawn", `(() => { const p = JSON.parse(document.body.dataset.plotted || 'null');
		return p && p.tab === 'profile' && p.config && p.config.cell === 'attn' && p.config.T === 200 &&
			document.getElementById('ro-ratio').textContent !== '—' && document.getElementById('legend').innerText.includes('RNN'); })()`)
	ratio, err := strconv.ParseFloat(strings.TrimSpace(eval[string](tb, `document.getElementById('ro-ratio').textContent`)), 64)
	if err != nil || !(ratio > 0.01 && ratio < 1) {
		t.Errorf("attention's ‖∂E/∂s_1‖/‖∂E/∂s_T‖ reads %v (%v), want between 0.01 and 1", ratio, err)
	}
	if path := eval[string](tb, `document.getElementById('ro-path').textContent`); !strings.Contains(path, "path length 1 at every distance") {
		t.Errorf("readout path %q, want path length 1 at every distance", path)
	}
	if got := eval[string](tb, `document.getElementById('ro-sigma').textContent`); got != "—" {
		t.Errorf("σ_max reads %q for attention, want — (no recurrent matrix)", got)
	}
	if !eval[bool](tb, `document.getElementById('jac').disabled`) {
		t.Error("Per-step factor is enabled for attention, which has no per-step Jacobian")
	}
	if eval[bool](tb, `document.getElementById('act').disabled`) {
		t.Error("Activation is disabled for attention, whose states use it")
	}
	if pin := eval[string](tb, `document.getElementById('legend').innerText`); !strings.Contains(pin, "T=200") && strings.Contains(pin, "T=") {
		t.Errorf("legend %q: the pinned RNN should share T=200", pin)
	}
	tb.screenshot("attention")

	// Spanish, on a phone.
	tb.do(chromedp.EmulateViewport(390, 844))
	tb.set("Language", "es")
	tb.waitURL("lang", "es")
	if path := eval[string](tb, `document.getElementById('ro-path').textContent`); !strings.Contains(path, "camino de longitud 1") {
		t.Errorf("Spanish readout path %q, want «camino de longitud 1»", path)
	}
	if cell := eval[string](tb, `document.getElementById('cell').selectedOptions[0].textContent`); cell != "Autoatención" {
		t.Errorf("Spanish cell option %q, want Autoatención", cell)
	}
	tb.screenshot("attention-es-phone")

	// Back to the RNN: the readout names the product of Jacobians.
	tb.do(chromedp.EmulateViewport(laptopWidth, laptopHeight))
	tb.set("Idioma", "en")
	tb.set("Cell", "rnn")
	tb.waitFor("the RNN drawn", `JSON.parse(document.body.dataset.plotted).config.cell === 'rnn' && document.getElementById('ro-sigma').textContent !== '—'`)
	if path := eval[string](tb, `document.getElementById('ro-path').textContent`); !strings.Contains(path, "γ·σ_max") || strings.Contains(path, "{gs}") {
		t.Errorf("RNN readout path %q, want its bound in γ·σ_max with the number filled in", path)
	}
}
