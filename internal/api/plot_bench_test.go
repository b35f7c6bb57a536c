package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkPlotExport measures "Export PNG" (and SVG, CSV) of a slide:
// 1600×900, a tanh RNN at T=200 with three pinned runs (sigmoid, an LSTM
// with forget bias 1, a ReLU RNN with identity initialisation), the
// profiles computed and the figure drawn, as the handler does it.
func BenchmarkPlotExport(b *testing.B) {
	q := url.Values{"T": {"200"}, "w": {"1600"}, "h": {"900"}}
	for _, pin := range []string{"act=sigmoid&T=200", "cell=lstm&forgetBias=1&T=200", "act=relu&init=identity&T=200"} {
		q.Add("pin", pin)
	}
	// The most expensive image the limits allow: 4K, seven pins, every
	// curve zig-zagging over the plot at each of 2000 steps.
	zigzag := "T=2000&H=1&act=relu&gain=30&loss=sum&clip=step-norm&threshold=0.001"
	worst := url.Values{"w": {"3840"}, "h": {"2160"}}
	for i := range 8 {
		q, _ := url.ParseQuery(zigzag + "&seed=" + fmt.Sprint(i+1))
		if i == 0 {
			for k, v := range q {
				worst[k] = v
			}
			continue
		}
		worst.Add("pin", q.Encode())
	}
	b.Run("format=png/worst", func(b *testing.B) { benchmarkPlot(b, "png", worst) })
	for _, format := range []string{"png", "svg", "csv"} {
		b.Run("format="+format+"/pins=3", func(b *testing.B) { benchmarkPlot(b, format, q) })
	}
}

// benchmarkPlot times the plot handler for format on query q.
func benchmarkPlot(b *testing.B, format string, q url.Values) {
	h := plotHandlers()[format]
	req := httptest.NewRequest(http.MethodGet, "/api/plot."+format+"?"+q.Encode(), nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}
