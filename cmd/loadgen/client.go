package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// Client timing.
const (
	// writeWait bounds one write to the server.
	writeWait = 5 * time.Second
	// maxThink caps a client's pause between interactions, in units of
	// the mean pause.
	maxThink = 5
	// envelopeLen is how much of a server message is scanned for its
	// type and id; the server writes both first.
	envelopeLen = 64
)

// params are the load a client produces.
type params struct {
	rate      float64       // interactions a second
	burstProb float64       // share of interactions that are slider drags
	burstMin  int           // messages in a drag, at least
	burstMax  int           // and at most
	burstGap  time.Duration // between the messages of a drag: 60 Hz input events
	maxT      int
	maxH      int
	timeout   time.Duration // for the answer to the newest request
	verify    float64       // share of answers decoded in full and checked
}

// clientStats is what one client measured.
type clientStats struct {
	connected   bool
	connectErr  error
	sent        int             // messages
	newest      int             // requests that were the newest of an interaction
	answered    int             // of those, answered (a profile or an error)
	errored     int             // of those, answered with an error
	rateLimited int             // "too many messages" errors
	latencies   []time.Duration // last message of an interaction to its answer
	dragLat     []time.Duration // the same, for drags only
	bad         []string        // answers that failed verification, and other faults
}

// client is one simulated student.
type client struct {
	id     int
	target *target
	p      params
	rng    *rand.Rand
	conn   *websocket.Conn
	nextID int64
	buf    bytes.Buffer // the last message read, reused so the generator costs little CPU
	stats  clientStats
}

func newClient(id int, t *target, p params, seed uint64) *client {
	return &client{id: id, target: t, p: p, rng: rand.New(rand.NewPCG(seed, uint64(id)))}
}

// run connects, then interacts until end; an interaction in progress at
// end is finished (or times out) first.
func (c *client) run(ctx context.Context, end time.Time) {
	dialer := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		// Always the checked loopback address, whatever the URL's host
		// would resolve to now.
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, c.target.dial)
		},
	}
	conn, _, err := dialer.DialContext(ctx, c.target.url.String(), nil)
	if err != nil {
		c.stats.connectErr = err
		return
	}
	c.conn = conn
	c.stats.connected = true
	defer conn.Close()
	if _, _, err := c.read(time.Now().Add(c.p.timeout)); err != nil { // hello
		c.fault("reading hello: %v", err)
		return
	}
	for ctx.Err() == nil {
		think := time.Duration(math.Min(c.rng.ExpFloat64(), maxThink) / c.p.rate * float64(time.Second))
		if time.Now().Add(think).After(end) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(think):
		}
		if err := c.interact(); err != nil {
			c.fault("%v", err)
			return
		}
	}
}

func (c *client) fault(format string, args ...any) {
	c.stats.bad = append(c.stats.bad, fmt.Sprintf("client %d: ", c.id)+fmt.Sprintf(format, args...))
}

// setting is one request's settings, as the page would send them.
type setting struct {
	Cell      string  `json:"cell"`
	Act       string  `json:"act"`
	T         int     `json:"T"`
	H         int     `json:"H"`
	Init      string  `json:"init"`
	Gain      float64 `json:"gain"`
	Clip      string  `json:"clip"`
	Threshold float64 `json:"threshold"`
	Loss      string  `json:"loss"`
	Seed      int     `json:"seed"`
	Bidir     bool    `json:"bidir"`
}

var (
	cells = []string{"rnn", "rnn", "lstm", "gru"} // the RNN is the lesson's subject
	acts  = []string{"sigmoid", "tanh", "relu", "linear"}
	inits = []string{"gaussian", "uniform", "orthogonal", "identity", "xavier", "he"}
	clips = []string{"none", "global-norm", "step-norm", "step-value"}
	hs    = []int{4, 8, 16, 32, 48, 64, 96, 128, 256}
)

func pick[V any](rng *rand.Rand, from []V) V { return from[rng.IntN(len(from))] }

// randomSetting draws settings within the client's bounds.
func (c *client) randomSetting() setting {
	var h []int
	for _, v := range hs {
		if v <= c.p.maxH {
			h = append(h, v)
		}
	}
	if len(h) == 0 {
		h = []int{c.p.maxH}
	}
	loss := "last"
	if c.rng.IntN(4) == 0 {
		loss = "sum"
	}
	s := setting{
		Cell: pick(c.rng, cells), Act: pick(c.rng, acts),
		T: 1 + c.rng.IntN(c.p.maxT), H: pick(c.rng, h),
		Init: pick(c.rng, inits), Gain: math.Round((0.25+c.rng.Float64()*2)*100) / 100,
		Clip: pick(c.rng, clips), Threshold: pick(c.rng, []float64{0.1, 0.5, 1, 5}),
		Loss: loss, Seed: 1 + c.rng.IntN(100), Bidir: c.rng.IntN(10) == 0,
	}
	// A gated cell ignores the activation, and the server refuses
	// linear for one: ask for tanh, the default.
	if s.Cell != "rnn" {
		s.Act = "tanh"
	}
	return s
}

