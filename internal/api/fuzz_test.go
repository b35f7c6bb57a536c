package api

// Fuzz targets for everything a client can send: the settings of a query
// string, the settings of a JSON object, a websocket message through
// the whole of session.handle, the Host header, the websocket's Origin,
// the numbers of a query string, and a label on its way into a CSV and
// an SVG. The seed corpora are under
// testdata/fuzz/<FuzzName>/ and run with every go test. CI fuzzes each
// target for a while with
//
//	go test ./internal/api -run '^$' -fuzz '^FuzzSettingsQuery$' -fuzztime 20s -fuzzminimizetime 1s -timeout 2m
//
// and likewise for the other Fuzz targets (.ci/run lists them). A short
// -fuzzminimizetime keeps the fuzzer fuzzing: minimizing each new
// interesting input for the default 60 s stalls a 20 s run. -timeout
// turns a hang into a failure.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gradviz/internal/engine"
	"gradviz/internal/render"
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
		if _, known := messageTypes[msg.kind]; (err != nil || !known) && len(sess.send) == 0 {
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
				if code, _ := m["code"].(string); code == string(codeInternal) || !slices.Contains(errorCodes, errorCode(code)) {
					t.Fatalf("error answer %.200q, want a code of errorCodes other than internal", out.data)
				}
			}
		}
	})
}

// FuzzHostPort: the Host reader never panics; what it accepts is a
// lower-case DNS name without a trailing dot, or an address without a
// zone, with at most a valid port; and with no -allow-host and no
// connection address, only localhost and loopback addresses are allowed.
func FuzzHostPort(f *testing.F) {
	// The hostile seeds are in testdata/fuzz/FuzzHostPort.
	f.Add("localhost:8080")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	f.Fuzz(func(t *testing.T, s string) {
		hp, err := parseHostPort(s)
		if err != nil {
			return
		}
		if (hp.name == "") == !hp.addr.IsValid() {
			t.Fatalf("%q: got %+v, want a name or an address", s, hp)
		}
		if hp.addr.Zone() != "" || strings.ContainsAny(hp.name, "@/%_:[] \x00") || strings.HasSuffix(hp.name, ".") || hp.name != strings.ToLower(hp.name) {
			t.Fatalf("%q: accepted as %+v", s, hp)
		}
		if hp.port != "" && !validPort(hp.port) {
			t.Fatalf("%q: port %q", s, hp.port)
		}
		if (hostPolicy{}).allows(r, hp) && hp.name != "localhost" && !hp.addr.IsLoopback() {
			t.Fatalf("%q: allowed by default as %+v", s, hp)
		}
	})
}

// FuzzOrigin: an Origin the websocket accepts is exactly
// http://host[:port] with an allowed host on the request's port, or an
// -allow-origin entry.
func FuzzOrigin(f *testing.F) {
	// The hostile seeds are in testdata/fuzz/FuzzOrigin.
	f.Add("http://localhost:8080", "localhost:8080")
	cfg := DefaultConfig()
	cfg.AllowedOrigins = []string{"https://class.example.org"}
	srv := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	f.Fuzz(func(t *testing.T, origin, host string) {
		r := httptest.NewRequest(http.MethodGet, "/ws", nil)
		r.Host = host
		r.Header.Set("Origin", origin)
		if !srv.checkOrigin(r) || strings.EqualFold(origin, "https://class.example.org") {
			return
		}
		authority, ok := strings.CutPrefix(origin, "http://")
		hp, err := parseHostPort(authority)
		if !ok || err != nil || !(hp.name == "localhost" || hp.addr.IsLoopback()) {
			t.Fatalf("Origin %q accepted for Host %q", origin, host)
		}
		req, err := parseHostPort(host)
		if err != nil || effectivePort("http", req.port) != effectivePort("http", hp.port) {
			t.Fatalf("Origin %q accepted for Host %q on another port", origin, host)
		}
	})
}

// decimalGrammar is JSON's number grammar, which isDecimal implements.
var decimalGrammar = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// FuzzDecimal: isDecimal is JSON's number grammar, and what it accepts
// strconv reads without a syntax error.
func FuzzDecimal(f *testing.F) {
	// The hostile seeds are in testdata/fuzz/FuzzDecimal.
	f.Add("-1.5e-3")
	f.Fuzz(func(t *testing.T, s string) {
		got := isDecimal(s, true, true)
		if want := decimalGrammar.MatchString(s); got != want {
			t.Fatalf("isDecimal(%q) = %v, want %v", s, got, want)
		}
		if got {
			if _, err := strconv.ParseFloat(s, 64); err != nil && !errors.Is(err, strconv.ErrRange) {
				t.Fatalf("isDecimal(%q) but ParseFloat: %v", s, err)
			}
		}
		if isDecimal(s, false, false) && (strings.ContainsAny(s, "-.eE") || !got) {
			t.Fatalf("isDecimal(%q, whole) accepted a sign, fraction or exponent", s)
		}
	})
}

// FuzzLabel: a label the API accepts lands in the CSV as a header cell
// that reads back as text a spreadsheet does not run, and in the SVG as
// XML text that reads back as itself.
func FuzzLabel(f *testing.F) {
	// The hostile seeds are in testdata/fuzz/FuzzLabel.
	f.Add("=1+1")
	res := &engine.Result{Settings: engine.Defaults(), Profile: engine.Profile{DEds: []float64{1}, DEdsRaw: []float64{1}, StateNorm: []float64{1}}}
	res.Settings.T = 1
	f.Fuzz(func(t *testing.T, label string) {
		q := url.Values{"label": {label}}
		got, err := labelFromQuery(q, "label")
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "label" || len(fe.Message) > maxErrorLen {
				t.Fatalf("label %q: error %v, want a short one naming label", label, err)
			}
			return
		}
		var buf bytes.Buffer
		if err := render.WriteCSV(&buf, render.Figure{Current: render.Run{Result: res, Label: got}}); err != nil {
			t.Fatalf("label %q: WriteCSV: %v", label, err)
		}
		records, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(records) != 2 {
			t.Fatalf("label %q: the CSV reads back as %q, %v", label, records, err)
		}
		for _, cell := range records[0] {
			if c := strings.TrimLeft(cell, " "); c != "" && strings.ContainsRune("=+-@\t\r\n", rune(c[0])) {
				t.Fatalf("label %q: header cell %q would run as a formula", label, cell)
			}
		}
		doc := "<text>" + html.EscapeString(got) + "</text>" // as vgsvg writes it
		var text string
		if err := xml.Unmarshal([]byte(doc), &text); err != nil || text != got {
			t.Fatalf("label %q: as SVG text reads back as %q, %v", label, text, err)
		}
	})
}
