package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gradviz/internal/api"
)

// fakeResolver fails every lookup, so the test needs no DNS.
func fakeResolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			return nil, errors.New("no DNS in tests")
		},
	}
}

func TestLoopbackTarget(t *testing.T) {
	for _, tc := range []struct {
		raw      string
		url      string // want, or "" for a refusal
		dial     string
		contains string // in the refusal
	}{
		{"ws://127.0.0.1:8080/ws", "ws://127.0.0.1:8080/ws", "127.0.0.1:8080", ""},
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws", "127.0.0.1:8080", ""},
		{"ws://127.9.9.9:1/", "ws://127.9.9.9:1/ws", "127.9.9.9:1", ""},
		{"ws://[::1]:8080/ws", "ws://[::1]:8080/ws", "[::1]:8080", ""},
		{"ws://127.0.0.1/ws", "ws://127.0.0.1/ws", "127.0.0.1:80", ""},
		{"ws://10.0.0.5:8080/ws", "", "", "not loopback"},
		{"ws://192.168.1.10:8080/ws", "", "", "not loopback"},
		{"ws://0.0.0.0:8080/ws", "", "", "not loopback"},
		{"ws://[::]:8080/ws", "", "", "not loopback"},
		{"ws://[::ffff:10.0.0.1]:8080/ws", "", "", "not loopback"},
		{"ws://8.8.8.8:80/ws", "", "", "not loopback"},
		{"wss://127.0.0.1:8080/ws", "", "", "scheme must be ws or http"},
		{"ftp://127.0.0.1/", "", "", "scheme must be ws or http"},
		{"ws://user:pw@127.0.0.1:8080/ws", "", "", "no user information"},
		{"ws:///ws", "", "", "no host"},
		{"ws://example.com:8080/ws", "", "", "resolving example.com"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := loopbackTarget(context.Background(), tc.raw, fakeResolver())
			if tc.url == "" {
				if err == nil || !strings.Contains(err.Error(), tc.contains) {
					t.Errorf("got %v, %v; want a refusal containing %q", got, err, tc.contains)
				}
				if tc.contains == "not loopback" && !errors.Is(err, errNotLoopback) {
					t.Errorf("got %v, want it to wrap errNotLoopback", err)
				}
				return
			}
			if err != nil || got.url.String() != tc.url || got.dial != tc.dial {
				t.Errorf("got %v %v, want url %s dial %s", got, err, tc.url, tc.dial)
			}
		})
	}
	// localhost resolves through the system's hosts file.
	if got, err := loopbackTarget(context.Background(), "ws://localhost:8080/ws", net.DefaultResolver); err != nil {
		t.Logf("localhost: %v (no hosts entry here)", err)
	} else if ip := net.ParseIP(strings.Trim(got.dial[:strings.LastIndex(got.dial, ":")], "[]")); !ip.IsLoopback() {
		t.Errorf("localhost: got dial %s, want loopback", got.dial)
	}
}

func TestScanEnvelope(t *testing.T) {
	for _, tc := range []struct {
		data string
		kind string
		id   int64
		ok   bool
	}{
		{`{"type":"profile","id":7,"config":{}}`, "profile", 7, true},
		{`{"type":"error","id":0,"message":"too many"}`, "error", 0, true},
		{`{"type":"stopped","id":9}`, "stopped", 9, true},
		{`{"defaults":{},"limits":{},"type":"hello"}`, "", 0, false},
		{`{"type":"profile","id":x}`, "", 0, false},
		{`{"type":"pro`, "", 0, false},
	} {
		kind, id, ok := scanEnvelope([]byte(tc.data))
		if kind != tc.kind || id != tc.id || ok != tc.ok {
			t.Errorf("%s: got %q %d %v, want %q %d %v", tc.data, kind, id, ok, tc.kind, tc.id, tc.ok)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 100 * time.Millisecond}, {0.9, 180 * time.Millisecond}, {0.99, 198 * time.Millisecond}, {1, 200 * time.Millisecond}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("p%g: got %s, want %s", tc.p*100, got, tc.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("empty: got %s, want 0", got)
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-url", "ws://10.1.2.3:8080/ws"}, "not loopback"},
		{[]string{"-clients", "0"}, "-clients must be 1..2000"},
		{[]string{"-clients", "5000"}, "-clients must be 1..2000"},
		{[]string{"-duration", "11m"}, "-duration must be more than 0 and at most 10m0s"},
		{[]string{"-duration", "0s"}, "-duration must be more than 0"},
		{[]string{"-rate", "0"}, "-rate must be more than 0"},
		{[]string{"-burst", "2"}, "burst-min ≤ burst"},
		{[]string{"-spawn", "x", "-pid", "1"}, "one or the other"},
		{[]string{"-class", "-1"}, "-class must be 0..2000"},
		{[]string{"-class", "3", "-class-rate", "0"}, "-class-rate must be more than 0"},
		{[]string{"-class", "3", "-url", "ws://127.0.0.1:1/ws", "-student-url", "ws://10.1.2.3:8080/ws"}, "not loopback"},
	} {
		err := run(context.Background(), append([]string{"loadgen"}, tc.args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestRunAgainstServer runs a short, small load against an in-process
// server: every newest request is answered and the summary says so.
func TestRunAgainstServer(t *testing.T) {
	srv := httptest.NewServer(api.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), api.DefaultConfig()))
	defer srv.Close()
	var out bytes.Buffer
	err := run(context.Background(), []string{"loadgen", "-url", srv.URL, "-clients", "5", "-duration", "1s",
		"-rate", "5", "-burst-prob", "0.5", "-max-T", "50", "-max-H", "8", "-verify", "1", "-timeout", "60s"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"clients          5 connected of 5", "(100.00%)", "latency          p50 ", "server runs "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary: want %q in it, got\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "fault:") {
		t.Errorf("summary: got faults, want none:\n%s", out.String())
	}
}
