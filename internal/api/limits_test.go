package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"gradviz/internal/engine"
	"gradviz/internal/render"
)

// TestOneValidatorForHTTPAndWebsocket sends the same bad settings as a
// query string and as a websocket message: both answers must name the
// same field with the same message, because one validator reads both.
func TestOneValidatorForHTTPAndWebsocket(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	long := strings.Repeat("x", 10<<10)
	for _, tc := range []struct {
		name, query, json string
		field, contains   string
	}{
		{"T zero", "T=0", `"T":0`, "T", "T must be 1..2000, got 0"},
		{"T minus zero", "T=-0", `"T":-0`, "T", "T must be 1..2000, got 0"},
		{"T negative", "T=-5", `"T":-5`, "T", "T must be 1..2000, got -5"},
		{"T huge", "T=99999999999999999999", `"T":99999999999999999999`, "T", "T is far out of range"},
		{"T fraction", "T=1.5", `"T":1.5`, "T", "T must be a whole number"},
		{"H too many", "H=257", `"H":257`, "H", "H must be 1..256, got 257"},
		{"work per request", "cell=lstm&bidir=true&T=2000&H=256", `"cell":"lstm","bidir":true,"T":2000,"H":256`, "T", "T·H²·gates·directions must be at most 524288000"},
		{"gain overflow", "gain=1e309", `"gain":1e309`, "gain", "gain must be 0..100, got +Inf"},
		{"gain negative overflow", "gain=-1e309", `"gain":-1e309`, "gain", "gain must be 0..100, got -Inf"},
		{"gain negative", "gain=-1", `"gain":-1`, "gain", "gain must be 0..100, got -1"},
		{"threshold zero", "threshold=0", `"threshold":0`, "threshold", "greater than 0"},
		{"seed negative", "seed=-1", `"seed":-1`, "seed", "seed must be a whole number from 0 to 4294967295"},
		{"seed too large", "seed=4294967296", `"seed":4294967296`, "seed", "seed must be 0..4294967295, got 4294967296"},
		{"cell unknown", "cell=cnn", `"cell":"cnn"`, "cell", `cell must be one of rnn, lstm, gru, attn, got "cnn"`},
		{"unicode name", "act=%C3%B1and%C3%BA", `"act":"ñandú"`, "act", `got "ñandú"`},
		{"10 KB value", "init=" + long, `"init":"` + long + `"`, "init", "xxxx…"},
		{"bidir not boolean", "bidir=maybe", `"bidir":"maybe"`, "bidir", "bidir must be true or false"},
		{"unknown name", "colour=red", `"colour":"red"`, "colour", `unknown setting "colour"`},
		{"10 KB unknown name", long + "=1", `"` + long + `":1`, shorten(long), "unknown setting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, httpErr := getJSON(t, ts, "/api/profile?"+tc.query)
			if status != http.StatusBadRequest {
				t.Fatalf("HTTP status: got %d, want 400; body %v", status, httpErr)
			}
			send(t, conn, `{"type":"config","id":1,`+tc.json+`}`)
			wsErr := readMsg(t, conn)
			if wsErr["type"] != "error" || wsErr["id"] != 1.0 {
				t.Fatalf("websocket: got %v, want error for id 1", wsErr)
			}
			if httpErr["field"] != tc.field {
				t.Errorf("HTTP field: got %q, want %q", httpErr["field"], tc.field)
			}
			msg, _ := httpErr["message"].(string)
			if !strings.Contains(msg, tc.contains) {
				t.Errorf("HTTP message: got %q, want it to contain %q", msg, tc.contains)
			}
			if len(msg) > 300 {
				t.Errorf("HTTP message: got %d bytes, want the client's text shortened", len(msg))
			}
			if wsErr["field"] != httpErr["field"] || wsErr["message"] != httpErr["message"] {
				t.Errorf("websocket error: got field %q message %q, want the HTTP answer's field %q message %q",
					wsErr["field"], wsErr["message"], httpErr["field"], httpErr["message"])
			}
		})
	}
}

