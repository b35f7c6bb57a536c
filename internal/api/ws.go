package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"gradviz/internal/engine"
)

// Websocket timing and buffering.
const (
	// writeWait is the time allowed to write one message to the peer.
	writeWait = 10 * time.Second
	// pongWait is how long the peer may stay silent (no message, no pong)
	// before the connection is considered dead; a sleeping laptop tab.
	pongWait = 60 * time.Second
	// pingPeriod must be shorter than pongWait so pongs arrive in time.
	pingPeriod = pongWait * 9 / 10
	// sendQueue is how many outbound messages wait for a slow reader, and
	// sendQueueBytes how many bytes (one message, however large, always
	// fits in an empty queue). Progress frames are skipped when either is
	// full; anything else that does not fit means the client stopped
	// reading, and it is dropped.
	sendQueue      = 32
	sendQueueBytes = 16 << 20
	// frameInterval paces animation frames: 30 a second is smooth, and a
	// faster step rate reveals several steps per frame.
	frameInterval = time.Second / 30
	// closeWait bounds the last writes to a session being closed: the
	// close frame, and the frame in flight when the close began (a large
	// message's later frames get writeWait again from gorilla).
	closeWait = time.Second
	// rateErrorInterval is the least time between two "too many
	// messages" errors to one client; more would be a flood of our own.
	rateErrorInterval = time.Second
	// floodFactor: a client whose messages past the rate limit come at
	// this many times the limit itself is closed with 1008.
	floodFactor = 10
)

// outMsg is one message for the writer goroutine.
type outMsg struct {
	data []byte
	// droppable messages (animation frames, training progress) are
	// superseded by the next one, so they are skipped, not queued, when
	// the client falls behind.
	droppable bool
}

// session is one websocket connection: a reader, a writer, and three
// workers (profiles, analyses, training) that each run the newest request
// of their kind.
type session struct {
	srv    *Server
	conn   *websocket.Conn
	log    *slog.Logger
	send   chan outMsg
	ctx    context.Context // done when the session ends
	cancel context.CancelFunc

	profile  latest // config and animate requests: the newest wins
	analysis latest // sensitivity and map requests
	train    latest // train requests: one at a time, replaced by a newer one
	phase    latest // phase diagrams (phase.go)
	// lane lets one of the session's runs hold a worker slot at a time.
	lane chan struct{}
	// client names the session to the scheduler, which charges it the
	// CPU time of its runs.
	client string

	queued atomic.Int64 // bytes in send
	// drained is when the writer last left the send queue empty (unix
	// nanoseconds): a queue that stays full means the client has stopped
	// reading.
	drained atomic.Int64

	rate      *rate.Limiter // messages; only the reader uses it
	flood     *rate.Limiter // messages past rate: beyond it the client is dropped
	lastLimit time.Time     // when the last rate-limit error was sent
	opened    time.Time
	received  int // messages read; the reader's alone

	closeOnce sync.Once
	// closeMsg is the close frame's payload. closeWith sets it once,
	// before it cancels ctx, and the writer reads it after ctx is done.
	closeMsg []byte
}

// latest holds the newest request of one kind. Submitting a request
// cancels the one running and replaces the one waiting: stale work is
// cancelled, never queued, so dragging a slider stays smooth.
type latest struct {
	mu      sync.Mutex
	pending func(context.Context)
	running context.CancelFunc
	wake    chan struct{}
}

func newLatest() latest { return latest{wake: make(chan struct{}, 1)} }

