package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// recoverPanics turns a panic in one request into a logged 500, so the
// other requests carry on.
func recoverPanics(logger *slog.Logger, m *metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					m.countError(errPanic)
					logger.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					writeErrorBody(w, http.StatusInternalServerError, codeInternal, "", "internal error: this request failed and was logged; the server carries on")
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// logRequests writes one structured line per request and counts error
// responses by kind. It logs the names of the query parameters, never
// their values: settings payloads are never logged in full. chi's wrapper
// keeps http.Hijacker, which the websocket upgrade needs; the websocket
// handler counts its own errors.
func logRequests(logger *slog.Logger, m *metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if r.URL.Path == "/ws" {
				if status == 0 {
					status = http.StatusSwitchingProtocols // hijacked by the upgrade
				}
			} else if kind := errorKindOf(status); kind != "" {
				m.countError(kind)
			}
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", shorten(r.URL.Path)),
				slog.String("query", queryKeys(r)),
				slog.Int("status", status),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Duration("duration", time.Since(start)),
			)
		})
	}
}

// errorKindOf names the metrics kind of an HTTP error status; "" for
// success.
func errorKindOf(status int) string {
	switch status {
	case http.StatusBadRequest:
		return errInvalid
	case http.StatusNotFound:
		return errNotFound
	case http.StatusMethodNotAllowed:
		return errMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return errBodyRefused
	case http.StatusServiceUnavailable:
		return errTimeout
	case http.StatusInternalServerError:
		return errInternal
	}
	return ""
}

// contentSecurityPolicy allows the page's own scripts, styles, images
// and websocket and nothing else: no inline script, no framing (unless
// Config.FrameAncestors names the origins that may), no plugins.
// connect-src 'self' covers the same-origin ws: URL in current browsers.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// securityHeaderList is the headers every response carries, in the
// canonical form net/http writes them: the handlers' responses get them
// from securityHeaders, the ones net/http writes by itself from
// Listener.
var securityHeaderList = [][2]string{
	{"Content-Security-Policy", contentSecurityPolicy},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Frame-Options", "DENY"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
}

// securityHeaders sets the headers every response of the handlers
// carries: list, securityHeaderList or its framing variant
// (pageSecurityHeaders).
func securityHeaders(list [][2]string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			for _, kv := range list {
				h.Set(kv[0], kv[1])
			}
			next.ServeHTTP(w, r)
		})
	}
}

// refuseBodies answers 413 to a request with a body: every endpoint is a
// GET whose input is the query string, so a body is a mistake or an
// attack, and reading it would only cost. After the answer net/http
// would read up to 256 KiB of the body, looking for its end, and a
// client that declared a body and sends none would hold the connection
// until the read timeout; the read deadline set to now makes that read
// fail at once, and the connection closes.
func refuseBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			w.Header().Set("Connection", "close")
			writeErrorBody(w, http.StatusRequestEntityTooLarge, codeBodyRefused, "body",
				"request bodies are not accepted: every gradviz endpoint is a GET with its settings in the query string")
			// Not every ResponseWriter has a connection (a recorder).
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// runTimeout puts a deadline of d on the request's context, whose cause
// names the limit; zero means none.
func runTimeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeoutCause(r.Context(), d, &runTimeoutError{limit: d})
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// maxQueryErrorLen bounds how much of a query parse error, which quotes
// the client's text, goes back to the client.
const maxQueryErrorLen = 120

// strictQuery answers 400 to a query string that does not parse. The
// handlers read r.URL.Query(), which drops what it cannot parse, so
// "T=%zz" or more parameters than net/url accepts (10000) would
// otherwise become the defaults without a word.
func strictQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			msg := err.Error()
			if len(msg) > maxQueryErrorLen {
				msg = shorten(msg)
			}
			writeErrorBody(w, http.StatusBadRequest, codeBadQuery, "query", "the query string is malformed: "+msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientLanes gives each HTTP client address (an IPv4 address or an IPv6
// /64, as the rate limiter keys them) a lane, so one address runs
// one request's work at a time however many requests it sends, and the
// scheduler charges that address's CPU time to it. An address's entry
// lives while it has requests in flight.
type clientLanes struct {
	mu    sync.Mutex
	lanes map[string]*clientLane
}

type clientLane struct {
	ch   chan struct{}
	refs int
}

// tagRuns marks the runs of every request with its client's address and
// lane, for the scheduler.
func (cl *clientLanes) tagRuns(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := "http/" + r.RemoteAddr
		if key, ok := clientKey(r.RemoteAddr); ok {
			client = "http/" + key.String() // the rate limiter's key: an IPv4 address, an IPv6 /64
		}
		cl.mu.Lock()
		if cl.lanes == nil {
			cl.lanes = map[string]*clientLane{}
		}
		l := cl.lanes[client]
		if l == nil {
			l = &clientLane{ch: make(chan struct{}, 1)}
			cl.lanes[client] = l
		}
		l.refs++
		cl.mu.Unlock()
		defer func() {
			cl.mu.Lock()
			if l.refs--; l.refs == 0 {
				delete(cl.lanes, client)
			}
			cl.mu.Unlock()
		}()
		ctx := withRunTag(r.Context(), runTag{kind: kindProfile, client: client, lane: l.ch})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
