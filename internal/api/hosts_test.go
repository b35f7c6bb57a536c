package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestHostAllowList(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AllowedHosts = []string{"class.example.org", "192.0.2.7"}
	ts, _ := newRawTestServer(t, cfg, 0)
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	p := fmt.Sprint(port)
	upgrade := "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for _, tc := range []struct {
		name, request string
		want          int
	}{
		{"localhost", "GET /healthz HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n", 200},
		{"localhost in capitals", "GET /healthz HTTP/1.1\r\nHost: LocalHost:" + p + "\r\n\r\n", 200},
		{"localhost without a port", "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", 200},
		{"127.0.0.1", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" + p + "\r\n\r\n", 200},
		{"elsewhere in 127/8", "GET /healthz HTTP/1.1\r\nHost: 127.3.2.1:" + p + "\r\n\r\n", 200},
		{"::1", "GET /healthz HTTP/1.1\r\nHost: [::1]:" + p + "\r\n\r\n", 200},
		{"allowed name", "GET /healthz HTTP/1.1\r\nHost: class.example.org\r\n\r\n", 200},
		{"allowed name in capitals", "GET /healthz HTTP/1.1\r\nHost: CLASS.example.ORG:" + p + "\r\n\r\n", 200},
		{"allowed address", "GET /healthz HTTP/1.1\r\nHost: 192.0.2.7:" + p + "\r\n\r\n", 200},
		{"absolute form, allowed", "GET http://localhost:" + p + "/healthz HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n", 200},
		{"websocket, allowed", "GET /ws HTTP/1.1\r\nHost: localhost:" + p + "\r\n" + upgrade + "\r\n", 101},

		{"rebound name", "GET /healthz HTTP/1.1\r\nHost: evil.example:" + p + "\r\n\r\n", 421},
		{"rebound name, page", "GET / HTTP/1.1\r\nHost: evil.example:" + p + "\r\n\r\n", 421},
		{"rebound name, static", "GET /static/app.js HTTP/1.1\r\nHost: evil.example:" + p + "\r\n\r\n", 421},
		{"rebound name, api", "GET /api/profile?T=5 HTTP/1.1\r\nHost: evil.example:" + p + "\r\n\r\n", 421},
		{"rebound name, metrics", "GET /metrics HTTP/1.1\r\nHost: evil.example:" + p + "\r\n\r\n", 421},
		{"rebound name, unknown path", "GET /nope HTTP/1.1\r\nHost: evil.example:" + p + "\r\n\r\n", 421},
		{"rebound name, websocket", "GET /ws HTTP/1.1\r\nHost: evil.example:" + p + "\r\nOrigin: http://evil.example:" + p + "\r\n" + upgrade + "\r\n", 421},
		{"absolute form, rebound name", "GET http://evil.example:" + p + "/ws HTTP/1.1\r\nHost: localhost:" + p + "\r\n" + upgrade + "\r\n", 421},
		{"absolute form, other scheme", "GET https://localhost:" + p + "/healthz HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n", 421},
		{"absolute form, userinfo", "GET http://u:p@localhost:" + p + "/healthz HTTP/1.1\r\nHost: localhost:" + p + "\r\n\r\n", 421},
		{"trailing dot", "GET /healthz HTTP/1.1\r\nHost: localhost.:" + p + "\r\n\r\n", 421},
		{"allowed name, trailing dot", "GET /healthz HTTP/1.1\r\nHost: class.example.org.\r\n\r\n", 421},
		{"subdomain of an allowed name", "GET /healthz HTTP/1.1\r\nHost: x.class.example.org\r\n\r\n", 421},
		{"subdomain of localhost", "GET /healthz HTTP/1.1\r\nHost: evil.localhost\r\n\r\n", 421},
		{"suffix trick", "GET /healthz HTTP/1.1\r\nHost: localhost.evil.example\r\n\r\n", 421},
		{"IPv6 zone", "GET /healthz HTTP/1.1\r\nHost: [::1%25lo]:" + p + "\r\n\r\n", 421},
		{"IPv4-mapped loopback", "GET /healthz HTTP/1.1\r\nHost: [::ffff:7f00:1]:" + p + "\r\n\r\n", 421},
		{"short IPv4", "GET /healthz HTTP/1.1\r\nHost: 127.1:" + p + "\r\n\r\n", 421},
		{"decimal IPv4", "GET /healthz HTTP/1.1\r\nHost: 2130706433:" + p + "\r\n\r\n", 421},
		{"hex IPv4", "GET /healthz HTTP/1.1\r\nHost: 0x7f.0.0.1:" + p + "\r\n\r\n", 421},
		{"unspecified address", "GET /healthz HTTP/1.1\r\nHost: 0.0.0.0:" + p + "\r\n\r\n", 421},
		{"someone else's address", "GET /healthz HTTP/1.1\r\nHost: 198.51.100.1:" + p + "\r\n\r\n", 421},
		{"two ports", "GET /healthz HTTP/1.1\r\nHost: localhost:" + p + ":80\r\n\r\n", 421},
		{"empty port", "GET /healthz HTTP/1.1\r\nHost: localhost:\r\n\r\n", 421},
		{"port with a leading zero", "GET /healthz HTTP/1.1\r\nHost: localhost:0" + p + "\r\n\r\n", 421},
		{"port out of range", "GET /healthz HTTP/1.1\r\nHost: localhost:65536\r\n\r\n", 421},
		{"underscore", "GET /healthz HTTP/1.1\r\nHost: local_host\r\n\r\n", 421},
		{"no Host, HTTP/1.0", "GET /healthz HTTP/1.0\r\n\r\n", 421},
		// net/http refuses these itself, with a 400 that Listener gives
		// the security headers.
		{"userinfo", "GET /healthz HTTP/1.1\r\nHost: user@localhost:" + p + "\r\n\r\n", 400},
		{"two Host headers", "GET /healthz HTTP/1.1\r\nHost: localhost:" + p + "\r\nHost: evil.example\r\n\r\n", 400},
		{"no Host, HTTP/1.1", "GET /healthz HTTP/1.1\r\n\r\n", 400},
		{"NUL in Host", "GET /healthz HTTP/1.1\r\nHost: localhost\x00.evil.example\r\n\r\n", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rawExchange(t, ts, tc.request)
			if got.status != tc.want {
				t.Fatalf("got %d %.200q, want %d", got.status, got.body, tc.want)
			}
			if tc.want == 101 {
				return
			}
			checkSecurityHeaders(t, tc.name, got.header)
			if tc.want != 421 {
				return
			}
			var e errorBody
			if err := json.Unmarshal([]byte(got.body), &e); err != nil || e.Field != "Host" || !strings.Contains(e.Message, "does not answer to the host") {
				t.Errorf("body got %q, want JSON naming the field Host", got.body)
			}
			if !got.connClose || !got.closed {
				t.Errorf("connection left open after 421, want it closed")
			}
		})
	}
	metrics := rawExchange(t, ts, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	var snap metricsSnapshot
	json.Unmarshal([]byte(metrics.body), &snap)
	if got := snap.Errors[errHostRefused]; got != 28 {
		t.Errorf("metrics errors[%s]: got %d, want 28", errHostRefused, got)
	}
}

