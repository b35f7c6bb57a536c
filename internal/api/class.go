package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	qrcode "github.com/skip2/go-qrcode"

	"gradviz/internal/class"
)

// Class mode (docs/protocol.md, "Class mode"): the websocket messages
// that start, join, drive and question a room of internal/class, and the
// QR code of a room's join link.

// classRequestWait bounds one request to a room over the broker.
const classRequestWait = 5 * time.Second

// classState is a session's place in a room.
type classState struct {
	mu     sync.Mutex
	member *class.Member
}

func (c *classState) get() *class.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.member
}

// swap sets the session's room membership and returns the one it
// replaces.
func (c *classState) swap(m *class.Member) *class.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.member
	c.member = m
	return old
}

// classErr turns a room's refusal into the protocol's error.
func classErr(err error) error {
	var ce *class.Error
	if !errors.As(err, &ce) {
		return err
	}
	code := errorCode(ce.Code)
	if code == "internal" {
		return fmt.Errorf("class: %s", ce.Message)
	}
	return codedf(code, ce.Field, "%s", ce.Message)
}

// sendRaw queues an encoded message for the client.
func (sess *session) sendRaw(data []byte) {
	sess.sendJSON(json.RawMessage(data), false)
}

// deliverClass is the room's way to the page: messages of a room the
// session has left are dropped.
func (sess *session) deliverClass(code string) func([]byte) {
	return func(data []byte) {
		m := sess.class.get()
		if m == nil || m.Code() != code {
			return
		}
		sess.sendRaw(data)
		if bytes.Contains(data, []byte(`"type":"classClosed"`)) {
			// The room is gone: let go of its subscriptions, off the
			// broker's goroutine that called here.
			go sess.leaveClassIf(m)
		}
	}
}

// leaveClassIf takes the session out of room membership m, unless it has
// joined another since.
func (sess *session) leaveClassIf(m *class.Member) {
	sess.class.mu.Lock()
	same := sess.class.member == m
	if same {
		sess.class.member = nil
	}
	sess.class.mu.Unlock()
	if same {
		ctx, cancel := context.WithTimeout(context.Background(), classRequestWait)
		defer cancel()
		m.Leave(ctx)
	}
}

func (sess *session) classCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(sess.ctx, classRequestWait)
}

// leaveClass takes the session out of its room, if any.
func (sess *session) leaveClass() {
	if m := sess.class.swap(nil); m != nil {
		ctx, cancel := context.WithTimeout(context.Background(), classRequestWait)
		defer cancel()
		m.Leave(ctx)
	}
}

// inClass returns the session's room membership, or the error for a
// message that needs one (and, with teacher, the teacher's).
func (sess *session) inClass(teacher bool) (*class.Member, error) {
	m := sess.class.get()
	if m == nil {
		return nil, codedf(codeClassNotFound, "code", "this page is in no class; send classStart or classJoin first")
	}
	if teacher && !m.Teacher() {
		return nil, codedf(codeClassNotTeacher, "secret", "only the teacher's page may do that in this class")
	}
	return m, nil
}

type classJoinRequest struct{ code, secret string }

func parseClassJoin(r *request) (classJoinRequest, error) {
	var req classJoinRequest
	raw, ok := r.fields["code"]
	if !ok || stringField(raw, &req.code) != nil {
		return req, fieldErrorf("code", "code must be a class code, a string of %d letters and digits", class.CodeLength)
	}
	req.code = class.NormalizeCode(req.code)
	if !class.ValidCode(req.code) {
		return req, fieldErrorf("code", "code must be %d letters and digits (no 0, O, 1, I or L), got %s", class.CodeLength, shorten(string(raw)))
	}
	if raw, ok := r.fields["secret"]; ok {
		if stringField(raw, &req.secret) != nil || len(req.secret) > 64 {
			return req, fieldErrorf("secret", "secret must be the string the class's start gave")
		}
	}
	return req, nil
}

func parseNothing(*request) (struct{}, error) { return struct{}{}, nil }

// admitJoin takes a join token for the session's address.
func (sess *session) admitJoin() error {
	lim := sess.srv.classJoins
	if lim == nil {
		return nil
	}
	key, ok := clientKey(sess.remote)
	if !ok {
		return nil
	}
	if ok, wait := lim.reserve(key, time.Now()); !ok {
		return codedf(codeTooManyJoins, "code", "too many class joins from this address; try again in %s", wait.Round(time.Second)+time.Second)
	}
	return nil
}

