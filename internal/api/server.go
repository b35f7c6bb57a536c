// Package api serves gradviz over HTTP: the JSON API, the websocket
// protocol, the exported plots and the page.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gradviz/internal/class"
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
	// AllowedHosts lists host names ("class.example.org") or addresses
	// the server answers to besides localhost, the loopback addresses
	// and the address a client connected to; requests naming any other
	// Host get 421, against DNS rebinding. See ParseAllowedHost.
	AllowedHosts []string
	// FrameAncestors lists origins ("https://moodle.example.org",
	// "https://*.example.org") whose pages may show gradviz in a frame:
	// the Content-Security-Policy's frame-ancestors names them and
	// X-Frame-Options is left out. Empty, the default, no page may (see
	// ParseFrameAncestors).
	FrameAncestors []string
	// MaxConnections bounds open websockets.
	MaxConnections int
	// MaxMessageBytes bounds one client message.
	MaxMessageBytes int64
	// MessagesPerSecond and MessageBurst bound how fast one client may
	// send.
	MessagesPerSecond float64
	MessageBurst      int
	// HTTPRequestsPerSecond and HTTPRequestBurst bound how fast one
	// client address (an IPv4 address, an IPv6 /64) may send API requests
	// and websocket upgrades; past them it gets 429. Zero rate means no
	// limit.
	HTTPRequestsPerSecond float64
	HTTPRequestBurst      int
	// Workers bounds the runs computed at once across all clients, one
	// core each; the scheduler shares them fairly (see scheduler).
	Workers int
	// MemoryBudget bounds, in bytes, the estimated working memory of the
	// runs admitted at once (computing or paused), plots included;
	// others wait. Zero means no bound.
	MemoryBudget int64
	// PassCache bounds, in bytes, the forward records and unclipped
	// backward passes kept from recent profiles, so that a Clipping or
	// Threshold change, or a return to a model seen before, skips them
	// (engine.Runner.KeepPasses). Zero keeps none.
	PassCache int64
	// Train bounds training runs.
	Train engine.TrainLimits
	// Lang bounds language-lab runs (-max-lang-*).
	Lang engine.LangLimits
	// TrainCPU bounds the CPU time of one training run, all its models
	// together; past it the run ends with trainDone "limit".
	TrainCPU time.Duration
	// TrainUnread ends a training run whose client has read none of its
	// progress for this long: the page is gone or asleep.
	TrainUnread time.Duration
	// RunTimeout bounds one HTTP request's runs, the wait for a worker
	// included; past it the request fails with 503. Websocket runs have
	// no timeout: the client cancels them by sending a newer request or
	// by leaving. Zero means no timeout.
	RunTimeout time.Duration
	// ToursDir is a directory of tour files, NAME.json, served as
	// /api/tours/NAME beside the built-in tour; empty for none. Check it
	// with LoadTours before starting.
	ToursDir string
	// Class bounds the class rooms this process owns.
	Class class.Limits
	// ClassBroker carries the rooms between processes; nil keeps them in
	// this process's memory.
	ClassBroker class.Broker
	// ClassJoinsPerMinute and ClassJoinBurst bound how often one client
	// address may join a class; zero rate means no limit.
	ClassJoinsPerMinute float64
	ClassJoinBurst      int
}

// DefaultConfig returns the configuration the server starts with when no
// flag says otherwise.
func DefaultConfig() Config {
	return Config{
		Limits:                engine.DefaultLimits(),
		MaxConnections:        1000,
		MaxMessageBytes:       64 << 10,
		MessagesPerSecond:     60,
		MessageBurst:          60,
		HTTPRequestsPerSecond: 20,
		HTTPRequestBurst:      240,
		Workers:               runtime.GOMAXPROCS(0),
		MemoryBudget:          256 << 20,
		PassCache:             64 << 20,
		TrainCPU:              5 * time.Minute,
		TrainUnread:           30 * time.Second,
		Train:                 engine.DefaultTrainLimits(),
		Lang:                  engine.DefaultLangLimits(),
		RunTimeout:            20 * time.Second,
		Class:                 class.DefaultLimits(),
		ClassJoinsPerMinute:   60,
		ClassJoinBurst:        300,
	}
}

