package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile reads the Dockerfile at the repository root for what the
// image must have; no Docker engine is needed. It checks a multi-stage
// static build, a non-root user, the port, a health check that needs no
// shell tools, and an entrypoint.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Continuation lines joined, comments dropped.
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	for _, tc := range []struct {
		name string
		re   string
	}{
		{"builder stage", `^FROM golang:1\.26\S* AS build$`},
		{"static build", `^RUN .*CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" .*\./cmd/server`},
		{"runtime from the builder", `^COPY --from=build `},
		{"non-root user", `^USER (nonroot(:nonroot)?|[1-9][0-9]*(:[1-9][0-9]*)?)$`},
		{"port", `^EXPOSE 8080$`},
		{"health check by the binary", `^HEALTHCHECK .*CMD \["/gradviz", "-healthcheck"\]$`},
		{"entrypoint", `^ENTRYPOINT \["/gradviz"\]$`},
	} {
		re := regexp.MustCompile(tc.re)
		found := false
		for _, l := range lines {
			found = found || re.MatchString(l)
		}
		if !found {
			t.Errorf("%s: no line matches %s", tc.name, tc.re)
		}
	}
	// The last stage, the one that runs, must not be the Go toolchain and
	// must switch to a non-root user before its entrypoint.
	var stages [][]string
	for _, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], l)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("stages: got %d, want a build stage and a runtime stage", len(stages))
	}
	final := stages[len(stages)-1]
	if base := final[0]; !strings.Contains(base, "distroless") && !strings.Contains(base, "scratch") {
		t.Errorf("runtime stage: got %q, want distroless or scratch", base)
	}
	user := -1
	for i, l := range final {
		if strings.HasPrefix(l, "USER ") {
			user = i
			if u := strings.Fields(l)[1]; u == "root" || u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
				t.Errorf("runtime stage: got %q, want a non-root user", l)
			}
		}
	}
	if user < 0 {
		t.Error("runtime stage: no USER line, want a non-root user")
	}
}