func (l *latest) submit(job func(context.Context)) {
	l.mu.Lock()
	l.pending = job
	if l.running != nil {
		l.running()
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// stop cancels the running job and drops the waiting one.
func (l *latest) stop() {
	l.mu.Lock()
	l.pending = nil
	if l.running != nil {
		l.running()
	}
	l.mu.Unlock()
}

// serve runs jobs one at a time until ctx is done.
func (l *latest) serve(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
		l.mu.Lock()
		job := l.pending
		l.pending = nil
		jobCtx, cancel := context.WithCancel(ctx)
		l.running = cancel
		l.mu.Unlock()
		if job != nil {
			job(jobCtx)
		}
		cancel()
	}
}

// handleWebsocket upgrades GET /ws and runs the session until either side
// closes it.
func (s *Server) handleWebsocket() http.HandlerFunc {
	upgrader := websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 16384,
		CheckOrigin:     s.checkOrigin,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			msg := reason.Error()
			kind := errInvalid
			if status == http.StatusForbidden {
				kind = errOriginRefused
				msg = "websocket origin not allowed: " + shorten(r.Header.Get("Origin")) +
					"; the page must be opened from this server, or its origin allowed with -allow-origin"
			}
			s.metrics.countError(kind)
			writeJSON(w, status, errorBody{Message: msg})
		},
	}
	return func(w http.ResponseWriter, r *http.Request) {
		switch err := s.sessions.reserve(s.cfg.MaxConnections); err {
		case nil:
		case errServerFull:
			s.metrics.countError(errTooManyConns)
			w.Header().Set("Retry-After", "5")
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Message: fmt.Sprintf("too many connections: the server takes %d at once; try again shortly", s.cfg.MaxConnections)})
			return
		default:
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Message: "the server is shutting down"})
			return
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			s.sessions.unreserve()
			return // the upgrader has answered
		}
		ctx, cancel := context.WithCancel(context.Background())
		sess := &session{
			srv: s, conn: conn, send: make(chan outMsg, s.queue.messages),
			log: s.logger.With("remote", r.RemoteAddr), ctx: ctx, cancel: cancel,
			profile: newLatest(), analysis: newLatest(), train: newLatest(), phase: newLatest(), lane: make(chan struct{}, 1),
			rate:   rate.NewLimiter(rate.Limit(s.cfg.MessagesPerSecond), s.cfg.MessageBurst),
			flood:  rate.NewLimiter(rate.Limit(floodFactor*s.cfg.MessagesPerSecond), floodFactor*s.cfg.MessageBurst),
			opened: time.Now(),
			client: "ws/" + strconv.FormatUint(s.sessionSeq.Add(1), 10),
		}
		sess.drained.Store(time.Now().UnixNano())
		s.sessions.add(sess)
		sess.run()
	}
}

// run starts the session's goroutines and returns at once. The reader
// outlives the others: when it ends, it closes the session, waits for
// the rest and only then leaves the server's registry, so the registry's
// count covers every goroutine of every session.
func (sess *session) run() {
	var others sync.WaitGroup
	others.Add(5)
	// The writer exits when the session context ends (after sending a
	// close frame) or a write fails.
	go func() {
		defer others.Done()
		sess.writePump()
	}()
	for _, l := range []*latest{&sess.profile, &sess.analysis, &sess.train, &sess.phase} {
		// Each worker exits when the session context ends; a job in
		// progress sees the same context cancelled and stops at its next
		// step.
		go func() {
			defer others.Done()
			l.serve(sess.ctx)
		}()
	}
	// The reader exits when a read fails: the peer closed, went silent
	// past pongWait, sent an oversized message, or the server closed the
	// connection (closeWith pushes the read deadline).
	go func() {
		defer sess.srv.sessions.done(sess)
		code, reason := sess.readPump()
		sess.closeWith(code, reason)
		others.Wait()
		sess.log.Info("websocket closed", "messages", sess.received, "duration", time.Since(sess.opened).Round(time.Millisecond))
	}()
	sess.log.Debug("websocket opened")
	sess.sendJSON(helloMessage(sess.srv.cfg), false)
}

