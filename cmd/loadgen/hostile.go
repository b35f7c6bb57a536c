package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// The heavy clients of -heavy: what a hostile student does to a shared
// server with the largest requests the default limits allow.
const (
	heavyTrain = "train" // trains three maximal models at once, again and again
	heavyMap   = "map"   // drags a maximal gradient map
	heavyImage = "image" // asks for the most expensive 4K export over HTTP
	heavyFlood = "flood" // sends maximal configs as fast as it can write
)

var heavyKinds = []string{heavyTrain, heavyMap, heavyImage, heavyFlood}

// heavyCounts is what the heavy clients did, added up.
type heavyCounts struct {
	sent, answers, refused, images, imageErrors, reconnects atomic.Int64
}

func (h *heavyCounts) String() string {
	return fmt.Sprintf("%d messages sent, %d answers read, %d refusals (rate limit, 429, 503), %d connections dropped or refused, %d images (%d failed)",
		h.sent.Load(), h.answers.Load(), h.refused.Load(), h.reconnects.Load(), h.images.Load(), h.imageErrors.Load())
}

// The heaviest settings the default limits allow for each kind.
const (
	heavyConfig   = `"cell":"lstm","T":2000,"H":256`
	heavyTrainMsg = `{"type":"train","id":%d,"task":"recall","T":500,"H":128,"batch":15,"iterations":20000,"every":1,"cells":["rnn","lstm","gru"]}`
	zigzag        = "T=2000&H=1&act=relu&gain=30&loss=sum&clip=step-norm&threshold=0.001"
)

// runHeavy runs one heavy client of kind until end or ctx, connecting
// again whenever the server drops it.
func runHeavy(ctx context.Context, kind string, t *target, end time.Time, counts *heavyCounts) {
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	if kind == heavyImage {
		heavyImages(ctx, t, counts)
		return
	}
	for ctx.Err() == nil {
		heavySession(ctx, kind, t, counts)
		counts.reconnects.Add(1)
		// Bounds this generator's own CPU on a shared machine.
		time.Sleep(20 * time.Millisecond)
	}
}

// heavySession is one connection of a heavy client.
func heavySession(ctx context.Context, kind string, t *target, counts *heavyCounts) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dialer := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialHostile(ctx, network, t)
		},
	}
	conn, resp, err := dialer.DialContext(ctx, t.url.String(), nil)
	if err != nil {
		if resp != nil {
			counts.refused.Add(1)
		}
		return err
	}
	defer conn.Close()
	// Exits when the deadline or the session's end closes the connection.
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	// The reader counts answers and refusals and keeps the socket drained
	// (a client that stops reading is simply dropped, which is no attack).
	// Exits when the connection closes.
	answered := make(chan struct{}, 1)
	go func() {
		defer cancel()
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			kind, _, _ := scanEnvelope(data)
			switch kind {
			case "error":
				counts.refused.Add(1)
			case "profile", "map", "trainDone", "done":
				counts.answers.Add(1)
				select {
				case answered <- struct{}{}:
				default:
				}
			}
		}
	}()
	write := func(msg string) error {
		conn.SetWriteDeadline(time.Now().Add(writeWait))
		if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			return err
		}
		counts.sent.Add(1)
		return nil
	}
	for id := 1; ctx.Err() == nil; id++ {
		var msg string
		switch kind {
		case heavyTrain:
			msg = fmt.Sprintf(heavyTrainMsg, id)
		case heavyMap:
			// A drag: a new seed every frame, each map the largest.
			msg = `{"type":"map","id":` + strconv.Itoa(id) + `,"rows":200,"seed":` + strconv.Itoa(id) + `,` + heavyConfig + `}`
		case heavyFlood:
			msg = `{"type":"config","id":` + strconv.Itoa(id) + `,"seed":` + strconv.Itoa(id) + `,` + heavyConfig + `}`
		}
		if err := write(msg); err != nil {
			return nil // the deadline or the server closed the connection
		}
		switch kind {
		case heavyTrain:
			// Start over every few seconds, as an impatient student does.
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		case heavyMap:
			select {
			case <-ctx.Done():
			case <-time.After(time.Second / 60):
			}
		}
	}
	return nil
}

// heavyImages asks for the most expensive export the limits allow, over
// and over, each request cancelled after a second as a client that gives
// up would.
func heavyImages(ctx context.Context, t *target, counts *heavyCounts) error {
	q := url.Values{"w": {"3840"}, "h": {"2160"}}
	base, _ := url.ParseQuery(zigzag)
	for k, v := range base {
		q[k] = v
	}
	for i := range 7 {
		q.Add("pin", zigzag+"&seed="+strconv.Itoa(i+2))
	}
	u := url.URL{Scheme: "http", Host: t.url.Host, Path: "/api/plot.png", RawQuery: q.Encode()}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialHostile(ctx, network, t)
		},
	}}
	defer client.CloseIdleConnections()
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				counts.images.Add(1)
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
				counts.refused.Add(1)
				// Bounds this generator's own CPU on a shared machine.
				time.Sleep(20 * time.Millisecond)
			default:
				counts.imageErrors.Add(1)
			}
		}
		cancel()
	}
	return nil
}

// hostileFrom is the address the hostile clients connect from when the
// target is on 127.0.0.0/8: to the server's per-address limits another
// machine of the room, so that refusing them does not refuse the
// measured clients, who connect from 127.0.0.1. Where it cannot be
// bound (some systems have 127.0.0.1 alone) or the target is ::1, the
// hostile clients connect from the measured clients' address, and
// sharedAddress is set for the report to say so.
var hostileFrom = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}

var sharedAddress atomic.Bool

func dialHostile(ctx context.Context, network string, t *target) (net.Conn, error) {
	if host, _, err := net.SplitHostPort(t.dial); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
			d := net.Dialer{LocalAddr: hostileFrom}
			conn, err := d.DialContext(ctx, network, t.dial)
			if !errors.Is(err, syscall.EADDRNOTAVAIL) {
				return conn, err
			}
		}
	}
	sharedAddress.Store(true)
	return (&net.Dialer{}).DialContext(ctx, network, t.dial)
}
