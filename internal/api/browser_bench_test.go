package api_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"gradviz/internal/engine"
)

// BenchmarkBrowser measures, in headless Chromium against the server in
// process, the time from a Profile control's input event to the redrawn
// plot at T=1000 H=128, as the median of 20 changes, for every control
// and model; and the time from navigation to the first plot. It reports
// the page's own measurements (performance.measure), so a run is one
// iteration: go test -run '^$' -bench Browser -benchtime 1x.
func BenchmarkBrowser(b *testing.B) {
	suite := startBrowser(b)
	b.Run("first-plot", func(b *testing.B) {
		var firsts []float64
		for b.Loop() {
			tb := suite.newTab(b)
			firsts = append(firsts, float64(tb.open(""))/1e6)
		}
		b.ReportMetric(medianOf(firsts), "ms/first-plot")
		b.ReportMetric(0, "ns/op")
	})
	for _, model := range engine.Cells {
		cell := string(model)
		for _, c := range redrawCases(cell) {
			b.Run("cell="+cell+"/control="+c.field, func(b *testing.B) {
				tb := suite.newTab(b)
				tb.open(redrawQuery(cell, c))
				tb.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('advanced').open = true`))
				var m redrawTimings
				for b.Loop() {
					m = measureRedraws(tb, c)
				}
				b.ReportMetric(medianOf(m.Redraw), "ms/redraw")
				b.ReportMetric(medianOf(m.Elapsed), "ms/server-run")
				b.ReportMetric(medianOf(m.Draw), "ms/draw")
				b.ReportMetric(medianOf(m.Send), "ms/send")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
