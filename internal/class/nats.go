package class

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
)

// NATS is the Broker of processes that share a NATS server: a room
// created by one is joined from any.
type NATS struct{ nc *nats.Conn }

// DialNATS connects to the NATS server at addr (nats://HOST:PORT). The
// connection reconnects by itself when the server comes back.
func DialNATS(addr, name string) (*NATS, error) {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
		return nil, fmt.Errorf("pubsub %q: want nats://HOST:PORT", addr)
	}
	nc, err := nats.Connect(addr, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("pubsub %s: %w", u.Host, err)
	}
	return &NATS{nc: nc}, nil
}

// Publish implements Broker.
func (n *NATS) Publish(subject string, data []byte) error { return n.nc.Publish(subject, data) }

// Subscribe implements Broker. NATS calls fn for one subscription on one
// goroutine, in the order one publisher published.
func (n *NATS) Subscribe(subject string, fn func([]byte)) (func(), error) {
	sub, err := n.nc.Subscribe(subject, func(m *nats.Msg) { fn(m.Data) })
	if err != nil {
		return nil, err
	}
	return func() { sub.Unsubscribe() }, nil
}

// Handle implements Broker.
func (n *NATS) Handle(subject string, fn func([]byte) []byte) (func(), error) {
	sub, err := n.nc.Subscribe(subject, func(m *nats.Msg) { m.Respond(fn(m.Data)) })
	if err != nil {
		return nil, err
	}
	// The handler is in place at the server before Create answers.
	if err := n.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, err
	}
	// The unsubscription reaches the server before this returns, so a
	// request sent after it finds no responder instead of a handler
	// that is gone.
	return func() {
		sub.Unsubscribe()
		n.nc.FlushTimeout(2 * time.Second)
	}, nil
}

// Request implements Broker: no responder is ErrNoHandler.
func (n *NATS) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	m, err := n.nc.RequestWithContext(ctx, subject, data)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, ErrNoHandler
	}
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

// Close implements Broker.
func (n *NATS) Close() { n.nc.Close() }
