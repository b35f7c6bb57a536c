package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/chromedp"

	"gradviz/internal/api"
)

// checkEmbedLayout lists what is wrong with the embedded page: chrome
// that should be gone, key controls missing, others shown, the plot cut
// or the page scrolling.
const checkEmbedLayout = `(() => {
	const problems = [];
	const vw = innerWidth, vh = innerHeight;
	const shown = (el) => el && el.offsetParent !== null && el.getBoundingClientRect().height > 0;
	if (!document.documentElement.classList.contains('embed')) problems.push('not embedded');
	for (const sel of ['.top', '.tabs', '.preset-box', '.toolbar', '.readout', '.explain', '#present-side', '#H', '#init', '#clip', '#seed', '#advanced'])
		if (shown(document.querySelector(sel))) problems.push(sel + ' is shown');
	for (const id of ['cell', 'act', 'T', 'gain', 'plot']) {
		const el = document.getElementById(id);
		if (!shown(el)) { problems.push('#' + id + ' not shown'); continue; }
		const r = el.getBoundingClientRect();
		if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5)
			problems.push('#' + id + ' outside the frame: ' + [r.left, r.top, r.right, r.bottom].map(Math.round));
	}
	const se = document.scrollingElement;
	if (se.scrollHeight > vh + 1 || se.scrollWidth > vw + 1) problems.push('the page scrolls: ' + se.scrollWidth + '×' + se.scrollHeight);
	const plot = document.getElementById('plot').getBoundingClientRect();
	for (const id of ['cell', 'act', 'T', 'gain']) {
		const r = document.getElementById(id).getBoundingClientRect();
		if (r.bottom > plot.top + 0.5) problems.push('#' + id + ' overlaps the plot');
	}
	return { problems, plotShare: (plot.width * plot.height) / (vw * vh) };
})()`

type embedLayout struct {
	Problems  []string `json:"problems"`
	PlotShare float64  `json:"plotShare"`
}

// TestBrowserEmbed: ?embed=1 is the plot and its key controls, filling
// frames of common sizes; a page on another origin shows it in an
// iframe when -frame-ancestors names that origin, and the browser
// refuses the frame when not.
func TestBrowserEmbed(t *testing.T) {
	s := startBrowser(t)
	for _, size := range [][2]int64{{800, 500}, {480, 360}} {
		t.Run(fmt.Sprintf("layout/%dx%d", size[0], size[1]), func(t *testing.T) {
			tb := s.newTab(t)
			tb.do(chromedp.EmulateViewport(size[0], size[1]))
			tb.open("embed=1&lang=es")
			got := eval[embedLayout](tb, checkEmbedLayout)
			for _, p := range got.Problems {
				t.Error(p)
			}
			if got.PlotShare < 0.35 {
				t.Errorf("the plot takes %.0f%% of the frame, want most of it", 100*got.PlotShare)
			}
			t.Logf("plot %.0f%% of the frame", 100*got.PlotShare)
			tb.checkPlotFits()
			// The key controls work, and the URL stays embedded.
			tb.set("Ganancia", "1.5")
			tb.waitRendered("gain", 1.5)
			tb.waitURL("embed", "1")
			tb.screenshot(fmt.Sprintf("embed-%dx%d-es", size[0], size[1]))
		})
	}

	// A course page on another origin, framing the gradviz at *gradviz.
	// Two servers on 127.0.0.1 with different ports are different
	// origins.
	course := func(gradviz **httptest.Server) *httptest.Server {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><title>course</title><h1>Week 5</h1><iframe id="f" src="%s/?embed=1&amp;T=50" width="800" height="500" title="gradviz"></iframe>`, (*gradviz).URL)
		}))
		t.Cleanup(ts.Close)
		return ts
	}
	gradviz := func(frameAncestors []string) *httptest.Server {
		cfg := api.DefaultConfig()
		cfg.FrameAncestors = frameAncestors
		ts := httptest.NewServer(api.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg))
		t.Cleanup(ts.Close)
		return ts
	}

	t.Run("iframe/allowed", func(t *testing.T) {
		// The course's origin is known once it listens; gradviz starts
		// after it, allowing it.
		var gv *httptest.Server
		host := course(&gv)
		gv = gradviz([]string{host.URL})
		tb := s.newTab(t)
		tb.do(chromedp.Navigate(host.URL + "/"))
		frame := waitFrame(t, tb.ctx, func(f frameState) bool { return f.body["data-plotted"] != "" })
		if !strings.HasPrefix(frame.url, gv.URL) || !strings.Contains(frame.html["class"], "embed") {
			t.Errorf("frame at %q with <html class=%q>, want gradviz embedded", frame.url, frame.html["class"])
		}
		if !strings.Contains(frame.body["data-plotted"], `"tab":"profile"`) {
			t.Errorf("frame plotted %q, want the profile", frame.body["data-plotted"])
		}
		tb.screenshot("embed-iframe-allowed")
	})

	for name, allowed := range map[string][]string{"refused/default": nil, "refused/another origin": {"https://moodle.example.org"}} {
		t.Run("iframe/"+name, func(t *testing.T) {
			gv := gradviz(allowed)
			host := course(&gv)
			// The browser reports the refusal on the console, which a test
			// tab counts as a failure; this tab does not watch it.
			ctx, cancel := chromedp.NewContext(s.ctx)
			defer cancel()
			ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
			defer cancelTimeout()
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(1024, 768), chromedp.Navigate(host.URL+"/")); err != nil {
				t.Fatal(err)
			}
			frame := waitFrame(t, ctx, func(f frameState) bool {
				return strings.HasPrefix(f.url, "chrome-error:") || f.body["data-ready"] != ""
			})
			if !strings.HasPrefix(frame.url, "chrome-error:") || frame.body["data-ready"] != "" {
				t.Errorf("frame at %q (body %v), want the browser's refusal", frame.url, frame.body)
			}
		})
	}
}

// frameState is what the DOM says of the page's first iframe.
type frameState struct {
	url        string
	html, body map[string]string
}

// waitFrame polls the page's DOM, iframes included, until the first
// iframe's document meets done.
func waitFrame(t *testing.T, ctx context.Context, done func(frameState) bool) frameState {
	t.Helper()
	var last frameState
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		depth, pierce := int64(-1), true
		doc, err := chromedp.Call(ctx, dom.GetDocument, dom.GetDocumentParams{Depth: &depth, Pierce: &pierce})
		if err != nil {
			t.Fatal(err)
		}
		if f := findNode(doc.Root, "IFRAME"); f != nil && f.ContentDocument != nil {
			last = frameState{url: f.ContentDocument.DocumentURL, html: map[string]string{}, body: map[string]string{}}
			if h := findNode(f.ContentDocument, "HTML"); h != nil {
				last.html = attrs(h)
				if b := findNode(h, "BODY"); b != nil {
					last.body = attrs(b)
				}
			}
			if done(last) {
				return last
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the frame never got there: last at %q, body %v", last.url, last.body)
	return last
}

func findNode(n *cdp.Node, name string) *cdp.Node {
	if n == nil {
		return nil
	}
	if n.NodeName == name {
		return n
	}
	for _, c := range n.Children {
		if f := findNode(c, name); f != nil {
			return f
		}
	}
	return nil
}

func attrs(n *cdp.Node) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(n.Attributes); i += 2 {
		out[n.Attributes[i]] = n.Attributes[i+1]
	}
	return out
}
