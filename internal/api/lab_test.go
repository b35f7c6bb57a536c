package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestWebsocketTrainingStreamsAndStops(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"train","id":3,"task":"recall","T":12,"H":8,"iterations":40,"every":10,"cells":["rnn","lstm"]}`)
	start := readMsg(t, conn)
	if start["type"] != "trainStart" || len(start["runs"].([]any)) != 2 {
		t.Fatalf("got %v, want trainStart with 2 runs", start)
	}
	if b := start["baseline"].(float64); b < 2.07 || b > 2.08 {
		t.Errorf("recall baseline got %v, want ln 8 ≈ 2.079", b)
	}
	progress := map[float64]int{}
	finished := 0
	for finished < 2 {
		m := readMsg(t, conn)
		switch m["type"] {
		case "progress":
			progress[m["run"].(float64)]++
			if got := len(m["profile"].([]any)); got != 12 {
				t.Fatalf("progress profile has %d steps, want 12", got)
			}
			if _, ok := m["loss"].(float64); !ok {
				t.Fatalf("progress loss got %v, want a number", m["loss"])
			}
		case "trainDone":
			if m["reason"] != "finished" {
				t.Fatalf("trainDone reason got %v, want finished", m["reason"])
			}
			finished++
		default:
			t.Fatalf("unexpected message %v", m)
		}
	}
	if progress[0] != 4 || progress[1] != 4 {
		t.Errorf("progress messages per run got %v, want 4 each", progress)
	}
	if m := readMsg(t, conn); m["type"] != "done" {
		t.Fatalf("got %v, want done", m)
	}

	// A long run is stopped by stop, and the connection carries on.
	send(t, conn, `{"type":"train","id":4,"T":30,"iterations":20000,"every":1}`)
	if m := readMsg(t, conn); m["type"] != "trainStart" {
		t.Fatalf("got %v, want trainStart", m)
	}
	// The stream ends as docs/protocol.md says: trainDone "stopped",
	// then done. The stop's own answer may come anywhere among them.
	send(t, conn, `{"type":"stop","id":5}`)
	sawStopped, sawTrainDone, sawDone := false, false, false
	for !(sawStopped && sawDone) {
		m := readMsg(t, conn)
		switch m["type"] {
		case "stopped":
			sawStopped = true
		case "trainDone":
			if m["reason"] != "stopped" || m["id"] != 4.0 {
				t.Fatalf("trainDone got %v, want reason stopped for id 4", m)
			}
			sawTrainDone = true
		case "done":
			if !sawTrainDone || m["id"] != 4.0 {
				t.Fatalf("got %v, want done for id 4 after its trainDone", m)
			}
			sawDone = true
		case "progress":
			if sawDone {
				t.Fatalf("progress %v after done", m)
			}
		default:
			t.Fatalf("unexpected message %v while stopping", m)
		}
	}
}

func TestWebsocketTrainingDiverges(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"train","id":1,"task":"adding","act":"relu","gain":1.5,"T":50,"optimizer":"sgd","lr":0.05,"iterations":50,"every":10}`)
	readMsg(t, conn) // trainStart
	for {
		m := readMsg(t, conn)
		if m["type"] == "progress" && m["nonFinite"].(float64) > 0 {
			continue
		}
		if m["type"] == "trainDone" {
			if m["reason"] != "diverged" {
				t.Fatalf("reason got %v, want diverged", m["reason"])
			}
			return
		}
	}
}

func TestWebsocketTrainingBadRequests(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	for _, c := range []struct{ msg, field, contains string }{
		{`{"type":"train","task":"poetry"}`, "task", "task must be one of recall, adding, copy"},
		{`{"type":"train","optimizer":"rmsprop"}`, "optimizer", "optimizer must be one of"},
		{`{"type":"train","lr":0}`, "lr", "lr must be"},
		{`{"type":"train","batch":0}`, "batch", "batch must be 1..128"},
		{`{"type":"train","iterations":1e9}`, "iterations", "iterations must be 1..20000"},
		{`{"type":"train","every":2.5}`, "every", "whole number"},
		{`{"type":"train","cells":["rnn","rnn"]}`, "cells", "distinct"},
		{`{"type":"train","cells":"lstm"}`, "cells", "list"},
		{`{"type":"train","T":1000}`, "T", "training: T must be 1..500"},
		{`{"type":"train","H":200}`, "H", "training: H must be 1..128"},
		{`{"type":"sensitivity","T":10,"outputStep":11}`, "outputStep", "outputStep must be 1..10"},
		{`{"type":"map","rows":0}`, "rows", "rows must be 1..200"},
	} {
		send(t, conn, c.msg)
		m := readMsg(t, conn)
		if m["type"] != "error" || m["field"] != c.field || !strings.Contains(m["message"].(string), c.contains) {
			t.Errorf("%s: got %v, want error on %s containing %q", c.msg, m, c.field, c.contains)
		}
	}
}

