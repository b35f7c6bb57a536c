package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"gradviz/internal/engine"
)

// heavyConfig is a run that takes about half a second (a second under
// -race) on the 2-core test machine.
const heavyConfig = `"cell":"lstm","T":2000,"H":256`

// TestVanishingClientsCancelWork opens sessions, starts heavy runs on
// each (profiles, a gradient map and a training), then cuts
// the TCP connections without a close frame, as a laptop lid does. The
// runs must be cancelled, not finished, and every goroutine of every
// session must end.
func TestVanishingClientsCancelWork(t *testing.T) {
	const clients = 8
	cfg := DefaultConfig()
	cfg.Workers = 2
	ts, app := newTestServer(t, cfg)

	// Metrics are read in process from here on: an HTTP client would
	// leave keep-alive goroutines behind.
	before := app.snapshot(time.Now()).Runs

	baseline := stableGoroutines(t)
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i] = dial(t, ts, nil)
		send(t, conns[i], `{"type":"config","id":1,`+heavyConfig+`}`)
		switch i {
		case 0:
			send(t, conns[i], `{"type":"map","id":2,"rows":200,`+heavyConfig+`}`)
		case 1:
			send(t, conns[i], `{"type":"train","id":3,"T":200,"H":128,"iterations":20000}`)
		}
	}
	waitFor(t, 5*time.Second, "both workers busy and runs waiting", func() bool {
		r := app.snapshot(time.Now()).Runs
		return r.Running == 2 && r.Waiting >= clients-2
	})
	if open, _ := app.sessions.count(); open != clients {
		t.Fatalf("sessions: got %d, want %d", open, clients)
	}

	for _, c := range conns {
		c.NetConn().Close() // no close frame: the client just vanishes
	}
	// Uncancelled, the runs would take many seconds; cancelled, each ends
	// at its next step (counted in engine's cancellation test). The wait
	// is a bound on a hang, not a speed test: the counts below say whether
	// the work was cancelled.
	waitGoroutines(t, baseline, 30*time.Second)

	runs := app.snapshot(time.Now()).Runs
	completed := runs.Completed - before.Completed
	cancelled := runs.Cancelled - before.Cancelled
	// Each client's profile, the map and the first training step: at most
	// the two holding a worker can have finished in the meantime.
	if cancelled < int64(clients-cfg.Workers) || completed > int64(cfg.Workers) {
		t.Errorf("runs after the cut: got %d cancelled, %d completed; want at least %d cancelled and at most %d completed",
			cancelled, completed, clients-cfg.Workers, cfg.Workers)
	}
	if runs.Running != 0 || runs.Waiting != 0 {
		t.Errorf("runs after the cut: got %d running, %d waiting, want none", runs.Running, runs.Waiting)
	}
	if open, _ := app.sessions.count(); open != 0 {
		t.Errorf("sessions: got %d, want 0", open)
	}
	t.Logf("%d sessions ended after the cut (%d runs cancelled, %d completed)", clients, cancelled, completed)
}

// TestSlowReaderDropped: a client asks for profiles and never reads. Its
// queue fills, it is dropped with close code 1008, its goroutines end,
// and another client is answered all the while. The queue is shrunk to
// four messages, so the drop comes once the socket buffers (a few MB) and
// the queue are full: after a count of requests that does not depend on
// how fast the machine is.
func TestSlowReaderDropped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MessagesPerSecond, cfg.MessageBurst = 1000, 1000
	const queued = 4
	ts, app := newTestServerWith(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(s *Server) {
		s.queue = sendLimits{messages: queued, bytes: 1 << 20}
	})
	baseline := stableGoroutines(t)

	slow, _, err := websocket.DefaultDialer.Dial(wsURL(ts), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	dropped := func() bool { return app.snapshot(time.Now()).Errors[errSlowClient] > 0 }

	// Each profile of T=2000 is about 200 KB of JSON, so some tens fill
	// the socket buffers and four more the queue. The slow client sends the
	// next request once the last one is done, so none is superseded.
	// Hundreds of requests without a drop mean the bound does not hold.
	const maxRequests = 300
	sent := 0
	for ; sent < maxRequests && !dropped(); sent++ {
		done := app.snapshot(time.Now()).Runs.Completed
		msg := `{"type":"config","id":` + itoa(sent+1) + `,"T":2000,"H":4}`
		if slow.WriteMessage(websocket.TextMessage, []byte(msg)) != nil {
			break
		}
		waitFor(t, 30*time.Second, "the slow client's run to end", func() bool {
			return app.snapshot(time.Now()).Runs.Completed > done || dropped()
		})
		// Meanwhile another client is answered as usual.
		if sent == 2 {
			fast := dial(t, ts, nil)
			for id := 1; id <= 5; id++ {
				send(t, fast, `{"type":"config","id":`+itoa(id)+`,"T":100}`)
				if m := readUntil(t, fast, "profile"); m["id"] != float64(id) {
					t.Fatalf("fast client: got profile %v, want %d", m["id"], id)
				}
			}
			fast.Close()
		}
	}
	if !dropped() {
		t.Fatalf("slow client: sent %d requests and was not dropped", sent)
	}
	if sent <= queued {
		t.Errorf("slow client dropped after %d requests, want more than the %d the queue holds", sent, queued)
	}

	// The close frame follows the messages that were already on the wire.
	if code := readClose(t, slow, 30*time.Second); code != websocket.ClosePolicyViolation {
		t.Errorf("slow client close code: got %d, want %d (policy violation)", code, websocket.ClosePolicyViolation)
	}
	waitFor(t, 10*time.Second, "the sessions to end", func() bool { n, _ := app.sessions.count(); return n == 0 })
	waitGoroutines(t, baseline, 10*time.Second)
	t.Logf("slow client dropped after %d requests", sent)
}

