package api

import (
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gradviz/web"
)

// The page's scripts know the error codes by name: the dictionaries of
// i18n.js say each one (error.code.<code>), and the code compares
// msg.code with some. These patterns find both.
var (
	pageCodeKey     = regexp.MustCompile(`'error\.code\.([^']*)'`)
	pageCodeCompare = regexp.MustCompile(`\bcode\s*[!=]==?\s*'([^']*)'|'([^']*)'\s*[!=]==?\s*[\w.]*\bcode\b`)
)

// TestPageKnowsTheErrorCodes: every code the server sends has a sentence
// in each of the page's languages, and the page names no code, in its
// dictionaries or its comparisons, that the server never sends.
func TestPageKnowsTheErrorCodes(t *testing.T) {
	static := web.Static()
	i18n, err := fs.ReadFile(static, "i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	// The dictionaries are `const en = {…};` and `const es = {…};`.
	dicts := map[string]string{}
	for _, lang := range []string{"en", "es"} {
		_, rest, ok := strings.Cut(string(i18n), "\nconst "+lang+" = {")
		body, _, closed := strings.Cut(rest, "\n};")
		if !ok || !closed {
			t.Fatalf("i18n.js: no dictionary %q", lang)
		}
		dicts[lang] = body
	}
	sent := map[string]bool{}
	for _, c := range errorCodes {
		sent[string(c)] = true
	}
	for lang, body := range dicts {
		said := map[string]bool{}
		for _, m := range pageCodeKey.FindAllStringSubmatch(body, -1) {
			said[m[1]] = true
			if !sent[m[1]] {
				t.Errorf("i18n.js %s says the code %q, which the server never sends", lang, m[1])
			}
		}
		for _, c := range errorCodes {
			if !said[string(c)] {
				t.Errorf("i18n.js %s has no sentence for the code %q (error.code.%s)", lang, c, c)
			}
		}
	}

	compared := 0
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ".js" || strings.HasPrefix(name, "vendor/") {
			return err
		}
		src, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		for _, m := range pageCodeCompare.FindAllStringSubmatch(string(src), -1) {
			code := m[1] + m[2]
			compared++
			if !slices.Contains(errorCodes, errorCode(code)) {
				t.Errorf("%s compares a code with %q, which the server never sends", name, code)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if compared == 0 {
		t.Error("no script compares a code: the pattern no longer finds them")
	}
}