// join puts the session in a room and sends it classJoined.
func (sess *session) join(id int64, code, secret string) error {
	ctx, cancel := sess.classCtx()
	defer cancel()
	sess.leaveClass()
	// The room's messages wait until the session holds the membership;
	// the page drops updates its snapshot already has by their seq.
	m, snap, err := sess.srv.class.Join(ctx, code, secret, sess.deliverClass(code))
	if err != nil {
		return classErr(err)
	}
	sess.class.swap(m)
	sess.sendRaw(withID(snap, id))
	// Exits when the session ends, leaves the class, or the class is
	// found gone.
	go sess.watchClass(m)
	return nil
}

// classPingEvery is how often a page's server asks whether the page's
// class still exists: the process that held it may have stopped without
// a word (a replica gone), and the page should say so.
var classPingEvery = 20 * time.Second

// watchClass tells the page, with classClosed "gone", when its class
// stops answering.
func (sess *session) watchClass(m *class.Member) {
	t := time.NewTicker(classPingEvery)
	defer t.Stop()
	for {
		select {
		case <-sess.ctx.Done():
			return
		case <-t.C:
		}
		if sess.class.get() != m {
			return
		}
		ctx, cancel := sess.classCtx()
		err := m.Alive(ctx)
		cancel()
		var ce *class.Error
		if errors.As(err, &ce) && ce.Code == class.CodeNotFound && sess.class.get() == m {
			sess.sendJSON(map[string]any{"type": "classClosed", "code": m.Code(), "reason": "gone"}, false)
			sess.leaveClassIf(m)
			return
		}
	}
}

// withID adds "id" to an encoded message object.
func withID(data []byte, id int64) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return data
	}
	m["id"], _ = json.Marshal(id)
	out, _ := json.Marshal(m)
	return out
}

func (sess *session) runClassStart(_ context.Context, id int64, _ struct{}) {
	// Starting counts as a join, so one address cannot fill the server
	// with classes.
	if err := sess.admitJoin(); err != nil {
		sess.sendErr(id, err)
		return
	}
	ctx, cancel := sess.classCtx()
	defer cancel()
	code, secret, err := sess.srv.class.Create(ctx)
	if err != nil {
		sess.sendErr(id, classErr(err))
		return
	}
	sess.sendJSON(map[string]any{"type": "classStarted", "id": id, "code": code, "secret": secret,
		"link": "/?class=" + code, "qr": "/api/class/" + code + "/qr.png"}, false)
	if err := sess.join(id, code, secret); err != nil {
		sess.sendErr(id, err)
	}
}

func (sess *session) runClassJoin(_ context.Context, id int64, req classJoinRequest) {
	// With a secret too: a wrong one says the code exists.
	if err := sess.admitJoin(); err != nil {
		sess.sendErr(id, err)
		return
	}
	if err := sess.join(id, req.code, req.secret); err != nil {
		sess.sendErr(id, err)
	}
}

func (sess *session) runClassLeave(_ context.Context, id int64, _ struct{}) {
	sess.leaveClass()
	sess.sendJSON(map[string]any{"type": "classLeft", "id": id}, false)
}

// classDo runs one request of a member on its room and sends the room's
// answer, with the request's id, or an error.
func (sess *session) classDo(id int64, teacher bool, do func(ctx context.Context, m *class.Member) ([]byte, error)) {
	m, err := sess.inClass(teacher)
	if err != nil {
		sess.sendErr(id, err)
		return
	}
	ctx, cancel := sess.classCtx()
	defer cancel()
	out, err := do(ctx, m)
	if err != nil {
		sess.sendErr(id, classErr(err))
		return
	}
	if out == nil {
		out = []byte(`{"type":"classOK"}`)
	}
	sess.sendRaw(withID(out, id))
}

type classStateRequest struct{ state map[string]json.RawMessage }

func parseClassState(r *request) (classStateRequest, error) {
	var req classStateRequest
	raw, ok := r.fields["state"]
	if !ok {
		return req, fieldErrorf("state", "state must be an object of the parts that changed")
	}
	m, err := decodeObject(raw)
	if err != nil {
		return req, fieldErrorf("state", "state must be an object of the parts that changed")
	}
	req.state = m
	return req, nil
}

