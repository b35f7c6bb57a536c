package class

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits bounds the rooms of one process.
type Limits struct {
	// MaxRooms bounds the rooms this process owns at once.
	MaxRooms int
	// MaxMembers bounds the students in one room (the teacher aside);
	// each has at most one answer, so it bounds the answers too.
	MaxMembers int
	// Idle ends a room nobody has used for this long.
	Idle time.Duration
}

// DefaultLimits are the limits the server starts with.
func DefaultLimits() Limits { return Limits{MaxRooms: 100, MaxMembers: 500, Idle: time.Hour} }

// Codes: CodeLength characters from an alphabet without the look-alikes
// 0/O, 1/I/L: 31⁶ ≈ 8.9·10⁸ codes, against a join rate bounded per
// address.
const (
	CodeLength   = 6
	codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
)

// StateKeys are the parts of the teacher's view a room relays.
var StateKeys = []string{"settings", "tab", "step", "pins", "view", "play"}

// Guess bounds: an answer is the log10 of where the curve will land.
const (
	GuessMin = -90
	GuessMax = 10
)

// maxPrompt bounds a question's text, in characters.
const maxPrompt = 500

// Error is a request the room refuses; Code is one of the error codes
// the websocket protocol documents.
type Error struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// The error codes of class mode.
const (
	CodeNotFound   = "class-not-found"   // no room has the code (or it ended)
	CodeFull       = "class-full"        // -class-max-rooms or -class-max-members reached
	CodeNotTeacher = "class-not-teacher" // a teacher's request without the room's secret
	CodeNoQuestion = "class-no-question" // an answer with no open question of that id
	CodeBadField   = "bad-field"
	codeInternal   = "internal"
)

func errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ValidCode reports whether s is spelled as a room code.
func ValidCode(s string) bool {
	if len(s) != CodeLength {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune(codeAlphabet, c) {
			return false
		}
	}
	return true
}

// NormalizeCode reads a code as a person types it: any case, spaces and
// dashes ignored.
func NormalizeCode(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
}

func subject(code, what string) string { return "gradviz.class." + code + "." + what }

// Hub creates the rooms this process owns and joins pages to any room
// the broker reaches.
type Hub struct {
	broker Broker
	lim    Limits
	now    func() time.Time

	mu    sync.Mutex
	rooms map[string]*room
}

// NewHub returns a hub over b.
func NewHub(b Broker, lim Limits) *Hub {
	return &Hub{broker: b, lim: lim, now: time.Now, rooms: map[string]*room{}}
}

// Broker returns the hub's broker.
func (h *Hub) Broker() Broker { return h.broker }

// Rooms is the number of rooms this process owns.
func (h *Hub) Rooms() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms)
}

// room is one class, owned here.
type room struct {
	hub    *Hub
	code   string
	secret string
	unsub  func()

	mu       sync.Mutex
	closed   bool
	last     time.Time
	state    map[string]json.RawMessage
	seq      int64
	members  map[string]bool // member id → following
	question *question
	nextQ    int
	// membersAt is when the counts were last sent; membersTimer, when
	// not nil, sends them again.
	membersAt    time.Time
	membersTimer *time.Timer
}

