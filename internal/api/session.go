package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
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
	// closeWait bounds the last writes to a session being closed: the
	// close frame, and the frame in flight when the close began (a large
	// message's later frames get writeWait again from gorilla).
	closeWait = time.Second
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
	analysis latest // sensitivity, map and phase requests: one tab shows at a time
	train    latest // train and langTrain requests: one at a time, replaced by a newer one
	// lang holds the models of the latest langTrain, for langRead and
	// langExport.
	lang langLab
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

	limit    messageLimiter // only the reader uses it
	opened   time.Time
	received int // messages read; the reader's alone

	// remote is the client's address, for the class join limit.
	remote string
	// class is the session's room, if any.
	class classState

	closeOnce sync.Once
	// closeMsg is the close frame's payload. closeWith sets it once,
	// before it cancels ctx, and the writer reads it after ctx is done.
	closeMsg []byte
}

// worker names one of a session's goroutines that run requests; the
// dispatch table (protocol.go) says which one each message type uses.
type worker int

const (
	// inline requests run on the reader, at once: stop.
	inline worker = iota
	profileWorker
	analysisWorker
	trainWorker
)

// worker returns the newest-wins slot of w; nil for inline.
func (sess *session) worker(w worker) *latest {
	switch w {
	case profileWorker:
		return &sess.profile
	case analysisWorker:
		return &sess.analysis
	case trainWorker:
		return &sess.train
	}
	return nil
}

// latest holds the newest request of one kind. Submitting a request
// cancels the one running and replaces the one waiting: stale work is
// cancelled, never queued, so dragging a slider stays smooth.
type latest struct {
	mu      sync.Mutex
	pending func(context.Context)
	// dropped answers the pending request when it is replaced or stopped
	// before it runs; nil when such a request needs no answer.
	dropped func()
	running context.CancelFunc
	wake    chan struct{}
}

func newLatest() latest { return latest{wake: make(chan struct{}, 1)} }