func TestParseAllowedHost(t *testing.T) {
	for _, s := range []string{"class.example.org", "CLASS.example.org", "192.0.2.7", "2001:db8::1", "[2001:db8::1]", "gradviz"} {
		if _, _, err := ParseAllowedHost(s); err != nil {
			t.Errorf("ParseAllowedHost(%q): %v, want accepted", s, err)
		}
	}
	for _, s := range []string{"", "class.example.org.", "http://class.example.org", "class.example.org:8080", "a..b", "-a.b", "a_b", "fe80::1%eth0", "*.example.org", "a b"} {
		if _, _, err := ParseAllowedHost(s); err == nil {
			t.Errorf("ParseAllowedHost(%q): accepted, want an error", s)
		}
	}
}

// TestHostIsConnectionAddress: a client that reached the server on one
// of its addresses may name that address, as a student does with the
// classroom machine's IP, without -allow-host.
func TestHostIsConnectionAddress(t *testing.T) {
	p := hostPolicy{}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	local := &net.TCPAddr{IP: net.ParseIP("192.168.1.20"), Port: 8080}
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.Addr(local)))
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"192.168.1.20:8080", true},
		{"192.168.1.20", true},
		{"192.168.1.21:8080", false},
		{"classroom.lan:8080", false},
	} {
		hp, err := parseHostPort(tc.host)
		if got := err == nil && p.allows(r, hp); got != tc.want {
			t.Errorf("Host %q arriving on %s: allowed %v, want %v", tc.host, local, got, tc.want)
		}
	}
}

