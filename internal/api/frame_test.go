package api

import (
	"net/http"
	"strings"
	"testing"
)

func TestParseFrameAncestors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the origins joined by spaces
	}{
		{"", ""},
		{"  ", ""},
		{"https://moodle.example.org", "https://moodle.example.org"},
		{"https://moodle.example.org/", "https://moodle.example.org"},
		{"https://a.example, http://b.example:8080", "https://a.example http://b.example:8080"},
		{"https://a.example http://b.example:8080,,https://c.example", "https://a.example http://b.example:8080 https://c.example"},
		{"https://*.example.org", "https://*.example.org"},
		{"https://Moodle.Example.ORG", "https://moodle.example.org"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000"},
		{"http://[::1]:3000", "http://[::1]:3000"},
		{"http://localhost:1", "http://localhost:1"},
	} {
		got, err := ParseFrameAncestors(tc.in)
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("ParseFrameAncestors(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"'none'", "keywords are not origins"},
		{"none", "keywords are not origins"},
		{"'self'", "keywords are not origins"},
		{"*", "keywords are not origins"},
		{"https://a.example 'none'", `"'none'"`},
		{"moodle.example.org", "the scheme must be http or https"},
		{"ftp://moodle.example.org", "the scheme must be http or https"},
		{"javascript://x", "the scheme must be http or https"},
		{"https://moodle.example.org/course", "without a path"},
		{"https://moodle.example.org/?x=1", "without a path"},
		{"https://moodle.example.org#x", "without a path"},
		{"https://user@moodle.example.org", "without a path"},
		{"https://", "no host"},
		{"https://:8080", "no host"},
		{"https://*", "the only wildcard"},
		{"https://a.*.example.org", "the only wildcard"},
		{"https://*.*.example.org", "the only wildcard"},
		{"https://*example.org", "the only wildcard"},
		{"https://*.127.0.0.1", "the host must be a name"},
		{"https://a.example:0", "the port must be 1 to 65535"},
		{"https://a.example:65536", "the port must be 1 to 65535"},
		{"https://a.example:http", "the port must be 1 to 65535"},
		{"https://a.example:", "the port must be 1 to 65535"},
		{"https://a_b.example", "the host must be a name"},
		{"https://a.example.", "the host must be a name"},
	} {
		got, err := ParseFrameAncestors(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFrameAncestors(%q): got %q, %v; want an error containing %q", tc.in, got, err, tc.want)
		}
	}
}

// TestFrameAncestorHeaders: by default no page may frame gradviz; with
// Config.FrameAncestors the policy names them and X-Frame-Options goes,
// on the page and every other route, and nothing else in the policy
// changes.
func TestFrameAncestorHeaders(t *testing.T) {
	// Error responses (400, 404) carry the same policy as the page.
	paths := []string{"/", "/?embed=1", "/static/app.js", "/api/profile?T=5", "/nope", "/api/plot.png?T=NaN", "/api/tours/..%2Fetc", "/api/lab.gif?h=99999"}
	get := func(t *testing.T, cfg Config, path string) http.Header {
		ts, _ := newTestServer(t, cfg)
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header
	}
	t.Run("default", func(t *testing.T) {
		for _, path := range paths {
			h := get(t, DefaultConfig(), path)
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none';") {
				t.Errorf("GET %s: Content-Security-Policy %q, want frame-ancestors 'none'", path, csp)
			}
			if got := h.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("GET %s: X-Frame-Options %q, want DENY", path, got)
			}
		}
	})
	t.Run("allowed", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.FrameAncestors = []string{"https://moodle.example.org", "https://*.example.edu"}
		want := strings.Replace(contentSecurityPolicy, "frame-ancestors 'none'", "frame-ancestors https://moodle.example.org https://*.example.edu", 1)
		for _, path := range paths {
			h := get(t, cfg, path)
			if got := h.Get("Content-Security-Policy"); got != want {
				t.Errorf("GET %s: Content-Security-Policy %q, want %q", path, got, want)
			}
			if got, ok := h["X-Frame-Options"]; ok {
				t.Errorf("GET %s: X-Frame-Options %q, want none", path, got)
			}
			for _, name := range []string{"X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"} {
				if h.Get(name) == "" {
					t.Errorf("GET %s: no %s", path, name)
				}
			}
		}
	})
}
