package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// syncBuffer collects what run writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// listeningPrefix starts the line run prints once it listens.
const listeningPrefix = "gradviz listening on http://"

// startRun runs the server in process on a free loopback port and returns
// its base URL. Cleanup stops it and checks that run returned nil.
func startRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	// Exits when ctx is cancelled by the cleanup below.
	go func() {
		done <- run(ctx, append([]string{"gradviz", "-addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: got %v, want nil after a stop", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return within 10 s of the stop")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if out := stdout.String(); strings.HasPrefix(out, listeningPrefix) {
			return strings.TrimSpace(strings.TrimPrefix(out, listeningPrefix))
		}
		select {
		case err := <-done:
			t.Fatalf("run: %v; stderr %s", err, stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("run printed %q in 10 s, want %q…", stdout, listeningPrefix)
	return ""
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"workers zero", []string{"-workers", "0"}, nil, "-workers must be at least 1, got 0"},
		{"negative connections", []string{"-max-connections", "-1"}, nil, "-max-connections must be at least 1, got -1"},
		{"tiny messages", []string{"-max-message-bytes", "10"}, nil, "-max-message-bytes must be at least 512, got 10"},
		{"no rate", []string{"-messages-per-second", "0"}, nil, "-messages-per-second must be greater than 0"},
		{"NaN rate", []string{"-messages-per-second", "NaN"}, nil, "-messages-per-second must be greater than 0"},
		{"no burst", []string{"-message-burst", "0"}, nil, "-message-burst must be at least 1, got 0"},
		{"max-T zero", []string{"-max-T", "0"}, nil, "-max-T must be at least 1, got 0"},
		{"max-K one", []string{"-max-K", "1"}, nil, "-max-K must be at least 2, got 1"},
		{"train iterations", []string{"-max-train-iterations", "0"}, nil, "-max-train-iterations must be at least 1"},
		{"negative timeout", []string{"-run-timeout", "-1s"}, nil, "-run-timeout must not be negative"},
		{"origin with a path", []string{"-allow-origin", "https://a.example/page"}, nil, "must be http(s)://host[:port], without a path"},
		{"origin without scheme", []string{"-allow-origin", "a.example"}, nil, "must be http(s)://host[:port]"},
		{"log level", []string{"-log-level", "loud"}, nil, "-log-level"},
		{"stray argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		{"env not a number", nil, map[string]string{"MAX_CONNECTIONS": "many"}, `environment MAX_CONNECTIONS="many": not a whole number`},
		{"env not a duration", nil, map[string]string{"RUN_TIMEOUT": "5"}, `environment RUN_TIMEOUT="5": not a duration`},
		{"env bad origin", nil, map[string]string{"ALLOW_ORIGIN": "https://a.example,ftp://b.example"}, `environment ALLOW_ORIGIN: origin "ftp://b.example"`},
		{"env value checked", nil, map[string]string{"WORKERS": "-2"}, "-workers must be at least 1, got -2"},
		{"host with a scheme", []string{"-allow-host", "http://a.example"}, nil, `host "http://a.example"`},
		{"host with a port", []string{"-allow-host", "a.example:8080"}, nil, `host "a.example:8080"`},
		{"host with a trailing dot", []string{"-allow-host", "a.example."}, nil, `host "a.example."`},
		{"env bad host", nil, map[string]string{"ALLOW_HOST": "a.example,b_c"}, `environment ALLOW_HOST: host "b_c"`},
		{"negative HTTP rate", []string{"-http-requests-per-second", "-1"}, nil, "-http-requests-per-second must be 0 (no limit) to 1e6"},
		{"NaN HTTP rate", []string{"-http-requests-per-second", "NaN"}, nil, "-http-requests-per-second must be 0 (no limit) to 1e6"},
		{"no HTTP burst", []string{"-http-request-burst", "0"}, nil, "-http-request-burst must be at least 1, got 0"},
		{"frame ancestor with a path", []string{"-frame-ancestors", "https://moodle.example.org/course"}, nil, `frame ancestor "https://moodle.example.org/course"`},
		{"frame ancestor 'none'", []string{"-frame-ancestors", "'none'"}, nil, "keywords are not origins"},
		{"frame ancestor wildcard", []string{"-frame-ancestors", "https://*"}, nil, "the only wildcard allowed is a leading *."},
		{"env bad frame ancestor", nil, map[string]string{"FRAME_ANCESTORS": "https://a.example ftp://b.example"}, `environment FRAME_ANCESTORS: frame ancestor "ftp://b.example"`},
		{"missing tours", []string{"-tours", "/nonexistent/tours"}, nil, "-tours: open /nonexistent/tours"},
		{"bad tour", []string{"-tours", badTourDir()}, nil, "-tours: bad.json: step 1 (one), field settings.T: must be 1..2000, got 0"},
		{"no class rooms", []string{"-class-max-rooms", "0"}, nil, "-class-max-rooms must be at least 1, got 0"},
		{"short class idle", []string{"-class-idle", "5s"}, nil, "-class-idle must be at least 1m, got 5s"},
		{"negative join rate", []string{"-class-joins-per-minute", "-1"}, nil, "-class-joins-per-minute must be 0 (no limit) to 1e6"},
		{"pubsub without scheme", []string{"-pubsub", "localhost:4222"}, nil, `pubsub "localhost:4222": want nats://HOST:PORT`},
		{"env pubsub unreachable", nil, map[string]string{"PUBSUB": "nats://127.0.0.1:1"}, "pubsub 127.0.0.1:1"},
		{"env bad tour", nil, map[string]string{"TOURS_DIR": badTourDir()}, "bad.json: step 1 (one), field settings.T"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append([]string{"gradviz", "-addr", "127.0.0.1:0"}, tc.args...)
			err := run(context.Background(), args, func(k string) string { return tc.env[k] }, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run %v env %v: got %v, want an error containing %q", tc.args, tc.env, err, tc.want)
			}
		})
	}
}

func TestOriginFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"env list", "https://a.example, https://b.example:8443/", nil, "https://a.example,https://b.example:8443"},
		{"flag replaces env", "https://a.example", []string{"-allow-origin", "https://c.example"}, "https://c.example"},
		{"flag repeated and comma-separated", "", []string{"-allow-origin", "https://c.example", "-allow-origin", "http://d.example,http://e.example"}, "https://c.example,http://d.example,http://e.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envDefaults{getenv: func(string) string { return tc.env }}
			o := env.origins("ALLOW_ORIGIN")
			for i := 1; i < len(tc.args); i += 2 {
				if err := o.Set(tc.args[i]); err != nil {
					t.Fatal(err)
				}
			}
			if env.err != nil || o.String() != tc.want {
				t.Errorf("got %q (%v), want %q", o.String(), env.err, tc.want)
			}
		})
	}
}

func TestFrameAncestorsFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"default none", "", nil, ""},
		{"env list", "https://a.example, https://*.b.example:8443/", nil, "https://a.example https://*.b.example:8443"},
		{"flag replaces env", "https://a.example", []string{"-frame-ancestors", "https://c.example"}, "https://c.example"},
		{"flag with spaces, repeated", "", []string{"-frame-ancestors", "https://c.example http://d.example", "-frame-ancestors", "http://e.example"}, "https://c.example http://d.example http://e.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envDefaults{getenv: func(k string) string {
				if k == "FRAME_ANCESTORS" {
					return tc.env
				}
				return ""
			}}
			f := env.frames("FRAME_ANCESTORS")
			for i := 1; i < len(tc.args); i += 2 {
				if err := f.Set(tc.args[i]); err != nil {
					t.Fatal(err)
				}
			}
			if env.err != nil || f.String() != tc.want {
				t.Errorf("got %q (%v), want %q", f.String(), env.err, tc.want)
			}
		})
	}
	// The flag reaches the page's headers, and wins over the environment.
	base := startRun(t, map[string]string{"FRAME_ANCESTORS": "https://env.example"}, "-frame-ancestors", "https://moodle.example.org", "-log-level", "warn")
	resp, err := http.Get("http://" + base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors https://moodle.example.org;") {
		t.Errorf("Content-Security-Policy %q, want frame-ancestors https://moodle.example.org", csp)
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options %q, want none with -frame-ancestors", xfo)
	}
}

