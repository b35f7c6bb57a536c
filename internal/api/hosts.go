package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// DNS rebinding: a page on evil.example can make its own name resolve to
// 127.0.0.1 (or to the classroom server) and then talk to gradviz as if
// it were same-origin. The browser still sends Host: evil.example, so the
// server answers only the host names it knows to be its own: loopback
// names and addresses, the address the client connected to, and the
// names given with -allow-host. Everything else gets 421 on every route.
// An IP literal cannot be rebound, but only the server's own addresses
// are accepted, so a request that names someone else's is refused too.

// hostPolicy says which Host names the server answers to.
type hostPolicy struct {
	names map[string]bool     // -allow-host names, lowercase
	addrs map[netip.Addr]bool // -allow-host addresses
}

func newHostPolicy(allowed []string) hostPolicy {
	p := hostPolicy{names: map[string]bool{}, addrs: map[netip.Addr]bool{}}
	for _, a := range allowed {
		name, addr, err := ParseAllowedHost(a)
		if err != nil {
			panic("api: Config.AllowedHosts: " + err.Error())
		}
		if addr.IsValid() {
			p.addrs[addr] = true
		} else {
			p.names[name] = true
		}
	}
	return p
}

// ParseAllowedHost checks an -allow-host entry, a host name such as
// class.example.org or an IP address, without a port, and returns it
// normalised: the name in lower case, or the address.
func ParseAllowedHost(s string) (name string, addr netip.Addr, err error) {
	bad := func(why string) (string, netip.Addr, error) {
		return "", netip.Addr{}, fmt.Errorf("host %q: %s", s, why)
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return bad("an IPv6 zone is not a host")
		}
		return "", a, nil
	}
	if strings.Contains(s, ":") {
		return bad("want a host name or an address, without a scheme or a port")
	}
	name, ok := hostName(s)
	if !ok {
		return bad("want a host name of letters, digits, hyphens and dots, without a trailing dot")
	}
	return name, netip.Addr{}, nil
}

// hostName lower-cases a DNS name and checks its syntax: labels of
// letters, digits and hyphens, 1..63 bytes each, joined by single dots,
// 253 bytes at most, and no trailing dot (a browser treats
// "localhost." as another origin than "localhost").
func hostName(s string) (string, bool) {
	if s == "" || len(s) > 253 {
		return "", false
	}
	s = strings.ToLower(s)
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return "", false
			}
		}
	}
	return s, true
}

// hostPort is a parsed Host header (or the authority of an Origin):
// either a name or an address, and the port as written ("" for none).
type hostPort struct {
	name string     // lower case; "" when addr is set
	addr netip.Addr // an IPv4 address, or an IPv6 one written in brackets
	port string
}

var errBadHost = errors.New("malformed host")

// parseHostPort reads host[:port] strictly: a DNS name, dotted IPv4 or
// a bracketed IPv6 address without a zone, then optionally a colon and
// a port 1..65535 without leading zeros. Userinfo, paths, a trailing dot
// and anything else are refused.
func parseHostPort(s string) (hostPort, error) {
	var hp hostPort
	host := s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return hp, errBadHost
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return hp, errBadHost
		}
		hp.addr = a
		host = ""
		s = s[end+1:]
		if s != "" {
			if s[0] != ':' {
				return hp, errBadHost
			}
			hp.port = s[1:]
			if !validPort(hp.port) {
				return hp, errBadHost
			}
		}
	} else {
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, hp.port = s[:i], s[i+1:]
			if !validPort(hp.port) {
				return hp, errBadHost
			}
		}
	}
	if host != "" {
		if a, err := netip.ParseAddr(host); err == nil {
			if !a.Is4() {
				return hp, errBadHost
			}
			hp.addr = a
		} else {
			name, ok := hostName(host)
			if !ok {
				return hp, errBadHost
			}
			hp.name = name
		}
	}
	if hp.name == "" && !hp.addr.IsValid() {
		return hp, errBadHost
	}
	return hp, nil
}

// validPort accepts 1..65535 written in decimal without a sign or leading
// zeros.
func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	n, _ := strconv.Atoi(p)
	return n <= 65535
}

// effectivePort is the port a URL of scheme means, written or not.
func effectivePort(scheme, port string) string {
	if port != "" {
		return port
	}
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// requestScheme is the scheme the client used to reach this server.
// Behind a proxy that terminates TLS, it is http: such deployments list
// their public origin with -allow-origin.
func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// allows reports whether hp names this server for request r: localhost,
// a loopback address (127.0.0.0/8, ::1), the address r arrived on, or an
// -allow-host entry.
func (p hostPolicy) allows(r *http.Request, hp hostPort) bool {
	if hp.name != "" {
		return hp.name == "localhost" || p.names[hp.name]
	}
	a := hp.addr
	if (a.Is4() && a.IsLoopback()) || a == netip.IPv6Loopback() || p.addrs[a] {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ap, err := netip.ParseAddrPort(local.String())
	return err == nil && ap.Addr().WithZone("").Unmap() == a && !a.IsUnspecified()
}

// checkHost answers 421 Misdirected Request to a request whose Host (or
// absolute-form target) is not one of the server's own names, before
// any route runs, the websocket included.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hp, err := parseHostPort(r.Host)
		ok := err == nil && s.hosts.allows(r, hp)
		if ok && r.URL.IsAbs() {
			// An absolute-form target sets r.Host; it must also be
			// this connection's scheme and carry no userinfo.
			ok = r.URL.Scheme == requestScheme(r) && r.URL.User == nil
		}
		if !ok {
			s.metrics.countError(errHostRefused)
			w.Header().Set("Connection", "close")
			writeErrorBody(w, http.StatusMisdirectedRequest, codeHostRefused, "Host",
				fmt.Sprintf("this server does not answer to the host %q: open it by the address it listens on, localhost, or a name allowed with -allow-host", shorten(r.Host)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkOrigin accepts a websocket upgrade without an Origin (not a
// browser, which the same-origin policy does not concern), from an
// origin that is exactly scheme://host[:port] with an allowed host on
// the scheme and port of the request, or from an -allow-origin entry.
// "null", userinfo, a path, a second Origin header and anything else are
// refused.
func (s *Server) checkOrigin(r *http.Request) bool {
	values := r.Header.Values("Origin")
	if len(values) == 0 {
		return true
	}
	if len(values) > 1 {
		return false
	}
	origin := values[0]
	for _, a := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	scheme, authority, ok := strings.Cut(origin, "://")
	if !ok || scheme != requestScheme(r) {
		return false
	}
	hp, err := parseHostPort(authority)
	if err != nil || !s.hosts.allows(r, hp) {
		return false
	}
	req, err := parseHostPort(r.Host)
	return err == nil && effectivePort(scheme, hp.port) == effectivePort(scheme, req.port)
}