func (sess *session) runClassState(_ context.Context, id int64, req classStateRequest) {
	sess.classDo(id, true, func(ctx context.Context, m *class.Member) ([]byte, error) { return m.SetState(ctx, req.state) })
}

type classFollowRequest struct{ follow bool }

func parseClassFollow(r *request) (classFollowRequest, error) {
	if _, ok := r.fields["follow"]; !ok {
		return classFollowRequest{}, fieldErrorf("follow", "follow must be true or false")
	}
	f, err := boolField(r.fields, "follow")
	return classFollowRequest{f}, err
}

func (sess *session) runClassFollow(_ context.Context, id int64, req classFollowRequest) {
	sess.classDo(id, false, func(ctx context.Context, m *class.Member) ([]byte, error) {
		if m.Teacher() {
			return nil, codedf(codeBadField, "follow", "the teacher's page leads; it cannot follow")
		}
		return m.Follow(ctx, req.follow)
	})
}

type classAskRequest struct{ prompt string }

func parseClassAsk(r *request) (classAskRequest, error) {
	var req classAskRequest
	if raw, ok := r.fields["prompt"]; ok && stringField(raw, &req.prompt) != nil {
		return req, fieldErrorf("prompt", "prompt must be a string")
	}
	return req, nil
}

func (sess *session) runClassAsk(_ context.Context, id int64, req classAskRequest) {
	sess.classDo(id, true, func(ctx context.Context, m *class.Member) ([]byte, error) { return m.Ask(ctx, req.prompt) })
}

type classAnswerRequest struct {
	question int
	value    float64
}

func parseClassAnswer(r *request) (classAnswerRequest, error) {
	if _, ok := r.fields["question"]; !ok {
		return classAnswerRequest{}, fieldErrorf("question", "question must be the number of the question asked")
	}
	if _, ok := r.fields["value"]; !ok {
		return classAnswerRequest{}, fieldErrorf("value", "value must be the log10 of the guess, %d..%d", class.GuessMin, class.GuessMax)
	}
	q, err := wholeField(r.fields, "question", 0, 1, math.MaxInt32)
	if err != nil {
		return classAnswerRequest{}, err
	}
	v, err := numberField(r.fields, "value", 0, class.GuessMin, class.GuessMax)
	return classAnswerRequest{question: q, value: v}, err
}

func (sess *session) runClassAnswer(_ context.Context, id int64, req classAnswerRequest) {
	sess.classDo(id, false, func(ctx context.Context, m *class.Member) ([]byte, error) {
		if m.Teacher() {
			return nil, codedf(codeBadField, "question", "the teacher's page asks; it does not answer")
		}
		return m.Answer(ctx, req.question, req.value)
	})
}

func (sess *session) runClassReveal(_ context.Context, id int64, _ struct{}) {
	sess.classDo(id, true, func(ctx context.Context, m *class.Member) ([]byte, error) { return m.Reveal(ctx) })
}

func (sess *session) runClassClose(_ context.Context, id int64, _ struct{}) {
	sess.classDo(id, true, func(ctx context.Context, m *class.Member) ([]byte, error) {
		err := m.Close(ctx)
		sess.leaveClassIf(m)
		return nil, err
	})
}

// handleClassQR serves the QR code of a room's join link as a PNG. It
// names the link, not the room: it says nothing of whether the room
// exists.
func (s *Server) handleClassQR() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		code := class.NormalizeCode(chi.URLParam(r, "code"))
		if !class.ValidCode(code) {
			writeErrorBody(w, http.StatusBadRequest, codeBadField, "code", fmt.Sprintf("code must be %d letters and digits (no 0, O, 1, I or L)", class.CodeLength))
			return
		}
		png, err := qrcode.Encode(joinLink(r, code), qrcode.Medium, 512)
		if err != nil {
			writeErrorBody(w, http.StatusInternalServerError, codeInternal, "", "internal error")
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "private, max-age=3600")
		w.Write(png)
	}
}

// joinLink is the page's address for a room, on the host the request
// named (which checkHost has let through); https when the connection or
// the proxy in front of it says so.
func joinLink(r *http.Request, code string) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/?class=" + code
}