// Server is the gradviz HTTP handler.
type Server struct {
	logger *slog.Logger
	cfg    Config
	tours  *Tours
	runner *engine.Runner
	sched  *scheduler // the worker slots
	// sessionSeq numbers websocket sessions, for the scheduler.
	sessionSeq atomic.Uint64
	httpLanes  clientLanes
	sessions   sessions
	metrics    *metrics
	handler    http.Handler
	hooks      testHooks
	hosts      hostPolicy
	// httpLimit bounds HTTP requests per client address; nil for none.
	httpLimit *clientLimiter
	// queue bounds what waits for one websocket client: sendQueue
	// messages and sendQueueBytes bytes, smaller in tests that fill it.
	queue sendLimits
	// class is the class mode's rooms; classJoins bounds joins per
	// client address (nil for no bound); stopClass ends the rooms' idle
	// expiry.
	class      *class.Hub
	classJoins *clientLimiter
	stopClass  context.CancelFunc
	// classRuns are the runs the pages of a class share.
	classRuns sharedRuns
}

// sendLimits bounds one client's outbound queue.
type sendLimits struct {
	messages int
	bytes    int64
}

// testHooks let tests in this package inject faults such as a panic in
// the middle of a run. They are unexported fields that only code in this
// package sets, and no request can reach them; in production they are nil.
type testHooks struct {
	// beforeProfile runs inside the worker slot before each profile.
	beforeProfile func(engine.Settings)
	// inSlot runs inside the worker slot before any work.
	inSlot func(runKind)
}

// spectrumCacheSize is how many recurrent-matrix spectra the server keeps:
// one per (seed, H, scheme) a class is looking at, each 3·H numbers (the
// singular values and the complex eigenvalues).
const spectrumCacheSize = 256

