package class

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

// brokers are the brokers every room test runs against; the NATS test
// adds its own.
var brokers = map[string]func(t *testing.T) (a, b Broker){
	"memory": func(t *testing.T) (Broker, Broker) { m := NewMemory(); return m, m },
}

// inbox collects what a page is sent.
type inbox struct {
	mu   sync.Mutex
	msgs []map[string]any
	cond chan struct{}
}

func newInbox() *inbox { return &inbox{cond: make(chan struct{}, 1)} }

func (in *inbox) deliver(data []byte) {
	var m map[string]any
	json.Unmarshal(data, &m)
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
	select {
	case in.cond <- struct{}{}:
	default:
	}
}

// wait returns the first message of type kind for which ok holds,
// failing after a generous wait.
func (in *inbox) wait(t *testing.T, kind string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		in.mu.Lock()
		for _, m := range in.msgs {
			if m["type"] == kind && (ok == nil || ok(m)) {
				in.mu.Unlock()
				return m
			}
		}
		in.mu.Unlock()
		select {
		case <-in.cond:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s message came; got %v", kind, in.msgs)
		}
	}
}

func codeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRooms(t *testing.T) {
	for name, mk := range brokers {
		t.Run(name, func(t *testing.T) { testRooms(t, mk) })
	}
}

