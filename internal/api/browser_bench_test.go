package api_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"gradviz/internal/api"
	"gradviz/internal/engine"
)

// BenchmarkBrowser measures, in headless Chromium against the server in
// process, the time from a Profile control's input event to the redrawn
// plot at T=1000 H=128, as the median of 20 changes, for every control
// and model; and the time from navigation to the first plot. It reports
// the page's own measurements (performance.measure), so a run is one
// iteration: go test -run '^$' -bench Browser -benchtime 1x.
//
// The server keeps passes (Config.PassCache), so Clipping and Threshold
// changes and the two-valued controls after their first change are
// served from kept passes. The sub-benchmarks under kept=no measure
// those controls again on a server that keeps none: every change there
// computes its profile from nothing.
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
	benchmarkRedraws(b, suite, "", func(string) bool { return true })
	cold := startBrowser(b, func(c *api.Config) { c.PassCache = 0 })
	benchmarkRedraws(b, cold, "kept=no/", keptControl)
}

// keptControl reports whether kept passes serve a control's changes in
// BenchmarkBrowser: the clipping controls, and those whose 20 changes
// alternate between two values.
func keptControl(field string) bool {
	switch field {
	case "clip", "threshold", "act", "init", "loss":
		return true
	}
	return false
}

// benchmarkRedraws runs measureRedraws for every model and every control
// that want accepts, on suite, under prefix.
func benchmarkRedraws(b *testing.B, suite *browserSuite, prefix string, want func(field string) bool) {
	for _, model := range engine.Cells {
		cell := string(model)
		for _, c := range redrawCases(cell) {
			if !want(c.field) {
				continue
			}
			b.Run(prefix+"cell="+cell+"/control="+c.field, func(b *testing.B) {
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