func TestWebsocketOriginExact(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AllowedOrigins = []string{"https://class.example.org"}
	ts, _ := newTestServer(t, cfg)
	port := fmt.Sprint(ts.Listener.Addr().(*net.TCPAddr).Port)
	for _, tc := range []struct {
		name    string
		url     string // to dial; the Host follows it
		origins []string
		allowed bool
	}{
		{"page on 127.0.0.1", "ws://127.0.0.1:" + port + "/ws", []string{"http://127.0.0.1:" + port}, true},
		{"page on localhost", "ws://localhost:" + port + "/ws", []string{"http://localhost:" + port}, true},
		{"page on localhost, socket on 127.0.0.1", "ws://127.0.0.1:" + port + "/ws", []string{"http://localhost:" + port}, true},
		{"allow-listed", "ws://127.0.0.1:" + port + "/ws", []string{"https://class.example.org"}, true},
		{"rebound name", "ws://127.0.0.1:" + port + "/ws", []string{"http://evil.example:" + port}, false},
		{"other scheme", "ws://127.0.0.1:" + port + "/ws", []string{"https://127.0.0.1:" + port}, false},
		{"scheme in capitals", "ws://127.0.0.1:" + port + "/ws", []string{"HTTP://127.0.0.1:" + port}, false},
		{"default port", "ws://127.0.0.1:" + port + "/ws", []string{"http://127.0.0.1"}, false},
		{"userinfo", "ws://127.0.0.1:" + port + "/ws", []string{"http://evil@127.0.0.1:" + port}, false},
		{"userinfo, rebound", "ws://127.0.0.1:" + port + "/ws", []string{"http://127.0.0.1:" + port + "@evil.example"}, false},
		{"path", "ws://127.0.0.1:" + port + "/ws", []string{"http://127.0.0.1:" + port + "/"}, false},
		{"longer path", "ws://127.0.0.1:" + port + "/ws", []string{"http://127.0.0.1:" + port + "/x"}, false},
		{"query", "ws://127.0.0.1:" + port + "/ws", []string{"http://127.0.0.1:" + port + "?"}, false},
		{"trailing dot", "ws://127.0.0.1:" + port + "/ws", []string{"http://localhost.:" + port}, false},
		{"null", "ws://127.0.0.1:" + port + "/ws", []string{"null"}, false},
		{"empty", "ws://127.0.0.1:" + port + "/ws", []string{""}, false},
		{"two origins", "ws://127.0.0.1:" + port + "/ws", []string{"http://127.0.0.1:" + port, "http://evil.example"}, false},
		{"zone", "ws://127.0.0.1:" + port + "/ws", []string{"http://[::1%25lo]:" + port}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := websocket.DefaultDialer.Dial(tc.url, http.Header{"Origin": tc.origins})
			if tc.allowed {
				if err != nil {
					t.Fatalf("Origin %q: got %v, want the upgrade", tc.origins, err)
				}
				conn.Close()
				return
			}
			if err == nil {
				conn.Close()
				t.Fatalf("Origin %q: upgraded, want refused", tc.origins)
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("Origin %q: got %v, want 403", tc.origins, resp)
			}
			checkSecurityHeaders(t, tc.name, resp.Header)
		})
	}
}
