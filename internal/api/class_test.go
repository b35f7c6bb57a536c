package api

import (
	"bytes"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"gradviz/internal/class"
	"gradviz/internal/class/natstest"
	"gradviz/internal/engine"
)

// readClass reads messages until one of type kind (and, when given, id)
// comes, and returns it; it fails on an error message.
func readClass(t *testing.T, conn *websocket.Conn, kind string) map[string]any {
	t.Helper()
	for range 200 {
		m := readMsg(t, conn)
		if m["type"] == kind {
			return m
		}
		if m["type"] == "error" && kind != "error" {
			t.Fatalf("waiting for %s: %v", kind, m)
		}
	}
	t.Fatalf("no %s message", kind)
	return nil
}

// startClass opens a teacher's websocket on ts and starts a class.
func startClass(t *testing.T, ts *httptest.Server) (conn *websocket.Conn, code, secret string) {
	t.Helper()
	conn = dial(t, ts, nil)
	send(t, conn, `{"type":"classStart","id":1}`)
	st := readClass(t, conn, "classStarted")
	code, secret = st["code"].(string), st["secret"].(string)
	if st["link"] != "/?class="+code || st["qr"] != "/api/class/"+code+"/qr.png" {
		t.Fatalf("classStarted %v", st)
	}
	if j := readClass(t, conn, "classJoined"); j["role"] != "teacher" || j["id"] != 1.0 {
		t.Fatalf("teacher's classJoined %v", j)
	}
	return conn, code, secret
}

func TestClassWebsocket(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Class.MaxMembers = 3
	ts, _ := newTestServer(t, cfg)
	testClassOver(t, ts, ts)
}

// testClassOver runs a class whose teacher is on ta and students on tb.
func testClassOver(t *testing.T, ta, tb *httptest.Server) {
	teacher, code, secret := startClass(t, ta)
	send(t, teacher, `{"type":"classState","id":2,"state":{"settings":{"gain":1.5},"tab":"map"}}`)
	if m := readClass(t, teacher, "classSent"); m["seq"] != 1.0 || m["id"] != 2.0 {
		t.Fatalf("classSent %v", m)
	}

	student := dial(t, tb, nil)
	send(t, student, fmt.Sprintf(`{"type":"classJoin","id":5,"code":%q}`, code))
	j := readClass(t, student, "classJoined")
	if j["role"] != "student" || j["state"].(map[string]any)["tab"] != "map" || j["id"] != 5.0 {
		t.Fatalf("student's classJoined %v", j)
	}
	if _, ok := j["secret"]; ok {
		t.Fatalf("the student was sent the secret: %v", j)
	}
	if m := readClass(t, teacher, "classMembers"); m["members"] != 1.0 || m["following"] != 1.0 {
		t.Fatalf("members %v", m)
	}

	// The student follows a change of settings, of tab and of step.
	send(t, teacher, `{"type":"classState","state":{"settings":{"gain":2.5}}}`)
	if u := readClass(t, student, "classUpdate"); u["state"].(map[string]any)["settings"].(map[string]any)["gain"] != 2.5 {
		t.Fatalf("update %v", u)
	}
	send(t, teacher, `{"type":"classState","state":{"tab":"profile","step":2}}`)
	if u := readClass(t, student, "classUpdate"); u["state"].(map[string]any)["step"] != 2.0 || u["seq"] != 3.0 {
		t.Fatalf("update %v", u)
	}

	// A student cannot drive, ask, reveal or close.
	for _, msg := range []string{`{"type":"classState","state":{"tab":"map"}}`, `{"type":"classAsk"}`, `{"type":"classReveal"}`, `{"type":"classClose"}`} {
		if e := wsErr(t, student, msg); e["code"] != string(codeClassNotTeacher) {
			t.Fatalf("%s: %v", msg, e)
		}
	}
	// Nor join as the teacher with a wrong secret.
	other := dial(t, tb, nil)
	if e := wsErr(t, other, fmt.Sprintf(`{"type":"classJoin","code":%q,"secret":"nope"}`, code)); e["code"] != string(codeClassNotTeacher) {
		t.Fatalf("wrong secret: %v", e)
	}
	// The teacher's page, reloaded, drives again with its secret.
	send(t, other, fmt.Sprintf(`{"type":"classJoin","code":%q,"secret":%q}`, code, secret))
	if m := readClass(t, other, "classJoined"); m["role"] != "teacher" || m["seq"] != 3.0 {
		t.Fatalf("teacher rejoined %v", m)
	}

	// Detach and follow again.
	send(t, student, `{"type":"classFollow","follow":false}`)
	if f := readClass(t, student, "classFollowing"); f["follow"] != false {
		t.Fatalf("detached %v", f)
	}
	if m := readClass(t, teacher, "classMembers"); m["following"] != 0.0 {
		t.Fatalf("members after detach %v", m)
	}
	send(t, student, `{"type":"classFollow","follow":true}`)
	if f := readClass(t, student, "classFollowing"); f["follow"] != true || f["seq"] != 3.0 {
		t.Fatalf("following %v", f)
	}
	if m := readClass(t, teacher, "classMembers"); m["following"] != 1.0 {
		t.Fatalf("members after follow %v", m)
	}

	// Ask, answer, reveal.
	send(t, teacher, `{"type":"classAsk","prompt":"Where will the curve land?"}`)
	q := readClass(t, student, "classQuestion")
	send(t, student, fmt.Sprintf(`{"type":"classAnswer","question":%v,"value":-4.2}`, q["question"]))
	readClass(t, student, "classAnswered")
	if h := readClass(t, teacher, "classAnswers"); h["answered"] != 0.0 {
		t.Fatalf("first histogram, at the question, %v", h)
	}
	h := readClass(t, teacher, "classAnswers")
	if bins := h["bins"].([]any); h["answered"] != 1.0 || len(bins) != 1 || bins[0].(map[string]any)["low"] != -5.0 {
		t.Fatalf("histogram %v", h)
	}
	if e := wsErr(t, student, fmt.Sprintf(`{"type":"classAnswer","question":%v,"value":"x"}`, q["question"])); e["field"] != "value" {
		t.Fatalf("bad value %v", e)
	}
	send(t, teacher, `{"type":"classReveal"}`)
	if r := readClass(t, student, "classRevealed"); r["answered"] != 1.0 {
		t.Fatalf("revealed %v", r)
	}

	// Close: every page hears it, and the code is gone.
	send(t, teacher, `{"type":"classClose"}`)
	if c := readClass(t, student, "classClosed"); c["reason"] != "closed" {
		t.Fatalf("closed %v", c)
	}
	late := dial(t, tb, nil)
	if e := wsErr(t, late, fmt.Sprintf(`{"type":"classJoin","code":%q}`, code)); e["code"] != string(codeClassNotFound) || e["field"] != "code" {
		t.Fatalf("join after close: %v", e)
	}
}