// TestPanicInWebsocketRequest: a panic inside one request's run is
// recovered and logged with its stack; that request gets an error, and
// the session, its worker slot and the other clients carry on.
func TestPanicInWebsocketRequest(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Workers = 1 // a slot lost to the panic would stop everything
	logger, logs := jsonLogger()
	var panics atomic.Int64
	ts, _ := newTestServerWith(t, cfg, logger, func(s *Server) {
		s.hooks.beforeProfile = func(st engine.Settings) {
			if st.Seed == 666 {
				panics.Add(1)
				panic("test panic in a profile")
			}
		}
		s.hooks.inSlot = func(kind runKind) {
			if kind == kindSensitivity || kind == kindTrain {
				panics.Add(1)
				panic("test panic in " + string(kind))
			}
		}
	})
	a, b := dial(t, ts, nil), dial(t, ts, nil)
	for _, tc := range []struct {
		msg   string
		id    float64
		first string // the message the request sends before it panics
	}{
		{`{"type":"config","id":1,"seed":666}`, 1, ""},
		{`{"type":"animate","id":2,"seed":666}`, 2, ""},
		{`{"type":"sensitivity","id":3,"T":10}`, 3, ""},
		{`{"type":"train","id":4}`, 4, "trainStart"},
	} {
		send(t, a, tc.msg)
		if tc.first != "" {
			if m := readMsg(t, a); m["type"] != tc.first {
				t.Fatalf("%s: got %v, want %s first", tc.msg, m, tc.first)
			}
		}
		m := readMsg(t, a)
		if m["type"] != "error" || m["id"] != tc.id || !strings.HasPrefix(m["message"].(string), "internal error") {
			t.Errorf("%s: got %v, want an internal error for id %v", tc.msg, m, tc.id)
		}
		// The other client is served between the panics.
		send(t, b, `{"type":"config","id":`+itoa(int(tc.id))+`,"T":20}`)
		if m := readMsg(t, b); m["type"] != "profile" || m["id"] != tc.id {
			t.Errorf("other client: got %v, want profile %v", m, tc.id)
		}
	}
	// The panicking session still works.
	send(t, a, `{"type":"config","id":9,"T":20}`)
	if m := readMsg(t, a); m["type"] != "profile" || m["id"] != 9.0 {
		t.Fatalf("after the panics: got %v, want profile 9", m)
	}
	snap := metricsOf(t, ts)
	if snap.Errors[errPanic] != 4 || snap.Runs.Panicked != 4 || panics.Load() != 4 {
		t.Errorf("metrics: got errors[panic]=%d runs.panicked=%d hooks=%d, want 4 each",
			snap.Errors[errPanic], snap.Runs.Panicked, panics.Load())
	}
	log := logs.String()
	for _, want := range []string{`"msg":"panic in websocket request"`, `"panic":"test panic in a profile"`, `"panic":"test panic in train"`, `"stack":"goroutine `} {
		if !strings.Contains(log, want) {
			t.Errorf("log: want %s in it, got:\n%.2000s", want, log)
		}
	}
}