// NewServer returns the server for cfg.
func NewServer(logger *slog.Logger, cfg Config) *Server {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	s := &Server{
		logger:   logger,
		cfg:      cfg,
		runner:   engine.NewRunner(spectrumCacheSize).KeepPasses(cfg.PassCache),
		sched:    newScheduler(cfg.Workers, cfg.MemoryBudget),
		sessions: sessions{all: map[*session]struct{}{}},
		metrics:  newMetrics(time.Now()),
		queue:    sendLimits{messages: sendQueue, bytes: sendQueueBytes},
		hosts:    newHostPolicy(cfg.AllowedHosts),
		tours:    &Tours{dir: cfg.ToursDir, lim: cfg.Limits, train: cfg.Train},
	}
	if cfg.HTTPRequestsPerSecond > 0 {
		s.httpLimit = newClientLimiter(cfg.HTTPRequestsPerSecond, max(cfg.HTTPRequestBurst, 1), maxClients, clientIdle)
	}
	broker := cfg.ClassBroker
	if broker == nil {
		broker = class.NewMemory()
	}
	s.class = class.NewHub(broker, cfg.Class)
	if cfg.ClassJoinsPerMinute > 0 {
		s.classJoins = newClientLimiter(cfg.ClassJoinsPerMinute/60, max(cfg.ClassJoinBurst, 1), maxClients, clientIdle)
	}
	classCtx, stop := context.WithCancel(context.Background())
	s.stopClass = stop
	// Ends, closing the rooms, when Close calls stopClass.
	go s.class.Run(classCtx)
	s.handler = s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// computeFunc runs one profile; handlers take it rather than the Runner
// so that every run goes through the worker slots.
type computeFunc func(context.Context, engine.Settings) (*engine.Result, error)

// compute runs a profile once a worker slot is free (see withSlot).
func (s *Server) compute(ctx context.Context, st engine.Settings) (*engine.Result, error) {
	return s.computeWith(ctx, st, engine.ProfileOptions{Jacobians: true})
}

// computeWith is compute with a choice of what the profile includes.
func (s *Server) computeWith(ctx context.Context, st engine.Settings, opts engine.ProfileOptions) (*engine.Result, error) {
	var res *engine.Result
	err := s.withSlot(ctx, st.WorkingBytes(1), func(ctx context.Context) (err error) {
		if h := s.hooks.beforeProfile; h != nil {
			h(st)
		}
		res, err = s.runner.ProfileWith(ctx, st, opts)
		return err
	})
	return res, err
}

// runKind says what a worker slot is used for, for the metrics. It rides
// on the context (see runTag) so that every caller of withSlot is counted
// without knowing about metrics.
type runKind string

const (
	kindProfile     runKind = "profile"
	kindSensitivity runKind = "sensitivity"
	kindMap         runKind = "map"
	kindTrain       runKind = "train" // one iteration or probe of a training run
)

// runTag says, on a run's context, what the run is for, whose it is and
// which lane it takes.
type runTag struct {
	kind runKind
	// client names whose CPU time the run is charged to: a websocket
	// session, or the address of an HTTP client.
	client string
	lane   chan struct{} // one of the client's runs at a time; nil for none
}

type runTagKey struct{}

func withRunTag(ctx context.Context, tag runTag) context.Context {
	return context.WithValue(ctx, runTagKey{}, tag)
}

func runTagOf(ctx context.Context) runTag {
	if t, ok := ctx.Value(runTagKey{}).(runTag); ok {
		return t
	}
	return runTag{kind: kindProfile}
}

type cpuMeterKey struct{}

// withCPUMeter returns a context whose runs add the time they held a
// worker slot to m, in nanoseconds.
func withCPUMeter(ctx context.Context, m *atomic.Int64) context.Context {
	return context.WithValue(ctx, cpuMeterKey{}, m)
}

// priorityOf is the scheduling class of a kind of run: training
// iterations are background work, everything a user waits to see is
// interactive.
func priorityOf(kind runKind) priority {
	if kind == kindTrain {
		return prioBackground
	}
	return prioInteractive
}

// withSlot runs work once the scheduler gives it a worker slot, with a
// context on which the engine's long passes pause (engine.WithPacer):
// while a run with a better claim waits, a run gives its slot up at its
// next step after a quantum, so a light request never waits for all of a
// heavy one. bytes is an estimate of the memory the run needs, reserved
// against the server's budget until it ends. Each client's runs go one
// at a time through its lane, so one client never holds more than one
// worker. A panic in work releases the slot and propagates to the
// caller's recover.
//
// When ctx ended with a cause (the run timeout of an HTTP request), the
// cause is the error, so the client learns which limit it hit.
func (s *Server) withSlot(ctx context.Context, bytes int64, work func(context.Context) error) error {
	err := s.runInSlot(ctx, bytes, work)
	if err != nil && ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil {
			err = cause
		}
	}
	return err
}

// runInSlot is withSlot without the mapping to the cause.
func (s *Server) runInSlot(ctx context.Context, bytes int64, work func(context.Context) error) error {
	tag := runTagOf(ctx)
	kind, prio := tag.kind, priorityOf(tag.kind)
	queued := time.Now()
	s.metrics.waiting.Add(1)
	if tag.lane != nil {
		select {
		case tag.lane <- struct{}{}:
		case <-ctx.Done():
			s.metrics.waiting.Add(-1)
			s.metrics.runEnded(kind, prio, time.Since(queued), 0, outcomeCancelled)
			return ctx.Err()
		}
		defer func() { <-tag.lane }()
	}
	laneWait := time.Since(queued)
	t, err := s.sched.acquire(ctx, tag.client, prio, bytes)
	s.metrics.waiting.Add(-1)
	if err != nil {
		s.metrics.runEnded(kind, prio, time.Since(queued), 0, outcomeCancelled)
		return err
	}
	started, firstWait := time.Now(), t.waitedFor()
	s.metrics.running.Add(1)
	outcome := outcomePanicked
	defer func() {
		waited := t.waitedFor() // the first wait and every pause
		t.release()
		s.metrics.running.Add(-1)
		took := time.Since(started) - (waited - firstWait)
		s.metrics.runEnded(kind, prio, laneWait+waited, took, outcome)
		if m, ok := ctx.Value(cpuMeterKey{}).(*atomic.Int64); ok {
			m.Add(int64(took))
		}
	}()
	if h := s.hooks.inSlot; h != nil {
		h(kind)
	}
	err = work(engine.WithPacer(ctx, t))
	switch {
	case err == nil:
		outcome = outcomeCompleted
	case ctx.Err() != nil:
		outcome = outcomeCancelled
	default:
		outcome = outcomeFailed
	}
	return err
}

