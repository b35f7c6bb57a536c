package api

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParseFrameAncestors reads a list of origins that may embed the page in
// a frame, separated by spaces or commas: each scheme://host[:port], the
// host possibly starting with "*." for its subdomains, with no path,
// query, user or other wildcard. An empty list is nil, the default: no
// page may frame gradviz. 'none' and 'self' are not origins and are
// refused, so the list means what it says.
func ParseFrameAncestors(v string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		origin, err := parseFrameAncestor(f)
		if err != nil {
			return nil, err
		}
		out = append(out, origin)
	}
	return out, nil
}

func parseFrameAncestor(s string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("frame ancestor %q: %s; want scheme://host[:port] such as https://moodle.example.org or https://*.example.org", s, why)
	}
	if strings.HasPrefix(s, "'") || strings.EqualFold(s, "none") || strings.EqualFold(s, "self") || s == "*" {
		return "", bad("keywords are not origins (no ancestor at all is the default)")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "", bad("the scheme must be http or https")
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "/?#@\\;,\"' ") {
		return "", bad("only an origin, without a path, query or user")
	}
	host, port := rest, ""
	if h, p, err := net.SplitHostPort(rest); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return "", bad("the port must be 1 to 65535")
		}
	}
	if host == "" {
		return "", bad("no host")
	}
	name, wild := strings.CutPrefix(host, "*.")
	if strings.Contains(name, "*") {
		return "", bad("the only wildcard allowed is a leading *. in the host")
	}
	n, addr, err := ParseAllowedHost(name)
	if err != nil || (wild && addr.IsValid()) {
		return "", bad("the host must be a name or an address")
	}
	if addr.IsValid() {
		host = addr.String()
		if addr.Is6() {
			host = "[" + host + "]"
		}
	} else {
		host = n
		if wild {
			host = "*." + n
		}
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// pageSecurityHeaders returns the security headers of the handlers'
// responses: securityHeaderList, unless frameAncestors names origins
// that may embed the page, in which case the policy's frame-ancestors
// lists them and X-Frame-Options, which cannot name an origin, is left
// out (browsers that know frame-ancestors ignore it anyway).
func pageSecurityHeaders(frameAncestors []string) [][2]string {
	if len(frameAncestors) == 0 {
		return securityHeaderList
	}
	csp := strings.Replace(contentSecurityPolicy, "frame-ancestors 'none'", "frame-ancestors "+strings.Join(frameAncestors, " "), 1)
	var out [][2]string
	for _, kv := range securityHeaderList {
		switch kv[0] {
		case "Content-Security-Policy":
			out = append(out, [2]string{kv[0], csp})
		case "X-Frame-Options":
		default:
			out = append(out, kv)
		}
	}
	return out
}