func TestMaxConnections(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxConnections = 2
	ts, app := newTestServer(t, cfg)
	first := dial(t, ts, nil)
	dial(t, ts, nil)

	_, resp, err := websocket.DefaultDialer.Dial(wsURL(ts), nil)
	if err == nil {
		t.Fatal("third connection: accepted, want refused")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: got %v, want status 503", resp)
	}
	body, _ := io.ReadAll(resp.Body)
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Message, "too many connections: the server takes 2 at once") {
		t.Errorf("third connection: got body %q, want JSON saying too many connections", body)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("third connection: got no Retry-After, want one")
	}

	// A place freed is a place taken.
	first.Close()
	waitFor(t, 5*time.Second, "the closed session to leave", func() bool { n, _ := app.sessions.count(); return n == 1 })
	dial(t, ts, nil)
	if got := metricsOf(t, ts).Errors[errTooManyConns]; got != 1 {
		t.Errorf("metrics errors[%s]: got %d, want 1", errTooManyConns, got)
	}
}

// TestMessageRateLimit sends a burst past the rate: the excess is
// dropped, one error says so, and the connection carries on.
func TestMessageRateLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MessagesPerSecond, cfg.MessageBurst = 2, 3
	ts, _ := newTestServer(t, cfg)
	conn := dial(t, ts, nil)
	for id := 1; id <= 10; id++ {
		send(t, conn, `{"type":"config","id":`+itoa(id)+`,"T":5,"H":2}`)
	}
	// A token comes back every half second; the connection is still
	// open, and everything the burst caused arrives before the answer to
	// the next message.
	time.Sleep(600 * time.Millisecond)
	send(t, conn, `{"type":"config","id":11,"T":5,"H":2}`)
	var errs []map[string]any
	answered := map[float64]bool{}
	for {
		m := readMsg(t, conn)
		if m["type"] == "error" {
			errs = append(errs, m)
			continue
		}
		if m["type"] != "profile" {
			t.Fatalf("got %v, want profiles and errors", m)
		}
		if m["id"] == 11.0 {
			break
		}
		answered[m["id"].(float64)] = true
	}
	if len(errs) != 1 {
		t.Fatalf("rate errors: got %d (%v), want exactly 1 for the 7 dropped messages", len(errs), errs)
	}
	want := "too many messages: at most 2 a second (burst 3); this one was ignored"
	if errs[0]["message"] != want || errs[0]["id"] != 0.0 {
		t.Errorf("rate error: got %v, want id 0 and message %q", errs[0], want)
	}
	if !answered[3] {
		t.Errorf("answers: got ids %v, want 3, the newest message within the burst", answered)
	}
	for id := range answered {
		if id > 3 {
			t.Errorf("answers: got id %v, want none past the burst of 3", id)
		}
	}
	if got := metricsOf(t, ts).Errors[errRateLimited]; got != 7 {
		t.Errorf("metrics errors[%s]: got %d, want 7", errRateLimited, got)
	}
}

// TestMessageTooLarge checks what gorilla sends for a message over the
// limit: a close frame with code 1009, after which the session ends.
func TestMessageTooLarge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int64
		size  int
	}{
		{"just over a small limit", 1024, 1025},
		{"10 MB against the default", DefaultConfig().MaxMessageBytes, 10 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxMessageBytes = tc.limit
			ts, app := newTestServer(t, cfg)
			conn := dial(t, ts, nil)
			msg := `{"type":"config","T":5,"pad":"` + strings.Repeat("x", tc.size) + `"}`
			// The server may close while a 10 MB write is still going.
			conn.WriteMessage(websocket.TextMessage, []byte(msg))
			if code := readClose(t, conn, 5*time.Second); code != websocket.CloseMessageTooBig {
				t.Errorf("close code: got %d, want %d (message too big)", code, websocket.CloseMessageTooBig)
			}
			waitFor(t, 5*time.Second, "the session to end", func() bool { n, _ := app.sessions.count(); return n == 0 })
			if got := metricsOf(t, ts).Errors[errMessageTooLarge]; got != 1 {
				t.Errorf("metrics errors[%s]: got %d, want 1", errMessageTooLarge, got)
			}
		})
	}
	// A message at the limit is served.
	cfg := DefaultConfig()
	cfg.MaxMessageBytes = 1024
	ts, _ := newTestServer(t, cfg)
	conn := dial(t, ts, nil)
	head, tail := `{"type":"config","id":5,"T":5,"seed":`, `}`
	send(t, conn, head+strings.Repeat(" ", 1024-len(head)-len(tail)-1)+"1"+tail)
	if m := readMsg(t, conn); m["type"] != "profile" {
		t.Fatalf("message of exactly the limit: got %v, want a profile", m)
	}
}

