package api

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"gradviz/internal/engine"
	"gradviz/internal/render"
	"gradviz/web"
)

// pageData is what the page template receives.
type pageData struct {
	// Version is appended to static URLs to defeat stale caches.
	Version string
	// Bootstrap is JSON for a <script type="application/json"> block: the
	// settings schema (engine.SettingsSchema under the server's limits,
	// which web/static/schema.js reads, with the labels of the settings'
	// values and of the lab's task and optimizer), the defaults and limits the
	// controls start from, before the websocket says hello, and the series
	// table (render.Table) the plot draws with, the one the exported PNG
	// is drawn with. A data block is not executed, so the page keeps a
	// Content-Security-Policy without inline scripts.
	Bootstrap template.JS
}

// handlePage serves the single page. The template is rendered once at
// start: it depends only on the configuration.
func handlePage(logger *slog.Logger, cfg Config) http.HandlerFunc {
	tmpl := web.Templates()
	schema := engine.SettingsSchema(cfg.Limits)
	boot, err := json.Marshal(map[string]any{
		"schema":   schema,
		"defaults": engine.Defaults(),
		"limits":   newPageLimits(cfg),
		"options":  enumOptions(schema),
		// The labels of the lab's task and optimizer, as the schema's
		// optionLabels are those of the settings' values.
		"labOptions": engine.LabOptionLabels(),
		"series":     render.Table(),
		"models":     modelsJSON(),
		"tour":       json.RawMessage(web.BuiltinTour()),
	})
	if err != nil {
		panic(err) // fixed types above
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "index.html", pageData{Version: web.Version(), Bootstrap: template.JS(boot)}); err != nil {
		panic(err) // a broken embedded template is a build defect
	}
	page := buf.Bytes()
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(page)
	}
}

// handleStatic serves the embedded static files, without directory
// listings. Files are named with the version in their URL, so they may be
// cached for long. A path that cannot name a file (not UTF-8, a NUL,
// "..", a backslash) is a 404 like any other missing file: the file
// server would call it an internal error.
func handleStatic() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(web.Static()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if strings.HasSuffix(r.URL.Path, "/") || !utf8.ValidString(name) || !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") {
			writeErrorBody(w, http.StatusNotFound, codeNotFound, "", "no such file")
			return
		}
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}

// enumOptions maps each enumeration of the schema to its options.
func enumOptions(schema []engine.SettingSpec) map[string][]string {
	out := map[string][]string{}
	for _, sp := range schema {
		if sp.Kind == engine.KindEnum {
			out[sp.Name] = sp.Options
		}
	}
	return out
}

// modelsJSON describes each model to the page: what its controls and
// views apply to (engine.ModelInfo, by the page's names).
func modelsJSON() []map[string]any {
	var out []map[string]any
	for _, m := range engine.Models() {
		out = append(out, map[string]any{
			"cell": m.Cell, "gates": m.Gates, "activation": m.Activation, "forgetBias": m.ForgetBias,
			"recurrent": m.Recurrent, "spectrum": m.Spectrum, "cellState": m.CellState, "reverseChain": m.BidirReversed,
		})
	}
	return out
}
