package api

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestHTTPRateLimit(t *testing.T) {
	cfg := DefaultConfig()
	// A token comes back once in 1000 s: no refill while the test runs.
	cfg.HTTPRequestsPerSecond = 0.001
	cfg.HTTPRequestBurst = 3
	ts, _ := newTestServer(t, cfg)
	for i := range 3 {
		if status, _, _ := getJSON(t, ts, "/api/profile?T=3&H=2"); status != http.StatusOK {
			t.Fatalf("request %d: got %d, want 200 within the burst", i+1, status)
		}
	}
	status, h, body := getJSON(t, ts, "/api/profile?T=3&H=2")
	if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" || h.Get("Retry-After") == "0" {
		t.Fatalf("past the burst: got %d, Retry-After %q, want 429 with Retry-After", status, h.Get("Retry-After"))
	}
	checkSecurityHeaders(t, "429", h)
	if msg, _ := body["message"].(string); !strings.Contains(msg, "too many requests") {
		t.Errorf("message got %q, want it to say too many requests", msg)
	}
	// The websocket upgrade counts too; the page, its files, the health
	// check and the metrics do not.
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(ts), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("websocket past the burst: got %v, want 429", resp)
	}
	for _, path := range []string{"/", "/static/app.css", "/healthz", "/metrics"} {
		for range 5 {
			resp, err := http.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: got %d, want 200 (not limited)", path, resp.StatusCode)
			}
		}
	}
	if got := metricsOf(t, ts).Errors[errHTTPRateLimited]; got != 2 {
		t.Errorf("metrics errors[%s]: got %d, want 2", errHTTPRateLimited, got)
	}
}

func TestClientKey(t *testing.T) {
	same := [][2]string{
		{"192.0.2.1:1000", "192.0.2.1:2000"},
		{"[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff::9]:2"},
		{"[::ffff:192.0.2.1]:1", "192.0.2.1:2"},
		{"[fe80::1%eth0]:1", "[fe80::2%eth1]:1"},
	}
	for _, p := range same {
		a, okA := clientKey(p[0])
		b, okB := clientKey(p[1])
		if !okA || !okB || a != b {
			t.Errorf("clientKey(%q) = %v, clientKey(%q) = %v, want one key", p[0], a, p[1], b)
		}
	}
	a, _ := clientKey("[2001:db8:1:2::1]:1")
	b, _ := clientKey("[2001:db8:1:3::1]:1")
	if a == b {
		t.Errorf("two /64s share the key %v, want distinct", a)
	}
	if _, ok := clientKey("pipe"); ok {
		t.Errorf("clientKey(pipe): ok, want no key")
	}
}

// TestClientLimiterBounded: the table never holds more than its bound,
// forgets idle clients, and a client it forgot starts with a full burst.
func TestClientLimiterBounded(t *testing.T) {
	now := time.Unix(1e9, 0)
	c := newClientLimiter(1, 2, 8, time.Minute)
	key := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32)
	}
	for i := range 1000 {
		c.reserve(key(i), now)
		if n := c.size(); n > 8 {
			t.Fatalf("after %d clients: %d entries, want at most 8", i+1, n)
		}
	}
	// Client 999 is remembered with one token left of two.
	if ok, _ := c.reserve(key(999), now); !ok {
		t.Fatalf("second request of client 999: refused, want its burst of 2")
	}
	ok, wait := c.reserve(key(999), now)
	if ok || wait != time.Second {
		t.Fatalf("third request of client 999: got %v, wait %s, want refused for 1s", ok, wait)
	}
	// A minute later every entry is idle and goes.
	later := now.Add(time.Minute)
	c.reserve(key(5000), later)
	if n := c.size(); n != 1 {
		t.Errorf("after the idle time: %d entries, want 1", n)
	}
	if ok, _ := c.reserve(key(999), later); !ok {
		t.Errorf("a forgotten client: refused, want a full burst")
	}
}
