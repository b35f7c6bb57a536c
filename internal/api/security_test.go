package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestSecurityHeaders(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	want := map[string]string{
		"Content-Security-Policy":    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"X-Frame-Options":            "DENY",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	for _, path := range []string{
		"/", "/?T=300", "/static/app.css", "/healthz", "/metrics",
		"/api/profile?T=5", "/api/profile?T=0", "/api/plot.svg?T=5", "/nope", "/static/",
	} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		for name, value := range want {
			if got := resp.Header.Get(name); got != value {
				t.Errorf("GET %s (status %d): %s got %q, want %q", path, resp.StatusCode, name, got, value)
			}
		}
	}
}

// TestCSPHasNoInlineScript guards the policy itself: no 'unsafe-inline',
// no 'unsafe-eval', nothing from other origins.
func TestCSPHasNoInlineScript(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(contentSecurityPolicy, bad) {
			t.Errorf("Content-Security-Policy: got %q in it, want only 'self'", bad)
		}
	}
	// The page's scripts are files, and its data block is not executed.
	ts, _ := newTestServer(t, DefaultConfig())
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for i, chunk := range strings.Split(string(page), "<script")[1:] {
		tag := chunk[:strings.Index(chunk, ">")]
		if !strings.Contains(tag, "src=") && !strings.Contains(tag, `type="application/json"`) {
			t.Errorf("page script %d: got <script%s>, want src= or a JSON data block", i+1, tag)
		}
	}
}

func TestNoDirectoryListings(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	for _, path := range []string{"/static/", "/static/vendor/", "/static/vendor", "/static", "/static/../", "/static/%2e%2e/"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && !strings.HasPrefix(path, "/static/..") {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
		if strings.Contains(string(body), "<a href") || strings.Contains(string(body), "<pre>") {
			t.Errorf("GET %s: got a listing %.200q, want none", path, body)
		}
	}
}

func TestWebsocketOriginCheck(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AllowedOrigins = []string{"https://class.example.org"}
	ts, _ := newTestServer(t, cfg)
	host := strings.TrimPrefix(ts.URL, "http://")
	for _, tc := range []struct {
		name, origin string
		allowed      bool
	}{
		{"no origin (not a browser)", "", true},
		{"same origin", ts.URL, true},
		{"same origin, host in capitals", "http://" + strings.ToUpper(host), true},
		{"allow-listed", "https://class.example.org", true},
		{"allow-listed with a slash", "https://class.example.org/", false},
		{"allow-listed host, other scheme", "http://class.example.org", false},
		{"other site", "https://evil.example", false},
		{"same host, other port", "http://127.0.0.1:1", false},
		{"suffix of the host", "http://x" + host, false},
		{"opaque origin", "null", false},
		{"malformed", "http://%zz", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			if tc.origin != "" {
				header.Set("Origin", tc.origin)
			}
			conn, resp, err := websocket.DefaultDialer.Dial(wsURL(ts), header)
			if tc.allowed {
				if err != nil {
					t.Fatalf("Origin %q: got %v, want the upgrade", tc.origin, err)
				}
				conn.Close()
				return
			}
			if err == nil {
				conn.Close()
				t.Fatalf("Origin %q: upgraded, want refused", tc.origin)
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("Origin %q: got %v, want 403", tc.origin, resp)
			}
			var e errorBody
			json.NewDecoder(resp.Body).Decode(&e)
			if !strings.HasPrefix(e.Message, "websocket origin not allowed") {
				t.Errorf("Origin %q: message got %q, want it to say the origin is not allowed", tc.origin, e.Message)
			}
		})
	}
	if got := metricsOf(t, ts).Errors[errOriginRefused]; got != 7 {
		t.Errorf("metrics errors[%s]: got %d, want 7", errOriginRefused, got)
	}
}

// TestLogsNeverHoldSettings: request logs name the query parameters and
// websocket logs the message type and id, never the values.
func TestLogsNeverHoldSettings(t *testing.T) {
	logger, logs := jsonLogger()
	ts, _ := newTestServerWith(t, DefaultConfig(), logger, nil)
	const secret = "987654321"
	getJSON(t, ts, "/api/profile?T=5&seed="+secret)
	getJSON(t, ts, "/api/profile?T=5&seed="+secret+"&gain=NaN")
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"config","id":42,"T":5,"seed":`+secret+`}`)
	readUntil(t, conn, "profile")
	send(t, conn, `{"type":"config","id":43,"T":5,"seed":`+secret+`,"gain":-1}`)
	readUntil(t, conn, "error")
	conn.Close()

	var sawRequest, sawMessage bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, secret) {
			t.Errorf("log line holds a setting's value: %s", line)
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		switch entry["msg"] {
		case "request":
			if entry["path"] == "/api/profile" {
				sawRequest = true
				if q := entry["query"]; q != "T,seed" && q != "T,gain,seed" {
					t.Errorf("request log query: got %v, want the names only", q)
				}
			}
		case "websocket message":
			if entry["id"] == 42.0 {
				sawMessage = true
				if entry["type"] != "config" || entry["level"] != "DEBUG" {
					t.Errorf("websocket message log: got %v, want type config at debug level", entry)
				}
			}
		}
	}
	if !sawRequest || !sawMessage {
		t.Errorf("logs: got request line %v, websocket message line %v, want both:\n%s", sawRequest, sawMessage, logs)
	}
}

func TestHeadLikeGet(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	for _, path := range []string{"/", "/healthz", "/metrics"} {
		resp, err := http.Head(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("HEAD %s: got %d, want 200 with the security headers", path, resp.StatusCode)
		}
	}
}

func TestStaticIsReadOnly(t *testing.T) {
	ts, _ := newRawTestServer(t, DefaultConfig(), 0)
	for _, path := range []string{"/static/app.css", "/static/app.js", "/"} {
		for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"} {
			got := rawExchange(t, ts, method+" "+path+" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
			if got.status != http.StatusMethodNotAllowed || got.header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: got %d, Allow %q, want 405 with Allow: GET, HEAD", method, path, got.status, got.header.Get("Allow"))
			}
			checkSecurityHeaders(t, method+" "+path, got.header)
			if strings.Contains(got.body, "{}") || strings.Contains(got.body, "<html") {
				t.Errorf("%s %s: body %.80q, want no file", method, path, got.body)
			}
		}
		for _, method := range []string{"GET", "HEAD"} {
			if got := rawExchange(t, ts, method+" "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n"); got.status != http.StatusOK {
				t.Errorf("%s %s: got %d, want 200", method, path, got.status)
			}
		}
	}
	for _, path := range []string{"/static/%ff", "/static/%c0%ae%c0%ae/x", "/static/%00", "/static/app.css%00", "/static/a\\b", "/static/%5c..%5capp.css", "/static/./app.css", "/static/vendor//x"} {
		got := rawExchange(t, ts, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n")
		if got.status != http.StatusNotFound && got.status != http.StatusBadRequest && got.status != http.StatusMovedPermanently {
			t.Errorf("GET %s: got %d, want 404 (or 400, or the file server's redirect to the clean path)", path, got.status)
		}
		checkSecurityHeaders(t, "GET "+path, got.header)
	}
	metrics := rawExchange(t, ts, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
	var snap metricsSnapshot
	json.Unmarshal([]byte(metrics.body), &snap)
	if n := snap.Errors[errInternal]; n != 0 {
		t.Errorf("metrics errors[%s]: got %d, want 0", errInternal, n)
	}
}