// TestFlagsReachTheServer starts the server with limits from flags and
// the environment and checks that requests meet them.
func TestFlagsReachTheServer(t *testing.T) {
	base := startRun(t, map[string]string{"MAX_T": "300", "MAX_CONNECTIONS": "1"}, "-max-H", "16", "-log-level", "warn")
	for _, tc := range []struct {
		query, field, message string
	}{
		{"T=301", "T", "T must be 1..300, got 301"},
		{"H=17", "H", "H must be 1..16, got 17"},
	} {
		resp, err := http.Get("http://" + base + "/api/profile?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Field, Message string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Field != tc.field || e.Message != tc.message {
			t.Errorf("?%s: got %d %+v, want 400 %s %q", tc.query, resp.StatusCode, e, tc.field, tc.message)
		}
	}
	resp, err := http.Get("http://" + base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Connections struct{ Max int } `json:"connections"`
	}
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if m.Connections.Max != 1 {
		t.Errorf("metrics connections.max: got %d, want 1 from MAX_CONNECTIONS", m.Connections.Max)
	}
}

// TestTrainingLimitsReachThePage: the -max-train-* flags reach the page,
// in its bootstrap data and in the websocket's hello, so that the lab's
// controls keep within them.
func TestTrainingLimitsReachThePage(t *testing.T) {
	base := startRun(t, map[string]string{"MAX_TRAIN_T": "90"}, "-max-train-H", "12", "-max-train-batch", "7", "-max-train-iterations", "99", "-log-level", "warn")
	want := map[string]any{"T": 90.0, "H": 12.0, "batch": 7.0, "iterations": 99.0}
	resp, err := http.Get("http://" + base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	const open = `<script type="application/json" id="bootstrap">`
	_, rest, ok := strings.Cut(string(page), open)
	boot, _, _ := strings.Cut(rest, "</script>")
	var b struct {
		Limits struct{ Train map[string]any } `json:"limits"`
	}
	if err := json.Unmarshal([]byte(boot), &b); !ok || err != nil || !equalMaps(b.Limits.Train, want) {
		t.Errorf("bootstrap limits.train: got %v (%v), want %v", b.Limits.Train, err, want)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+base+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hello struct {
		Type   string
		Limits struct{ Train map[string]any } `json:"limits"`
	}
	if err := conn.ReadJSON(&hello); err != nil || hello.Type != "hello" || !equalMaps(hello.Limits.Train, want) {
		t.Errorf("hello limits.train: got %+v (%v), want %v", hello, err, want)
	}
}

func equalMaps(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// rawStatus sends request over a fresh connection to base and returns
// the status line and the header of the answer.
func rawStatus(t *testing.T, base, request string) (string, http.Header) {
	t.Helper()
	conn, err := net.Dial("tcp", base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(conn, request) // may be cut short by an early answer
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%.60q: reading the answer: %v", request, err)
	}
	resp.Body.Close()
	return resp.Status, resp.Header
}

// TestHostAndRateFlags: ALLOW_HOST adds a name the server answers to,
// other names get 421; the HTTP rate flags bound API requests; and the
// binary's own 431 carries the security headers.
func TestHostAndRateFlags(t *testing.T) {
	base := startRun(t, map[string]string{"ALLOW_HOST": "class.example.org"},
		"-http-requests-per-second", "0.001", "-http-request-burst", "2", "-log-level", "error")
	for _, tc := range []struct{ host, want string }{
		{"class.example.org", "200 OK"},
		{"CLASS.example.org:8080", "200 OK"},
		{base, "200 OK"},
		{"evil.example", "421 Misdirected Request"},
		{"class.example.org.", "421 Misdirected Request"},
	} {
		status, h := rawStatus(t, base, "GET /healthz HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n")
		if status != tc.want || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("Host %q: got %q (nosniff %q), want %q with the security headers", tc.host, status, h.Get("X-Content-Type-Options"), tc.want)
		}
	}
	for _, tc := range []struct{ host, want string }{
		{"evil.example", "421 Misdirected Request"},
		{base, "404 Not Found"}, // no route is "*"
	} {
		status, h := rawStatus(t, base, "OPTIONS * HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n")
		if status != tc.want || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("Host %q: got %q (nosniff %q), want %q with the security headers", tc.host, status, h.Get("X-Content-Type-Options"), tc.want)
		}
	}
	for i, want := range []string{"200 OK", "200 OK", "429 Too Many Requests"} {
		status, h := rawStatus(t, base, "GET /api/profile?T=3&H=2 HTTP/1.1\r\nHost: "+base+"\r\n\r\n")
		if status != want {
			t.Errorf("API request %d: got %q, want %q", i+1, status, want)
		}
		if want[:3] == "429" && h.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	status, h := rawStatus(t, base, "GET /healthz?"+strings.Repeat("a", 2<<20)+" HTTP/1.1\r\nHost: "+base+"\r\n\r\n")
	if !strings.HasPrefix(status, "431") || h.Get("Content-Security-Policy") == "" {
		t.Errorf("2 MB request line: got %q, CSP %q, want 431 with the security headers", status, h.Get("Content-Security-Policy"))
	}
}

// rawGet sends a GET with a query of n bytes over a fresh connection and
// returns the status line net/http answers with.
func rawGet(t *testing.T, base string, n int) string {
	t.Helper()
	conn, err := net.Dial("tcp", base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	query := "T=5&label=" + strings.Repeat("a", n-len("T=5&label="))
	// The server may answer and close before the whole request is sent,
	// so the request is written aside. Exits when written, or when the
	// deferred Close fails the write.
	go fmt.Fprintf(conn, "GET /api/profile?%s HTTP/1.1\r\nHost: %s\r\n\r\n", query, base)
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("query of %d bytes: reading the answer: %v", n, err)
	}
	return strings.TrimSpace(status)
}

// TestLongQueries: the request line and headers are bounded by
// maxHeaderBytes; past it net/http answers 431, below it the query is
// read and refused or served like any other.
func TestLongQueries(t *testing.T) {
	base := startRun(t, nil, "-log-level", "error")
	for _, tc := range []struct {
		name  string
		bytes int
		want  string
	}{
		// label is a plot parameter, not a setting of /api/profile.
		{"1 KB", 1 << 10, "HTTP/1.1 400 Bad Request"},
		{"just under the limit", maxHeaderBytes - 1024, "HTTP/1.1 400 Bad Request"},
		{"2 MB", 2 << 20, "HTTP/1.1 431 Request Header Fields Too Large"},
		{"10 MB", 10 << 20, "HTTP/1.1 431 Request Header Fields Too Large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawGet(t, base, tc.bytes); got != tc.want {
				t.Errorf("query of %d bytes: got %q, want %q", tc.bytes, got, tc.want)
			}
		})
	}
	resp, err := http.Get("http://" + base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after long queries: /healthz got %v %v, want 200", resp, err)
	}
	resp.Body.Close()
}

