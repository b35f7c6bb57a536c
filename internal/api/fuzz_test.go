package api

// Fuzz targets for everything a client can send: the settings of a query
// string, the settings of a JSON object, and a websocket message through
// the whole of session.handle. The seed corpora are under
// testdata/fuzz/<FuzzName>/ and run with every go test. CI fuzzes each
// target for a while with
//
//	go test ./internal/api -run '^$' -fuzz '^FuzzSettingsQuery$' -fuzztime 20s -fuzzminimizetime 1s -timeout 2m
//
// and likewise for FuzzSettingsJSON and FuzzDecodeMessage. A short
// -fuzzminimizetime keeps the fuzzer fuzzing: minimizing each new
// interesting input for the default 60 s stalls a 20 s run. -timeout
// turns a hang into a failure.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gradviz/internal/engine"
)

// maxErrorLen bounds an error message: the client's text is quoted in it
// only shortened.
const maxErrorLen = 400

// fuzzLimits are small, so that a run the fuzzer finds valid is quick.
var fuzzLimits = engine.Limits{MaxT: 64, MaxH: 8, MaxD: 4, MaxK: 8, MaxWork: 64 * 8 * 8 * 4 * 2}

// checkSettingsResult is the property of both settings readers: valid
// settings, or a *FieldError naming the problem briefly.
func checkSettingsResult(t *testing.T, s engine.Settings, err error) {
	t.Helper()
	if err == nil {
		if verr := s.Validate(fuzzLimits); verr != nil {
			t.Fatalf("accepted settings %+v that do not validate: %v", s, verr)
		}
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v, want a *FieldError", err, err)
	}
	// The field is empty only when the client sent an empty name.
	if fe.Message == "" || (fe.Field == "" && !strings.Contains(fe.Message, `unknown setting ""`)) {
		t.Fatalf("error %+v, want a field and a message", fe)
	}
	if len(fe.Message) > maxErrorLen || len(fe.Field) > maxErrorLen {
		t.Fatalf("error field %d bytes, message %d bytes, want at most %d: %.100q", len(fe.Field), len(fe.Message), maxErrorLen, fe.Message)
	}
}

// roundTrip checks that valid settings read back from their own JSON
// encoding (the "config" of every answer) unchanged.
func roundTrip(t *testing.T, s engine.Settings) {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("encode %+v: %v", s, err)
	}
	var fields map[string]json.RawMessage
	json.Unmarshal(data, &fields)
	back, err := settingsFromJSON(fields, fuzzLimits)
	if err != nil || !reflect.DeepEqual(back, s) {
		t.Fatalf("settings %s read back as %+v, %v", data, back, err)
	}
}

func FuzzSettingsQuery(f *testing.F) {
	// The hostile seeds are in testdata/fuzz/FuzzSettingsQuery.
	f.Add("T=10&H=4&cell=gru")
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // as r.URL.Query() does; strictQuery refuses the rest
		s, err := settingsFromQuery(q, fuzzLimits)
		checkSettingsResult(t, s, err)
		if err == nil {
			roundTrip(t, s)
		}
	})
}

func FuzzSettingsJSON(f *testing.F) {
	// The hostile seeds are in testdata/fuzz/FuzzSettingsJSON.
	f.Add([]byte(`{"T":10,"H":4,"cell":"gru"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fields map[string]json.RawMessage
		if json.Unmarshal(data, &fields) != nil {
			return // not an object: decodeMessage's business, fuzzed below
		}
		s, err := settingsFromJSON(fields, fuzzLimits)
		checkSettingsResult(t, s, err)
		if err == nil {
			roundTrip(t, s)
		}
	})
}

// fuzzServer is small in every limit, so the jobs a message starts can
// run to completion within a fuzz iteration.
func fuzzServer() *Server {
	cfg := DefaultConfig()
	cfg.Limits = fuzzLimits
	cfg.Train = engine.TrainLimits{MaxT: 16, MaxH: 8, MaxBatch: 4, MaxIterations: 5}
	cfg.Workers = 1
	return NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
}

// jobTimeout cuts off what a fuzzed message starts (an animation at one
// step a second would take a minute).
const jobTimeout = 20 * time.Millisecond

// offlineSession is a session without a network: handle runs as the
// reader would run it, and what it queues is read from the send channel,
// which holds up to queue messages.
func offlineSession(srv *Server, queue int) *session {
	ctx, cancel := context.WithCancel(context.Background())
	return &session{
		srv: srv, log: srv.logger, send: make(chan outMsg, queue), ctx: ctx, cancel: cancel,
		profile: newLatest(), analysis: newLatest(), train: newLatest(), lane: make(chan struct{}, 1), opened: time.Now(),
	}
}

// runPending runs the jobs handle left on the session's workers, as their
// goroutines would.
func (sess *session) runPending() {
	for _, l := range []*latest{&sess.profile, &sess.analysis, &sess.train} {
		l.mu.Lock()
		job := l.pending
		l.pending = nil
		l.mu.Unlock()
		if job != nil {
			ctx, cancel := context.WithTimeout(sess.ctx, jobTimeout)
			job(ctx)
			cancel()
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	// The hostile seeds, and one of each message type, are in
	// testdata/fuzz/FuzzDecodeMessage.
	f.Add([]byte(`{"type":"config","id":1,"T":10,"H":4}`))
	srv := fuzzServer()
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := decodeMessage(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message == "" || len(fe.Message) > maxErrorLen {
				t.Fatalf("decode error %T %v, want a short *FieldError", err, err)
			}
		} else if msg.id < 0 || msg.id > maxID {
			t.Fatalf("decoded id %d, want 0..%d", msg.id, int64(maxID))
		}

		sess := offlineSession(srv, 4096) // room for everything a job sends
		defer sess.cancel()
		sess.handleSafely(data)
		sess.runPending()
		srv.metrics.mu.Lock()
		panics := srv.metrics.panicked + srv.metrics.errors[errPanic]
		srv.metrics.mu.Unlock()
		if panics != 0 {
			t.Fatalf("message %.100q: handling it panicked", data)
		}
		// A known type may start a job that the timeout cuts off before
		// it answers; anything else is answered at once.
		if known := strings.Contains(messageTypes, msg.kind) && msg.kind != ""; (err != nil || !known) && len(sess.send) == 0 {
			t.Fatalf("message %.100q got no answer, want an error at least", data)
		}
		for len(sess.send) > 0 {
			out := <-sess.send
			var m map[string]any
			if err := json.Unmarshal(out.data, &m); err != nil {
				t.Fatalf("answer %.100q is not a JSON object: %v", out.data, err)
			}
			if m["type"] == "error" {
				text, _ := m["message"].(string)
				if text == "" || len(text) > maxErrorLen || !utf8.ValidString(text) {
					t.Fatalf("error answer %.200q, want a short message", out.data)
				}
				if strings.HasPrefix(text, "internal error") {
					t.Fatalf("message %.100q: got an internal error", data)
				}
			}
		}
	})
}
