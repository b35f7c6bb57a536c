package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Class mode (-class N): one teacher starts a class and N students join
// it (on -student-url, another replica, when given); the teacher then
// changes its Gain -class-rate times a second. Each update carries its
// send time, so every student measures how long the update took to reach
// it. The run fails unless every student got every update.

// classRamp spreads the joins of 300 students (fewer take a share of
// it): a class opening the link, within the server's default HTTP and
// join bursts.
const classRamp = 5 * time.Second

// dialWS opens a websocket to t and reads its hello.
func dialWS(ctx context.Context, t *target) (*websocket.Conn, error) {
	dialer := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, t.dial)
		},
	}
	conn, _, err := dialer.DialContext(ctx, t.url.String(), nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := conn.ReadMessage(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading hello: %w", err)
	}
	return conn, nil
}

// classMsg is the part of a class message loadgen reads.
type classMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	State   struct {
		View *struct {
			N    int   `json:"n"`
			Sent int64 `json:"sent"`
		} `json:"view"`
	} `json:"state"`
}

// readUntil reads messages until one of type kind; an error message
// fails.
func readUntil(conn *websocket.Conn, kind string, wait time.Duration) (classMsg, error) {
	conn.SetReadDeadline(time.Now().Add(wait))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return classMsg{}, err
		}
		var m classMsg
		json.Unmarshal(data, &m)
		if m.Type == kind {
			return m, nil
		}
		if m.Type == "error" {
			return m, errors.New(m.Message)
		}
	}
}

// student is one follower's record.
type student struct {
	got       []bool // by update number
	latencies []time.Duration
	err       error
}

func runClass(ctx context.Context, teacherT, studentT *target, n int, rate float64, duration time.Duration, stdout io.Writer) error {
	teacher, err := dialWS(ctx, teacherT)
	if err != nil {
		return fmt.Errorf("teacher: %w", err)
	}
	defer teacher.Close()
	teacher.WriteMessage(websocket.TextMessage, []byte(`{"type":"classStart"}`))
	started, err := readUntil(teacher, "classStarted", 10*time.Second)
	if err != nil {
		return fmt.Errorf("teacher: classStart: %w", err)
	}
	code := started.Code
	updates := int(rate * duration.Seconds())
	fmt.Fprintf(stdout, "gradviz class load: 1 teacher on %s, %d students on %s, %d updates at %g/s\n", teacherT.url, n, studentT.url, updates, rate)

	all := make([]*student, n)
	var joined sync.WaitGroup
	var done sync.WaitGroup
	var joinedCount atomic.Int64
	for i := range all {
		st := &student{got: make([]bool, updates)}
		all[i] = st
		joined.Add(1)
		done.Add(1)
		// Exits when the last update has arrived or its wait ran out.
		go func(delay time.Duration) {
			defer done.Done()
			once := sync.OnceFunc(joined.Done)
			defer once()
			time.Sleep(delay)
			conn, err := dialWS(ctx, studentT)
			if err != nil {
				st.err = err
				return
			}
			defer conn.Close()
			conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"classJoin","code":"`+code+`"}`))
			if _, err := readUntil(conn, "classJoined", 10*time.Second); err != nil {
				st.err = fmt.Errorf("join: %w", err)
				return
			}
			joinedCount.Add(1)
			once()
			seen := 0
			for seen < updates {
				m, err := readUntil(conn, "classUpdate", duration+30*time.Second)
				if err != nil {
					st.err = fmt.Errorf("after %d updates: %w", seen, err)
					return
				}
				if v := m.State.View; v != nil && v.N >= 0 && v.N < updates && !st.got[v.N] {
					st.got[v.N] = true
					st.latencies = append(st.latencies, time.Since(time.Unix(0, v.Sent)))
					seen++
				}
			}
		}(classRamp * time.Duration(i) / time.Duration(max(n, 300)))
	}
	joined.Wait()
	// The teacher's answers are read and dropped, so its queue drains;
	// the reader exits when the teacher's connection closes.
	go func() {
		teacher.SetReadDeadline(time.Time{})
		for {
			if _, _, err := teacher.ReadMessage(); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	for k := range updates {
		<-tick.C
		gain := 0.5 + float64(k%40)*0.05
		msg := fmt.Sprintf(`{"type":"classState","state":{"settings":{"gain":%g},"view":{"n":%d,"sent":%d}}}`, gain, k, time.Now().UnixNano())
		if err := teacher.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			tick.Stop()
			return fmt.Errorf("teacher: %w", err)
		}
	}
	tick.Stop()
	done.Wait()
	took := time.Since(start)

	var lat []time.Duration
	delivered, failed := 0, 0
	var firstErr error
	for _, st := range all {
		for _, g := range st.got {
			if g {
				delivered++
			}
		}
		lat = append(lat, st.latencies...)
		if st.err != nil {
			failed++
			if firstErr == nil {
				firstErr = st.err
			}
		}
	}
	slices.Sort(lat)
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
	}
	want := updates * n
	fmt.Fprintf(stdout, "students         %d joined of %d, ran %s\n", joinedCount.Load(), n, took.Round(time.Millisecond))
	fmt.Fprintf(stdout, "updates          %d delivered of %d (%.2f%%)\n", delivered, want, 100*float64(delivered)/float64(max(want, 1)))
	fmt.Fprintf(stdout, "latency          p50 %s  p90 %s  p99 %s  max %s (teacher's send to a student's read)\n",
		ms(percentile(lat, 0.5)), ms(percentile(lat, 0.9)), ms(percentile(lat, 0.99)), ms(percentile(lat, 1)))
	if failed > 0 {
		return fmt.Errorf("%d students failed, the first: %v", failed, firstErr)
	}
	if delivered != want {
		return fmt.Errorf("%d of %d updates not delivered", want-delivered, want)
	}
	return nil
}
