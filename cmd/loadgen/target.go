package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// target is a websocket URL whose host was checked to be loopback, and
// the address to dial, fixed at the check so a later lookup cannot send
// the load elsewhere.
type target struct {
	url  *url.URL // ws://host:port/path
	dial string   // ip:port, loopback
}

// errNotLoopback is wrapped by every refusal of a non-loopback target.
var errNotLoopback = fmt.Errorf("the load generator runs only against this machine: 127.0.0.0/8 or ::1")

// loopbackTarget parses raw (ws:// or http://, path /ws by default) and
// resolves its host; every address must be loopback.
func loopbackTarget(ctx context.Context, raw string, resolver *net.Resolver) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-url %q: %w", raw, err)
	}
	switch u.Scheme {
	case "ws":
	case "http":
		u.Scheme = "ws"
	default:
		return nil, fmt.Errorf("-url %q: the scheme must be ws or http, got %q", raw, u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, fmt.Errorf("-url %q: no host", raw)
	}
	if port == "" {
		port = "80"
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/ws"
	}
	if u.User != nil {
		return nil, fmt.Errorf("-url %q: no user information, please", raw)
	}

	var ips []net.IP
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		ips = []net.IP{ip}
	} else {
		addrs, err := resolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("-url %q: resolving %s: %w", raw, host, err)
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("-url %q: %s has no address", raw, host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("-url %q: %s is %s, which is not loopback: %w", raw, host, ip, errNotLoopback)
		}
	}
	return &target{url: u, dial: net.JoinHostPort(ips[0].String(), port)}, nil
}

// metricsURL is the server's /metrics on the same host.
func (t *target) metricsURL() string {
	return "http://" + t.dial + "/metrics"
}
