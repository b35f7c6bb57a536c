package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gradviz/internal/api"
	"gradviz/internal/class"
	"gradviz/internal/class/natstest"
)

// TestBrowserClassMode runs a class in two browser contexts, a teacher's
// and a student's, that share no storage, on one server.
func TestBrowserClassMode(t *testing.T) {
	b := startBrowser(t)
	t.Run("follow, detach, ask", func(t *testing.T) { b.testClassMode(t, b.srv.URL, b.srv.URL) })
	t.Run("two instances over NATS", func(t *testing.T) {
		teacherURL, studentURL := twoInstances(t)
		b.testClassMode(t, teacherURL, studentURL)
	})
	t.Run("no such class, in Spanish", func(t *testing.T) {
		tb := b.newTab(t)
		tb.open("class=ZZZZZZ&lang=es")
		tb.waitFor("the error", `document.getElementById('class-error')?.textContent === 'Ninguna clase tiene ese código; puede que haya terminado.'`)
		if got := eval[string](tb, `document.getElementById('class-start').textContent`); got != "Empezar clase" {
			t.Fatalf("start button %q", got)
		}
	})
}

// testClassMode: the teacher's page on teacherURL starts a class, the
// student's on studentURL joins it by its link and follows a Gain
// change, a tab change and a tour step; detaches and follows again; and
// answers the teacher's question into the teacher's histogram.
func (s *browserSuite) testClassMode(t *testing.T, teacherURL, studentURL string) {
	teacher := s.newTab(t, chromedp.WithNewBrowserContext())
	teacher.base = teacherURL
	student := s.newTab(t, chromedp.WithNewBrowserContext())
	student.base = studentURL

	teacher.open("")
	teacher.click("Start class")
	teacher.waitFor("the class's code", `/^[A-Z2-9]{6}$/.test(document.getElementById('class-code')?.textContent || '')`)
	code := eval[string](teacher, `document.getElementById('class-code').textContent`)
	teacher.waitFor("the QR code", `document.getElementById('class-qr').complete && document.getElementById('class-qr').naturalWidth === 512`)
	if link := eval[string](teacher, `document.getElementById('class-link').textContent`); link != teacherURL+"/?class="+code {
		t.Fatalf("join link %q", link)
	}
	teacher.waitURL("class", code)
	eval[chromedp.Void](teacher, `document.getElementById('class-qr-big').click()`)
	teacher.waitFor("the QR code across the screen", `document.getElementById('class-qr').getBoundingClientRect().height > 400`)
	teacher.screenshot("class-qr-big")
	eval[chromedp.Void](teacher, `document.getElementById('class-qr-big').click()`)
	teacher.waitFor("the QR code back", `document.getElementById('class-qr').getBoundingClientRect().height < 200`)

	student.open("class=" + code)
	student.waitFor("the student's role", `document.body.dataset.classRole === 'student'`)
	if secret := eval[string](student, `location.search + JSON.stringify(sessionStorage)`); len(secret) > 0 && contains32hex(secret) {
		t.Fatalf("the student's page holds a secret: %s", secret)
	}
	teacher.waitFor("one follower", `document.getElementById('class-count').textContent === '1 of 1 students following'`)
	teacher.screenshot("class-teacher")

	// A Gain change, a tab change, a tour step.
	teacher.set("Gain", "2.5")
	student.waitRendered("gain", 2.5)
	eval[chromedp.Void](teacher, `document.getElementById('tab-map').click()`)
	student.waitFor("the map tab", `document.querySelector('#tab-map').getAttribute('aria-selected') === 'true'`)
	eval[chromedp.Void](teacher, `document.getElementById('tab-profile').click()`)
	student.waitFor("the profile tab", `document.querySelector('#tab-profile').getAttribute('aria-selected') === 'true'`)
	teacher.set("Preset", "explode")
	student.waitFor("the tour step", `document.getElementById('preset').value === 'explode' && document.getElementById('preset-name').textContent !== ''`)
	gain := eval[float64](teacher, `JSON.parse(document.body.dataset.rendered).gain`)
	student.waitRendered("gain", gain)
	student.screenshot("class-student")

	// A pin.
	teacher.click("Pin")
	student.waitFor("the teacher's pin", `new URLSearchParams(location.search).getAll('pin').length === 1`)
	if a, b := eval[string](teacher, `new URLSearchParams(location.search).get('pin')`), eval[string](student, `new URLSearchParams(location.search).get('pin')`); a != b {
		t.Fatalf("the student's pin %q, the teacher's %q", b, a)
	}

	// Play and Stop.
	teacher.click("Play")
	student.waitFor("the animation", `document.getElementById('play').dataset.playing === 'true'`)
	teacher.click("Stop")
	student.waitFor("the animation stopped", `document.getElementById('play').dataset.playing === 'false'`)

	// Detach: the teacher's next change reaches the page, which leaves
	// it be; follow again: the page takes the teacher's state.
	student.click("Explore on my own")
	student.waitFor("detached", `document.body.dataset.classFollowing === 'false'`)
	teacher.waitFor("no follower", `document.getElementById('class-count').textContent === '0 of 1 students following'`)
	seen := eval[string](student, `document.body.dataset.classSeen || '0'`)
	teacher.set("Gain", "1.7")
	teacher.waitRendered("gain", 1.7)
	n, _ := strconv.Atoi(seen)
	student.waitFor("the teacher's change arriving", fmt.Sprintf(`Number(document.body.dataset.classSeen) > %d`, n))
	if g := eval[float64](student, `JSON.parse(document.body.dataset.rendered).gain`); g != gain {
		t.Fatalf("a detached student's gain moved to %v", g)
	}
	student.click("Follow the teacher")
	student.waitRendered("gain", 1.7)
	teacher.waitFor("one follower again", `document.getElementById('class-count').textContent === '1 of 1 students following'`)

	// Ask: the student's answer fills the teacher's histogram.
	teacher.click("Ask the class")
	student.waitFor("the question", `!!document.getElementById('class-guess')`)
	student.set("Your guess (power of ten)", "-3.5")
	student.click("Send my answer")
	teacher.waitFor("the answer in the histogram", `!!document.querySelector('#class-histogram .class-bar[data-low="-4"][data-count="1"]')`)
	if s := eval[string](student, `document.getElementById('class-histogram') ? 'shown' : ''`); s != "" {
		t.Fatalf("the student saw the histogram before the reveal")
	}
	teacher.screenshot("class-histogram")
	teacher.click("Reveal the answers")
	student.waitFor("the revealed histogram", `!!document.querySelector('#class-histogram .class-bar[data-low="-4"][data-count="1"]')`)
	student.screenshot("class-revealed")

	// A tour step with a prediction asks the class by itself, its
	// question as the prompt; the student's guess starts from its own
	// marker.
	teacher.set("Preset", "sigmoid")
	teacher.waitFor("the prediction", `!!document.querySelector('.predict-question')`)
	prompt := eval[string](teacher, `document.querySelector('.predict-question').textContent`)
	student.waitFor("the step's question", fmt.Sprintf(`document.querySelector('#class-question .class-prompt')?.textContent === %q && !!document.getElementById('class-guess')`, prompt))
	if h := eval[string](teacher, `document.getElementById('class-answered')?.textContent || ''`); h != "0 of 1 answered" {
		t.Fatalf("a new question's count %q", h)
	}
	student.set("Your guess (power of ten)", "-12")
	student.click("Send my answer")
	teacher.waitFor("the step's answer", `!!document.querySelector('#class-histogram .class-bar[data-low="-12"][data-count="1"]')`)
	if p := eval[string](student, `document.body.dataset.predict || ''`); p != "hidden" {
		t.Fatalf("the student's curve before the reveal: %q", p)
	}
	teacher.click("Reveal the answers")
	student.waitFor("the curve revealed with the answers", `document.body.dataset.predict === 'revealed' && !!document.getElementById('class-histogram')`)
	teacher.waitFor("the teacher's curve revealed", `document.body.dataset.predict === 'revealed'`)

	teacher.click("End class")
	student.waitFor("the end", `document.body.dataset.classRole === '' && !!document.getElementById('class-ended')`)
}

// twoInstances starts two gradviz servers that share an in-process NATS
// server, under the page's policy, and returns their addresses.
func twoInstances(t *testing.T) (string, string) {
	addr := natstest.Start(t)
	var urls [2]string
	for i := range urls {
		broker, err := class.DialNATS(addr, fmt.Sprintf("replica %d", i))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(broker.Close)
		cfg := api.DefaultConfig()
		cfg.ClassBroker = broker
		server := api.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", pageCSP)
			server.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			server.Close(ctx)
		})
		urls[i] = srv.URL
	}
	return urls[0], urls[1]
}

// contains32hex reports whether s holds 32 hex digits in a row: a class
// secret.
func contains32hex(s string) bool {
	run := 0
	for _, c := range s {
		if ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') {
			run++
			if run >= 32 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
