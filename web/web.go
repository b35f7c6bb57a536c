// Package web holds the page's template and static files, embedded so
// that `go run ./cmd/server` needs nothing else.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
)

//go:embed static templates tours
var files embed.FS

// Static returns the static files, served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// BuiltinTour is the built-in guided tour, a tour file (docs/tour.md).
func BuiltinTour() []byte {
	data, err := files.ReadFile("tours/builtin.json")
	if err != nil {
		panic(err) // the file is embedded above
	}
	return data
}

// Templates parses the page templates. Call it once at start.
func Templates() *template.Template {
	return template.Must(template.ParseFS(files, "templates/*.html"))
}

// Version is a digest of every embedded file. Static URLs carry it, so a
// browser never runs a stale script against a newer server.
func Version() string {
	h := sha256.New()
	fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(path)
		h.Write([]byte(path))
		h.Write(data)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