type question struct {
	id       int
	prompt   string
	answers  map[string]float64 // member id → log10 guess
	revealed bool
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randomHex(bytes int) string {
	b := make([]byte, bytes)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Create makes a room owned here and returns its code and the secret
// that lets a page drive it.
func (h *Hub) Create(ctx context.Context) (code, secret string, err error) {
	h.mu.Lock()
	full := h.lim.MaxRooms > 0 && len(h.rooms) >= h.lim.MaxRooms
	h.mu.Unlock()
	if full {
		return "", "", errorf(CodeFull, "", "this server already has %d classes, its most (-class-max-rooms); close one or try later", h.lim.MaxRooms)
	}
	for range 10 {
		// The alphabet has 31 letters: a byte modulo 31 leans a little
		// to the first ones, which costs under 1% of the codes' space.
		code = randomString(codeAlphabet, CodeLength)
		if _, err := h.broker.Request(ctx, subject(code, "rpc"), []byte(`{"op":"ping"}`)); !errors.Is(err, ErrNoHandler) {
			continue // taken, or the broker cannot tell: another code
		}
		r := &room{hub: h, code: code, secret: randomHex(16), last: h.now(), state: map[string]json.RawMessage{}, members: map[string]bool{}}
		h.mu.Lock()
		if _, dup := h.rooms[code]; dup {
			h.mu.Unlock()
			continue
		}
		unsub, err := h.broker.Handle(subject(code, "rpc"), r.serve)
		if err != nil {
			h.mu.Unlock()
			continue
		}
		r.unsub = unsub
		h.rooms[code] = r
		h.mu.Unlock()
		return code, r.secret, nil
	}
	return "", "", errorf(codeInternal, "", "no free class code was found")
}

// ExpireIdle ends the rooms unused since before now−Idle and returns how
// many it ended.
func (h *Hub) ExpireIdle(now time.Time) int {
	if h.lim.Idle <= 0 {
		return 0
	}
	h.mu.Lock()
	var idle []*room
	for _, r := range h.rooms {
		r.mu.Lock()
		if now.Sub(r.last) >= h.lim.Idle {
			idle = append(idle, r)
		}
		r.mu.Unlock()
	}
	h.mu.Unlock()
	for _, r := range idle {
		r.end("idle")
	}
	return len(idle)
}

// Run expires idle rooms until ctx is done, then ends every room.
func (h *Hub) Run(ctx context.Context) {
	every := h.lim.Idle / 10
	if every < time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.CloseAll("shutdown")
			return
		case <-t.C:
			h.ExpireIdle(h.now())
		}
	}
}

// CloseAll ends every room owned here.
func (h *Hub) CloseAll(reason string) {
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	for _, r := range rooms {
		r.end(reason)
	}
}

// end closes the room: every page hears classClosed.
func (r *room) end(reason string) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.mu.Unlock()
	// The handler goes before the news: once a page hears classClosed,
	// a join with the code finds no room, on any replica.
	r.unsub()
	r.hub.mu.Lock()
	delete(r.hub.rooms, r.code)
	r.hub.mu.Unlock()
	r.mu.Lock()
	r.publishLocked("all", map[string]any{"type": "classClosed", "code": r.code, "reason": reason})
	r.mu.Unlock()
}

// rpc is a request to a room.
type rpc struct {
	Op       string                     `json:"op"`
	Member   string                     `json:"member,omitempty"`
	Secret   string                     `json:"secret,omitempty"`
	Follow   bool                       `json:"follow,omitempty"`
	State    map[string]json.RawMessage `json:"state,omitempty"`
	Question int                        `json:"question,omitempty"`
	Value    float64                    `json:"value,omitempty"`
	Prompt   string                     `json:"prompt,omitempty"`
}

// reply is a room's answer: an error, or the message for the page.
type reply struct {
	Err *Error          `json:"err,omitempty"`
	Msg json.RawMessage `json:"msg,omitempty"`
}

func encodeReply(msg any, err *Error) []byte {
	var rep reply
	if err != nil {
		rep.Err = err
	} else if msg != nil {
		rep.Msg, _ = json.Marshal(msg)
	}
	b, _ := json.Marshal(rep)
	return b
}