// TestWebsocketSensitivity checks the article's bidirectional point: the
// unidirectional model's output at t cannot depend on inputs after t;
// the bidirectional one's does.
func TestWebsocketSensitivity(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"sensitivity","id":2,"cell":"lstm","T":20,"outputStep":8}`)
	m := readMsg(t, conn)
	if m["type"] != "sensitivity" || m["outputStep"] != float64(8) {
		t.Fatalf("got %v, want sensitivity at step 8", m)
	}
	uni, bi := m["unidirectional"].([]any), m["bidirectional"].([]any)
	for k := 1; k <= 20; k++ {
		u, b := uni[k-1].(float64), bi[k-1].(float64)
		if k > 8 && u != 0 {
			t.Errorf("unidirectional ‖∂E_8/∂x_%d‖ got %g, want 0", k, u)
		}
		if k <= 8 && u == 0 {
			t.Errorf("unidirectional ‖∂E_8/∂x_%d‖ got 0, want > 0", k)
		}
		if b == 0 {
			t.Errorf("bidirectional ‖∂E_8/∂x_%d‖ got 0, want > 0 on both sides", k)
		}
	}
}

func TestWebsocketGradientMap(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"map","id":3,"T":30,"H":8,"rows":10}`)
	m := readMsg(t, conn)
	steps, values := m["steps"].([]any), m["values"].([]any)
	if len(steps) != 10 || steps[9] != float64(30) {
		t.Fatalf("steps got %v, want 10 rows ending at 30", steps)
	}
	for r, row := range values {
		tStep := int(steps[r].(float64))
		cols := row.([]any)
		for k := 1; k <= 30; k++ {
			v := cols[k-1].(float64)
			if k > tStep && v != 0 {
				t.Fatalf("‖∂E_%d/∂s_%d‖ got %g, want 0 (the future)", tStep, k, v)
			}
			if k <= tStep && v <= 0 {
				t.Fatalf("‖∂E_%d/∂s_%d‖ got %g, want > 0", tStep, k, v)
			}
		}
	}
}

// TestWebsocketStopOnlyWhatIsNamed stops an animation while a training
// runs: the training carries on, and stopping "training" then ends it.
func TestWebsocketStopOnlyWhatIsNamed(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"train","id":1,"T":20,"iterations":20000,"every":5}`)
	if m := readMsg(t, conn); m["type"] != "trainStart" {
		t.Fatalf("got %v, want trainStart", m)
	}
	send(t, conn, `{"type":"stop","id":2,"what":"animation"}`)
	progressAfterStop := 0
	for progressAfterStop < 3 {
		m := readMsg(t, conn)
		switch m["type"] {
		case "stopped":
			if m["what"] != "animation" {
				t.Fatalf("stopped got %v, want what=animation", m)
			}
		case "progress":
			progressAfterStop++
		default:
			t.Fatalf("got %v while training after stopping the animation", m)
		}
	}
	send(t, conn, `{"type":"stop","id":3,"what":"training"}`)
	for {
		m := readMsg(t, conn)
		if m["type"] == "trainDone" {
			if m["reason"] != "stopped" {
				t.Fatalf("trainDone got %v, want stopped", m)
			}
			break
		}
	}
	send(t, conn, `{"type":"stop","id":4,"what":"everything"}`)
	for {
		m := readMsg(t, conn)
		if m["type"] == "error" {
			if m["field"] != "what" {
				t.Fatalf("error got %v, want field what", m)
			}
			break
		}
	}
}

// TestTrainingCPULimit: a training run that has used its CPU time ends
// every model with trainDone "limit", then done, and frees the slot.
func TestTrainingCPULimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrainCPU = time.Millisecond
	ts, app := newTestServer(t, cfg)
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"train","id":4,"task":"recall","T":20,"H":16,"iterations":20000,"every":1000,"cells":["rnn","lstm"]}`)
	if m := readMsg(t, conn); m["type"] != "trainStart" {
		t.Fatalf("got %v, want trainStart", m)
	}
	limited := 0
	for {
		m := readUntilOneOf(t, conn, "trainDone", "done")
		if m["type"] == "done" {
			break
		}
		if m["reason"] != "limit" || m["iter"].(float64) >= 20000 {
			t.Errorf("trainDone: got %v, want reason limit long before 20000 iterations", m)
		}
		limited++
	}
	if limited != 2 {
		t.Errorf("%d models ended by the limit, want 2", limited)
	}
	waitFor(t, 10*time.Second, "no training to be active", func() bool { return app.snapshot(time.Now()).Training.Active == 0 })
}

