package api_test

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gradviz/web"
)

// TestPresentUsesTheTourOnly: present mode reaches the guided tour only
// through tour.js's small API, so tour.js can be rewritten without it.
func TestPresentUsesTheTourOnly(t *testing.T) {
	src, err := fs.ReadFile(web.Static(), "present.js")
	if err != nil {
		t.Fatal(err)
	}
	imports := regexp.MustCompile(`(?m)^import .* from '([^']+)';$`).FindAllStringSubmatch(string(src), -1)
	var from []string
	for _, m := range imports {
		from = append(from, m[1])
	}
	if strings.Join(from, " ") != "./i18n.js ./tour.js" {
		t.Errorf("present.js imports %v, want ./i18n.js and ./tour.js only", from)
	}
	for _, bad := range []string{"presets", "PRESETS", "preset.", "'preset'", "#preset"} {
		if strings.Contains(string(src), bad) {
			t.Errorf("present.js mentions %q: it should know the tour only through tour.js", bad)
		}
	}
}

// presentLayout is what the layout check measures in present mode.
type presentLayout struct {
	Problems  []string `json:"problems"`
	PlotShare float64  `json:"plotShare"` // the plot's panel, of the viewport's area
	TextPx    float64  `json:"textPx"`    // the tour text's font size
	Count     string   `json:"count"`
}

// checkPresentLayout measures present mode: the chrome is gone, the
// panel and the tour's side are inside the viewport and apart, and the
// side's parts do not overlap.
const checkPresentLayout = `(() => {
	const problems = [];
	const vw = innerWidth, vh = innerHeight;
	const rect = (el) => el.getBoundingClientRect();
	const shown = (el) => el && el.offsetParent !== null && rect(el).width > 0 && rect(el).height > 0;
	const inside = (name, r) => {
		if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5)
			problems.push(name + ' outside the viewport: ' + [r.left, r.top, r.right, r.bottom].map(Math.round));
	};
	const apart = (a, ra, b, rb) => {
		const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
		const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
		if (x > 0.5 && y > 0.5) problems.push(a + ' overlaps ' + b + ' by ' + Math.round(x) + '×' + Math.round(y));
	};
	if (!document.documentElement.classList.contains('present')) problems.push('not in present mode');
	for (const sel of ['.top', '.controls', '.tabs']) {
		const el = document.querySelector(sel);
		if (shown(el)) problems.push(sel + ' is shown');
	}
	const panel = [...document.querySelectorAll('.work > .panel')].find((p) => !p.hidden);
	const side = document.getElementById('present-side');
	if (!shown(panel)) problems.push('no panel shown');
	if (!shown(side)) problems.push('no tour text shown');
	if (problems.length) return { problems, plotShare: 0, textPx: 0, count: '' };
	inside('panel', rect(panel));
	inside('tour text', rect(side));
	apart('panel', rect(panel), 'tour text', rect(side));
	const parts = ['present-count', 'present-name', 'present-text', 'present-prev', 'present-next', 'present-exit'].map((id) => document.getElementById(id));
	for (const el of parts) {
		if (!shown(el)) { problems.push('#' + el.id + ' not shown'); continue; }
		const r = rect(el), s = rect(side);
		if (r.left < s.left - 0.5 || r.right > s.right + 0.5 || r.top < s.top - 0.5 || r.bottom > s.bottom + 0.5)
			problems.push('#' + el.id + ' sticks out of the tour text');
	}
	for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++)
		apart('#' + parts[i].id, rect(parts[i]), '#' + parts[j].id, rect(parts[j]));
	// The panel's own parts: nothing sticks out of it, sideways.
	for (const el of panel.querySelectorAll('canvas, .plot, .chart, .legend, h2')) {
		if (!shown(el)) continue;
		const r = rect(el), p = rect(panel);
		if (r.right > p.right + 1 || r.left < p.left - 1 || r.bottom > p.bottom + 1)
			problems.push((el.id || el.className) + ' sticks out of the panel');
	}
	// The plot, its legend and the spectrum beside it stay apart.
	const own = ['plot', 'legend', 'spectrum', 'lab-loss', 'lab-side', 'bidir-plot', 'map-canvas'].map((id) => document.getElementById(id)).filter((el) => shown(el) && panel.contains(el));
	for (let i = 0; i < own.length; i++) for (let j = i + 1; j < own.length; j++)
		apart('#' + own[i].id, rect(own[i]), '#' + own[j].id, rect(own[j]));
	// The text's box holds whole lines: a page never shows half a line.
	const tx = document.getElementById('present-text'), lh = parseFloat(getComputedStyle(tx).lineHeight);
	if (Math.abs(tx.clientHeight / lh - Math.round(tx.clientHeight / lh)) > 0.05) problems.push('the text box is ' + (tx.clientHeight / lh).toFixed(2) + ' lines high');
	const more = document.getElementById('present-more');
	if ((tx.scrollTop + tx.clientHeight < tx.scrollHeight - 2) !== shown(more)) problems.push('the ▼ mark does not say whether more text follows');
	const title = document.getElementById('present-name');
	if (title.scrollWidth > title.clientWidth + 1) problems.push('the step title is cut');
	const p = rect(panel);
	const text = document.querySelector('#present-text p');
	return {
		problems,
		plotShare: (p.width * p.height) / (vw * vh),
		textPx: text ? parseFloat(getComputedStyle(text).fontSize) : 0,
		count: document.getElementById('present-count').textContent,
	};
})()`

