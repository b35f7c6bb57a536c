package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeListsFlags: every flag the server takes has its row in
// README's configuration table.
func TestReadmeListsFlags(t *testing.T) {
	var stderr bytes.Buffer
	_ = run(context.Background(), []string{"server", "-h"}, func(string) string { return "" }, &bytes.Buffer{}, &stderr)
	flags := regexp.MustCompile(`(?m)^  -([A-Za-z0-9-]+)`).FindAllStringSubmatch(stderr.String(), -1)
	if len(flags) < 10 {
		t.Fatalf("the usage lists %d flags, want the server's (%q)", len(flags), stderr.String())
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `-") {
			rows = append(rows, line)
		}
	}
	for _, f := range flags {
		name := "`-" + f[1] + "`"
		found := false
		for _, row := range rows {
			if strings.Contains(row, name) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README's configuration table has no row for %s", name)
		}
	}
}