func TestHealthcheckFlag(t *testing.T) {
	base := startRun(t, nil, "-log-level", "error")
	_, port, _ := net.SplitHostPort(base)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		ok   bool
	}{
		{"flag", nil, []string{"-addr", base}, true},
		{"every interface means loopback", nil, []string{"-addr", ":" + port}, true},
		{"ADDR from the environment", map[string]string{"ADDR": "0.0.0.0:" + port}, nil, true},
		{"nothing listening", nil, []string{"-addr", "127.0.0.1:1"}, false},
		{"bad address", nil, []string{"-addr", "nonsense"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"gradviz"}, tc.args...), "-healthcheck")
			err := run(context.Background(), args, func(k string) string { return tc.env[k] }, io.Discard, io.Discard)
			if (err == nil) != tc.ok {
				t.Errorf("-healthcheck %v: got %v, want ok=%v", tc.args, err, tc.ok)
			}
		})
	}
}

func TestHTTPServerBounds(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		runTimeout, write time.Duration
	}{
		{20 * time.Second, 20*time.Second + writeMargin},
		{0, 0},
	} {
		srv := newHTTPServer(http.NotFoundHandler(), tc.runTimeout, logger)
		for _, f := range []struct {
			name      string
			got, want time.Duration
		}{
			{"ReadHeaderTimeout", srv.ReadHeaderTimeout, readHeaderTimeout},
			{"ReadTimeout", srv.ReadTimeout, readTimeout},
			{"WriteTimeout", srv.WriteTimeout, tc.write},
			{"IdleTimeout", srv.IdleTimeout, idleTimeout},
		} {
			if f.got != f.want {
				t.Errorf("run timeout %s: %s got %s, want %s", tc.runTimeout, f.name, f.got, f.want)
			}
		}
		if srv.MaxHeaderBytes != maxHeaderBytes || srv.ErrorLog == nil {
			t.Errorf("MaxHeaderBytes got %d, ErrorLog %v; want %d and a logger", srv.MaxHeaderBytes, srv.ErrorLog, maxHeaderBytes)
		}
	}
	// Close waits shutdownTimeout, then a second for cut connections:
	// the process must be gone within 5 s of SIGTERM.
	if readHeaderTimeout <= 0 || readHeaderTimeout > readTimeout || shutdownTimeout+time.Second >= 5*time.Second {
		t.Errorf("timeouts: read header %s, read %s, shutdown %s; want 0 < header ≤ read and shutdown well within 5s",
			readHeaderTimeout, readTimeout, shutdownTimeout)
	}
}