// TestBrowserPresent: present mode from ?present=1 at a projector's
// sizes, in both languages, and its keys.
func TestBrowserPresent(t *testing.T) {
	s := startBrowser(t)
	for _, size := range [][2]int64{{1024, 768}, {1920, 1080}} {
		for _, lang := range []string{"en", "es"} {
			name := fmt.Sprintf("layout/%dx%d/%s", size[0], size[1], lang)
			t.Run(name, func(t *testing.T) {
				tb := s.newTab(t)
				tb.do(chromedp.EmulateViewport(size[0], size[1]))
				q := "present=1"
				if lang == "es" {
					q += "&lang=es"
				}
				tb.open(q)
				n := eval[int](tb, `document.querySelectorAll('#preset option[value]:not([value=""])').length`)
				if n < 2 {
					t.Fatalf("the tour has %d steps, want several", n)
				}
				tb.waitFor("step 1 shown", fmt.Sprintf(`document.getElementById('present-count')?.textContent === '1 / %d'`, n))
				tb.waitFor("step 1 plotted", `JSON.parse(document.body.dataset.rendered || '{}').T === 3`) // the BPTT example
				for _, step := range []int{0, 4, 5, 9, 10} {                                               // profiles, a training, the bidirectional view, the gradient map
					if step > 0 {
						tb.do(chromedp.KeyEvent(kb.End)) // not a present key: nothing moves
						// → turns a long text's pages before it goes on.
						want := fmt.Sprintf("%d / %d", step+1, n)
						for range 40 {
							if eval[string](tb, `document.getElementById('present-count').textContent`) == want {
								break
							}
							tb.do(chromedp.KeyEvent(kb.ArrowRight))
						}
						tb.waitFor(fmt.Sprintf("step %d", step+1), fmt.Sprintf(`document.getElementById('present-count').textContent === %q`, want))
						tb.waitFor("its plot", `(() => {
							const tab = document.querySelector('.work > .panel:not([hidden])').id.replace('panel-', '');
							if (tab === 'lab') return Number(document.body.dataset.lossPoints || 0) > 0; // a training reports
							return !!document.body.dataset.plotted && JSON.parse(document.body.dataset.plotted).tab === tab;
						})()`)
					}
					got := eval[presentLayout](tb, checkPresentLayout)
					for _, p := range got.Problems {
						t.Errorf("step %d: %s", step+1, p)
					}
					if got.PlotShare < 0.6 {
						t.Errorf("step %d: the plot takes %.0f%% of the screen, want at least 60%%", step+1, 100*got.PlotShare)
					}
					if got.TextPx < 24 {
						t.Errorf("step %d: tour text %.1f px, want at least 24 px for a projector", step+1, got.TextPx)
					}
					t.Logf("step %d: plot %.0f%% of the screen, text %.1f px", step+1, 100*got.PlotShare, got.TextPx)
					tb.screenshot(fmt.Sprintf("present-%dx%d-%s-step%d", size[0], size[1], lang, step+1))
				}
				// Every step's text in the side, measured without applying
				// the steps (some start a training run).
				over := eval[[]string](tb, `import('/static/tour.js').then(async (tour) => {
					const frame = () => new Promise((r) => requestAnimationFrame(r));
					const name = document.getElementById('present-name'), text = document.getElementById('present-text');
					const over = [];
					for (const step of tour.tourSteps()) {
						name.textContent = tour.say(step.title);
						text.replaceChildren(...tour.say(step.text).split('\n').map((line) => { const p = document.createElement('p'); p.textContent = line; return p; }));
						document.getElementById('present-more').hidden = true;
						await frame(); await frame(); // the box fits the title's new height
						if (text.scrollHeight > text.clientHeight + 1) over.push(step.id + ' (' + Math.round(100 * text.scrollHeight / text.clientHeight) + '%)');
						if (name.scrollWidth > name.clientWidth + 1) over.push(step.id + ': title cut');
					}
					document.dispatchEvent(new CustomEvent('tour-step', { detail: {} }));
					return over;
				})`)
				if len(over) > 0 {
					// At 24 px a 4:3 screen has room for about 550
					// characters beside the plot; the rest is a page away.
					t.Logf("%d of %d steps' text takes more than one page: %v", len(over), n, over)
				}
				if size[0] >= 1920 && len(over) > 0 {
					t.Errorf("at %dx%d every step's text should fit; these do not: %v", size[0], size[1], over)
				}
				if lang == "es" && !strings.Contains(eval[string](tb, `document.getElementById('present-exit').title`), "Salir") {
					t.Errorf("the exit button is not in Spanish")
				}
			})
		}
	}

	// At 1920×1080 every step's text fits its box (checked above), so
	// each key moves a whole step.
	t.Run("keys", func(t *testing.T) {
		tb := s.newTab(t)
		tb.do(chromedp.EmulateViewport(1920, 1080))
		// From the second step: the first, the BPTT example, carries its
		// equations and takes more than one page.
		tb.open("present=1&preset=sigmoid")
		ids := eval[[]string](tb, `[...document.querySelectorAll('#preset option')].map((o) => o.value).filter(Boolean)`)
		n := len(ids)
		at := func(i int) {
			t.Helper()
			tb.waitFor(fmt.Sprintf("step %d of %d", i+1, n), fmt.Sprintf(`document.getElementById('present-count').textContent === '%d / %d'`, i+1, n))
			tb.waitURL("preset", ids[i])
			tb.waitURL("present", "1")
		}
		if ids[1] != "sigmoid" || ids[2] != "tanh-small" || ids[3] != "explode" {
			t.Fatalf("the tour starts %v; this test expects bptt, sigmoid, tanh-small, explode", ids[:4])
		}
		at(1)
		tb.waitRendered("act", "sigmoid")
		if q := tb.query(); q.Has("large") {
			t.Errorf("present mode's URL says large=%q; it draws large by itself", q.Get("large"))
		}
		tb.do(chromedp.KeyEvent(kb.PageDown))
		at(2)
		tb.waitRendered("gain", 0.5) // tanh-small
		tb.do(chromedp.KeyEvent(" "))
		at(3)
		tb.waitRendered("gain", 6) // explode
		tb.do(chromedp.KeyEvent(kb.ArrowLeft))
		at(2)
		tb.do(chromedp.KeyEvent(kb.PageUp))
		at(1)
		tb.do(chromedp.KeyEvent(kb.PageUp))
		at(0)
		tb.do(chromedp.KeyEvent(kb.PageUp)) // the first step stays
		at(0)
		tb.waitRendered("T", 3)
		tb.do(chromedp.KeyEvent(kb.Escape))
		tb.waitFor("present mode left", `!document.documentElement.classList.contains('present') && !new URLSearchParams(location.search).has('present')`)
		if !eval[bool](tb, `getComputedStyle(document.querySelector('.top')).display !== 'none' && document.getElementById('present-side').hidden`) {
			t.Errorf("after Esc the header is hidden or the tour text still shown")
		}
		if eval[bool](tb, `document.documentElement.classList.contains('large')`) {
			t.Errorf("after Esc the page keeps present mode's large text")
		}
		// Outside present mode the keys are the page's own.
		tb.do(chromedp.KeyEvent(kb.ArrowRight))
		if q := tb.query(); q.Get("preset") != ids[0] {
			t.Errorf("ArrowRight outside present mode moved the tour to %q", q.Get("preset"))
		}

		// The Present button starts it again, at the step the page shows;
		// headless Chromium refuses full screen and the layout holds.
		tb.click("Present")
		at(0)
		if got := eval[presentLayout](tb, checkPresentLayout); len(got.Problems) > 0 {
			t.Errorf("after the Present button: %v", got.Problems)
		}
		// The BPTT step's equations may take a second page first.
		for i := 0; i < 4 && eval[string](tb, `document.getElementById('present-count').textContent`) == fmt.Sprintf("1 / %d", n); i++ {
			tb.click("Next step")
		}
		at(1)
		tb.click("Leave present mode (Esc)")
		tb.waitFor("present mode left", `!document.documentElement.classList.contains('present')`)
	})

	// A text longer than its box turns page by page before the step.
	t.Run("pages", func(t *testing.T) {
		tb := s.newTab(t)
		tb.do(chromedp.EmulateViewport(1024, 768))
		tb.open("present=1&preset=spectrum&lang=es")
		n := eval[int](tb, `document.querySelectorAll('#preset option[value]:not([value=""])').length`)
		count := eval[string](tb, `document.getElementById('present-count').textContent`)
		if !strings.HasSuffix(count, fmt.Sprintf(" / %d", n)) || strings.HasPrefix(count, fmt.Sprintf("%d ", n)) {
			t.Fatalf("count %q, want a step before the last of %d", count, n)
		}
		if !eval[bool](tb, `document.getElementById('present-side').dataset.more === 'below'`) {
			t.Fatalf("the spectrum's Spanish text fits in one page at 1024×768; this test needs a longer one")
		}
		var pages int
		for pages = 1; pages < 6; pages++ {
			top := eval[float64](tb, `document.getElementById('present-text').scrollTop`)
			tb.do(chromedp.KeyEvent(kb.ArrowRight))
			if eval[string](tb, `document.getElementById('present-count').textContent`) != count {
				break
			}
			if now := eval[float64](tb, `document.getElementById('present-text').scrollTop`); now <= top {
				t.Fatalf("page %d: ArrowRight neither turned the page (scrollTop %v → %v) nor went on", pages, top, now)
			}
			if got := eval[presentLayout](tb, checkPresentLayout); len(got.Problems) > 0 {
				t.Errorf("page %d: %v", pages+1, got.Problems)
			}
		}
		if pages < 2 || pages >= 6 {
			t.Errorf("the text took %d pages, want 2 to 5", pages)
		}
		tb.waitFor("the next step", fmt.Sprintf(`document.getElementById('present-count').textContent !== %q`, count))
		tb.do(chromedp.KeyEvent(kb.ArrowLeft))
		tb.waitFor("back at the step, at its start", fmt.Sprintf(`document.getElementById('present-count').textContent === %q && document.getElementById('present-text').scrollTop === 0`, count))
		// Paging back: forward one page, then ← returns to the top first.
		tb.do(chromedp.KeyEvent(kb.PageDown))
		tb.do(chromedp.KeyEvent(kb.PageUp))
		if c, top := eval[string](tb, `document.getElementById('present-count').textContent`), eval[float64](tb, `document.getElementById('present-text').scrollTop`); c != count || top != 0 {
			t.Errorf("PageDown, PageUp: at %q scrollTop %v, want %q at the top", c, top, count)
		}
		tb.screenshot("present-1024x768-es-pages")
	})

	t.Run("portrait", func(t *testing.T) {
		tb := s.newTab(t)
		tb.do(chromedp.EmulateViewport(768, 1024))
		tb.open("present=1&preset=irnn")
		tb.waitFor("irnn shown", `document.getElementById('present-count').textContent.startsWith((document.querySelector('#preset option[value="irnn"]').index) + ' / ')`)
		got := eval[presentLayout](tb, checkPresentLayout)
		for _, p := range got.Problems {
			t.Errorf("%s", p)
		}
		side := eval[[]float64](tb, `(() => { const p = document.querySelector('.work > .panel:not([hidden])').getBoundingClientRect(), s = document.getElementById('present-side').getBoundingClientRect(); return [p.bottom, s.top]; })()`)
		if side[1] < side[0]-0.5 {
			t.Errorf("portrait: the tour text starts at y=%.0f, above the plot's end at %.0f; want it below", side[1], side[0])
		}
		if got.PlotShare < 0.55 {
			t.Errorf("portrait: the plot takes %.0f%% of the screen", 100*got.PlotShare)
		}
		tb.screenshot("present-768x1024-en-portrait")
	})
}
