package api

import (
	"context"
	"encoding/json"
	"errors"
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
		writeJSON(w, http.StatusNotFound, errorBody{Message: "no such page: " + shorten(r.URL.Path)})
	}
}

// handleMethodNotAllowed answers 405 with Allow: every route is read
// only, GET or HEAD.
func handleMethodNotAllowed() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Message: shorten(r.Method) + " is not allowed on " + shorten(r.URL.Path)})
	}
}

// errorBody is the JSON of every HTTP error: the field at fault, when
// there is one, and a message for people.
type errorBody struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// writeError answers with 400 and the field for bad input, 503 naming the
// limit for a run past -run-timeout, silence for a client that left, and
// 500 with a short message (the details go to the log) for anything else.
func writeError(w http.ResponseWriter, logger *slog.Logger, err error) {
	var fe *FieldError
	var te *runTimeoutError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, errorBody{Field: fe.Field, Message: fe.Message})
	case errors.As(err, &te):
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Message: te.Error()})
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads an answer.
	case errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Message: "the run took too long"})
	default:
		logger.Error("request failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Message: "internal error"})
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