// TestSlowHeadersCut: a client that never finishes its headers is cut
// off by ReadHeaderTimeout (shortened here: the real one is 10 s).
func TestSlowHeadersCut(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.ReadHeaderTimeout = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Exits when Close below closes the listener.
	go srv.Serve(ln)
	defer srv.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	// The client's deadline is far past the server's header timeout: the
	// server, not the deadline, must end the connection.
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	if _, err = io.ReadAll(conn); err != nil {
		t.Errorf("slow headers: got %v, want the connection closed by the server", err)
	}
}

// badTourDir is a directory holding one tour whose first step sets T = 0.
func badTourDir() string {
	dir, err := os.MkdirTemp("", "gradviz-tours")
	if err != nil {
		panic(err)
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"id":"bad","title":{"en":"B","es":"B"},"steps":[{"id":"one","title":{"en":"O","es":"O"},"text":{"en":"T","es":"T"},"settings":{"T":0}}]}`), 0o644)
	return dir
}

func TestToursFlag(t *testing.T) {
	dir := t.TempDir()
	tour := `{"id":"class","title":{"en":"C","es":"C"},"steps":[{"id":"one","title":{"en":"O","es":"O"},"text":{"en":"T","es":"T"},"settings":{"T":5}}]}`
	if err := os.WriteFile(filepath.Join(dir, "class.json"), []byte(tour), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"flag", "env"} {
		var base string
		if how == "flag" {
			base = startRun(t, nil, "-tours", dir)
		} else {
			base = startRun(t, map[string]string{"TOURS_DIR": dir})
		}
		resp, err := http.Get("http://" + base + "/api/tours/class")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != tour {
			t.Errorf("%s: /api/tours/class: %d %s", how, resp.StatusCode, body)
		}
	}
}