// readPump reads and handles messages until a read fails, and returns the
// close code and reason that fit the failure.
func (sess *session) readPump() (code int, reason string) {
	conn := sess.conn
	limit := sess.srv.cfg.MaxMessageBytes
	conn.SetReadLimit(limit)
	conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// gorilla has already sent the close frame, code 1009.
				sess.srv.metrics.countError(errMessageTooLarge)
				sess.log.Warn("websocket message over the size limit", "limit", limit)
				return websocket.CloseMessageTooBig, fmt.Sprintf("message over %d bytes", limit)
			}
			return websocket.CloseNormalClosure, ""
		}
		sess.received++
		conn.SetReadDeadline(time.Now().Add(pongWait))
		if kind != websocket.TextMessage {
			sess.srv.metrics.countError(errBinaryMessage)
			sess.sendError(0, "", "messages must be JSON text, not binary")
			continue
		}
		if now := time.Now(); !sess.rate.AllowN(now, 1) {
			sess.srv.metrics.countError(errRateLimited)
			if !sess.flood.AllowN(now, 1) {
				// Reading and dropping costs CPU too: a client far past
				// its rate is a flood, not a fast slider.
				sess.srv.metrics.countError(errFlood)
				sess.log.Warn("dropping a client that floods messages", "received", sess.received)
				return websocket.ClosePolicyViolation, fmt.Sprintf("flooding: more than %d messages a second past the limit", floodFactor*int(sess.srv.cfg.MessagesPerSecond))
			}
			if now.Sub(sess.lastLimit) >= rateErrorInterval {
				sess.lastLimit = now
				sess.sendError(0, "", fmt.Sprintf("too many messages: at most %g a second (burst %d); this one was ignored", sess.srv.cfg.MessagesPerSecond, sess.srv.cfg.MessageBurst))
			}
			continue
		}
		sess.handleSafely(data)
	}
}

// handleSafely is handle with a recover: a panic while reading one
// message is logged and answered, and the connection lives on.
func (sess *session) handleSafely(data []byte) {
	defer sess.recoverRequest(0)
	sess.handle(data)
}

