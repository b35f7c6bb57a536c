package api_test

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gradviz/internal/engine"
	"gradviz/internal/render"
)

// legendLine is one line of a plot's legend as the browser shows it: its
// text and the colour and style of its swatch, which uPlot draws from the
// series' own stroke and dash (plot.js's MARKERS).
type legendLine struct {
	Label string `json:"label"`
	Color string `json:"color"`
	Style string `json:"style"`
}

// legendLines reads the legend under the element with id legend, less the
// x axis' line.
func legendLines(tb *tab, legend string) []legendLine {
	tb.t.Helper()
	return eval[[]legendLine](tb, fmt.Sprintf(`[...document.querySelectorAll('#%s .u-series')].slice(1).map((e) => {
		const m = getComputedStyle(e.querySelector('.u-marker'));
		return { label: e.querySelector('.u-label').textContent.trim(), color: m.borderTopColor, style: m.borderTopStyle };
	})`, legend))
}

// cssColor writes #RRGGBB at an opacity as the browser reports a
// computed colour.
func cssColor(hex string, opacity float64) string {
	v, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if opacity == 1 {
		return fmt.Sprintf("rgb(%d, %d, %d)", v>>16, (v>>8)&255, v&255)
	}
	return fmt.Sprintf("rgba(%d, %d, %d, %.2f)", v>>16, (v>>8)&255, v&255, opacity)
}

// sameColor compares two computed colours, opacity to two decimals.
func sameColor(a, b string) bool {
	parse := func(c string) (v [4]float64) {
		v[3] = 1
		c = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(c, "rgba("), "rgb("), ")")
		for i, f := range strings.Split(c, ",") {
			if i < 4 {
				v[i], _ = strconv.ParseFloat(strings.TrimSpace(f), 64)
			}
		}
		return v
	}
	x, y := parse(a), parse(b)
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && math.Abs(x[3]-y[3]) < 0.006
}

// wantLegend is what the series table says the legend of a chart shows
// for the current run cur and the pins: each line's label (a pin's, its
// "pin: " prefix and what follows its name), colour and swatch style.
func wantLegend(axis render.Axis, cur engine.Settings, pins []engine.Settings, lang render.Lang) []legendLine {
	table := render.Table()
	style := func(s render.Series) string {
		if len(s.Dash) > 0 {
			return "dashed"
		}
		return "solid"
	}
	var out []legendLine
	for _, s := range table.Series {
		if s.Axis != axis || !s.When.Holds(cur) || s.Show == render.ShowOverflow {
			continue
		}
		label, _ := s.Text(cur, lang)
		color := cssColor(s.Color, 1)
		if s.Run {
			color = cssColor(table.Run, 1-s.Tint)
		}
		out = append(out, legendLine{Label: label, Color: color, Style: style(s)})
	}
	for i, p := range pins {
		for _, s := range table.Series {
			if !s.Run || s.PinWidth == 0 || s.Axis != axis || !s.When.Holds(p) {
				continue
			}
			_, of := s.Text(p, lang)
			out = append(out, legendLine{Label: of, Color: cssColor(table.Pins[i%len(table.Pins)], 1-s.Tint), Style: style(s)})
		}
	}
	return out
}

// checkLegend compares a legend with the table's; pins' labels are
// compared by their ends, as the page names the pin.
func checkLegend(t *testing.T, what string, got, want []legendLine, pinPrefix string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: legend has %d lines %q, the table says %d: %q", what, len(got), got, len(want), want)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		labelOK := g.Label == w.Label
		if strings.HasPrefix(g.Label, pinPrefix) {
			labelOK = strings.HasSuffix(g.Label, w.Label)
		}
		if !labelOK || !sameColor(g.Color, w.Color) || g.Style != w.Style {
			t.Errorf("%s: legend line %d is %+v, the table says %+v", what, i, g, w)
		}
	}
}

// testPalette: the page draws every series and pin in the colour, dash
// and order of the series table, the one the exported PNG is drawn from.
func (s *browserSuite) testPalette(t *testing.T) {
	tb := s.newTab(t)
	clipped := func(set engine.Settings) engine.Settings {
		set.Gain, set.Clip = 3, engine.ClipStepNorm
		return set
	}
	cur := clipped(engine.Defaults())
	cur.Act = engine.ActSigmoid
	pinTanh := clipped(engine.Defaults())
	pinRelu := engine.Defaults()
	pinRelu.Act, pinRelu.Init = engine.ActReLU, engine.InitIdentity
	tb.open("act=sigmoid&gain=3&clip=step-norm&jac=1" +
		"&pin=" + url.QueryEscape("cell=rnn&gain=3&clip=step-norm") +
		"&pin=" + url.QueryEscape("cell=rnn&act=relu&init=identity"))
	tb.waitFor("both pins", `document.body.dataset.renderedPins === '2'`)
	tb.waitFor("the per-step factors", `!document.getElementById('jacplot').hidden && !!document.getElementById('jacplot').dataset.drawn`)
	pins := []engine.Settings{pinTanh, pinRelu}
	checkLegend(t, "rnn with two pins", legendLines(tb, "legend"), wantLegend(render.AxisMain, cur, pins, render.English), "pin: ")
	checkLegend(t, "per-step factor chart", legendLines(tb, "jaclegend"), wantLegend(render.AxisFactor, cur, nil, render.English), "pin: ")
	tb.screenshot("palette-rnn-pins")

	lstm := engine.Defaults()
	lstm.Cell, lstm.ForgetBias = engine.CellLSTM, 1
	tb.open("cell=lstm&forgetBias=1&lang=es&pin=" + url.QueryEscape("cell=lstm"))
	tb.waitFor("the pin", `document.body.dataset.renderedPins === '1'`)
	pin := engine.Defaults()
	pin.Cell = engine.CellLSTM
	got := legendLines(tb, "legend")
	checkLegend(t, "lstm in Spanish", got, wantLegend(render.AxisMain, lstm, []engine.Settings{pin}, render.Spanish), "fijada: ")
	// The cell path is the black line the LSTM preset's text speaks of.
	if !slices.ContainsFunc(got, func(l legendLine) bool {
		return strings.HasPrefix(l.Label, "camino de la celda") && sameColor(l.Color, "rgb(0, 0, 0)")
	}) {
		t.Errorf("no black cell path in the LSTM legend %q", got)
	}
	tb.screenshot("palette-lstm")
}