// serve answers one request on the room's subject.
func (r *room) serve(data []byte) []byte {
	var q rpc
	if err := json.Unmarshal(data, &q); err != nil {
		return encodeReply(nil, errorf(codeInternal, "", "a malformed request to the room"))
	}
	if q.Op == "ping" {
		return encodeReply(nil, nil)
	}
	teacherOps := []string{"teach", "state", "ask", "reveal", "close"}
	if slices.Contains(teacherOps, q.Op) && subtle.ConstantTimeCompare([]byte(q.Secret), []byte(r.secret)) != 1 {
		return encodeReply(nil, errorf(CodeNotTeacher, "secret", "only the teacher's page may do that in this class"))
	}
	if q.Op == "close" {
		r.end("closed")
		return encodeReply(nil, nil)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return encodeReply(nil, errorf(CodeNotFound, "code", "class %s has ended", r.code))
	}
	r.last = r.hub.now()
	switch q.Op {
	case "join":
		if _, ok := r.members[q.Member]; !ok {
			if max := r.hub.lim.MaxMembers; max > 0 && len(r.members) >= max {
				return encodeReply(nil, errorf(CodeFull, "code", "class %s is full: it takes %d students (-class-max-members)", r.code, max))
			}
			r.members[q.Member] = true
			r.publishMembersLocked()
		}
		return encodeReply(r.snapshotLocked("student"), nil)
	case "teach":
		return encodeReply(r.snapshotLocked("teacher"), nil)
	case "leave":
		if _, ok := r.members[q.Member]; ok {
			delete(r.members, q.Member)
			if qq := r.question; qq != nil && !qq.revealed {
				if _, had := qq.answers[q.Member]; had {
					delete(qq.answers, q.Member)
					r.publishAnswersLocked("teacher", "classAnswers")
				}
			}
			r.publishMembersLocked()
		}
		return encodeReply(nil, nil)
	case "follow":
		if _, ok := r.members[q.Member]; !ok {
			return encodeReply(nil, errorf(CodeNotFound, "code", "this page is not in class %s", r.code))
		}
		r.members[q.Member] = q.Follow
		r.publishMembersLocked()
		return encodeReply(map[string]any{"type": "classFollowing", "follow": q.Follow, "state": r.state, "seq": r.seq}, nil)
	case "state":
		delta := map[string]json.RawMessage{}
		for k, v := range q.State {
			if !slices.Contains(StateKeys, k) {
				return encodeReply(nil, errorf(CodeBadField, "state."+k, "state has no part %q; the parts are %s", k, strings.Join(StateKeys, ", ")))
			}
			delta[k] = v
		}
		for k, v := range delta {
			r.state[k] = v
		}
		r.seq++
		r.publishLocked("all", map[string]any{"type": "classUpdate", "seq": r.seq, "state": delta})
		return encodeReply(map[string]any{"type": "classSent", "seq": r.seq}, nil)
	case "ask":
		if utf8.RuneCountInString(q.Prompt) > maxPrompt {
			return encodeReply(nil, errorf(CodeBadField, "prompt", "prompt must be at most %d characters", maxPrompt))
		}
		r.nextQ++
		r.question = &question{id: r.nextQ, prompt: q.Prompt, answers: map[string]float64{}}
		r.publishLocked("all", map[string]any{"type": "classQuestion", "question": r.nextQ, "prompt": q.Prompt})
		r.publishAnswersLocked("teacher", "classAnswers")
		return encodeReply(map[string]any{"type": "classAsked", "question": r.nextQ}, nil)
	case "reveal":
		if r.question == nil {
			return encodeReply(nil, errorf(CodeNoQuestion, "question", "the class has no question to reveal"))
		}
		r.question.revealed = true
		r.publishAnswersLocked("all", "classRevealed")
		return encodeReply(nil, nil)
	case "answer":
		qq := r.question
		if _, ok := r.members[q.Member]; !ok {
			return encodeReply(nil, errorf(CodeNotFound, "code", "this page is not in class %s", r.code))
		}
		if qq == nil || qq.id != q.Question || qq.revealed {
			return encodeReply(nil, errorf(CodeNoQuestion, "question", "question %d is not open in this class", q.Question))
		}
		if math.IsNaN(q.Value) || q.Value < GuessMin || q.Value > GuessMax {
			return encodeReply(nil, errorf(CodeBadField, "value", "value must be %d..%d (the log10 of the guess), got %g", GuessMin, GuessMax, q.Value))
		}
		qq.answers[q.Member] = q.Value // one per student: a new answer replaces the last
		r.publishAnswersLocked("teacher", "classAnswers")
		return encodeReply(map[string]any{"type": "classAnswered", "question": qq.id, "value": q.Value}, nil)
	}
	return encodeReply(nil, errorf(codeInternal, "", "unknown room request %q", q.Op))
}

