package api

import (
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The server's metrics are served as one small JSON document at
// GET /metrics rather than through expvar at /debug/vars: expvar
// registers process-wide names (a second Server, as in tests, would panic
// on Publish) and publishes the command line and memstats by default,
// which is more than a classroom server should show anyone who asks.
// This endpoint holds only counters, is per Server, and is race-free.

// runOutcome is how a use of a worker slot ended.
type runOutcome int

const (
	outcomeCompleted runOutcome = iota
	outcomeCancelled            // superseded, stopped, client gone or timed out
	outcomeFailed
	outcomePanicked
)

// Error kinds counted in the metrics; each is what a client was told.
const (
	errInvalid          = "invalid"           // a bad setting or message (HTTP 400, websocket error)
	errRateLimited      = "rate-limited"      // websocket messages past the rate
	errFlood            = "flood"             // a websocket client dropped for flooding (close 1008)
	errMessageTooLarge  = "message-too-large" // websocket message past the size limit (close 1009)
	errBinaryMessage    = "binary-message"    // websocket message that is not text
	errSlowClient       = "slow-client"       // a client dropped for not reading (close 1008)
	errTooManyConns     = "too-many-connections"
	errOriginRefused    = "origin-refused"
	errHostRefused      = "host-refused"      // a Host that is not the server's (HTTP 421)
	errHTTPRateLimited  = "http-rate-limited" // HTTP requests past the rate (429)
	errBodyRefused      = "body-refused"      // an HTTP request with a body
	errTimeout          = "timeout"           // an HTTP run past -run-timeout
	errPanic            = "panic"
	errInternal         = "internal"
	errNotFound         = "not-found"
	errMethodNotAllowed = "method-not-allowed"
)

// latencySamples is how many recent durations the percentiles are taken
// over: enough for a stable p99, small enough to sort per request.
const latencySamples = 1024

// rateWindow is the window of the runs-per-second figure.
const rateWindow = 60 * time.Second

// metrics counts what the server does. Counters are atomics; a finished
// run takes one short critical section. All methods are safe for
// concurrent use.
type metrics struct {
	start time.Time

	waiting atomic.Int64 // runs waiting for a worker slot
	running atomic.Int64 // runs holding a worker slot

	trainingActive  atomic.Int64
	trainingStarted atomic.Int64

	mu         sync.Mutex
	completed  int64
	cancelled  int64
	midRun     int64         // of the cancelled, those that had a worker
	wasted     time.Duration // the time those had spent computing
	failed     int64
	panicked   int64
	trainIters int64 // slot uses by training runs, which are not runs here
	latency    ring  // run durations of completed runs
	queueWait  ring  // wait for a slot of every run, pauses included
	// byPriority has, per scheduling class, the same for its runs.
	byPriority [2]priorityCounts
	perSecond  [60]secondCount
	errors     map[string]int64
}

// priorityCounts are the runs of one scheduling class.
type priorityCounts struct {
	runs      int64 // uses of a worker slot, whatever their outcome
	queueWait ring
}

// secondCount is the number of runs completed in one second of the clock.
type secondCount struct {
	unix int64
	n    int64
}

// ring keeps the latest durations.
type ring struct {
	buf  [latencySamples]time.Duration
	n    int // samples held, at most len(buf)
	next int
}

func (r *ring) add(d time.Duration) {
	r.buf[r.next] = d
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// percentiles returns the nearest-rank p50 and p99 in milliseconds.
func (r *ring) percentiles() latencySummary {
	if r.n == 0 {
		return latencySummary{}
	}
	s := slices.Clone(r.buf[:r.n])
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		return ms(s[max(0, min(i, len(s)-1))])
	}
	return latencySummary{P50: rank(0.50), P99: rank(0.99), Max: ms(s[len(s)-1]), Samples: len(s)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func newMetrics(now time.Time) *metrics {
	return &metrics{start: now, errors: map[string]int64{}}
}

// runEnded records one use of a worker slot: the wait for it (pauses
// included), recorded whatever the outcome, and the time the work took.
func (m *metrics) runEnded(kind runKind, prio priority, wait, took time.Duration, outcome runOutcome) {
	now := time.Now().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queueWait.add(wait)
	pc := &m.byPriority[prio]
	pc.runs++
	pc.queueWait.add(wait)
	if kind == kindTrain {
		if outcome == outcomeCompleted {
			m.trainIters++
		}
		if outcome == outcomePanicked {
			m.panicked++
		}
		return
	}
	switch outcome {
	case outcomeCompleted:
		m.completed++
		m.latency.add(took)
		b := &m.perSecond[now%int64(len(m.perSecond))]
		if b.unix != now {
			*b = secondCount{unix: now}
		}
		b.n++
	case outcomeCancelled:
		m.cancelled++
		if took > 0 {
			m.midRun++
			m.wasted += took
		}
	case outcomeFailed:
		m.failed++
	case outcomePanicked:
		m.panicked++
	}
}

// countError records an error a client was given.
func (m *metrics) countError(kind string) {
	m.mu.Lock()
	m.errors[kind]++
	m.mu.Unlock()
}

// metricsSnapshot is the JSON of GET /metrics.
type metricsSnapshot struct {
	UptimeSeconds float64            `json:"uptimeSeconds"`
	Connections   connectionsMetrics `json:"connections"`
	Runs          runsMetrics        `json:"runs"`
	Training      trainingMetrics    `json:"training"`
	Errors        map[string]int64   `json:"errors"`
}

type connectionsMetrics struct {
	Active int   `json:"active"`
	Total  int64 `json:"total"`
	Max    int   `json:"max"`
}

type runsMetrics struct {
	Workers   int   `json:"workers"`
	Running   int64 `json:"running"`
	Waiting   int64 `json:"waiting"`
	Completed int64 `json:"completed"`
	// Cancelled runs were superseded, stopped, left by their client or
	// timed out; CancelledMidRun of them had started computing, and
	// WastedSeconds is the computing thrown away with them.
	Cancelled       int64   `json:"cancelled"`
	CancelledMidRun int64   `json:"cancelledMidRun"`
	WastedSeconds   float64 `json:"wastedSeconds"`
	Failed          int64   `json:"failed"`
	Panicked        int64   `json:"panicked"`
	// PerSecond is the completed runs a second over the last minute (or
	// since start, if that is shorter).
	PerSecond float64        `json:"perSecond"`
	LatencyMs latencySummary `json:"latencyMs"`
	// QueueMs is the wait for a worker of every run, training iterations
	// and cancelled runs included, and the pauses a run made for others.
	QueueMs    latencySummary            `json:"queueWaitMs"`
	ByPriority map[string]priorityMetric `json:"byPriority"`
	// MemoryReservedBytes is what the admitted runs have reserved of
	// MemoryBudgetBytes.
	MemoryReservedBytes int64 `json:"memoryReservedBytes"`
	MemoryPeakBytes     int64 `json:"memoryPeakBytes"`
	MemoryBudgetBytes   int64 `json:"memoryBudgetBytes"`
}

// priorityMetric is one scheduling class: interactive (profiles, plots,
// analyses) or background (training iterations).
type priorityMetric struct {
	Runs    int64          `json:"runs"`
	QueueMs latencySummary `json:"queueWaitMs"`
}

// latencySummary is over the latest latencySamples completed runs.
type latencySummary struct {
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
	Samples int     `json:"samples"`
}

type trainingMetrics struct {
	Active     int64 `json:"active"`
	Started    int64 `json:"started"`
	Iterations int64 `json:"iterations"`
}

// snapshot returns the metrics as of now.
func (s *Server) snapshot(now time.Time) metricsSnapshot {
	m := s.metrics
	open, total := s.sessions.count()
	snap := metricsSnapshot{
		UptimeSeconds: now.Sub(m.start).Round(time.Millisecond).Seconds(),
		Connections:   connectionsMetrics{Active: open, Total: total, Max: s.cfg.MaxConnections},
		Training: trainingMetrics{
			Active: m.trainingActive.Load(), Started: m.trainingStarted.Load(),
		},
		Runs: runsMetrics{Workers: s.cfg.Workers, Running: m.running.Load(), Waiting: m.waiting.Load()},
	}
	_, _, snap.Runs.MemoryReservedBytes = s.sched.stats()
	snap.Runs.MemoryPeakBytes = s.sched.peakReserved()
	snap.Runs.MemoryBudgetBytes = s.cfg.MemoryBudget
	m.mu.Lock()
	defer m.mu.Unlock()
	snap.Training.Iterations = m.trainIters
	snap.Runs.Completed, snap.Runs.Cancelled = m.completed, m.cancelled
	snap.Runs.CancelledMidRun, snap.Runs.WastedSeconds = m.midRun, m.wasted.Round(time.Millisecond).Seconds()
	snap.Runs.Failed, snap.Runs.Panicked = m.failed, m.panicked
	var recent int64
	for _, b := range m.perSecond {
		if now.Unix()-b.unix < int64(len(m.perSecond)) {
			recent += b.n
		}
	}
	window := min(rateWindow, max(now.Sub(m.start), time.Second))
	snap.Runs.PerSecond = math.Round(float64(recent)/window.Seconds()*100) / 100
	snap.Runs.LatencyMs = m.latency.percentiles()
	snap.Runs.QueueMs = m.queueWait.percentiles()
	snap.Runs.ByPriority = map[string]priorityMetric{}
	for _, p := range []priority{prioInteractive, prioBackground} {
		pc := &m.byPriority[p]
		snap.Runs.ByPriority[p.String()] = priorityMetric{Runs: pc.runs, QueueMs: pc.queueWait.percentiles()}
	}
	snap.Errors = make(map[string]int64, len(m.errors))
	for k, v := range m.errors {
		snap.Errors[k] = v
	}
	return snap
}

// handleMetrics serves GET /metrics. It holds counts and timings only,
// no settings and no addresses.
func (s *Server) handleMetrics() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, s.snapshot(time.Now()))
	}
}
