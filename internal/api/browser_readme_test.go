package api_test

import (
	"bytes"
	"fmt"
	"image/gif"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// readmePins is the profile of README's first image and of its exported
// PNG: a sigmoid RNN beside a tanh RNN, an LSTM with forget bias 1 and a
// ReLU RNN with identity initialization.
const readmePins = "act=sigmoid" +
	"&pin=cell%3Drnn%26act%3Dtanh" +
	"&pin=cell%3Dlstm%26forgetBias%3D1" +
	"&pin=cell%3Drnn%26act%3Drelu%26init%3Didentity"

// TestReadmeImages draws the pictures in README.md: it opens the page at
// the state each one shows, saves the screenshot, and saves the PNG and
// GIF the server exports. It writes files, so it runs only when asked:
//
//	GRADVIZ_README_IMAGES=docs/images go test ./internal/api -run TestReadmeImages -count=1 -timeout 30m
//
// A relative folder is taken from the repository's root. The training
// lab's picture waits for a whole Compare run, which takes minutes.
func TestReadmeImages(t *testing.T) {
	dir := os.Getenv("GRADVIZ_README_IMAGES")
	if dir == "" {
		t.Skip("set GRADVIZ_README_IMAGES=docs/images to redraw README's images")
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir) // the test runs in internal/api
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startBrowser(t)
	ri := readmeImages{s: s, dir: dir}

	t.Run("page", func(t *testing.T) {
		tb := s.newTab(t)
		tb.do(chromedp.EmulateViewport(laptopWidth, 800))
		tb.open(readmePins)
		tb.waitPlotted("profile")
		ri.shot(tb, "page.png")

		// The same view as the server draws it.
		ri.export(tb, "export-png", "export.png")
	})
	// The backward pass, animated: a tanh RNN fades, an LSTM with the
	// lab's forget bias holds up.
	t.Run("backward pass", func(t *testing.T) {
		tb := s.newTab(t)
		tb.open("act=tanh&pin=cell%3Dlstm%26forgetBias%3D3")
		tb.waitPlotted("profile")
		ri.export(tb, "export-gif", "backward-pass.gif")
	})
	t.Run("bidirectional", func(t *testing.T) {
		tb := s.newTab(t)
		tb.do(chromedp.Navigate(s.srv.URL + "/?tab=bidir&cell=lstm&T=40&outputStep=20"))
		tb.waitFor("the sensitivity plot", `!!document.getElementById('bidir-plot').dataset.plotted`)
		tb.waitPlotted("bidir")
		ri.shot(tb, "bidirectional.png")
	})
	t.Run("present", func(t *testing.T) {
		tb := s.newTab(t)
		tb.do(chromedp.EmulateViewport(1024, 768))
		tb.open("present=1&preset=" + readmePresentStep)
		n := eval[int](tb, `document.querySelectorAll('#preset option[value]:not([value=""])').length`)
		tb.waitFor("the step's count", fmt.Sprintf(`document.getElementById('present-count')?.textContent === '%d / %d'`, readmePresentIndex, n))
		tb.waitPlotted("profile")
		ri.shot(tb, "present.png")
	})
	t.Run("lab", func(t *testing.T) {
		// Four models, 1000 iterations each: minutes on a busy machine.
		tb := s.newTabFor(t, 25*time.Minute)
		tb.open("")
		tb.click("Training lab")
		tb.waitURL("tab", "lab")
		tb.waitURL("T", "40")
		tb.click("Compare RNN · LSTM · GRU · attention")
		tb.waitURL("cells", "rnn,lstm,gru,attn")
		tb.waitForLong("the training to finish", `['finished', 'diverged', 'error', 'stopped'].includes(document.body.dataset.train)`, 20*time.Minute)
		if got := eval[string](tb, `document.body.dataset.train`); got != "finished" {
			t.Fatalf("the training ended %q, want finished", got)
		}
		ri.shot(tb, "lab.png")
		t.Logf("lab: %s", eval[string](tb, `document.getElementById('lab-summary').textContent`))
	})
}

// The tour's step in present.png, and its place in the tour: step-norm
// clipping, whose raw and clipped curves show most at a glance.
const (
	readmePresentStep  = "clip-profile"
	readmePresentIndex = 5
)

type readmeImages struct {
	s   *browserSuite
	dir string
}

// waitPlotted waits until the page has drawn the tab named.
func (tb *tab) waitPlotted(tabName string) {
	tb.t.Helper()
	tb.waitFor("the "+tabName+" plot", fmt.Sprintf(`!!document.body.dataset.plotted && JSON.parse(document.body.dataset.plotted).tab === %q`, tabName))
	// Two frames, so the canvas shows what was drawn.
	eval[chromedp.Void](tb, `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))`)
}

// shot saves a screenshot of the tab, recompressed: Chromium's PNGs are
// about a third larger than they need be.
func (ri readmeImages) shot(tb *tab, name string) {
	tb.t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		tb.t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		tb.t.Fatal(err)
	}
	ri.write(tb, name, out.Bytes())
	tb.t.Logf("%s: %dx%d", name, img.Bounds().Dx(), img.Bounds().Dy())
}

// export saves what the server sends for the export button's link.
func (ri readmeImages) export(tb *tab, button, name string) {
	tb.t.Helper()
	href := eval[string](tb, fmt.Sprintf(`document.getElementById(%q).dataset.href || ''`, button))
	if !strings.HasPrefix(href, "/api/") {
		tb.t.Fatalf("%s links to %q", button, href)
	}
	req, err := http.NewRequest(http.MethodGet, ri.s.srv.URL+href, nil)
	if err != nil {
		tb.t.Fatal(err)
	}
	// The caption's link to the view names the address README uses, not
	// the test server's port.
	req.Host = "localhost:8080"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.t.Fatalf("GET %s: %s: %s", href, resp.Status, body)
	}
	switch filepath.Ext(name) {
	case ".png":
		if _, err := png.Decode(bytes.NewReader(body)); err != nil {
			tb.t.Fatalf("GET %s: not a PNG: %v", href, err)
		}
	case ".gif":
		g, err := gif.DecodeAll(bytes.NewReader(body))
		if err != nil {
			tb.t.Fatalf("GET %s: not a GIF: %v", href, err)
		}
		tb.t.Logf("%s: %d frames", name, len(g.Image))
	}
	tb.t.Logf("%s from %s", name, href)
	ri.write(tb, name, body)
}

func (ri readmeImages) write(tb *tab, name string, data []byte) {
	tb.t.Helper()
	if err := os.WriteFile(filepath.Join(ri.dir, name), data, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("%s: %d KB", name, (len(data)+512)/1024)
}