// Bin is one bar of the answers' histogram: the guesses from 10^Low to
// 10^(Low+1).
type Bin struct {
	Low   int `json:"low"`
	Count int `json:"count"`
}

// histogramLocked counts the answers by order of magnitude, lowest first.
func (r *room) histogramLocked() []Bin {
	counts := map[int]int{}
	for _, v := range r.question.answers {
		counts[int(math.Floor(v))]++
	}
	bins := make([]Bin, 0, len(counts))
	for low, n := range counts {
		bins = append(bins, Bin{Low: low, Count: n})
	}
	slices.SortFunc(bins, func(a, b Bin) int { return a.Low - b.Low })
	return bins
}

func (r *room) answersMsgLocked(kind string) map[string]any {
	return map[string]any{"type": kind, "question": r.question.id, "answered": len(r.question.answers), "members": len(r.members), "bins": r.histogramLocked()}
}

func (r *room) publishAnswersLocked(to, kind string) {
	r.publishLocked(to, r.answersMsgLocked(kind))
}

// membersEvery is how often, at most, a room tells its pages how many
// students it has: a class of 300 joining at once sends each page a few
// counts, not 300.
const membersEvery = 200 * time.Millisecond

// publishMembersLocked sends the counts now, or once membersEvery after
// the last time they were sent.
func (r *room) publishMembersLocked() {
	if r.membersTimer != nil {
		return // the counts go out when the timer fires
	}
	if wait := membersEvery - r.hub.now().Sub(r.membersAt); wait > 0 {
		r.membersTimer = time.AfterFunc(wait, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.membersTimer = nil
			if !r.closed {
				r.sendMembersLocked()
			}
		})
		return
	}
	r.sendMembersLocked()
}

func (r *room) sendMembersLocked() {
	r.membersAt = r.hub.now()
	following := 0
	for _, f := range r.members {
		if f {
			following++
		}
	}
	r.publishLocked("all", map[string]any{"type": "classMembers", "members": len(r.members), "following": following})
}

// publishLocked sends v on the room's subject "all" (every page) or
// "teacher". r.mu is held, so the room's messages keep their order.
func (r *room) publishLocked(to string, v any) {
	data, _ := json.Marshal(v)
	r.hub.broker.Publish(subject(r.code, to), data)
}

// snapshotLocked is what a joining page is sent: the teacher's state so
// far, the counts, and the open question.
func (r *room) snapshotLocked(role string) map[string]any {
	following := 0
	for _, f := range r.members {
		if f {
			following++
		}
	}
	m := map[string]any{"type": "classJoined", "code": r.code, "role": role, "state": r.state, "seq": r.seq, "members": len(r.members), "following": following}
	if q := r.question; q != nil {
		qm := map[string]any{"question": q.id, "prompt": q.prompt, "revealed": q.revealed}
		if role == "teacher" || q.revealed {
			qm["answered"], qm["bins"] = len(q.answers), r.histogramLocked()
		}
		m["question"] = qm
	}
	return m
}

// Member is one page in a room, on any replica.
type Member struct {
	hub    *Hub
	code   string
	id     string
	secret string // the teacher's; empty for a student
	mu     sync.Mutex
	unsubs []func()
	left   bool
}

// Code is the room's code.
func (m *Member) Code() string { return m.code }

// Teacher reports whether the page drives the room.
func (m *Member) Teacher() bool { return m.secret != "" }

