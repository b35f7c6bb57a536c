package api

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newRawTestServer serves app from a listener wrapped like the binary's
// (Listener), for tests that speak HTTP over raw TCP.
func newRawTestServer(t *testing.T, cfg Config, maxHeaderBytes int) (*httptest.Server, *Server) {
	t.Helper()
	app := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	ts := httptest.NewUnstartedServer(app)
	ts.Listener = Listener(ts.Listener)
	if maxHeaderBytes > 0 {
		ts.Config.MaxHeaderBytes = maxHeaderBytes
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts, app
}

// rawResponse is what came back over a raw connection.
type rawResponse struct {
	status int
	header http.Header
	body   string
	// connClose says the response carried Connection: close (which
	// net/http's reader takes out of the header), closed that the server
	// then closed the connection.
	connClose, closed bool
}

// hangGuard bounds a raw exchange, so a server that fails to answer or
// to close fails the test instead of hanging it. It is never the thing
// measured: every assertion is on bytes and statuses.
const hangGuard = 10 * time.Second

// rawExchange sends request as bytes on a new connection to ts, reads
// one response and then whether the server closes the connection.
func rawExchange(t *testing.T, ts *httptest.Server, request string) rawResponse {
	t.Helper()
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(hangGuard))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatalf("write %.60q: %v", request, err)
	}
	br := bufio.NewReader(c)
	var req *http.Request // a HEAD response has no body to read
	if method, _, _ := strings.Cut(request, " "); method == http.MethodHead {
		req = &http.Request{Method: method}
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("%.80q: reading the response: %v", request, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	out := rawResponse{status: resp.StatusCode, header: resp.Header, body: string(body), connClose: resp.Close}
	if resp.Close {
		// Whatever else arrives, the connection must end: EOF (or a
		// reset), not the hang guard's timeout.
		_, err := io.Copy(io.Discard, br)
		var ne net.Error
		out.closed = !(errors.As(err, &ne) && ne.Timeout())
	}
	return out
}

// checkSecurityHeaders fails unless h has every security header.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for _, kv := range securityHeaderList {
		if got := h.Get(kv[0]); got != kv[1] {
			t.Errorf("%s: %s got %q, want %q", what, kv[0], got, kv[1])
		}
	}
}

// TestServerOwnResponsesCarryHeaders: what net/http answers by itself,
// before any handler, has the security headers too (Listener).
func TestServerOwnResponsesCarryHeaders(t *testing.T) {
	ts, _ := newRawTestServer(t, DefaultConfig(), 4096)
	for _, tc := range []struct {
		name, request string
		want          int
	}{
		{"headers too large", "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + strings.Repeat("a", 16<<10) + "\r\n\r\n", 431},
		{"query too large", "GET /api/profile?" + strings.Repeat("a", 16<<10) + " HTTP/1.1\r\nHost: localhost\r\n\r\n", 431},
		{"malformed request line", "GARBAGE\r\n\r\n", 400},
		{"malformed header", "GET / HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n", 400},
		{"unknown transfer coding", "GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"unsupported version", "GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", 505},
		{"unknown expectation", "GET / HTTP/1.1\r\nHost: localhost\r\nExpect: bogus\r\n\r\n", 417},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rawExchange(t, ts, tc.request)
			if got.status != tc.want {
				t.Fatalf("got %d %.100q, want %d", got.status, got.body, tc.want)
			}
			checkSecurityHeaders(t, tc.name, got.header)
			if !got.connClose || !got.closed {
				t.Errorf("Connection: close %v, closed %v: want the connection closed", got.connClose, got.closed)
			}
		})
	}
}

func TestWithSecurityHeaders(t *testing.T) {
	head := "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"
	out, ok := withSecurityHeaders([]byte(head))
	if !ok || !strings.HasPrefix(string(out), "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Security-Policy: ") ||
		!strings.HasSuffix(string(out), "\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large") {
		t.Errorf("got %q, %v, want the headers after the status line", out, ok)
	}
	for _, p := range []string{
		"HTTP/1.1 200 OK\r\nContent-Security-Policy: x\r\n\r\n", // the handlers' own
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n",
		"{\"type\":\"profile\"}",
		"HTTP/1.1 200 OK\r\nX: partial head",
	} {
		if out, ok := withSecurityHeaders([]byte(p)); ok {
			t.Errorf("%q: rewritten to %q, want unchanged", p, out)
		}
	}
}

// TestBodyRefusedClosesConnection: a request that declares a body it
// never sends gets 413 and the connection ends at once, instead of the
// server waiting for the body until the read timeout (the test server
// has none, so without the fix this would hit the hang guard).
func TestBodyRefusedClosesConnection(t *testing.T) {
	ts, _ := newRawTestServer(t, DefaultConfig(), 0)
	for _, req := range []string{
		"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n",
		"GET /api/profile HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n",
		"POST /api/profile HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
	} {
		got := rawExchange(t, ts, req)
		if got.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%.70q: got %d, want 413", req, got.status)
		}
		checkSecurityHeaders(t, "413", got.header)
		if !got.connClose || !got.closed {
			t.Errorf("%.70q: Connection: close %v, closed %v, want the connection closed", req, got.connClose, got.closed)
		}
	}
}