// submit makes job the newest request; dropped, when not nil, is called
// if job never runs because a newer request or a stop came first.
func (l *latest) submit(job func(context.Context), dropped func()) {
	l.mu.Lock()
	drop := l.take()
	l.pending, l.dropped = job, dropped
	if l.running != nil {
		l.running()
	}
	l.mu.Unlock()
	if drop != nil {
		drop()
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// stop cancels the running job and drops the waiting one.
func (l *latest) stop() {
	l.mu.Lock()
	drop := l.take()
	if l.running != nil {
		l.running()
	}
	l.mu.Unlock()
	if drop != nil {
		drop()
	}
}

// take removes the waiting job and returns its dropped function; l.mu is
// held.
func (l *latest) take() (dropped func()) {
	dropped = l.dropped
	if l.pending == nil {
		dropped = nil
	}
	l.pending, l.dropped = nil, nil
	return dropped
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
		l.pending, l.dropped = nil, nil
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
			kind, code := errInvalid, codeNotWebsocket
			switch status {
			case http.StatusForbidden:
				kind, code = errOriginRefused, codeOriginRefused
				msg = "websocket origin not allowed: " + shorten(r.Header.Get("Origin")) +
					"; the page must be opened from this server, or its origin allowed with -allow-origin"
			case http.StatusMethodNotAllowed:
				code = codeMethodNotAllowed
			case http.StatusInternalServerError:
				kind, code = errInternal, codeInternal
			}
			s.metrics.countError(kind)
			writeErrorBody(w, status, code, "", msg)
		},
	}
	return func(w http.ResponseWriter, r *http.Request) {
		switch err := s.sessions.reserve(s.cfg.MaxConnections); err {
		case nil:
		case errServerFull:
			s.metrics.countError(errTooManyConns)
			w.Header().Set("Retry-After", "5")
			writeErrorBody(w, http.StatusServiceUnavailable, codeTooManyConnections, "",
				fmt.Sprintf("too many connections: the server takes %d at once; try again shortly", s.cfg.MaxConnections))
			return
		default:
			writeErrorBody(w, http.StatusServiceUnavailable, codeShuttingDown, "", "the server is shutting down")
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
			profile: newLatest(), analysis: newLatest(), train: newLatest(), lane: make(chan struct{}, 1),
			limit:  newMessageLimiter(s.cfg.MessagesPerSecond, s.cfg.MessageBurst),
			opened: time.Now(), remote: r.RemoteAddr,
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
	others.Add(4)
	// The writer exits when the session context ends (after sending a
	// close frame) or a write fails.
	go func() {
		defer others.Done()
		sess.writePump()
	}()
	for _, l := range []*latest{&sess.profile, &sess.analysis, &sess.train} {
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
		sess.leaveClass()
		sess.log.Info("websocket closed", "messages", sess.received, "duration", time.Since(sess.opened).Round(time.Millisecond))
	}()
	sess.log.Debug("websocket opened")
	sess.sendJSON(newHello(sess.srv.cfg), false)
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
			sess.sendError(0, codeBadMessage, "", "messages must be JSON text, not binary")
			continue
		}
		if code, reason, ok := sess.admit(time.Now()); !ok {
			if code != 0 {
				return code, reason
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
	sess.sendError(id, codeInternal, "", "internal error: this request failed and was logged; the connection carries on")
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

func (sess *session) sendError(id int64, code errorCode, field, message string) {
	sess.sendJSON(errorMessage{Type: "error", ID: id, Code: code, Field: field, Message: message}, false)
}

// sendErr answers request id with err: a field error as it is, anything
// else as an internal error whose details go to the log.
func (sess *session) sendErr(id int64, err error) {
	var fe *FieldError
	if errors.As(err, &fe) {
		sess.srv.metrics.countError(errInvalid)
		sess.sendError(id, errorCodeOf(err), fe.Field, fe.Message)
		return
	}
	sess.srv.metrics.countError(errInternal)
	sess.log.Error("request failed", "id", id, "err", err)
	sess.sendError(id, codeInternal, "", "internal error")
}

// sendDone ends the stream of request id.
func (sess *session) sendDone(id int64) {
	sess.sendJSON(map[string]any{"type": "done", "id": id}, false)
}

// submit makes job the newest request on l. Its context carries the run
// kind, for the metrics, and the session's lane; a panic in it is
// recovered and answered as an error to this request alone. dropped, when
// not nil, answers the request if it never runs.
func (sess *session) submit(l *latest, kind runKind, id int64, job func(context.Context), dropped func()) {
	l.submit(func(ctx context.Context) {
		defer sess.recoverRequest(id)
		job(withRunTag(ctx, runTag{kind: kind, client: sess.client, lane: sess.lane}))
	}, dropped)
}

// stopTargets are the values of a stop message's "what".
var stopTargets = []string{"all", "animation", "analysis", "training"}

// stopRequest is a parsed "stop" message.
type stopRequest struct{ what string }

func parseStop(r *request) (stopRequest, error) {
	req := stopRequest{what: "all"}
	if raw, ok := r.fields["what"]; ok {
		if err := stringField(raw, &req.what); err != nil || !contains(stopTargets, req.what) {
			return req, fieldErrorf("what", "what must be one of %s, got %s", strings.Join(stopTargets, ", "), shorten(string(raw)))
		}
	}
	return req, nil
}

// runStop cancels the workers a stop names and answers "stopped".
// Profiles and animations share one worker, sensitivity, maps and phase
// diagrams another, training a third: stopping an animation leaves a training
// running.
func (sess *session) runStop(_ context.Context, id int64, req stopRequest) {
	what := req.what
	if what == "all" || what == "animation" {
		sess.profile.stop()
	}
	if what == "all" || what == "analysis" {
		sess.analysis.stop()
	}
	if what == "all" || what == "training" {
		sess.train.stop()
	}
	sess.sendJSON(map[string]any{"type": "stopped", "id": id, "what": what}, false)
}
