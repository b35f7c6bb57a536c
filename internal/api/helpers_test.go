package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// syncBuffer is a log sink that tests read while the server writes.
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

// jsonLogger logs everything down to debug as JSON into a buffer.
func jsonLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// waitFor polls cond until it holds or timeout passes, then fails the
// test naming what it waited for.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wsURL(ts *httptest.Server) string { return "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws" }

// readUntil reads messages until one has the type want and returns it.
func readUntil(t *testing.T, conn *websocket.Conn, want string) map[string]any {
	t.Helper()
	for {
		if m := readMsg(t, conn); m["type"] == want {
			return m
		}
	}
}

// readClose reads until the server's close frame and returns its code.
func readClose(t *testing.T, conn *websocket.Conn, timeout time.Duration) int {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("read: got %v, want a close frame", err)
	}
}

// getJSON fetches path and decodes its JSON body.
func getJSON(t *testing.T, ts *httptest.Server, path string) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	show := shorten(path)
	if err != nil {
		t.Fatalf("GET %s: %v", show, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", show, err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET %s: status %d, body %.100q is not a JSON object: %v", show, resp.StatusCode, body, err)
	}
	return resp.StatusCode, resp.Header, m
}

// metricsOf reads the server's metrics as a client would.
func metricsOf(t *testing.T, ts *httptest.Server) metricsSnapshot {
	t.Helper()
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	var snap metricsSnapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return snap
}

// stableGoroutines waits until the goroutine count stops changing, so a
// baseline is not inflated by a previous test's goroutines on their way
// out, and returns it.
func stableGoroutines(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	n := runtime.NumGoroutine()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// waitGoroutines waits until at most baseline goroutines run, and fails
// with every goroutine's stack if they do not.
func waitGoroutines(t *testing.T, baseline int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: got %d after %s, want at most the baseline %d; stacks:\n%s",
				runtime.NumGoroutine(), timeout, baseline, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
