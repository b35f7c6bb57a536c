package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"gradviz/internal/engine"
)

// handleHealth answers load balancers and container health checks.
func handleHealth() http.HandlerFunc {
	body := []byte(`{"status":"ok"}` + "\n")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	}
}

// handleProfile serves GET /api/profile?<settings>[&include=weights]: the
// version-1 run export.
func handleProfile(logger *slog.Logger, compute computeFunc, lim engine.Limits) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s, err := settingsFromQuery(q, lim, "include")
		if err != nil {
			writeError(w, logger, err)
			return
		}
		withData := false
		switch inc := q.Get("include"); inc {
		case "":
		case "weights":
			withData = true
		default:
			writeError(w, logger, fieldErrorf("include", "include must be weights, got %q", shorten(inc)))
			return
		}
		res, err := compute(r.Context(), s)
		if err != nil {
			writeError(w, logger, err)
			return
		}
		// The run time is not part of the export, so that the same
		// settings always give the same bytes.
		w.Header().Set("Server-Timing", fmt.Sprintf("run;dur=%.3f", elapsedMs(res)))
		writeJSON(w, http.StatusOK, newExport(res, withData))
	}
}

func handleNotFound() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeErrorBody(w, http.StatusNotFound, codeNotFound, "", "no such page: "+shorten(r.URL.Path))
	}
}

// handleMethodNotAllowed answers 405 with Allow: every route is read
// only, GET or HEAD.
func handleMethodNotAllowed() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		writeErrorBody(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "", shorten(r.Method)+" is not allowed on "+shorten(r.URL.Path))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"message":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
	w.Write([]byte("\n"))
}

// queryKeys lists the names in a query without their values, for logs:
// settings payloads are never logged in full.
func queryKeys(r *http.Request) string {
	keys := sortedKeys(r.URL.Query())
	for i, k := range keys {
		keys[i] = shorten(k)
	}
	if len(keys) > 20 {
		keys = append(keys[:20], "…")
	}
	return strings.Join(keys, ",")
}

// elapsedMs returns a run's time in milliseconds, to the microsecond.
func elapsedMs(r *engine.Result) float64 { return float64(r.Elapsed.Microseconds()) / 1000 }