// TestPanicInHTTPRequest: the same for an HTTP request, which the
// middleware recovers into a 500.
func TestPanicInHTTPRequest(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Workers = 1
	logger, logs := jsonLogger()
	ts, _ := newTestServerWith(t, cfg, logger, func(s *Server) {
		s.hooks.beforeProfile = func(st engine.Settings) {
			if st.Seed == 666 {
				panic("test panic over HTTP")
			}
		}
	})
	status, _, body := getJSON(t, ts, "/api/profile?seed=666")
	if status != http.StatusInternalServerError || !strings.HasPrefix(body["message"].(string), "internal error") {
		t.Errorf("panicking request: got %d %v, want 500 internal error", status, body)
	}
	for range 3 {
		if status, _, body := getJSON(t, ts, "/api/profile?T=10"); status != http.StatusOK {
			t.Fatalf("next request: got %d %v, want 200", status, body)
		}
	}
	log := logs.String()
	for _, want := range []string{`"msg":"panic in handler"`, `"panic":"test panic over HTTP"`, `"stack":"goroutine `} {
		if !strings.Contains(log, want) {
			t.Errorf("log: want %s in it, got:\n%.2000s", want, log)
		}
	}
	if got := metricsOf(t, ts).Errors[errPanic]; got != 1 {
		t.Errorf("metrics errors[panic]: got %d, want 1", got)
	}
}

// TestHeavyClientCannotStarveOthers: one client asks for the heaviest
// profile, a heavy gradient map and a training run at once, and its runs
// are held inside their worker slot until the test lets them go. A client
// holds at most one of the two workers, so a light client's requests are
// all answered while the heavy client's work is held; were the heavy
// client able to take both workers, the light one would wait for ever.
func TestHeavyClientCannotStarveOthers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Workers = 2
	release := make(chan struct{})
	var held atomic.Int64
	hold := func() {
		held.Add(1)
		<-release
	}
	ts, app := newTestServerWith(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(s *Server) {
		s.hooks.beforeProfile = func(st engine.Settings) {
			if st.H == 256 {
				hold()
			}
		}
		s.hooks.inSlot = func(kind runKind) {
			if kind == kindMap || kind == kindTrain {
				hold()
			}
		}
	})
	heavy := dial(t, ts, nil)
	send(t, heavy, `{"type":"config","id":1,`+heavyConfig+`}`)
	// The largest training iteration and map the limits allow.
	send(t, heavy, `{"type":"train","id":2,"cell":"lstm","T":500,"H":128,"batch":15,"iterations":20000,"every":1000}`)
	send(t, heavy, `{"type":"map","id":3,"rows":200,`+heavyConfig+`}`)
	waitFor(t, 30*time.Second, "the heavy client to hold a worker", func() bool { return held.Load() >= 1 })

	light := dial(t, ts, nil)
	for id := 1; id <= 20; id++ {
		send(t, light, `{"type":"config","id":`+itoa(id)+`,"T":50,"H":8}`)
		if m := readUntil(t, light, "profile"); m["id"] != float64(id) {
			t.Fatalf("light client: got profile %v, want %d", m["id"], id)
		}
		if running := app.snapshot(time.Now()).Runs.Running; running > 2 {
			t.Fatalf("runs running: got %d, want at most the 2 workers", running)
		}
	}
	if n := held.Load(); n != 1 {
		t.Errorf("heavy runs inside a worker slot: got %d, want 1 (one client, one worker)", n)
	}
	close(release)
	heavy.Close() // cancels the heavy runs, held or waiting
	waitFor(t, 30*time.Second, "the heavy client's runs to end", func() bool {
		r := app.snapshot(time.Now()).Runs
		return r.Running == 0 && r.Waiting == 0
	})
}