// runTimeoutError is the cause of an HTTP request's context when its runs
// took longer than Config.RunTimeout.
type runTimeoutError struct{ limit time.Duration }

func (e *runTimeoutError) Error() string {
	return fmt.Sprintf("the run took longer than the server allows (%s); try a shorter sequence or fewer hidden units", e.limit)
}

// Is makes a run timeout a context.DeadlineExceeded for errors.Is.
func (e *runTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// closeGrace bounds how long Close waits, after ctx ends, for sessions
// whose connections it cut.
const closeGrace = time.Second

// Close ends every websocket session with a close frame ("going away")
// and waits for their goroutines, or for ctx; then it cuts the
// connections still open, so no session outlives the server by more than
// closeGrace. http.Server.Shutdown does not wait for hijacked
// connections, so the caller runs both.
func (s *Server) Close(ctx context.Context) {
	s.stopClass()
	s.sessions.mu.Lock()
	s.sessions.closed = true
	for sess := range s.sessions.all {
		sess.closeWith(1001, "server shutting down")
	}
	s.sessions.mu.Unlock()
	done := make(chan struct{})
	// Exits when every session has ended, which the cut below ensures.
	go func() {
		s.sessions.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	s.sessions.mu.Lock()
	n := len(s.sessions.all)
	for sess := range s.sessions.all {
		sess.conn.NetConn().Close()
	}
	s.sessions.mu.Unlock()
	s.logger.Warn("websocket sessions still open at shutdown; connections cut", "sessions", n)
	select {
	case <-done:
	case <-time.After(closeGrace):
	}
}

// sessions is the registry of open websockets. wg counts sessions, from
// reservation to the end of the last of their goroutines.
type sessions struct {
	mu       sync.Mutex
	all      map[*session]struct{}
	reserved int
	closed   bool
	total    int64 // sessions ever opened
	wg       sync.WaitGroup
}

// errServerFull and errServerClosing say why reserve refused.
var (
	errServerFull    = errors.New("server full")
	errServerClosing = errors.New("server closing")
)

// reserve claims a place for a new connection, or reports that the
// server is full or closing. The WaitGroup is added to under the lock
// that Close takes to set closed, so no Add races with Close's Wait.
func (ss *sessions) reserve(max int) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return errServerClosing
	}
	if max > 0 && len(ss.all)+ss.reserved >= max {
		return errServerFull
	}
	ss.reserved++
	ss.wg.Add(1)
	return nil
}

// unreserve gives back a reservation that did not become a session.
func (ss *sessions) unreserve() {
	ss.mu.Lock()
	ss.reserved--
	ss.mu.Unlock()
	ss.wg.Done()
}

// add turns a reservation into a session. A session arriving after Close
// is closed at once.
func (ss *sessions) add(sess *session) {
	ss.mu.Lock()
	ss.reserved--
	ss.all[sess] = struct{}{}
	ss.total++
	closed := ss.closed
	ss.mu.Unlock()
	if closed {
		sess.closeWith(1001, "server shutting down")
	}
}

// done removes a session whose goroutines have all returned.
func (ss *sessions) done(sess *session) {
	ss.mu.Lock()
	delete(ss.all, sess)
	ss.mu.Unlock()
	ss.wg.Done()
}

// count returns the number of open sessions and of sessions ever opened.
func (ss *sessions) count() (open int, total int64) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.all), ss.total
}
