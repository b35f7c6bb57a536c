package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func newTestServer(t *testing.T, cfg Config) (*httptest.Server, *Server) {
	t.Helper()
	return newTestServerWith(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
}

// newTestServerWith is newTestServer with a logger and a chance to set
// test hooks before the server takes requests. Cleanup closes the
// sessions first, so no test's goroutines run on into the next test.
func newTestServerWith(t *testing.T, cfg Config, logger *slog.Logger, setup func(*Server)) (*httptest.Server, *Server) {
	t.Helper()
	app := NewServer(logger, cfg)
	if setup != nil {
		setup(app)
	}
	return serveTestApp(t, app, nil), app
}

// serveTestApp serves app on a test server whose listener wrap, if not
// nil, wraps, and closes both when the test ends, the sessions first.
func serveTestApp(t *testing.T, app *Server, wrap func(net.Listener) net.Listener) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(app)
	if wrap != nil {
		ts.Listener = wrap(ts.Listener)
	}
	ts.Start()
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		app.Close(ctx)
	})
	return ts
}

// dial opens a websocket to ts and reads the hello message.
func dial(t *testing.T, ts *httptest.Server, header http.Header) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	conn, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { conn.Close() })
	if hello := readMsg(t, conn); hello["type"] != "hello" || hello["version"] != float64(1) {
		t.Fatalf("first message got %v, want hello version 1", hello)
	}
	return conn
}

func readMsg(t *testing.T, conn *websocket.Conn) map[string]any {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("message %q is not JSON: %v", data, err)
	}
	return m
}

func send(t *testing.T, conn *websocket.Conn, msg string) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func TestWebsocketProfileRoundTrip(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"config","id":7,"cell":"lstm","T":50,"H":8,"seed":3}`)
	m := readMsg(t, conn)
	if m["type"] != "profile" || m["id"] != float64(7) {
		t.Fatalf("got %v %v, want profile 7", m["type"], m["id"])
	}
	cfg := m["config"].(map[string]any)
	if cfg["cell"] != "lstm" || cfg["T"] != float64(50) || cfg["act"] != "tanh" {
		t.Errorf("config got %v, want the request normalised with defaults", cfg)
	}
	prof := m["profile"].(map[string]any)
	for _, series := range []string{"dE_ds", "dE_ds_raw", "dE_dc", "stateNorm"} {
		if got := len(prof[series].([]any)); got != 50 {
			t.Errorf("%s has %d steps, want 50", series, got)
		}
	}
	// The page's readout shows the run time, which the export leaves out.
	if ms, ok := m["elapsedMs"].(float64); !ok || ms < 0 {
		t.Errorf("elapsedMs got %v, want the run time in milliseconds", m["elapsedMs"])
	}
}

// TestWebsocketProfileThenJacobians: an RNN profile comes without its
// per-step Jacobian norms; asked for, they follow in a message of their
// own with the profile's id and equal the HTTP export's, which has
// everything. A gated cell gets no such message, and a newer config
// cancels norms not yet sent.
func TestWebsocketProfileThenJacobians(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"config","id":1,"T":60,"H":12,"gain":1.3}`)
	m := readMsg(t, conn)
	if m["type"] != "profile" || m["profile"].(map[string]any)["jacobianNorm"] != nil {
		t.Fatalf("without jacobians: got %v, want a profile without jacobianNorm", m["type"])
	}
	send(t, conn, `{"type":"config","id":2,"T":60,"H":12,"gain":1.3,"jacobians":true}`)
	if m := readMsg(t, conn); m["type"] != "profile" || m["id"] != 2.0 || m["profile"].(map[string]any)["jacobianNorm"] != nil {
		t.Fatalf("with jacobians: got %v %v first, want profile 2 without jacobianNorm", m["type"], m["id"])
	}
	jm := readMsg(t, conn)
	if jm["type"] != "jacobians" || jm["id"] != 2.0 {
		t.Fatalf("after the profile: got %v %v, want jacobians 2", jm["type"], jm["id"])
	}
	_, _, body := getJSON(t, ts, "/api/profile?T=60&H=12&gain=1.3")
	want := body["profile"].(map[string]any)["jacobianNorm"].([]any)
	if !equalJSONValues(jm["jacobianNorm"], want) {
		t.Errorf("jacobianNorm: websocket %v, HTTP %v", jm["jacobianNorm"], want)
	}

	// Neither an LSTM nor an RNN asked without gets a jacobians message:
	// the error to the next request is what comes after their profiles.
	for id, msg := range map[int]string{3: `"cell":"lstm","T":20,"jacobians":true`, 4: `"T":20,"H":8,"jacobians":false`} {
		send(t, conn, `{"type":"config","id":`+itoa(id)+`,`+msg+`}`)
		if m := readMsg(t, conn); m["type"] != "profile" || m["id"] != float64(id) {
			t.Fatalf("got %v %v, want profile %d", m["type"], m["id"], id)
		}
	}
	send(t, conn, `{"type":"config","id":5,"jacobians":"yes"}`)
	if m := readMsg(t, conn); m["type"] != "error" || m["field"] != "jacobians" {
		t.Errorf("jacobians \"yes\": got %v, want an error naming jacobians", m)
	}
}