// Join puts a page in room code: as its teacher when secret is the
// room's, else as a student. deliver gets every message the room sends
// the page, encoded for it; it must not block. The returned message is
// the page's classJoined.
func (h *Hub) Join(ctx context.Context, code, secret string, deliver func([]byte)) (*Member, []byte, error) {
	m := &Member{hub: h, code: code, id: randomHex(12), secret: secret}
	op := "join"
	if secret != "" {
		op = "teach"
	}
	// Subscribe first, so nothing sent after the snapshot is missed; a
	// message sent before it is older than the snapshot, and the page
	// skips updates whose seq it has.
	subs := []string{"all"}
	if secret != "" {
		subs = append(subs, "teacher")
	}
	for _, s := range subs {
		u, err := h.broker.Subscribe(subject(code, s), deliver)
		if err != nil {
			m.unsubscribe()
			return nil, nil, errorf(codeInternal, "", "the class broker failed: %v", err)
		}
		m.unsubs = append(m.unsubs, u)
	}
	msg, err := m.do(ctx, rpc{Op: op})
	if err != nil {
		m.unsubscribe()
		return nil, nil, err
	}
	return m, msg, nil
}

func (m *Member) unsubscribe() {
	for _, u := range m.unsubs {
		u()
	}
	m.unsubs = nil
}

// do sends one request to the room and returns its message for the page.
func (m *Member) do(ctx context.Context, q rpc) ([]byte, error) {
	q.Member, q.Secret = m.id, m.secret
	data, _ := json.Marshal(q)
	out, err := m.hub.broker.Request(ctx, subject(m.code, "rpc"), data)
	if errors.Is(err, ErrNoHandler) {
		return nil, errorf(CodeNotFound, "code", "no class has the code %s; it may have ended", m.code)
	}
	if err != nil {
		return nil, errorf(codeInternal, "", "the class broker failed: %v", err)
	}
	var rep reply
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, errorf(codeInternal, "", "a malformed answer from the room")
	}
	if rep.Err != nil {
		return nil, rep.Err
	}
	return rep.Msg, nil
}

// SetState sends the teacher's changed parts of its view.
func (m *Member) SetState(ctx context.Context, state map[string]json.RawMessage) ([]byte, error) {
	return m.do(ctx, rpc{Op: "state", State: state})
}

// Follow says whether the student follows the teacher; the answer
// carries the teacher's whole state.
func (m *Member) Follow(ctx context.Context, follow bool) ([]byte, error) {
	return m.do(ctx, rpc{Op: "follow", Follow: follow})
}

// Ask opens a new question.
func (m *Member) Ask(ctx context.Context, prompt string) ([]byte, error) {
	return m.do(ctx, rpc{Op: "ask", Prompt: prompt})
}

// Answer sends the student's guess, the log10 of a value.
func (m *Member) Answer(ctx context.Context, question int, value float64) ([]byte, error) {
	return m.do(ctx, rpc{Op: "answer", Question: question, Value: value})
}

// Reveal shows the answers to the room.
func (m *Member) Reveal(ctx context.Context) ([]byte, error) { return m.do(ctx, rpc{Op: "reveal"}) }

// Close ends the room.
func (m *Member) Close(ctx context.Context) error {
	_, err := m.do(ctx, rpc{Op: "close"})
	return err
}

// Leave takes the page out of the room; a second call does nothing.
func (m *Member) Leave(ctx context.Context) {
	m.mu.Lock()
	if m.left {
		m.mu.Unlock()
		return
	}
	m.left = true
	m.mu.Unlock()
	m.unsubscribe()
	if m.secret == "" {
		m.do(ctx, rpc{Op: "leave"})
	}
}

// Alive asks the room whether it still exists: an error with
// CodeNotFound when its process has gone (or it ended unheard).
func (m *Member) Alive(ctx context.Context) error {
	_, err := m.do(ctx, rpc{Op: "ping"})
	return err
}