// testRooms runs a class: the teacher's hub on broker a, the students'
// on broker b (the same broker in memory, two connections over NATS).
func testRooms(t *testing.T, mk func(t *testing.T) (Broker, Broker)) {
	ctx := context.Background()
	a, b := mk(t)
	teacherHub := NewHub(a, Limits{MaxRooms: 2, MaxMembers: 2, Idle: time.Minute})
	studentHub := NewHub(b, Limits{MaxRooms: 2, MaxMembers: 2, Idle: time.Minute})
	code, secret, err := teacherHub.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidCode(code) || len(secret) != 32 {
		t.Fatalf("code %q secret %q", code, secret)
	}
	tin := newInbox()
	teacher, snap, err := teacherHub.Join(ctx, code, secret, tin.deliver)
	if err != nil {
		t.Fatal(err)
	}
	if m := decode(t, snap); m["role"] != "teacher" {
		t.Fatalf("teacher's snapshot %v", m)
	}
	if _, err := teacher.SetState(ctx, map[string]json.RawMessage{"settings": json.RawMessage(`{"gain":1.5}`), "tab": json.RawMessage(`"map"`)}); err != nil {
		t.Fatal(err)
	}

	t.Run("join gets the snapshot", func(t *testing.T) {
		sin := newInbox()
		s, snap, err := studentHub.Join(ctx, code, "", sin.deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Leave(ctx)
		m := decode(t, snap)
		st := m["state"].(map[string]any)
		if m["role"] != "student" || st["tab"] != "map" || st["settings"].(map[string]any)["gain"] != 1.5 || m["seq"] != 1.0 {
			t.Fatalf("snapshot %v", m)
		}
		tin.wait(t, "classMembers", func(m map[string]any) bool { return m["members"] == 1.0 && m["following"] == 1.0 })
		// Then deltas, in order.
		teacher.SetState(ctx, map[string]json.RawMessage{"step": json.RawMessage(`3`)})
		teacher.SetState(ctx, map[string]json.RawMessage{"tab": json.RawMessage(`"profile"`)})
		u := sin.wait(t, "classUpdate", func(m map[string]any) bool { return m["seq"] == 3.0 })
		if u["state"].(map[string]any)["tab"] != "profile" || len(u["state"].(map[string]any)) != 1 {
			t.Fatalf("delta %v", u)
		}
		sin.mu.Lock()
		var seqs []float64
		for _, m := range sin.msgs {
			if m["type"] == "classUpdate" {
				seqs = append(seqs, m["seq"].(float64))
			}
		}
		sin.mu.Unlock()
		if len(seqs) != 2 || seqs[0] != 2 || seqs[1] != 3 {
			t.Fatalf("update seqs %v", seqs)
		}
		// Detach, follow again: the teacher's count, and the state.
		if _, err := s.Follow(ctx, false); err != nil {
			t.Fatal(err)
		}
		tin.wait(t, "classMembers", func(m map[string]any) bool { return m["members"] == 1.0 && m["following"] == 0.0 })
		out, err := s.Follow(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if f := decode(t, out); f["seq"] != 3.0 || f["state"].(map[string]any)["step"] != 3.0 {
			t.Fatalf("follow again %v", f)
		}
	})

	t.Run("secret", func(t *testing.T) {
		s, _, err := studentHub.Join(ctx, code, "", newInbox().deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Leave(ctx)
		if _, err := s.SetState(ctx, map[string]json.RawMessage{"tab": json.RawMessage(`"x"`)}); codeOf(err) != CodeNotTeacher {
			t.Fatalf("a student drove: %v", err)
		}
		if _, err := s.Ask(ctx, ""); codeOf(err) != CodeNotTeacher {
			t.Fatalf("a student asked: %v", err)
		}
		if err := s.Close(ctx); codeOf(err) != CodeNotTeacher {
			t.Fatalf("a student closed: %v", err)
		}
		if _, _, err := studentHub.Join(ctx, code, "0123456789abcdef0123456789abcdef", newInbox().deliver); codeOf(err) != CodeNotTeacher {
			t.Fatalf("a wrong secret taught: %v", err)
		}
		if _, err := teacher.SetState(ctx, map[string]json.RawMessage{"colour": json.RawMessage(`1`)}); codeOf(err) != CodeBadField {
			t.Fatalf("unknown part: %v", err)
		}
	})

	t.Run("ask and answer", func(t *testing.T) {
		s1in, s2in := newInbox(), newInbox()
		s1, _, err := studentHub.Join(ctx, code, "", s1in.deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer s1.Leave(ctx)
		s2, _, err := teacherHub.Join(ctx, code, "", s2in.deliver)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := teacher.Ask(ctx, "Where will it land?"); err != nil {
			t.Fatal(err)
		}
		q := s1in.wait(t, "classQuestion", nil)
		id := int(q["question"].(float64))
		if q["prompt"] != "Where will it land?" {
			t.Fatalf("question %v", q)
		}
		if _, err := s1.Answer(ctx, id, -3.5); err != nil {
			t.Fatal(err)
		}
		if _, err := s1.Answer(ctx, id, -2.5); err != nil { // replaces
			t.Fatal(err)
		}
		if _, err := s2.Answer(ctx, id, -2.2); err != nil {
			t.Fatal(err)
		}
		if _, err := s2.Answer(ctx, id, 11); codeOf(err) != CodeBadField {
			t.Fatalf("out of range: %v", err)
		}
		if _, err := s2.Answer(ctx, id+1, 1); codeOf(err) != CodeNoQuestion {
			t.Fatalf("wrong question: %v", err)
		}
		h := tin.wait(t, "classAnswers", func(m map[string]any) bool { return m["answered"] == 2.0 })
		bins := h["bins"].([]any)
		if len(bins) != 1 || bins[0].(map[string]any)["low"] != -3.0 || bins[0].(map[string]any)["count"] != 2.0 {
			t.Fatalf("histogram %v", h)
		}
		// Students never see the live answers.
		s1in.mu.Lock()
		for _, m := range s1in.msgs {
			if m["type"] == "classAnswers" {
				t.Errorf("a student saw %v", m)
			}
		}
		s1in.mu.Unlock()
		if _, err := teacher.Reveal(ctx); err != nil {
			t.Fatal(err)
		}
		r := s1in.wait(t, "classRevealed", nil)
		if r["answered"] != 2.0 {
			t.Fatalf("revealed %v", r)
		}
		if _, err := s1.Answer(ctx, id, -1); codeOf(err) != CodeNoQuestion {
			t.Fatalf("answer after reveal: %v", err)
		}
		// The room is full: two students.
		if _, _, err := studentHub.Join(ctx, code, "", newInbox().deliver); codeOf(err) != CodeFull {
			t.Fatalf("third student: %v", err)
		}
		s2.Leave(ctx)
		s3, _, err := studentHub.Join(ctx, code, "", newInbox().deliver)
		if err != nil {
			t.Fatalf("after a leave: %v", err)
		}
		s3.Leave(ctx)
	})

	t.Run("bounds, close and idle", func(t *testing.T) {
		code2, _, err := teacherHub.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := teacherHub.Create(ctx); codeOf(err) != CodeFull {
			t.Fatalf("third room: %v", err)
		}
		if _, _, err := studentHub.Join(ctx, "ZZZZZZ", "", newInbox().deliver); codeOf(err) != CodeNotFound {
			t.Fatalf("no room: %v", err)
		}
		sin := newInbox()
		s, _, err := studentHub.Join(ctx, code, "", sin.deliver)
		if err != nil {
			t.Fatal(err)
		}
		if err := teacher.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if c := sin.wait(t, "classClosed", nil); c["reason"] != "closed" {
			t.Fatalf("closed %v", c)
		}
		if _, err := s.Follow(ctx, true); codeOf(err) != CodeNotFound {
			t.Fatalf("after close: %v", err)
		}
		s.Leave(ctx)
		// Idle: the second room ends a minute after its last use.
		in := newInbox()
		s2, _, err := studentHub.Join(ctx, code2, "", in.deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Leave(ctx)
		if n := teacherHub.ExpireIdle(time.Now().Add(30 * time.Second)); n != 0 {
			t.Fatalf("%d rooms expired early", n)
		}
		if n := teacherHub.ExpireIdle(time.Now().Add(61 * time.Second)); n != 1 {
			t.Fatalf("%d rooms expired", n)
		}
		if c := in.wait(t, "classClosed", nil); c["reason"] != "idle" {
			t.Fatalf("idle %v", c)
		}
		if teacherHub.Rooms() != 0 {
			t.Fatalf("%d rooms left", teacherHub.Rooms())
		}
	})
}

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := randomString(codeAlphabet, CodeLength)
		if !ValidCode(c) {
			t.Fatalf("invalid code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 999 {
		t.Fatalf("%d distinct codes of 1000", len(seen))
	}
	if NormalizeCode("ab c-d2") != "ABCD2" || ValidCode("ABCD0O") || ValidCode("ABCDE") {
		t.Fatal("normalize/valid")
	}
}