func TestTrainingLimits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Train.MaxT, cfg.Train.MaxH, cfg.Train.MaxBatch, cfg.Train.MaxIterations = 40, 16, 8, 100
	ts, _ := newTestServer(t, cfg)
	conn := dial(t, ts, nil)
	for _, tc := range []struct{ msg, field, message string }{
		{`{"type":"train","id":1,"T":41}`, "T", "training: T must be 1..40, got 41"},
		{`{"type":"train","id":2,"H":17}`, "H", "training: H must be 1..16, got 17"},
		{`{"type":"train","id":3,"batch":9}`, "batch", "batch must be 1..8, got 9"},
		{`{"type":"train","id":4,"iterations":101}`, "iterations", "iterations must be 1..100, got 101"},
		{`{"type":"train","id":5,"cells":["rnn","lstm","gru","rnn","lstm"]}`, "cells", "cells must be a list of 1 to 4"},
	} {
		send(t, conn, tc.msg)
		m := readMsg(t, conn)
		if msg, _ := m["message"].(string); m["type"] != "error" || m["field"] != tc.field || !strings.HasPrefix(msg, tc.message) {
			t.Errorf("%s: got %v, want error on %s: %q", tc.msg, m, tc.field, tc.message)
		}
	}
}

// TestOneTrainingPerClient: a client trains one request at a time; a
// newer train replaces the running one, which ends "stopped".
func TestOneTrainingPerClient(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"train","id":1,"T":30,"H":16,"iterations":20000,"every":1}`)
	if m := readMsg(t, conn); m["type"] != "trainStart" || m["id"] != 1.0 {
		t.Fatalf("got %v, want trainStart 1", m)
	}
	waitFor(t, 5*time.Second, "one training to be active", func() bool { return metricsOf(t, ts).Training.Active == 1 })
	send(t, conn, `{"type":"train","id":2,"T":30,"H":16,"iterations":20000,"every":1}`)
	stopped, done := false, false
	for {
		m := readMsg(t, conn)
		if m["type"] == "trainDone" && m["id"] == 1.0 {
			if m["reason"] != "stopped" {
				t.Fatalf("training 1 ended: got %v, want reason stopped", m["reason"])
			}
			stopped = true
			continue
		}
		if m["type"] == "done" && m["id"] == 1.0 {
			done = true
			continue
		}
		if m["type"] == "trainStart" && m["id"] == 2.0 {
			break
		}
		if m["id"] != 1.0 || done {
			t.Fatalf("got %v, want messages of training 1, ending with done, until training 2 starts", m)
		}
	}
	if !stopped || !done {
		t.Fatalf("training 2 started before training 1 ended (trainDone %v, done %v), want one training at a time, each stream ended by done", stopped, done)
	}
	snap := metricsOf(t, ts)
	if snap.Training.Active != 1 || snap.Training.Started != 2 {
		t.Errorf("metrics training: got active %d started %d, want 1 and 2", snap.Training.Active, snap.Training.Started)
	}
	for i := 0; i < 5; i++ {
		if m := readUntil(t, conn, "progress"); m["id"] != 2.0 {
			t.Fatalf("progress: got id %v, want only training 2", m["id"])
		}
	}
	send(t, conn, `{"type":"stop","id":3}`)
	readUntil(t, conn, "stopped")
	waitFor(t, 5*time.Second, "no training to be active", func() bool { return metricsOf(t, ts).Training.Active == 0 })
}

// TestRunTimeout: an HTTP run past -run-timeout is a 503 that names the
// limit, and the server has stopped computing it.
func TestRunTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RunTimeout = 30 * time.Millisecond
	ts, _ := newTestServer(t, cfg)
	for _, path := range []string{
		"/api/profile?cell=lstm&T=2000&H=256",
		"/api/plot.png?cell=lstm&T=2000&H=256",
		"/api/plot.csv?T=5&" + "pin=" + url.QueryEscape("cell=lstm&T=2000&H=256"),
	} {
		status, header, body := getJSON(t, ts, path)
		if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
			t.Fatalf("GET %s: got status %d, Retry-After %q, want 503 with Retry-After; body %v", path, status, header.Get("Retry-After"), body)
		}
		want := "the run took longer than the server allows (30ms)"
		if msg, _ := body["message"].(string); !strings.HasPrefix(msg, want) {
			t.Errorf("GET %s: message got %q, want it to start %q", path, msg, want)
		}
	}
	snap := metricsOf(t, ts)
	if snap.Errors[errTimeout] != 3 || snap.Runs.Cancelled < 3 {
		t.Errorf("metrics: got errors[timeout]=%d runs.cancelled=%d, want 3 and at least 3", snap.Errors[errTimeout], snap.Runs.Cancelled)
	}
	if snap.Runs.Running != 0 || snap.Runs.Waiting != 0 {
		t.Errorf("metrics: got %d runs running, %d waiting, want none", snap.Runs.Running, snap.Runs.Waiting)
	}
}

// TestHTTPBodiesRefused: every endpoint is a GET with a query string; a
// body, however large, is refused without being read.
func TestHTTPBodiesRefused(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	for _, tc := range []struct {
		name, method, path string
		body               io.Reader
	}{
		{"10 MB to profile", http.MethodGet, "/api/profile", bytes.NewReader(make([]byte, 10<<20))},
		{"small to plot", http.MethodGet, "/api/plot.png", strings.NewReader(`{"T":5}`)},
		{"chunked", http.MethodGet, "/api/profile", io.MultiReader(strings.NewReader("T=5"))},
		{"POST 10 MB", http.MethodPost, "/api/profile", bytes.NewReader(make([]byte, 10<<20))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, tc.body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.path, err)
			}
			defer resp.Body.Close()
			var e errorBody
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || e.Field != "body" || !strings.Contains(e.Message, "request bodies are not accepted") {
				t.Errorf("%s %s: got %d %+v, want 413 naming the body", tc.method, tc.path, resp.StatusCode, e)
			}
		})
	}
	if status, _, _ := getJSON(t, ts, "/healthz"); status != http.StatusOK {
		t.Errorf("after bodies: /healthz got %d, want 200", status)
	}
}

// TestHugePinLists: a plot takes at most render.MaxPins pins; ten
// thousand are refused before any run.
func TestHugePinLists(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	for _, tc := range []struct {
		pins          int
		field, prefix string
	}{
		{render.MaxPins + 1, "pin", "at most "},
		{9999, "pin", "at most "},
		// Past net/url's limit of 10000 parameters the query does not
		// parse at all; it must not become the defaults.
		{10000, "query", "the query string is malformed: number of URL query parameters exceeded limit"},
	} {
		q := strings.Repeat("&pin="+url.QueryEscape("T=2000&H=256"), tc.pins)
		status, _, body := getJSON(t, ts, "/api/plot.png?T=5"+q)
		if msg, _ := body["message"].(string); status != http.StatusBadRequest || body["field"] != tc.field || !strings.HasPrefix(msg, tc.prefix) {
			t.Errorf("%d pins: got %d %v, want 400 on %s saying %q", tc.pins, status, body, tc.field, tc.prefix)
		}
	}
	for _, query := range []string{"T=%zz", "cell=rnn&%"} {
		status, _, body := getJSON(t, ts, "/api/profile?"+query)
		if msg, _ := body["message"].(string); status != http.StatusBadRequest || body["field"] != "query" || !strings.Contains(msg, "invalid URL escape") {
			t.Errorf("?%s: got %d %v, want 400 on query naming the bad escape", query, status, body)
		}
	}
	if got := metricsOf(t, ts).Runs.Completed; got != 0 {
		t.Errorf("runs completed: got %d, want 0 (refused before computing)", got)
	}
}

// TestWorkPerRequest: every request's work is bounded by -max-work, a
// profile by T·H²·gates·directions, and a training iteration by its
// batch too, and its memory by -memory-budget. A map gets fewer rows on a large model (TestMapRowsBounded).
func TestWorkPerRequest(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	for _, tc := range []struct {
		msg, field, message string // message "" wants no error
	}{
		{`{"type":"config","id":1,"cell":"lstm","bidir":true,"T":2000,"H":256}`, "T", "T·H²·gates·directions must be at most 524288000, got 1048576000"},
		{`{"type":"map","id":5,"rows":2.5}`, "rows", "rows must be a whole number, got 2.5"},
		{`{"type":"sensitivity","id":6,"T":10,"outputStep":3.5}`, "outputStep", "outputStep must be a whole number, got 3.5"},
		{`{"type":"train","id":7,"cell":"lstm","T":500,"H":128,"batch":128,"iterations":1}`, "batch", "training: batch × T·H²·gates·directions must be at most 524288000"},
		{`{"type":"train","id":8,"cells":["rnn","lstm"],"T":500,"H":128,"batch":40,"iterations":1}`, "batch", "(lstm, "},
		// Little work, much memory: 128 attention matrices of 500×500.
		{`{"type":"train","id":9,"cell":"attn","T":500,"H":13,"batch":128,"iterations":1}`, "batch", "MB of memory (attn, 500 steps, H=13, batch 128), more than the server's 256 MB"},
	} {
		send(t, conn, tc.msg)
		m := readMsg(t, conn)
		if tc.message == "" {
			if m["type"] == "error" {
				t.Errorf("%s: got %v, want it served", tc.msg, m)
			}
			continue
		}
		if msg, _ := m["message"].(string); m["type"] != "error" || m["field"] != tc.field || !strings.Contains(msg, tc.message) {
			t.Errorf("%s: got %v, want an error on %s containing %q", tc.msg, m, tc.field, tc.message)
		}
	}
}

// TestMapRowsBounded: a gradient map is one backward pass per row, so on
// a large model it gets fewer rows than asked, within mapWorkBudget runs
// at -max-work; its steps say which.
func TestMapRowsBounded(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	for _, tc := range []struct {
		settings string
		ask      int
		want     int
	}{
		{`"cell":"lstm","T":2000,"H":256`, 30, 3}, // each pass is -max-work
		{`"cell":"lstm","T":1000,"H":128`, 60, 31},
		{`"T":100`, 100, 100},
		{`"T":50`, 200, 50}, // never more rows than steps
	} {
		send(t, conn, `{"type":"map","id":1,"rows":`+itoa(tc.ask)+`,`+tc.settings+`}`)
		m := readMsg(t, conn)
		steps, _ := m["steps"].([]any)
		if m["type"] != "map" || len(steps) != tc.want {
			t.Errorf("map of %s asking %d rows: got %v with %d steps, want %d rows", tc.settings, tc.ask, m["type"], len(steps), tc.want)
		}
	}
	if got := mapRows(engine.Settings{T: 10, H: 1, Cell: engine.CellRNN}, 200, 0); got != 200 {
		t.Errorf("no work bound: got %d rows, want 200", got)
	}
}

// TestConcurrentLargeImagesStayInBudget: clients asking for large
// exports at once are drawn within the memory budget, one after another
// when they must, and every one is answered.
func TestConcurrentLargeImagesStayInBudget(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MemoryBudget = 40 << 20 // one 1920×1080 drawing (25 MB reserved) at a time
	cfg.HTTPRequestsPerSecond = 0
	cfg.RunTimeout = 0 // they wait their turn, however slow the machine
	ts, app := newTestServer(t, cfg)
	const clients = 4
	var wg sync.WaitGroup
	statuses := make([]int, clients)
	for i := range clients {
		wg.Add(1)
		// Exits when its request is answered.
		go func() {
			defer wg.Done()
			resp, err := http.Get(ts.URL + "/api/plot.png?T=50&w=1920&h=1080&seed=" + itoa(i+1))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Errorf("client %d: status %d, want 200", i, st)
		}
	}
	snap := app.snapshot(time.Now())
	drawing := int64(3 * 4 * 1920 * 1080)
	if peak := snap.Runs.MemoryPeakBytes; peak < drawing || peak > cfg.MemoryBudget+cfg.MemoryBudget/4 {
		t.Errorf("peak memory reserved %d bytes, want at least one drawing's %d and at most the budget %d and its headroom", peak, drawing, cfg.MemoryBudget)
	}
	if snap.Runs.MemoryReservedBytes != 0 {
		t.Errorf("memory still reserved after the requests: %d bytes", snap.Runs.MemoryReservedBytes)
	}
}