// TestSendQueueBounds: what waits for a client is bounded in messages
// and in bytes; past either, progress is skipped and anything else drops
// the client with 1008.
func TestSendQueueBounds(t *testing.T) {
	srv := fuzzServer()
	const mib = 1 << 20
	big := strings.Repeat("x", mib)
	for _, tc := range []struct {
		name       string
		size       int // of each message's string; JSON adds 2 quotes
		fits       int // messages queued before the client is dropped
		droppables bool
	}{
		{"small messages", 10, sendQueue, false},
		{"1 MiB messages", mib - 2, sendQueueBytes / mib, false},
		{"progress is skipped, not fatal", mib - 2, sendQueueBytes / mib, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := offlineSession(srv, sendQueue)
			defer sess.cancel()
			for i := range tc.fits {
				sess.sendJSON(big[:tc.size], tc.droppables)
				if sess.ctx.Err() != nil {
					t.Fatalf("dropped after %d messages, want %d to fit", i+1, tc.fits)
				}
			}
			sess.sendJSON(big[:tc.size], tc.droppables)
			if len(sess.send) != tc.fits {
				t.Errorf("queued: got %d messages, want %d", len(sess.send), tc.fits)
			}
			if dropped := sess.ctx.Err() != nil; dropped == tc.droppables {
				t.Fatalf("client dropped: got %v, want %v", dropped, !tc.droppables)
			}
			if !tc.droppables {
				if code := int(sess.closeMsg[0])<<8 | int(sess.closeMsg[1]); code != websocket.ClosePolicyViolation {
					t.Errorf("close code: got %d, want %d", code, websocket.ClosePolicyViolation)
				}
			}
		})
	}
	// One message larger than the byte bound still goes to an idle client.
	sess := offlineSession(srv, sendQueue)
	defer sess.cancel()
	sess.sendJSON(strings.Repeat("x", sendQueueBytes+1), false)
	if len(sess.send) != 1 || sess.ctx.Err() != nil {
		t.Errorf("a message over the byte bound to an empty queue: got %d queued, dropped %v; want it queued", len(sess.send), sess.ctx.Err() != nil)
	}
}

// TestLightRequestsOvertakeAHeavyRun: with a single worker, a heavy
// client's gradient map (a long run) is under way when a light client
// asks for profiles. The heavy run gives its core up at its next step
// once it has held it for a quantum, so every light profile is answered
// before the map, which still completes afterwards. Served in arrival
// order, the light client would wait for the whole map.
func TestLightRequestsOvertakeAHeavyRun(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Workers = 1
	ts, app := newTestServer(t, cfg)
	heavy := dial(t, ts, nil)
	send(t, heavy, `{"type":"map","id":1,"rows":20,"cell":"lstm","T":600,"H":128}`)
	waitFor(t, 30*time.Second, "the map to be computing", func() bool { return app.snapshot(time.Now()).Runs.Running == 1 })

	var mapArrived atomic.Bool
	heavyDone := make(chan error, 1)
	// Exits when the map (or an error) arrives.
	go func() {
		heavy.SetReadDeadline(time.Now().Add(10 * time.Minute))
		_, data, err := heavy.ReadMessage()
		if err == nil && !strings.Contains(string(data), `"type":"map"`) {
			err = errors.New("got " + string(data[:min(len(data), 80)]))
		}
		mapArrived.Store(true)
		heavyDone <- err
	}()

	light := dial(t, ts, nil)
	for id := 1; id <= 10; id++ {
		send(t, light, `{"type":"config","id":`+itoa(id)+`,"T":50,"H":8}`)
		if m := readUntil(t, light, "profile"); m["id"] != float64(id) {
			t.Fatalf("light client: got profile %v, want %d", m["id"], id)
		}
	}
	if mapArrived.Load() {
		t.Error("the heavy map was answered before the light profiles: they waited for all of it")
	}
	if err := <-heavyDone; err != nil {
		t.Fatalf("heavy client: %v, want its map", err)
	}
	snap := app.snapshot(time.Now())
	if snap.Runs.ByPriority["interactive"].Runs < 11 {
		t.Errorf("interactive runs recorded: %d, want the map and 10 profiles", snap.Runs.ByPriority["interactive"].Runs)
	}
}

// TestFloodingClientDropped: messages past the rate limit are dropped
// with one error a second; a client that keeps sending at many times the
// limit is closed with 1008, since reading and dropping cost CPU too.
// 5000 messages are more than the flood allowance of ten bursts plus ten
// times the rate for as long as sending them could take here.
func TestFloodingClientDropped(t *testing.T) {
	ts, app := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	msg := []byte(`{"type":"config","id":1,"T":10}`)
	for range 5000 {
		if conn.WriteMessage(websocket.TextMessage, msg) != nil {
			break // already closed
		}
	}
	if code := readClose(t, conn, 30*time.Second); code != websocket.ClosePolicyViolation {
		t.Errorf("flooding client: close code %d, want %d", code, websocket.ClosePolicyViolation)
	}
	if n := app.snapshot(time.Now()).Errors[errFlood]; n != 1 {
		t.Errorf("errors[flood]: got %d, want 1", n)
	}
	// A client at a slider's pace is not touched.
	other := dial(t, ts, nil)
	send(t, other, `{"type":"config","id":2,"T":10}`)
	if m := readUntil(t, other, "profile"); m["id"] != 2.0 {
		t.Errorf("the next client: got %v, want profile 2", m)
	}
}