// drag moves one control step by step, as a slider drag does.
func (c *client) drag(s setting, steps int) []setting {
	out := make([]setting, steps)
	control := c.rng.IntN(2)
	dir := 1 - 2*c.rng.IntN(2)
	for i := range out {
		switch control {
		case 0: // Sequence length
			s.T = min(max(s.T+dir*(1+c.p.maxT/50), 1), c.p.maxT)
		case 1: // Gain
			s.Gain = math.Round(min(max(s.Gain+float64(dir)*0.05, 0), 3)*100) / 100
		}
		out[i] = s
	}
	return out
}

// interact sends one change, or a drag of several, and waits for the
// answer to the newest.
func (c *client) interact() error {
	s := c.randomSetting()
	changes := []setting{s}
	if c.rng.Float64() < c.p.burstProb {
		changes = c.drag(s, c.p.burstMin+c.rng.IntN(c.p.burstMax-c.p.burstMin+1))
	}
	var last time.Time
	for i, s := range changes {
		if i > 0 {
			time.Sleep(c.p.burstGap)
		}
		c.nextID++
		msg, err := configMessage(c.nextID, s)
		if err != nil {
			return err
		}
		c.conn.SetWriteDeadline(time.Now().Add(writeWait))
		if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		c.stats.sent++
		last = time.Now()
	}
	newest := c.nextID
	want := changes[len(changes)-1]
	c.stats.newest++
	deadline := last.Add(c.p.timeout)
	for {
		kind, id, data, err := c.readEnvelope(deadline)
		if err != nil {
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				c.fault("request %d: no answer within %s", newest, c.p.timeout)
			}
			return err
		}
		if kind == "error" && id == 0 {
			c.stats.rateLimited++
			continue
		}
		if id != newest {
			continue // a superseded request answered before the next arrived
		}
		took := time.Since(last)
		c.stats.latencies = append(c.stats.latencies, took)
		if len(changes) > 1 {
			c.stats.dragLat = append(c.stats.dragLat, took)
		}
		c.stats.answered++
		switch kind {
		case "profile":
			if c.rng.Float64() < c.p.verify {
				if err := verifyProfile(data, want); err != nil {
					c.fault("request %d: %v", newest, err)
				}
			}
		case "error":
			c.stats.errored++
			c.fault("request %d: error %.200s", newest, data)
		default:
			c.fault("request %d: answered with %q", newest, kind)
		}
		return nil
	}
}

func configMessage(id int64, s setting) ([]byte, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	head := `{"type":"config","id":` + strconv.FormatInt(id, 10) + ","
	return append([]byte(head), body[1:]...), nil
}

// read reads one message before deadline into the client's buffer; the
// bytes are valid until the next read.
func (c *client) read(deadline time.Time) (int, []byte, error) {
	c.conn.SetReadDeadline(deadline)
	kind, r, err := c.conn.NextReader()
	if err != nil {
		return 0, nil, err
	}
	c.buf.Reset()
	if _, err := c.buf.ReadFrom(r); err != nil {
		return 0, nil, err
	}
	return kind, c.buf.Bytes(), nil
}

// readEnvelope reads one message and its type and id. The server writes
// "type" and "id" first, so only the start of a large profile is
// scanned; anything else is decoded in full.
func (c *client) readEnvelope(deadline time.Time) (kind string, id int64, data []byte, err error) {
	_, data, err = c.read(deadline)
	if err != nil {
		return "", 0, nil, err
	}
	kind, id, ok := scanEnvelope(data)
	if !ok {
		var env struct {
			Type string `json:"type"`
			ID   int64  `json:"id"`
		}
		if err := json.Unmarshal(data, &env); err != nil {
			return "", 0, nil, fmt.Errorf("message %.100q: %w", data, err)
		}
		kind, id = env.Type, env.ID
	}
	return kind, id, data, nil
}

// scanEnvelope reads `{"type":"<kind>","id":<id>,` from the start of data.
func scanEnvelope(data []byte) (kind string, id int64, ok bool) {
	head := data[:min(len(data), envelopeLen)]
	rest, found := bytes.CutPrefix(head, []byte(`{"type":"`))
	if !found {
		return "", 0, false
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return "", 0, false
	}
	kind = string(rest[:end])
	rest, found = bytes.CutPrefix(rest[end:], []byte(`","id":`))
	if !found {
		return "", 0, false
	}
	end = bytes.IndexAny(rest, ",}")
	if end < 0 {
		return "", 0, false
	}
	id, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return "", 0, false
	}
	return kind, id, true
}

// verifyProfile decodes a profile in full and checks that it answers s.
func verifyProfile(data []byte, s setting) error {
	var m struct {
		Config  setting `json:"config"`
		Profile struct {
			DEds []any `json:"dE_ds"`
		} `json:"profile"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("profile is not JSON: %w", err)
	}
	if m.Config != s {
		return fmt.Errorf("profile config %+v, want %+v", m.Config, s)
	}
	if len(m.Profile.DEds) != s.T {
		return fmt.Errorf("profile dE_ds has %d steps, want T=%d", len(m.Profile.DEds), s.T)
	}
	return nil
}
