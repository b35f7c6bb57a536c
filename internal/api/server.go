// Package api serves gradviz over HTTP: the JSON API, the websocket
// protocol, the exported plots and the page.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"sync"

	"gradviz/internal/engine"
)

// Config is the server's policy: how much work one request may ask for
// and how clients are treated.
type Config struct {
	Limits engine.Limits
	// AllowedOrigins lists origins ("https://class.example.org") that may
	// open the websocket besides the page's own, for deployments behind a
	// proxy that rewrites the host.
	AllowedOrigins []string
	// MaxConnections bounds open websockets.
	MaxConnections int
	// MaxMessageBytes bounds one client message.
	MaxMessageBytes int64
	// MessagesPerSecond and MessageBurst bound how fast one client may
	// send.
	MessagesPerSecond float64
	MessageBurst      int
	// Workers bounds the runs computed at once across all clients; more
	// wait their turn in arrival order, so one heavy run cannot starve the
	// others.
	Workers int
	// Train bounds training runs.
	Train engine.TrainLimits
}

// DefaultConfig returns the configuration the server starts with when no
// flag says otherwise.
func DefaultConfig() Config {
	return Config{
		Limits:            engine.DefaultLimits(),
		MaxConnections:    1000,
		MaxMessageBytes:   64 << 10,
		MessagesPerSecond: 60,
		MessageBurst:      60,
		Workers:           runtime.GOMAXPROCS(0),
		Train:             engine.DefaultTrainLimits(),
	}
}

// Server is the gradviz HTTP handler.
type Server struct {
	logger   *slog.Logger
	cfg      Config
	runner   *engine.Runner
	slots    chan struct{} // one token per run that may compute now
	sessions sessions
	handler  http.Handler
}

// spectrumCacheSize is how many recurrent-matrix spectra the server keeps:
// one per (seed, H, scheme) a class is looking at, each at most H² numbers.
const spectrumCacheSize = 256

// NewServer returns the server for cfg.
func NewServer(logger *slog.Logger, cfg Config) *Server {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	s := &Server{
		logger:   logger,
		cfg:      cfg,
		runner:   engine.NewRunner(spectrumCacheSize),
		slots:    make(chan struct{}, cfg.Workers),
		sessions: sessions{all: map[*session]struct{}{}},
	}
	s.handler = s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// computeFunc runs one profile; handlers take it rather than the Runner
// so that every run goes through the worker slots.
type computeFunc func(context.Context, engine.Settings) (*engine.Result, error)

// compute runs a profile once a worker slot is free.
func (s *Server) compute(ctx context.Context, st engine.Settings) (*engine.Result, error) {
	var res *engine.Result
	err := s.withSlot(ctx, func() (err error) {
		res, err = s.runner.Profile(ctx, st)
		return err
	})
	return res, err
}

// withSlot runs work once a worker slot is free. Goroutines blocked on a
// channel are served in arrival order, which makes the wait fair; a
// training run takes a slot per iteration, so it shares the CPUs with the
// profiles other students ask for instead of holding them.
func (s *Server) withSlot(ctx context.Context, work func() error) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.slots }()
	return work()
}

// Close ends every websocket session with a close frame ("going away")
// and waits for their goroutines, or for ctx. http.Server.Shutdown does
// not wait for hijacked connections, so the caller runs both.
func (s *Server) Close(ctx context.Context) {
	s.sessions.mu.Lock()
	s.sessions.closed = true
	for sess := range s.sessions.all {
		sess.closeWith(1001, "server shutting down")
	}
	s.sessions.mu.Unlock()
	done := make(chan struct{})
	// Exits when every session goroutine has returned.
	go func() {
		s.sessions.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.logger.Warn("websocket sessions still open at shutdown")
	}
}

// sessions is the registry of open websockets.
type sessions struct {
	mu       sync.Mutex
	all      map[*session]struct{}
	reserved int
	closed   bool
	wg       sync.WaitGroup
}

// reserve claims a place for a new connection, or reports that the
// server is full or closing.
func (ss *sessions) reserve(max int) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed || (max > 0 && len(ss.all)+ss.reserved >= max) {
		return false
	}
	ss.reserved++
	return true
}

func (ss *sessions) unreserve() {
	ss.mu.Lock()
	ss.reserved--
	ss.mu.Unlock()
}

// add turns a reservation into a session. A session arriving after Close
// is closed at once.
func (ss *sessions) add(sess *session) {
	ss.mu.Lock()
	ss.reserved--
	ss.all[sess] = struct{}{}
	closed := ss.closed
	ss.mu.Unlock()
	if closed {
		sess.closeWith(1001, "server shutting down")
	}
}

func (ss *sessions) remove(sess *session) {
	ss.mu.Lock()
	delete(ss.all, sess)
	ss.mu.Unlock()
}

// count returns the number of open sessions.
func (ss *sessions) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.all)
}
