package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"gradviz/internal/engine"
)

// codesSeen collects the codes the cases of TestErrorCodes produced, so
// that the test fails when a code in errorCodes has no case, or a case
// produces a code the list lacks.
type codesSeen map[errorCode]bool

func (seen codesSeen) check(t *testing.T, what string, got map[string]any, want errorCode, field string) {
	t.Helper()
	code, _ := got["code"].(string)
	seen[errorCode(code)] = true
	if code != string(want) {
		t.Errorf("%s: got code %q, want %q (%v)", what, code, want, got)
	}
	if f, _ := got["field"].(string); f != field {
		t.Errorf("%s: got field %q, want %q (%v)", what, f, field, got)
	}
	if msg, _ := got["message"].(string); msg == "" {
		t.Errorf("%s: no message for people (%v)", what, got)
	}
}

// wsErr sends msg and returns the next message, which must be an error.
func wsErr(t *testing.T, conn *websocket.Conn, msg string) map[string]any {
	t.Helper()
	send(t, conn, msg)
	m := readMsg(t, conn)
	if m["type"] != "error" {
		t.Fatalf("%s: got %v, want an error", msg, m)
	}
	return m
}

// httpErr makes a request and decodes its JSON error body.
func httpErr(t *testing.T, req *http.Request, status int) map[string]any {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: got status %d, want %d; body %s", req.Method, req.URL, resp.StatusCode, status, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", req.Method, req.URL, body, err)
	}
	return m
}

func newGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestErrorCodes produces every error code by the case it names, over
// the websocket and over HTTP, and checks the field beside it.
func TestErrorCodes(t *testing.T) {
	seen := codesSeen{}

	// Requests a client can correct. A small work limit makes the work
	// cases cheap: T·H² of at most 1000.
	cfg := DefaultConfig()
	cfg.Limits.MaxWork = 1000
	ts, _ := newTestServer(t, cfg)
	conn := dial(t, ts, nil)
	for _, tc := range []struct {
		msg   string
		code  errorCode
		field string
	}{
		{`[1,2]`, codeBadMessage, ""},
		{`{"type":"config"} {"type":"config"}`, codeBadMessage, ""},
		{`{"id":1}`, codeBadMessage, "type"},
		{`{"type":7}`, codeBadMessage, "type"},
		{`{"type":"profile"}`, codeUnknownType, "type"},
		{`{"type":"config","t":5}`, codeUnknownField, "t"},
		{`{"type":"stop","colour":"red"}`, codeUnknownField, "colour"},
		{`{"type":"train","H":1,"shuffle":true}`, codeUnknownField, "shuffle"},
		{`{"type":"config","T":0}`, codeBadField, "T"},
		{`{"type":"config","id":"7"}`, codeBadField, "id"},
		{`{"type":"config","T":5,"T":6}`, codeBadField, "T"},
		{`{"type":"stop","what":"everything"}`, codeBadField, "what"},
		{`{"type":"animate","H":2,"stepsPerSecond":0}`, codeBadField, "stepsPerSecond"},
		{`{"type":"train","H":1,"batch":0}`, codeBadField, "batch"},
		{`{"type":"train","H":1,"task":"poetry"}`, codeBadField, "task"},
		{`{"type":"config","T":100,"H":10}`, codeWorkLimit, "T"},
		{`{"type":"sensitivity","T":100,"H":4}`, codeWorkLimit, "T"},
		{`{"type":"sensitivity","T":100,"H":3}`, codeWorkLimit, "bidir"},
		{`{"type":"train","H":4,"batch":32}`, codeWorkLimit, "batch"},
		{`{"type":"train","T":1000,"H":1}`, codeTrainingLimit, "T"},
		{`{"type":"train","H":1,"batch":200}`, codeTrainingLimit, "batch"},
		{`{"type":"train","H":1,"iterations":1e9}`, codeTrainingLimit, "iterations"},
		{`{"type":"train","H":1,"K":20}`, codeTrainingLimit, "K"},
		{`{"type":"langTrain","distance":500}`, codeLangLimit, "distance"},
		{`{"type":"langRead","sentence":"The clouds are in the ____"}`, codeNoModel, "sentence"},
	} {
		seen.check(t, tc.msg, wsErr(t, conn, tc.msg), tc.code, tc.field)
	}
	// The default batch (32) past a smaller -max-train-batch.
	cfg.Train.MaxBatch = 8
	small, _ := newTestServer(t, cfg)
	const msg = `{"type":"train","H":1}`
	seen.check(t, msg+" with -max-train-batch 8", wsErr(t, dial(t, small, nil), msg), codeTrainingLimit, "batch")
	if err := conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"config"}`)); err != nil {
		t.Fatal(err)
	}
	seen.check(t, "a binary message", readMsg(t, conn), codeBadMessage, "")

	for _, tc := range []struct {
		path   string
		status int
		code   errorCode
		field  string
	}{
		{"/api/profile?T=0", 400, codeBadField, "T"},
		{"/api/profile?t=5", 400, codeUnknownField, "t"},
		{"/api/profile?T=5&H=2&include=everything", 400, codeBadField, "include"},
		{"/api/profile?T=100&H=10", 400, codeWorkLimit, "T"},
		{"/api/plot.png?T=5&H=2&pin=T%3D0", 400, codeBadField, "pin"},
		{"/api/plot.png?T=5&H=2&pin=colour%3Dred", 400, codeUnknownField, "pin"},
		{"/api/plot.csv?T=5&H=2&pin=T%3D100%26H%3D10", 400, codeWorkLimit, "pin"},
		{"/api/plot.svg?T=5&H=2&w=1", 400, codeBadField, "w"},
		{"/api/profile?T=%zz", 400, codeBadQuery, "query"},
		{"/ws", 400, codeNotWebsocket, ""},
		{"/nowhere", 404, codeNotFound, ""},
		{"/static/dir/", 404, codeNotFound, ""},
	} {
		seen.check(t, tc.path, httpErr(t, newGet(t, ts.URL+tc.path), tc.status), tc.code, tc.field)
	}
	post, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/profile", nil)
	seen.check(t, "POST", httpErr(t, post, 405), codeMethodNotAllowed, "")
	body, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/profile", strings.NewReader("T=5"))
	seen.check(t, "a body", httpErr(t, body, 413), codeBodyRefused, "body")
	host := newGet(t, ts.URL+"/api/profile")
	host.Host = "rebound.example"
	seen.check(t, "another Host", httpErr(t, host, 421), codeHostRefused, "Host")
	origin := newGet(t, ts.URL+"/ws")
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-Websocket-Version": "13",
		"Sec-Websocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "http://evil.example"} {
		origin.Header.Set(k, v)
	}
	seen.check(t, "another Origin", httpErr(t, origin, 403), codeOriginRefused, "")

	// The server's policy: rates, connections, time, shutdown. The
	// address may make four requests: the websocket, a second one, a
	// profile and one while shutting down; the fifth is past its rate.
	cfg = DefaultConfig()
	cfg.MessagesPerSecond, cfg.MessageBurst = 0.001, 1
	cfg.HTTPRequestsPerSecond, cfg.HTTPRequestBurst = 0.001, 4
	cfg.MaxConnections = 1
	cfg.RunTimeout = time.Nanosecond // past before the run starts
	ts, app := newTestServer(t, cfg)
	conn = dial(t, ts, nil) // the first request of the address
	send(t, conn, `{"type":"config","id":1,"T":5}`)
	if m := readMsg(t, conn); m["type"] != "profile" {
		t.Fatalf("first message: got %v, want its profile", m)
	}
	seen.check(t, "a message past the rate", wsErr(t, conn, `{"type":"config","id":2,"T":5}`), codeTooManyMessages, "")
	seen.check(t, "a second connection", httpErr(t, newGet(t, ts.URL+"/ws"), 503), codeTooManyConnections, "")
	seen.check(t, "a run past the timeout", httpErr(t, newGet(t, ts.URL+"/api/profile?T=5"), 503), codeTimeout, "")
	app.Close(context.Background())
	seen.check(t, "a connection while shutting down", httpErr(t, newGet(t, ts.URL+"/ws"), 503), codeShuttingDown, "")
	seen.check(t, "a request past the rate", httpErr(t, newGet(t, ts.URL+"/api/profile?T=5"), 429), codeTooManyRequests, "")

	// Internal failures, over both transports.
	ts, _ = newTestServerWith(t, DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)), func(s *Server) {
		s.hooks.beforeProfile = func(engine.Settings) { panic("test panic") }
	})
	conn = dial(t, ts, nil)
	seen.check(t, "a websocket request that panics", wsErr(t, conn, `{"type":"config","id":1,"T":5}`), codeInternal, "")
	seen.check(t, "an HTTP request that panics", httpErr(t, newGet(t, ts.URL+"/api/profile?T=5"), 500), codeInternal, "")

	// Class mode. Starting and joining take from one bucket of three.
	cfg = DefaultConfig()
	cfg.Class.MaxRooms = 1
	cfg.ClassJoinsPerMinute, cfg.ClassJoinBurst = 1, 3
	ts, _ = newTestServer(t, cfg)
	teacher, code, _ := startClass(t, ts)
	student := dial(t, ts, nil)
	seen.check(t, "a teacher's message before any class", wsErr(t, student, `{"type":"classReveal"}`), codeClassNotFound, "code")
	send(t, student, fmt.Sprintf(`{"type":"classJoin","code":%q}`, code))
	readClass(t, student, "classJoined")
	seen.check(t, "a join with a wrong secret", wsErr(t, dial(t, ts, nil), fmt.Sprintf(`{"type":"classJoin","code":%q,"secret":"x"}`, code)), codeClassNotTeacher, "secret")
	seen.check(t, "a join past the rate", wsErr(t, dial(t, ts, nil), fmt.Sprintf(`{"type":"classJoin","code":%q}`, code)), codeTooManyJoins, "code")
	send(t, teacher, `{"type":"classReveal"}`)
	seen.check(t, "a reveal before a question", readClass(t, teacher, "error"), codeClassNoQuestion, "question")
	cfg.ClassJoinsPerMinute = 0
	ts, _ = newTestServer(t, cfg)
	startClass(t, ts)
	seen.check(t, "a second class past -class-max-rooms", wsErr(t, dial(t, ts, nil), `{"type":"classStart"}`), codeClassFull, "")

	for _, c := range errorCodes {
		if !seen[c] {
			t.Errorf("no case produces the code %q", c)
		}
	}
	for c := range seen {
		if !slices.Contains(errorCodes, c) {
			t.Errorf("the code %q is not in errorCodes", c)
		}
	}
}