// TestTrainingEndsWhenNobodyReads: a client starts a training and never
// reads again. Once its queue has stayed full for TrainUnread the run
// ends, though its 20000 iterations are far from done.
func TestTrainingEndsWhenNobodyReads(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TrainUnread = 100 * time.Millisecond
	app := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	app.queue = sendLimits{messages: 4, bytes: 1 << 20}
	// The server's send buffer and the client's receive buffer are the
	// kernel's least, so the socket fills after a few messages, not after
	// the megabytes that an auto-tuned buffer holds.
	ts := serveTestApp(t, app, func(l net.Listener) net.Listener { return smallSendListener{l} })
	dialer := *websocket.DefaultDialer
	dialer.NetDial = func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(1)
		}
		return c, err
	}
	conn, _, err := dialer.Dial(wsURL(ts), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Progress after every iteration, each with a 500-step profile.
	send(t, conn, `{"type":"train","id":5,"task":"recall","T":500,"H":8,"iterations":20000,"every":1,"cells":["rnn"]}`)
	waitFor(t, 30*time.Second, "the training to start", func() bool { return app.snapshot(time.Now()).Training.Active == 1 })
	waitFor(t, 5*time.Minute, "the unread training to end", func() bool { return app.snapshot(time.Now()).Training.Active == 0 })
	if it := app.snapshot(time.Now()).Training.Iterations; it >= 20000 {
		t.Errorf("the training ran all %d iterations, want it ended early", it)
	}
}

// smallSendListener gives every connection it accepts the least send
// buffer the kernel allows.
type smallSendListener struct{ net.Listener }

func (l smallSendListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(1)
	}
	return c, err
}

// readUntilOneOf reads messages until one has one of the types.
func readUntilOneOf(t *testing.T, conn *websocket.Conn, types ...string) map[string]any {
	t.Helper()
	for {
		m := readMsg(t, conn)
		for _, want := range types {
			if m["type"] == want {
				return m
			}
		}
	}
}

// TestTrainingDroppedBeforeItStarts: a train that a stop or a newer train
// drops before its worker takes it up still ends its stream, with done
// alone, as docs/protocol.md promises. The session has no goroutines, so
// the jobs wait until runPending.
func TestTrainingDroppedBeforeItStarts(t *testing.T) {
	srv := fuzzServer()
	sess := offlineSession(srv, 16)
	defer sess.cancel()
	next := func() map[string]any {
		t.Helper()
		select {
		case out := <-sess.send:
			var m map[string]any
			if err := json.Unmarshal(out.data, &m); err != nil {
				t.Fatal(err)
			}
			return m
		default:
			t.Fatal("no message queued")
			return nil
		}
	}
	sess.handle([]byte(`{"type":"train","id":1,"T":4,"H":2,"batch":1,"iterations":1}`))
	sess.handle([]byte(`{"type":"train","id":2,"T":4,"H":2,"batch":1,"iterations":1}`))
	if m := next(); m["type"] != "done" || m["id"] != 1.0 {
		t.Fatalf("train 1 replaced before it ran: got %v, want done for id 1", m)
	}
	sess.handle([]byte(`{"type":"stop","id":3,"what":"training"}`))
	if m := next(); m["type"] != "done" || m["id"] != 2.0 {
		t.Fatalf("train 2 stopped before it ran: got %v, want done for id 2", m)
	}
	if m := next(); m["type"] != "stopped" || m["id"] != 3.0 {
		t.Fatalf("got %v, want stopped for id 3", m)
	}
	// A stop with nothing waiting, and a dropped profile, answer nothing
	// more.
	sess.handle([]byte(`{"type":"config","id":4,"T":4,"H":2}`))
	sess.handle([]byte(`{"type":"stop","id":5}`))
	if m := next(); m["type"] != "stopped" || m["id"] != 5.0 {
		t.Fatalf("got %v, want stopped for id 5", m)
	}
	sess.runPending()
	if len(sess.send) != 0 {
		t.Fatalf("%d messages after the stops, want none", len(sess.send))
	}
}
