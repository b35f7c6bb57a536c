package api_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestProtocolListsRoutes: every route in routes.go is described in
// docs/protocol.md, as `GET /path…` or, for the websocket, `/ws`.
func TestProtocolListsRoutes(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`\.(?:Get|Method)\((?:http\.MethodGet, )?"(/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 10 {
		t.Fatalf("found %d routes in routes.go, want the server's", len(routes))
	}
	for _, m := range routes {
		// What the document must name: the path up to its first
		// pattern ({format}, {name}, *) or, for a file such as
		// plot.svg, up to its extension (plot.png names the family).
		p := m[1]
		if i := strings.IndexAny(p, "{*"); i >= 0 {
			p = p[:i]
		} else if i := strings.LastIndex(p, "."); i > strings.LastIndex(p, "/") {
			p = p[:i+1]
		}
		if !strings.Contains(string(doc), "`GET "+p) && !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("docs/protocol.md does not describe %s (no `GET %s…`)", m[1], p)
		}
	}
}