func TestClassBadMessages(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Class.MaxRooms = 1
	cfg.ClassJoinsPerMinute, cfg.ClassJoinBurst = 1, 3
	ts, _ := newTestServer(t, cfg)
	conn := dial(t, ts, nil)
	for _, tc := range []struct{ msg, code, field string }{
		{`{"type":"classJoin"}`, "bad-field", "code"},
		{`{"type":"classJoin","code":"ABC"}`, "bad-field", "code"},
		{`{"type":"classJoin","code":"ABCDE0"}`, "bad-field", "code"},
		{`{"type":"classJoin","code":"ABCDEF","colour":1}`, "unknown-field", "colour"},
		{`{"type":"classState","state":{"tab":"map"}}`, "class-not-found", "code"},
		{`{"type":"classAnswer","question":1,"value":1}`, "class-not-found", "code"},
		{`{"type":"classAnswer","question":1}`, "bad-field", "value"},
		{`{"type":"classFollow","follow":"yes"}`, "bad-field", "follow"},
	} {
		if e := wsErr(t, conn, tc.msg); e["code"] != tc.code || e["field"] != tc.field {
			t.Errorf("%s: %v", tc.msg, e)
		}
	}
	// Three joins at once, then the rate limit; failed lookups and
	// starts count.
	for i := range 4 {
		e := wsErr(t, conn, `{"type":"classJoin","code":"ABCDEF"}`)
		want := "class-not-found"
		if i == 3 {
			want = "too-many-joins"
		}
		if e["code"] != want {
			t.Fatalf("join %d: %v", i, e)
		}
	}
	if e := wsErr(t, conn, `{"type":"classStart"}`); e["code"] != "too-many-joins" {
		t.Fatalf("a start past the rate: %v", e)
	}
	// One room at most.
	cfg.ClassJoinsPerMinute = 0
	ts, _ = newTestServer(t, cfg)
	startClass(t, ts)
	if e := wsErr(t, dial(t, ts, nil), `{"type":"classStart"}`); e["code"] != "class-full" {
		t.Fatalf("second room: %v", e)
	}
}