// recoverRequest, deferred, turns a panic in one request into a logged
// error, with the stack, and an "error" message to its client. The
// session, its other requests and the other clients carry on.
func (sess *session) recoverRequest(id int64) {
	v := recover()
	if v == nil {
		return
	}
	sess.srv.metrics.countError(errPanic)
	sess.log.Error("panic in websocket request", "id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	sess.sendError(id, "", "internal error: this request failed and was logged; the connection carries on")
}

func (sess *session) writePump() {
	ticker := time.NewTicker(pingPeriod)
	defer ticker.Stop()
	conn := sess.conn
	defer conn.Close()
	for {
		// A closing session sends its close frame before anything still
		// queued.
		select {
		case <-sess.ctx.Done():
			sess.writeClose()
			return
		default:
		}
		select {
		case msg := <-sess.send:
			sess.queued.Add(-int64(len(msg.data)))
			conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := conn.WriteMessage(websocket.TextMessage, msg.data); err != nil {
				return
			}
			if len(sess.send) == 0 {
				sess.drained.Store(time.Now().UnixNano())
			}
		case <-ticker.C:
			conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		case <-sess.ctx.Done():
			sess.writeClose()
			return
		}
	}
}

// unreadFor says how long messages have waited for the client without
// the queue emptying: zero while the client keeps up.
func (sess *session) unreadFor() time.Duration {
	if len(sess.send) == 0 {
		return 0
	}
	return time.Since(time.Unix(0, sess.drained.Load()))
}

// writeClose sends the close frame; the session's context is done.
func (sess *session) writeClose() {
	payload := sess.closeMsg
	if payload == nil {
		payload = websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	}
	sess.conn.WriteControl(websocket.CloseMessage, payload, time.Now().Add(closeWait))
}

// sendJSON queues v for the writer. A full queue drops a droppable
// message, and otherwise the client: it has stopped reading.
func (sess *session) sendJSON(v any, droppable bool) {
	data, err := json.Marshal(v)
	if err != nil {
		sess.log.Error("encode message", "err", err)
		return
	}
	n := int64(len(data))
	if q := sess.queued.Load(); q == 0 || q+n <= sess.srv.queue.bytes {
		sess.queued.Add(n)
		select {
		case sess.send <- outMsg{data: data, droppable: droppable}:
			return
		case <-sess.ctx.Done():
			sess.queued.Add(-n)
			return
		default:
			sess.queued.Add(-n)
		}
	}
	if droppable {
		return
	}
	sess.srv.metrics.countError(errSlowClient)
	sess.log.Warn("dropping a client that stopped reading", "messages", len(sess.send), "bytes", sess.queued.Load())
	sess.closeWith(websocket.ClosePolicyViolation, fmt.Sprintf("client too slow: %d messages or %d KiB waited for it", sess.srv.queue.messages, sess.srv.queue.bytes>>10))
}

// closeWith ends the session with a close frame carrying code and reason.
// Only the first call counts. It unblocks the reader and shortens a write
// blocked on a client that stopped reading to closeWait (writeWait at
// most, for a large message), after which the writer closes the socket.
func (sess *session) closeWith(code int, reason string) {
	sess.closeOnce.Do(func() {
		sess.closeMsg = websocket.FormatCloseMessage(code, reason)
		sess.cancel()
		if sess.conn == nil {
			return // a session without a network, in tests
		}
		deadline := time.Now().Add(closeWait)
		sess.conn.SetReadDeadline(deadline)
		sess.conn.NetConn().SetWriteDeadline(deadline)
	})
}

// errorMessage is the "error" message of the protocol.
type errorMessage struct {
	Type    string `json:"type"`
	ID      int64  `json:"id"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (sess *session) sendError(id int64, field, message string) {
	sess.sendJSON(errorMessage{Type: "error", ID: id, Field: field, Message: message}, false)
}

func (sess *session) sendErr(id int64, err error) {
	var fe *FieldError
	if errors.As(err, &fe) {
		sess.srv.metrics.countError(errInvalid)
		sess.sendError(id, fe.Field, fe.Message)
		return
	}
	sess.srv.metrics.countError(errInternal)
	sess.log.Error("request failed", "id", id, "err", err)
	sess.sendError(id, "", "internal error")
}

// submit makes job the newest request on l. Its context carries the run
// kind, for the metrics, and the session's lane; a panic in it is
// recovered and answered as an error to this request alone.
func (sess *session) submit(l *latest, kind runKind, id int64, job func(context.Context)) {
	l.submit(func(ctx context.Context) {
		defer sess.recoverRequest(id)
		job(withRunTag(ctx, runTag{kind: kind, client: sess.client, lane: sess.lane}))
	})
}

// handle decodes one message and dispatches it by type. Every bad message
// is answered with an error naming the problem; the connection lives on.
// The log says the type and id of each message at debug level, never its
// settings.
func (sess *session) handle(data []byte) {
	msg, err := decodeMessage(data)
	sess.log.LogAttrs(sess.ctx, slog.LevelDebug, "websocket message",
		slog.String("type", shorten(msg.kind)), slog.Int64("id", msg.id), slog.Int("bytes", len(data)))
	if err != nil {
		sess.sendErr(msg.id, err)
		return
	}
	cfg := sess.srv.cfg
	var jacobians bool // config and animate: send the Jacobian norms after the profile
	switch msg.kind {
	case "config":
		s, err := settingsFromJSON(msg.fields, cfg.Limits, "type", "id", "jacobians")
		if err == nil {
			jacobians, err = boolField(msg.fields, "jacobians")
		}
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		sess.submit(&sess.profile, kindProfile, msg.id, func(ctx context.Context) { sess.runProfile(ctx, msg.id, s, jacobians) })
	case "animate":
		s, err := settingsFromJSON(msg.fields, cfg.Limits, "type", "id", "stepsPerSecond", "jacobians")
		if err == nil {
			jacobians, err = boolField(msg.fields, "jacobians")
		}
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		rate, err := numberField(msg.fields, "stepsPerSecond", 20, 1, 2000)
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		sess.submit(&sess.profile, kindProfile, msg.id, func(ctx context.Context) { sess.runAnimation(ctx, msg.id, s, rate, jacobians) })
	case "stop":
		if err := onlyFields(msg.fields, "type", "id", "what"); err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		what := "all"
		if raw, ok := msg.fields["what"]; ok {
			if err := stringField(raw, &what); err != nil || !contains(stopTargets, what) {
				sess.sendError(msg.id, "what", fmt.Sprintf("what must be one of %s, got %s", strings.Join(stopTargets, ", "), shorten(string(raw))))
				return
			}
		}
		// Profiles and animations share one slot, sensitivity and maps
		// another, training a third: stopping an animation leaves a
		// training running.
		if what == "all" || what == "animation" {
			sess.profile.stop()
		}
		if what == "all" || what == "analysis" {
			sess.analysis.stop()
			sess.phase.stop()
		}
		if what == "all" || what == "training" {
			sess.train.stop()
		}
		sess.sendJSON(map[string]any{"type": "stopped", "id": msg.id, "what": what}, false)
	case "train":
		req, err := parseTrainRequest(msg.fields, cfg)
		if err == nil {
			err = checkTrainWork(req, cfg.Limits.MaxWork)
		}
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		// A client trains one model set at a time: a newer train
		// cancels the running one, which ends with trainDone "stopped".
		sess.submit(&sess.train, kindTrain, msg.id, func(ctx context.Context) {
			m := sess.srv.metrics
			m.trainingStarted.Add(1)
			m.trainingActive.Add(1)
			defer m.trainingActive.Add(-1)
			sess.runTraining(ctx, msg.id, req)
		})
	case "sensitivity":
		s, err := settingsFromJSON(msg.fields, cfg.Limits, "type", "id", "outputStep")
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		step, err := wholeField(msg.fields, "outputStep", (s.T+1)/2, 1, s.T)
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		sess.submit(&sess.analysis, kindSensitivity, msg.id, func(ctx context.Context) { sess.runSensitivity(ctx, msg.id, s, step) })
	case "map":
		s, err := settingsFromJSON(msg.fields, cfg.Limits, "type", "id", "rows")
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		rows, err := wholeField(msg.fields, "rows", 64, 1, engine.MaxMapRows)
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		rows = mapRows(s, rows, cfg.Limits.MaxWork)
		sess.submit(&sess.analysis, kindMap, msg.id, func(ctx context.Context) { sess.runMap(ctx, msg.id, s, rows) })
	case "phase":
		sess.handlePhase(msg)
	default:
		sess.sendErr(msg.id, fieldErrorf("type", "unknown message type %q; the types are %s", shorten(msg.kind), messageTypes))
	}
}

// stopTargets are the values of a stop message's "what".
var stopTargets = []string{"all", "animation", "analysis", "training"}

// messageTypes lists the client message types for error messages.
const messageTypes = "config, animate, sensitivity, map, phase, train and stop"

// message is a decoded client message.
type message struct {
	kind   string
	id     int64
	fields map[string]json.RawMessage
}

// maxID is the largest id a JavaScript number holds exactly.
const maxID = 1<<53 - 1

// decodeMessage reads the envelope of a client message: a JSON object
// with a string "type" and an optional whole-number "id". Each name may
// appear once.
func decodeMessage(data []byte) (message, error) {
	var msg message
	fields, err := decodeObject(data)
	if err != nil {
		return message{}, err
	}
	msg.fields = fields
	if raw, ok := msg.fields["id"]; ok {
		// A number, not the string "7" that json.Number would take.
		var n json.Number
		id, err := int64(0), json.Unmarshal(raw, &n)
		if err == nil && !isJSONNumber(raw) {
			err = errNotNumber
		}
		if err == nil {
			id, err = n.Int64()
		}
		if err != nil || id < 0 || id > maxID {
			return msg, fieldErrorf("id", "id must be a whole number from 0 to %d, got %s", int64(maxID), shorten(string(raw)))
		}
		msg.id = id
	}
	raw, ok := msg.fields["type"]
	if !ok {
		return msg, fieldErrorf("type", "a message needs a \"type\": "+messageTypes)
	}
	if err := stringField(raw, &msg.kind); err != nil {
		return msg, fieldErrorf("type", "type must be a string, got %s", shorten(string(raw)))
	}
	return msg, nil
}

var errNotNumber = errors.New("not a number")

// decodeObject reads one JSON object into its fields, refusing anything
// else, a second value after it, and a name given twice (which
// json.Unmarshal would resolve silently, the last one winning).
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	notObject := fieldErrorf("", "a message must be a JSON object with a \"type\"")
	single := fieldErrorf("", "a message must be a single JSON object")
	if !json.Valid(data) {
		// Only a failure pays for the decoder that tells a second
		// object after the first from anything else.
		var first map[string]json.RawMessage
		if json.NewDecoder(bytes.NewReader(data)).Decode(&first) == nil && first != nil {
			return nil, single
		}
		return nil, notObject
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, notObject
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return nil, notObject
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notObject
		}
		if _, dup := fields[name]; dup {
			return nil, fieldErrorf(shorten(name), "%s is given twice", shorten(name))
		}
		fields[name] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, single
	}
	return fields, nil
}

// isJSONNumber reports whether a JSON value is a number (not a string,
// null, a boolean, an array or an object).
func isJSONNumber(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && (raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9'))
}

// stringField reads a JSON string into dst; null, numbers and anything
// else are an error (json.Unmarshal would take null as "no change").
func stringField(raw json.RawMessage, dst *string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return errors.New("not a string")
	}
	return json.Unmarshal(raw, dst)
}

// numberField reads an optional numeric field within [min, max].
func numberField(fields map[string]json.RawMessage, name string, def, min, max float64) (float64, error) {
	raw, ok := fields[name]
	if !ok {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil || !isJSONNumber(raw) {
		return 0, fieldErrorf(name, "%s must be a number, got %s", name, shorten(string(raw)))
	}
	if math.IsNaN(v) || v < min || v > max {
		return 0, fieldErrorf(name, "%s must be %g..%g, got %g", name, min, max, v)
	}
	return v, nil
}

// wholeField reads an optional whole-number field within [min, max].
func wholeField(fields map[string]json.RawMessage, name string, def, min, max int) (int, error) {
	v, err := numberField(fields, name, float64(def), float64(min), float64(max))
	if err != nil {
		return 0, err
	}
	if v != math.Trunc(v) {
		return 0, fieldErrorf(name, "%s must be a whole number, got %g", name, v)
	}
	return int(v), nil
}

// mapWorkBudget bounds a gradient map, a forward pass and one backward
// pass per row, to the work of this many runs at -max-work, so that no
// request holds a worker much longer than the largest profile does.
const mapWorkBudget = 4

// mapRows returns the rows of a map within mapWorkBudget, at least one:
// fewer than asked when the model is large. The answer's "steps" lists
// the rows computed, as it does when rows exceeds T; maxWork 0 means no
// bound.
func mapRows(s engine.Settings, rows int, maxWork int64) int {
	if maxWork <= 0 {
		return rows
	}
	return max(1, min(rows, int(mapWorkBudget*maxWork/s.Work()-1)))
}

// checkTrainWork bounds one training iteration of each run, the batch
// through the task's sequence, by -max-work like one profile: a run
// holds a worker an iteration at a time.
func checkTrainWork(req trainRequest, maxWork int64) error {
	if maxWork <= 0 {
		return nil
	}
	for _, c := range req.cells {
		m := req.base.Model
		m.Cell = c
		_, _, m.T = engine.TaskShape(req.base.Task, req.base.Model.T, req.base.Model.K)
		if w := m.Work() * int64(req.base.Batch); w > maxWork {
			return fieldErrorf("batch", "training: batch·steps·H²·gates·directions must be at most %d, got %d (%s, %d steps, H=%d, batch %d): use a smaller batch, a shorter sequence or fewer hidden units",
				maxWork, w, c, m.T, m.H, req.base.Batch)
		}
	}
	return nil
}

// onlyFields rejects fields outside names.
func onlyFields(fields map[string]json.RawMessage, names ...string) error {
	for _, k := range sortedKeys(fields) {
		if !contains(names, k) {
			return fieldErrorf(shorten(k), "unknown field %q", shorten(k))
		}
	}
	return nil
}

// profileMessage is the "profile" message of the protocol.
type profileMessage struct {
	Type   string          `json:"type"`
	ID     int64           `json:"id"`
	Config engine.Settings `json:"config"`
	Result
	ElapsedMs float64 `json:"elapsedMs"`
}

// runProfile computes one profile and sends it, unless a newer request
// superseded it first. The profile goes as soon as its passes are done;
// for an RNN with jacobians set, the per-step Jacobian norms, which can
// cost more than the passes, follow in a message of their own.
func (sess *session) runProfile(ctx context.Context, id int64, s engine.Settings, jacobians bool) *engine.Result {
	res, err := sess.srv.computeWith(ctx, s, engine.ProfileOptions{})
	if ctx.Err() != nil {
		return nil // superseded or closed: the page no longer wants it
	}
	if err != nil {
		sess.sendErr(id, err)
		return nil
	}
	sess.sendJSON(profileMessage{Type: "profile", ID: id, Config: res.Settings, Result: newResult(res), ElapsedMs: elapsedMs(res)}, false)
	if !jacobians || !s.Cell.Info().Spectrum {
		return res
	}
	var jn []float64
	err = sess.srv.withSlot(ctx, int64(8*s.H*(s.H+2)), func(ctx context.Context) (err error) {
		jn, err = sess.srv.runner.JacobianNorms(ctx, res)
		return err
	})
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		sess.sendErr(id, err)
		return nil
	}
	sess.sendJSON(jacobiansMessage{Type: "jacobians", ID: id, JacobianNorm: jn}, false)
	return res
}

// jacobiansMessage carries the per-step Jacobian norms of the profile
// with the same id.
type jacobiansMessage struct {
	Type         string `json:"type"`
	ID           int64  `json:"id"`
	JacobianNorm Floats `json:"jacobianNorm"`
}

// boolField reads an optional boolean field; absent is false.
func boolField(fields map[string]json.RawMessage, name string) (bool, error) {
	raw, ok := fields[name]
	if !ok {
		return false, nil
	}
	var v *bool
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return false, fieldErrorf(name, "%s must be true or false, got %s", name, shorten(string(raw)))
	}
	return *v, nil
}

// runAnimation sends the profile, then reveals the backward pass one step
// at a time from k = T down to 1 at rate steps a second, so students watch
// the error signal travel back in time.
func (sess *session) runAnimation(ctx context.Context, id int64, s engine.Settings, rate float64, jacobians bool) {
	res := sess.runProfile(ctx, id, s, jacobians)
	if res == nil {
		return
	}
	ticker := time.NewTicker(frameInterval)
	defer ticker.Stop()
	start := time.Now()
	shown := s.T + 1
	for shown > 1 {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			k := s.T + 1 - int(now.Sub(start).Seconds()*rate)
			if k < 1 {
				k = 1
			}
			if k < shown {
				shown = k
				sess.sendJSON(frameMessage{Type: "frame", ID: id, K: k}, true)
			}
		}
	}
	sess.sendJSON(map[string]any{"type": "done", "id": id}, false)
}

// frameMessage says that steps k..T of the animated backward pass are
// revealed.
type frameMessage struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
	K    int    `json:"k"`
}

// helloMessage tells a new client the protocol version, the limits its
// controls should respect and the default settings.
func helloMessage(cfg Config) map[string]any {
	return map[string]any{
		"type":    "hello",
		"version": ExportVersion,
		"limits": map[string]any{
			"T": cfg.Limits.MaxT, "H": cfg.Limits.MaxH, "D": cfg.Limits.MaxD, "K": cfg.Limits.MaxK,
			"work": cfg.Limits.MaxWork, "messagesPerSecond": cfg.MessagesPerSecond,
			"messageBurst": cfg.MessageBurst, "messageBytes": cfg.MaxMessageBytes,
		},
		"defaults": engine.Defaults(),
	}
}
