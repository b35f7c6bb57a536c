package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

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
	// sendQueue is how many outbound messages wait for a slow reader.
	// Progress frames are skipped when it is full; anything else that does
	// not fit means the client stopped reading, and it is dropped.
	sendQueue = 32
	// frameInterval paces animation frames: 30 a second is smooth, and a
	// faster step rate reveals several steps per frame.
	frameInterval = time.Second / 30
)

// outMsg is one message for the writer goroutine.
type outMsg struct {
	data []byte
	// droppable messages (animation frames, training progress) are
	// superseded by the next one, so they are skipped, not queued, when
	// the client falls behind.
	droppable bool
}

// session is one websocket connection: a reader, a writer and a worker
// goroutine that runs the newest request.
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

	rate      tokenBucket
	lastLimit time.Time // when the last rate-limit error was sent

	closeOnce sync.Once
	closeMsg  []byte // close frame payload, set by Server.Close
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
		CheckOrigin:     checkOrigin(s.cfg.AllowedOrigins),
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			msg := reason.Error()
			if status == http.StatusForbidden {
				msg = "websocket origin not allowed: " + shorten(r.Header.Get("Origin"))
			}
			writeJSON(w, status, errorBody{Message: msg})
		},
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.sessions.reserve(s.cfg.MaxConnections) {
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Message: fmt.Sprintf("too many connections: the server takes %d at once; try again shortly", s.cfg.MaxConnections)})
			return
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			s.sessions.unreserve()
			return // the upgrader has answered
		}
		ctx, cancel := context.WithCancel(context.Background())
		sess := &session{
			srv: s, conn: conn, send: make(chan outMsg, sendQueue),
			log: s.logger.With("remote", r.RemoteAddr), ctx: ctx, cancel: cancel,
			profile: newLatest(), analysis: newLatest(), train: newLatest(),
			rate: newTokenBucket(s.cfg.MessagesPerSecond, s.cfg.MessageBurst),
		}
		s.sessions.add(sess)
		sess.run()
	}
}

// run starts the session's goroutines and returns at once; the session
// removes itself from the server when its reader ends.
func (sess *session) run() {
	srv := sess.srv
	srv.sessions.wg.Add(5)
	// The writer exits when the session context ends (after sending a
	// close frame) or a write fails.
	go func() {
		defer srv.sessions.wg.Done()
		sess.writePump()
	}()
	// The workers exit when the session context ends.
	go func() {
		defer srv.sessions.wg.Done()
		sess.profile.serve(sess.ctx)
	}()
	go func() {
		defer srv.sessions.wg.Done()
		sess.analysis.serve(sess.ctx)
	}()
	go func() {
		defer srv.sessions.wg.Done()
		sess.train.serve(sess.ctx)
	}()
	// The reader exits when a read fails: the peer closed, went silent
	// past pongWait, sent an oversized message, or the server closed the
	// connection.
	go func() {
		defer srv.sessions.wg.Done()
		defer srv.sessions.remove(sess)
		defer sess.cancel()
		sess.readPump()
	}()
	sess.sendJSON(helloMessage(srv.cfg), false)
}

func (sess *session) readPump() {
	conn := sess.conn
	conn.SetReadLimit(sess.srv.cfg.MaxMessageBytes)
	conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				sess.log.Warn("websocket message over the size limit", "limit", sess.srv.cfg.MaxMessageBytes)
			}
			return
		}
		conn.SetReadDeadline(time.Now().Add(pongWait))
		if kind != websocket.TextMessage {
			sess.sendError(0, "", "messages must be JSON text, not binary")
			continue
		}
		if !sess.rate.allow(time.Now()) {
			// One error a second is enough to say so; more would be a
			// flood of our own.
			if now := time.Now(); now.Sub(sess.lastLimit) > time.Second {
				sess.lastLimit = now
				sess.sendError(0, "", fmt.Sprintf("too many messages: at most %g a second (burst %d); this one was ignored", sess.srv.cfg.MessagesPerSecond, sess.srv.cfg.MessageBurst))
			}
			continue
		}
		sess.handle(data)
	}
}

func (sess *session) writePump() {
	ticker := time.NewTicker(pingPeriod)
	defer ticker.Stop()
	conn := sess.conn
	defer conn.Close()
	for {
		select {
		case msg := <-sess.send:
			conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := conn.WriteMessage(websocket.TextMessage, msg.data); err != nil {
				return
			}
		case <-ticker.C:
			conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		case <-sess.ctx.Done():
			payload := sess.closeMsg
			if payload == nil {
				payload = websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			}
			conn.WriteControl(websocket.CloseMessage, payload, time.Now().Add(writeWait))
			return
		}
	}
}

// sendJSON queues v for the writer. A full queue drops a droppable
// message, and otherwise the client: it has stopped reading.
func (sess *session) sendJSON(v any, droppable bool) {
	data, err := json.Marshal(v)
	if err != nil {
		sess.log.Error("encode message", "err", err)
		return
	}
	select {
	case sess.send <- outMsg{data: data, droppable: droppable}:
	case <-sess.ctx.Done():
	default:
		if droppable {
			return
		}
		sess.log.Warn("dropping a client that stopped reading", "queued", len(sess.send))
		sess.closeWith(websocket.ClosePolicyViolation, "client too slow: it stopped reading messages")
	}
}