func TestClassQR(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	resp, err := http.Get(ts.URL + "/api/class/abcdef/qr.png")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil || img.Bounds().Dx() != 512 {
		t.Fatalf("png: %v", err)
	}
	if got := httpErr(t, newGet(t, ts.URL+"/api/class/ABC/qr.png"), 400); got["field"] != "code" {
		t.Fatalf("bad code %v", got)
	}
}

// TestClassOverNATS: a teacher on one gradviz instance and students on
// another, sharing an in-process NATS server, are in one class.
func TestClassOverNATS(t *testing.T) {
	addr := natstest.Start(t)
	var servers [2]*httptest.Server
	for i := range servers {
		b, err := class.DialNATS(addr, fmt.Sprintf("replica %d", i))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		cfg := DefaultConfig()
		cfg.Class.MaxMembers = 3
		cfg.ClassBroker = b
		servers[i], _ = newTestServer(t, cfg)
	}
	testClassOver(t, servers[0], servers[1])
}

// TestClassSharesRuns: the pages of a class asking for the same profile
// make one run; a page outside the class makes its own.
func TestClassSharesRuns(t *testing.T) {
	var mu sync.Mutex
	runs := 0
	ts, _ := newTestServerWith(t, DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)), func(s *Server) {
		s.hooks.beforeProfile = func(engine.Settings) {
			mu.Lock()
			runs++
			mu.Unlock()
		}
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return runs
	}
	teacher, code, _ := startClass(t, ts)
	var students []*websocket.Conn
	for range 3 {
		s := dial(t, ts, nil)
		send(t, s, fmt.Sprintf(`{"type":"classJoin","code":%q}`, code))
		readClass(t, s, "classJoined")
		students = append(students, s)
	}
	const config = `{"type":"config","id":9,"T":40,"H":6,"gain":1.3,"jacobians":true}`
	for i, conn := range append(students, teacher) {
		send(t, conn, config)
		if p := readClass(t, conn, "profile"); p["id"] != 9.0 {
			t.Fatalf("profile %v", p)
		}
		readClass(t, conn, "jacobians")
		if n := count(); n != 1 {
			t.Fatalf("after page %d: %d runs, want 1", i, n)
		}
	}
	outside := dial(t, ts, nil)
	send(t, outside, config)
	readClass(t, outside, "profile")
	if n := count(); n != 2 {
		t.Fatalf("a page outside the class: %d runs, want 2", n)
	}
}

// TestClassLetsGo: once a class ends, neither the teacher's page nor a
// student's holds any of its subscriptions; nor does a page that left.
func TestClassLetsGo(t *testing.T) {
	ts, app := newTestServer(t, DefaultConfig())
	mem := app.class.Broker().(*class.Memory)
	teacher, code, _ := startClass(t, ts)
	var students []*websocket.Conn
	for range 2 {
		s := dial(t, ts, nil)
		send(t, s, fmt.Sprintf(`{"type":"classJoin","code":%q}`, code))
		readClass(t, s, "classJoined")
		students = append(students, s)
	}
	// The room's handler; "all" for three pages; "teacher" for one.
	if n := mem.Subscriptions(); n != 5 {
		t.Fatalf("%d subscriptions in a class of two, want 5", n)
	}
	send(t, students[1], `{"type":"classLeave"}`)
	readClass(t, students[1], "classLeft")
	if n := mem.Subscriptions(); n != 4 {
		t.Fatalf("%d subscriptions after a leave, want 4", n)
	}
	send(t, teacher, `{"type":"classClose"}`)
	readClass(t, students[0], "classClosed")
	deadline := time.Now().Add(10 * time.Second)
	for mem.Subscriptions() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions left after the class ended", mem.Subscriptions())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClassGone: when the replica holding a class stops, a student's
// page on another replica hears classClosed "gone".
func TestClassGone(t *testing.T) {
	old := classPingEvery
	classPingEvery = 50 * time.Millisecond
	t.Cleanup(func() { classPingEvery = old })
	addr := natstest.Start(t)
	var servers [2]*httptest.Server
	var brokers [2]*class.NATS
	for i := range servers {
		b, err := class.DialNATS(addr, fmt.Sprintf("replica %d", i))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		cfg := DefaultConfig()
		cfg.ClassBroker = b
		servers[i], _ = newTestServer(t, cfg)
		brokers[i] = b
	}
	_, code, _ := startClass(t, servers[0])
	student := dial(t, servers[1], nil)
	send(t, student, fmt.Sprintf(`{"type":"classJoin","code":%q}`, code))
	readClass(t, student, "classJoined")
	brokers[0].Close() // the teacher's replica drops off the bus
	if c := readClass(t, student, "classClosed"); c["reason"] != "gone" || c["code"] != code {
		t.Fatalf("closed %v", c)
	}
}
