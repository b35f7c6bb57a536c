package api

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Per-client rate limits. HTTP requests have a token bucket per client
// address, kept in a bounded table; the websocket's messages have two per
// connection (messageLimiter, at the end of this file).

// Table bounds: at most maxClients addresses are remembered, and one
// unseen for clientIdle is forgotten (its bucket is full again long
// before, at any rate the flags allow that is worth limiting).
const (
	maxClients = 4096
	clientIdle = 10 * time.Minute
)

// clientLimiter keys a token bucket by client: its IPv4 address, or the
// /64 of an IPv6 one (one machine's privacy addresses share a /64). The
// table is an LRU list: a lookup moves the client to the front, idle
// clients fall off the back, and past maxClients the least recently seen
// goes, so the table cannot grow without bound whatever the clients do.
type clientLimiter struct {
	limit rate.Limit
	burst int
	max   int
	idle  time.Duration

	mu    sync.Mutex
	order *list.List // of *clientEntry, most recently seen first
	byKey map[netip.Prefix]*list.Element
}

type clientEntry struct {
	key  netip.Prefix
	lim  *rate.Limiter
	seen time.Time
}

func newClientLimiter(perSecond float64, burst, max int, idle time.Duration) *clientLimiter {
	return &clientLimiter{
		limit: rate.Limit(perSecond), burst: burst, max: max, idle: idle,
		order: list.New(), byKey: map[netip.Prefix]*list.Element{},
	}
}

// clientKey is the table key of a remote address "ip:port"; ok is false
// for an address that is not one (a test's pipe), which is then not
// limited.
func clientKey(remote string) (netip.Prefix, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Prefix{}, false
	}
	a := ap.Addr().WithZone("").Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32), true
	}
	p, err := a.Prefix(64)
	return p, err == nil
}

// reserve takes a token for key at now, or says how long until one is
// free without taking it.
func (c *clientLimiter) reserve(key netip.Prefix, now time.Time) (ok bool, wait time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Forget the idle clients at the back.
	for e := c.order.Back(); e != nil; e = c.order.Back() {
		ce := e.Value.(*clientEntry)
		if now.Sub(ce.seen) < c.idle {
			break
		}
		c.order.Remove(e)
		delete(c.byKey, ce.key)
	}
	var ce *clientEntry
	if e, found := c.byKey[key]; found {
		ce = e.Value.(*clientEntry)
		c.order.MoveToFront(e)
	} else {
		for c.order.Len() >= c.max {
			back := c.order.Back()
			c.order.Remove(back)
			delete(c.byKey, back.Value.(*clientEntry).key)
		}
		ce = &clientEntry{key: key, lim: rate.NewLimiter(c.limit, c.burst)}
		c.byKey[key] = c.order.PushFront(ce)
	}
	ce.seen = now
	r := ce.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Duration(math.MaxInt64)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// size is how many clients the table remembers.
func (c *clientLimiter) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// limitRequests answers 429 Too Many Requests, with Retry-After in whole
// seconds, to a client past its rate of HTTP requests.
func (s *Server) limitRequests(next http.Handler) http.Handler {
	if s.httpLimit == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := clientKey(r.RemoteAddr)
		if ok {
			if allowed, wait := s.httpLimit.reserve(key, time.Now()); !allowed {
				s.metrics.countError(errHTTPRateLimited)
				secs := int64(math.Ceil(wait.Seconds()))
				if wait > time.Hour {
					secs = 3600
				}
				w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
				writeErrorBody(w, http.StatusTooManyRequests, codeTooManyRequests, "", fmt.Sprintf(
					"too many requests: at most %g a second (burst %d) from one address; try again shortly",
					s.cfg.HTTPRequestsPerSecond, s.cfg.HTTPRequestBurst))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Websocket messages are limited per connection by two token buckets.
const (
	// rateErrorInterval is the least time between two "too many
	// messages" errors to one client; more would be a flood of our own.
	rateErrorInterval = time.Second
	// floodFactor: a client whose messages past the rate limit come at
	// this many times the limit itself is closed with 1008.
	floodFactor = 10
)

// messageLimiter bounds one websocket client's messages: a token bucket
// at -messages-per-second and -message-burst, whose excess is dropped,
// and a second at floodFactor times both for the excess, past which the
// client is flooding. Only the session's reader uses it.
type messageLimiter struct {
	rate       *rate.Limiter
	flood      *rate.Limiter
	lastReport time.Time // when the last rate-limit error was sent
}

func newMessageLimiter(perSecond float64, burst int) messageLimiter {
	return messageLimiter{
		rate:  rate.NewLimiter(rate.Limit(perSecond), burst),
		flood: rate.NewLimiter(rate.Limit(floodFactor*perSecond), floodFactor*burst),
	}
}

// admit reports whether a message read at now may be handled. A message
// past the rate is dropped, with one "too many messages" error a
// rateErrorInterval; past the flood bucket admit returns the close code
// and reason that end the session.
func (sess *session) admit(now time.Time) (closeCode int, reason string, ok bool) {
	l := &sess.limit
	if l.rate.AllowN(now, 1) {
		return 0, "", true
	}
	cfg := sess.srv.cfg
	sess.srv.metrics.countError(errRateLimited)
	if !l.flood.AllowN(now, 1) {
		// Reading and dropping costs CPU too: a client far past its
		// rate is a flood, not a fast slider.
		sess.srv.metrics.countError(errFlood)
		sess.log.Warn("dropping a client that floods messages", "received", sess.received)
		return websocket.ClosePolicyViolation, fmt.Sprintf("flooding: more than %d messages a second past the limit", floodFactor*int(cfg.MessagesPerSecond)), false
	}
	if now.Sub(l.lastReport) >= rateErrorInterval {
		l.lastReport = now
		sess.sendError(0, codeTooManyMessages, "", fmt.Sprintf("too many messages: at most %g a second (burst %d); this one was ignored", cfg.MessagesPerSecond, cfg.MessageBurst))
	}
	return 0, "", false
}