// closeWith ends the session with a close frame carrying code and reason.
func (sess *session) closeWith(code int, reason string) {
	sess.closeOnce.Do(func() {
		sess.closeMsg = websocket.FormatCloseMessage(code, reason)
		sess.cancel()
		// Unblock a reader waiting for a peer that will not answer.
		sess.conn.SetReadDeadline(time.Now().Add(writeWait))
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
		sess.sendError(id, fe.Field, fe.Message)
		return
	}
	sess.log.Error("request failed", "id", id, "err", err)
	sess.sendError(id, "", "internal error")
}

// handle decodes one message and dispatches it by type. Every bad message
// is answered with an error naming the problem; the connection lives on.
func (sess *session) handle(data []byte) {
	msg, err := decodeMessage(data)
	if err != nil {
		sess.sendErr(msg.id, err)
		return
	}
	cfg := sess.srv.cfg
	switch msg.kind {
	case "config":
		s, err := settingsFromJSON(msg.fields, cfg.Limits, "type", "id")
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		sess.profile.submit(func(ctx context.Context) { sess.runProfile(ctx, msg.id, s) })
	case "animate":
		s, err := settingsFromJSON(msg.fields, cfg.Limits, "type", "id", "stepsPerSecond")
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		rate, err := numberField(msg.fields, "stepsPerSecond", 20, 1, 2000)
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		sess.profile.submit(func(ctx context.Context) { sess.runAnimation(ctx, msg.id, s, rate) })
	case "stop":
		if err := onlyFields(msg.fields, "type", "id"); err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		sess.profile.stop()
		sess.analysis.stop()
		sess.train.stop()
		sess.sendJSON(map[string]any{"type": "stopped", "id": msg.id}, false)
	case "train":
		req, err := parseTrainRequest(msg.fields, cfg)
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		sess.train.submit(func(ctx context.Context) { sess.runTraining(ctx, msg.id, req) })
	case "sensitivity":
		s, err := settingsFromJSON(msg.fields, cfg.Limits, "type", "id", "outputStep")
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		step, err := numberField(msg.fields, "outputStep", float64((s.T+1)/2), 1, float64(s.T))
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		sess.analysis.submit(func(ctx context.Context) { sess.runSensitivity(ctx, msg.id, s, int(step)) })
	case "map":
		s, err := settingsFromJSON(msg.fields, cfg.Limits, "type", "id", "rows")
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		rows, err := numberField(msg.fields, "rows", 64, 1, engine.MaxMapRows)
		if err != nil {
			sess.sendErr(msg.id, err)
			return
		}
		sess.analysis.submit(func(ctx context.Context) { sess.runMap(ctx, msg.id, s, int(rows)) })
	default:
		sess.sendError(msg.id, "type", fmt.Sprintf("unknown message type %q; the types are %s", shorten(msg.kind), messageTypes))
	}
}

// messageTypes lists the client message types for error messages.
const messageTypes = "config, animate, sensitivity, map, train and stop"

// message is a decoded client message.
type message struct {
	kind   string
	id     int64
	fields map[string]json.RawMessage
}

// maxID is the largest id a JavaScript number holds exactly.
const maxID = 1<<53 - 1

// decodeMessage reads the envelope of a client message: a JSON object
// with a string "type" and an optional whole-number "id".
func decodeMessage(data []byte) (message, error) {
	var msg message
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&msg.fields); err != nil || msg.fields == nil {
		return msg, fieldErrorf("", "a message must be a JSON object with a \"type\"")
	}
	if dec.More() {
		return msg, fieldErrorf("", "a message must be a single JSON object")
	}
	if raw, ok := msg.fields["id"]; ok {
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		id, err := int64(0), d.Decode(&n)
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
	if err := json.Unmarshal(raw, &msg.kind); err != nil {
		return msg, fieldErrorf("type", "type must be a string, got %s", shorten(string(raw)))
	}
	return msg, nil
}

// numberField reads an optional numeric field within [min, max].
func numberField(fields map[string]json.RawMessage, name string, def, min, max float64) (float64, error) {
	raw, ok := fields[name]
	if !ok {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fieldErrorf(name, "%s must be a number, got %s", name, shorten(string(raw)))
	}
	if math.IsNaN(v) || v < min || v > max {
		return 0, fieldErrorf(name, "%s must be %g..%g, got %g", name, min, max, v)
	}
	return v, nil
}

// onlyFields rejects fields outside names.
func onlyFields(fields map[string]json.RawMessage, names ...string) error {
	for _, k := range sortedKeys(fields) {
		if !contains(names, k) {
			return fieldErrorf(k, "unknown field %q", shorten(k))
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
// superseded it first.
func (sess *session) runProfile(ctx context.Context, id int64, s engine.Settings) *engine.Result {
	res, err := sess.srv.compute(ctx, s)
	if ctx.Err() != nil {
		return nil // superseded or closed: the page no longer wants it
	}
	if err != nil {
		sess.sendErr(id, err)
		return nil
	}
	sess.sendJSON(profileMessage{Type: "profile", ID: id, Config: res.Settings, Result: newResult(res), ElapsedMs: elapsedMs(res)}, false)
	return res
}

// runAnimation sends the profile, then reveals the backward pass one step
// at a time from k = T down to 1 at rate steps a second, so students watch
// the error signal travel back in time.
func (sess *session) runAnimation(ctx context.Context, id int64, s engine.Settings, rate float64) {
	res := sess.runProfile(ctx, id, s)
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
		},
		"defaults": engine.Defaults(),
	}
}

// checkOrigin accepts same-origin upgrades and the allow-listed origins.
// A request without an Origin header comes from a non-browser client,
// which the same-origin policy does not concern.
func checkOrigin(allowed []string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" {
			return true
		}
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" {
			return false
		}
		if strings.EqualFold(u.Host, r.Host) {
			return true
		}
		for _, a := range allowed {
			if strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
				return true
			}
		}
		return false
	}
}

// tokenBucket limits the messages a client may send: rate a second on
// average, burst at once. Not safe for concurrent use; only the reader
// uses it.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(rate float64, burst int) tokenBucket {
	return tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

func (b *tokenBucket) allow(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
