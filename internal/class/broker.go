// Package class keeps the rooms of class mode: a teacher's page drives,
// students' pages follow, and the teacher asks the room a question whose
// answers fill a histogram.
//
// A room lives in the memory of the process that created it (its owner)
// and is reached only through a Broker: every page, the teacher's
// included, joins by a request on the room's subject and hears the room
// on its broadcast subjects. With the in-memory broker that is one
// process; with the NATS broker a teacher on one replica and students on
// another are in the same room.
package class

import (
	"context"
	"errors"
	"sync"
)

// Broker carries a room's requests and broadcasts.
type Broker interface {
	// Publish sends data to every subscriber of subject, in the order
	// one publisher published.
	Publish(subject string, data []byte) error
	// Subscribe calls fn with each message published on subject until
	// the returned function is called. fn must not block.
	Subscribe(subject string, fn func(data []byte)) (unsubscribe func(), err error)
	// Handle answers the requests on subject with fn; one handler per
	// subject. Once unsubscribe returns, a new Request on subject gets
	// ErrNoHandler.
	Handle(subject string, fn func(data []byte) []byte) (unsubscribe func(), err error)
	// Request sends data to subject's handler and returns its answer;
	// ErrNoHandler when nobody handles the subject.
	Request(ctx context.Context, subject string, data []byte) ([]byte, error)
	// Close releases the broker's connection.
	Close()
}

// ErrNoHandler is Request's error when no handler answers: no room has
// the code.
var ErrNoHandler = errors.New("no handler for the subject")

// Memory is the Broker of one process.
type Memory struct {
	mu       sync.RWMutex
	subs     map[string]map[*memSub]struct{}
	handlers map[string]func([]byte) []byte
}

type memSub struct{ fn func([]byte) }

// NewMemory returns an in-memory broker.
func NewMemory() *Memory {
	return &Memory{subs: map[string]map[*memSub]struct{}{}, handlers: map[string]func([]byte) []byte{}}
}

// Publish delivers data to the subscribers at once, on the caller's
// goroutine.
func (m *Memory) Publish(subject string, data []byte) error {
	m.mu.RLock()
	fns := make([]func([]byte), 0, len(m.subs[subject]))
	for s := range m.subs[subject] {
		fns = append(fns, s.fn)
	}
	m.mu.RUnlock()
	for _, fn := range fns {
		fn(data)
	}
	return nil
}

// Subscribe implements Broker.
func (m *Memory) Subscribe(subject string, fn func([]byte)) (func(), error) {
	s := &memSub{fn: fn}
	m.mu.Lock()
	if m.subs[subject] == nil {
		m.subs[subject] = map[*memSub]struct{}{}
	}
	m.subs[subject][s] = struct{}{}
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.subs[subject], s)
		if len(m.subs[subject]) == 0 {
			delete(m.subs, subject)
		}
		m.mu.Unlock()
	}, nil
}

// Handle implements Broker.
func (m *Memory) Handle(subject string, fn func([]byte) []byte) (func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.handlers[subject]; ok {
		return nil, errors.New("subject already handled")
	}
	m.handlers[subject] = fn
	return func() {
		m.mu.Lock()
		delete(m.handlers, subject)
		m.mu.Unlock()
	}, nil
}

// Request implements Broker.
func (m *Memory) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	m.mu.RLock()
	fn := m.handlers[subject]
	m.mu.RUnlock()
	if fn == nil {
		return nil, ErrNoHandler
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return fn(data), nil
}

// Close implements Broker.
func (m *Memory) Close() {}

// Subscriptions counts the subscriptions and handlers open, for tests
// that check pages let go of rooms.
func (m *Memory) Subscriptions() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := len(m.handlers)
	for _, s := range m.subs {
		n += len(s)
	}
	return n
}