func equalJSONValues(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestWebsocketSupersededConfigsCancelled sends a burst of 20 heavy
// configs: each cancels the one before, so only the newest is answered.
func TestWebsocketSupersededConfigsCancelled(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	var burst strings.Builder
	for id := 1; id <= 20; id++ {
		msg := `{"type":"config","id":` + itoa(id) + `,"cell":"lstm","T":2000,"H":256}`
		burst.WriteString(msg)
		send(t, conn, msg)
	}
	m := readMsg(t, conn)
	if m["type"] != "profile" || m["id"] != float64(20) {
		t.Fatalf("first answer got %v id %v, want profile id 20", m["type"], m["id"])
	}
	// Nothing else may follow: the 19 others were cancelled.
	send(t, conn, `{"type":"config","id":21,"T":5}`)
	if m := readMsg(t, conn); m["id"] != float64(21) {
		t.Fatalf("next answer got id %v, want 21 (a superseded request was answered)", m["id"])
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestWebsocketBadMessages(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	cases := []struct {
		msg, field, contains string
	}{
		{`not json`, "", "JSON object"},
		{`[1,2]`, "", "JSON object"},
		{`{"id":1}`, "type", "needs a \"type\""},
		{`{"type":5}`, "type", "type must be a string"},
		{`{"type":"dance","id":2}`, "type", "unknown message type"},
		{`{"type":"config","id":3,"T":0}`, "T", "T must be 1..2000, got 0"},
		{`{"type":"config","id":4,"T":"100"}`, "T", "must be a number"},
		{`{"type":"config","id":5,"T":1.5}`, "T", "whole number"},
		{`{"type":"config","id":6,"act":"swish"}`, "act", "act must be one of"},
		{`{"type":"config","id":7,"gain":1e400}`, "gain", "gain must be 0..100"},
		{`{"type":"config","id":8,"gain":-1}`, "gain", "gain must be 0..100, got -1"},
		{`{"type":"config","id":9,"colour":"red"}`, "colour", "unknown setting"},
		{`{"type":"config","id":10,"cell":null}`, "cell", "must not be null"},
		{`{"type":"config","id":11,"H":[1]}`, "H", "must be a number"},
		{`{"type":"config","id":-1}`, "id", "id must be a whole number"},
		{`{"type":"animate","id":12,"stepsPerSecond":0}`, "stepsPerSecond", "stepsPerSecond must be 1..2000"},
		{`{"type":"stop","id":13,"now":true}`, "now", "unknown field"},
		{`{"type":"config","id":14,"threshold":0}`, "threshold", "greater than 0"},
		{`{"type":"config","id":15,"bidir":"yes"}`, "bidir", "true or false"},
	}
	for _, c := range cases {
		send(t, conn, c.msg)
		m := readMsg(t, conn)
		if m["type"] != "error" {
			t.Errorf("%s: got %v, want an error", c.msg, m)
			continue
		}
		if got, _ := m["field"].(string); got != c.field {
			t.Errorf("%s: field got %q, want %q", c.msg, got, c.field)
		}
		if got := m["message"].(string); !strings.Contains(got, c.contains) {
			t.Errorf("%s: message got %q, want it to contain %q", c.msg, got, c.contains)
		}
	}
	// The connection is still alive and serving.
	send(t, conn, `{"type":"config","id":99,"T":3}`)
	if m := readMsg(t, conn); m["type"] != "profile" || m["id"] != float64(99) {
		t.Fatalf("after bad messages got %v, want profile 99", m)
	}
}

func TestWebsocketCrossOriginRefused(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://evil.example"}})
	if err == nil {
		t.Fatal("cross-origin upgrade accepted, want refused")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin status got %v, want 403", resp)
	}
	// Same origin and allow-listed origins are accepted.
	dial(t, ts, http.Header{"Origin": {ts.URL}})
	cfg := DefaultConfig()
	cfg.AllowedOrigins = []string{"https://class.example.org"}
	ts2, _ := newTestServer(t, cfg)
	dial(t, ts2, http.Header{"Origin": {"https://class.example.org"}})
}

func TestWebsocketNonFiniteEncodedAsStrings(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"config","id":1,"act":"linear","gain":6,"T":2000,"H":8}`)
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(data) {
		t.Fatal("profile of an overflowing run is not valid JSON")
	}
	var m struct {
		Loss     any            `json:"loss"`
		Overflow map[string]any `json:"overflow"`
		Profile  struct {
			DEds []any `json:"dE_ds"`
		} `json:"profile"`
	}
	json.Unmarshal(data, &m)
	if m.Loss != "NaN" {
		t.Errorf("loss got %v, want the string NaN", m.Loss)
	}
	if f, _ := m.Overflow["forward"].(float64); f < 1 {
		t.Errorf("overflow got %v, want a forward step", m.Overflow)
	}
	if got := m.Profile.DEds[0]; got != "NaN" {
		t.Errorf("dE_ds[0] got %v, want the string NaN", got)
	}
}

func TestWebsocketAnimationAndStop(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"animate","id":5,"T":40,"stepsPerSecond":400}`)
	if m := readMsg(t, conn); m["type"] != "profile" {
		t.Fatalf("got %v, want the profile first", m["type"])
	}
	last := 41.0
	for {
		m := readMsg(t, conn)
		if m["type"] == "done" {
			break
		}
		k := m["k"].(float64)
		if m["type"] != "frame" || k >= last {
			t.Fatalf("got %v, want frames with k decreasing below %v", m, last)
		}
		last = k
	}
	if last != 1 {
		t.Fatalf("animation ended at k=%v, want 1", last)
	}
	// A slow animation is stopped by stop.
	send(t, conn, `{"type":"animate","id":6,"T":2000,"stepsPerSecond":1}`)
	if m := readMsg(t, conn); m["type"] != "profile" {
		t.Fatalf("got %v, want profile", m["type"])
	}
	send(t, conn, `{"type":"stop","id":7}`)
	for {
		m := readMsg(t, conn)
		if m["type"] == "stopped" {
			break
		}
		if m["type"] != "frame" {
			t.Fatalf("got %v while stopping, want frames then stopped", m)
		}
	}
}
