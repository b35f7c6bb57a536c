// Command loadgen puts a classroom's load on a gradviz server on this
// machine: N websocket clients, each changing settings at random and now
// and then dragging a slider (a burst of changes at 60 Hz), each waiting
// for the answer to its newest request. It prints how many newest
// requests were answered, their latency, and the server's peak memory,
// and exits 1 if any newest request went unanswered.
//
// With -heavy N, N hostile clients run beside them, in turn training
// maximal models, dragging maximal gradient maps, asking for the most
// expensive 4K export and flooding messages; the figures are the
// measured clients'.
//
// With -class N, one teacher starts a class and N students follow it
// (on -student-url, another replica, when given); it prints how many of
// the teacher's updates reached the students and how fast, and exits 1
// if any did not.
//
// It refuses any target that is not loopback (127.0.0.0/8 or ::1), and
// bounds its clients (2000) and its duration (10 minutes).
//
//	go build -o /tmp/gradviz ./cmd/server
//	go run ./cmd/loadgen -spawn /tmp/gradviz -clients 200 -duration 30s
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds of a run: this is a test tool for one machine, not a flood.
const (
	maxClients  = 2000
	maxHeavy    = 200
	maxDuration = 10 * time.Minute
	maxRate     = 20 // interactions per second per client
	// rampUp spreads the connections over this time, as a class opening
	// a link over a couple of seconds.
	rampUp = 2 * time.Second
	// spawnWait bounds the wait for a spawned server to listen.
	spawnWait = 10 * time.Second
	// stopWait bounds the wait for a spawned server to exit on SIGTERM.
	stopWait = 10 * time.Second
	// rssSample is how often the server's resident memory is sampled.
	rssSample = 250 * time.Millisecond
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// errUnanswered fails a run in which a newest request got no answer.
var errUnanswered = errors.New("some newest requests were not answered")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "ws://127.0.0.1:8080/ws", "the server's websocket, on this machine (ws:// or http://)")
	clients := fs.Int("clients", 200, fmt.Sprintf("websocket clients, 1..%d", maxClients))
	duration := fs.Duration("duration", 30*time.Second, "how long the clients interact, at most 10m")
	p := params{}
	fs.Float64Var(&p.rate, "rate", 1, "interactions a second per client, on average (a change, or a drag)")
	fs.Float64Var(&p.burstProb, "burst-prob", 0.3, "share of interactions that are slider drags")
	fs.IntVar(&p.burstMin, "burst-min", 5, "messages in a drag, at least")
	fs.IntVar(&p.burstMax, "burst", 20, "messages in a drag, at most")
	fs.DurationVar(&p.burstGap, "burst-gap", time.Second/60, "time between the messages of a drag")
	fs.IntVar(&p.maxT, "max-T", 500, "longest sequence a client asks for")
	fs.IntVar(&p.maxH, "max-H", 64, "most hidden units a client asks for")
	fs.DurationVar(&p.timeout, "timeout", 10*time.Second, "wait for the answer to a newest request before counting it unanswered")
	fs.Float64Var(&p.verify, "verify", 0.05, "share of answers decoded in full and checked against the request")
	seed := fs.Uint64("seed", 1, "random seed of the clients' choices")
	spawn := fs.String("spawn", "", "start this gradviz binary on 127.0.0.1 (overrides -url) and measure its memory")
	serverArgs := fs.String("server-args", "", "more flags for the -spawn server, space-separated")
	pid := fs.Int("pid", 0, "measure the memory of this running server process (Linux /proc)")
	classN := fs.Int("class", 0, fmt.Sprintf("class mode: one teacher and this many students in one class, 1..%d, instead of the clients", maxClients))
	classRate := fs.Float64("class-rate", 5, "class mode: the teacher's changes a second")
	studentURL := fs.String("student-url", "", "class mode: the students' server, another replica sharing -pubsub with -url (default -url)")
	heavy := fs.Int("heavy", 0, fmt.Sprintf("hostile clients beside the measured ones, 0..%d: maximal training, map drags, 4K exports and message floods, in turn", maxHeavy))
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the usage is printed
		}
		return err
	}
	switch {
	case *clients < 1 || *clients > maxClients:
		return fmt.Errorf("-clients must be 1..%d, got %d", maxClients, *clients)
	case *duration <= 0 || *duration > maxDuration:
		return fmt.Errorf("-duration must be more than 0 and at most %s, got %s", maxDuration, *duration)
	case !(p.rate > 0 && p.rate <= maxRate):
		return fmt.Errorf("-rate must be more than 0 and at most %d, got %g", maxRate, p.rate)
	case !(p.burstProb >= 0 && p.burstProb <= 1):
		return fmt.Errorf("-burst-prob must be 0..1, got %g", p.burstProb)
	case p.burstMin < 1 || p.burstMax < p.burstMin || p.burstMax > 100:
		return fmt.Errorf("-burst-min and -burst must satisfy 1 ≤ burst-min ≤ burst ≤ 100, got %d and %d", p.burstMin, p.burstMax)
	case p.maxT < 1 || p.maxH < 1:
		return fmt.Errorf("-max-T and -max-H must be at least 1, got %d and %d", p.maxT, p.maxH)
	case p.timeout <= 0:
		return fmt.Errorf("-timeout must be more than 0, got %s", p.timeout)
	case *heavy < 0 || *heavy > maxHeavy:
		return fmt.Errorf("-heavy must be 0..%d, got %d", maxHeavy, *heavy)
	case *classN < 0 || *classN > maxClients:
		return fmt.Errorf("-class must be 0..%d, got %d", maxClients, *classN)
	case !(*classRate > 0 && *classRate <= 50):
		return fmt.Errorf("-class-rate must be more than 0 and at most 50, got %g", *classRate)
	case *spawn != "" && *pid != 0:
		return errors.New("-spawn and -pid: give one or the other")
	}

	var server *spawned
	if *spawn != "" {
		var err error
		server, err = spawnServer(ctx, *spawn, strings.Fields(*serverArgs), stderr)
		if err != nil {
			return err
		}
		defer server.stop(stderr)
		*rawURL = server.url
		*pid = server.cmd.Process.Pid
	}
	tgt, err := loopbackTarget(ctx, *rawURL, net.DefaultResolver)
	if err != nil {
		return err
	}

	var rss *rssWatch
	if *pid != 0 {
		rss = watchRSS(*pid)
		defer rss.stop()
	}
	if *classN > 0 {
		students := tgt
		if *studentURL != "" {
			if students, err = loopbackTarget(ctx, *studentURL, net.DefaultResolver); err != nil {
				return err
			}
		}
		err := runClass(ctx, tgt, students, *classN, *classRate, *duration, stdout)
		if rss != nil {
			peak, hwm := rss.stop()
			fmt.Fprintf(stdout, "server memory    RSS peak %.1f MB sampled, VmHWM %.1f MB (pid %d)\n", float64(peak)/(1<<20), float64(hwm)/(1<<20), *pid)
		}
		return err
	}

	fmt.Fprintf(stdout, "gradviz load: %d clients for %s against %s (T ≤ %d, H ≤ %d; %g interactions/s per client, %.0f%% drags of %d–%d changes %s apart)\n",
		*clients, *duration, tgt.url, p.maxT, p.maxH, p.rate, p.burstProb*100, p.burstMin, p.burstMax, p.burstGap.Round(100*time.Microsecond))
	start := time.Now()
	end := start.Add(rampUp + *duration)
	all := make([]*client, *clients)
	var wg sync.WaitGroup
	for i := range all {
		all[i] = newClient(i, tgt, p, *seed)
		wg.Add(1)
		// Exits when the client's time is up, its connection fails, or
		// ctx is cancelled.
		go func(c *client, delay time.Duration) {
			defer wg.Done()
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			c.run(ctx, end)
		}(all[i], rampUp*time.Duration(i)/time.Duration(*clients))
	}
	var counts heavyCounts
	for i := range *heavy {
		kind := heavyKinds[i%len(heavyKinds)]
		wg.Add(1)
		// Exits at end or when ctx is cancelled.
		go func() {
			defer wg.Done()
			runHeavy(ctx, kind, tgt, end, &counts)
		}()
	}
	wg.Wait()
	took := time.Since(start)

	sum := summarize(all)
	sum.print(stdout, took)
	if *heavy > 0 {
		each := strconv.Itoa(*heavy / len(heavyKinds))
		if *heavy%len(heavyKinds) != 0 {
			each += "–" + strconv.Itoa(*heavy/len(heavyKinds)+1)
		}
		fmt.Fprintf(stdout, "heavy clients    %d (%s each of %v): %s\n", *heavy, each, heavyKinds, &counts)
		if sharedAddress.Load() {
			fmt.Fprintf(stdout, "                 from the measured clients' address (%s could not be bound, or the target is IPv6): the server's per-address limits counted them together\n", hostileFrom.IP)
		}
	}
	if m, err := fetchMetrics(tgt.metricsURL()); err == nil {
		fmt.Fprintf(stdout, "server runs      %d completed, %d cancelled (%d mid-run, %.1f s of work discarded), %d failed; run p50 %.1f ms, p99 %.1f ms; queue wait p99 %.1f ms; errors %v\n",
			m.Runs.Completed, m.Runs.Cancelled, m.Runs.CancelledMidRun, m.Runs.WastedSeconds, m.Runs.Failed,
			m.Runs.LatencyMs.P50, m.Runs.LatencyMs.P99, m.Runs.QueueMs.P99, m.Errors)
	}
	if rss != nil {
		peak, hwm := rss.stop()
		fmt.Fprintf(stdout, "server memory    RSS peak %.1f MB sampled, VmHWM %.1f MB (pid %d)\n", float64(peak)/(1<<20), float64(hwm)/(1<<20), *pid)
	}
	for i, b := range sum.bad {
		if i == 10 {
			fmt.Fprintf(stdout, "… and %d more\n", len(sum.bad)-10)
			break
		}
		fmt.Fprintln(stdout, "fault:", b)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if sum.connectErrs > 0 {
		return fmt.Errorf("%d of %d clients could not connect", sum.connectErrs, *clients)
	}
	if sum.newest != sum.answered {
		return fmt.Errorf("%w: %d of %d", errUnanswered, sum.newest-sum.answered, sum.newest)
	}
	return nil
}

// summary adds up the clients' stats.
type summary struct {
	clients, connected, connectErrs int
	sent, newest, answered, errored int
	rateLimited                     int
	latencies, dragLat              []time.Duration
	bad                             []string
}

func summarize(all []*client) summary {
	s := summary{clients: len(all)}
	for _, c := range all {
		st := c.stats
		if st.connected {
			s.connected++
		} else if st.connectErr != nil {
			s.connectErrs++
			s.bad = append(s.bad, fmt.Sprintf("client %d: connect: %v", c.id, st.connectErr))
		}
		s.sent += st.sent
		s.newest += st.newest
		s.answered += st.answered
		s.errored += st.errored
		s.rateLimited += st.rateLimited
		s.latencies = append(s.latencies, st.latencies...)
		s.dragLat = append(s.dragLat, st.dragLat...)
		s.bad = append(s.bad, st.bad...)
	}
	slices.Sort(s.latencies)
	slices.Sort(s.dragLat)
	return s
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func (s summary) print(w io.Writer, took time.Duration) {
	pct := 0.0
	if s.newest > 0 {
		pct = 100 * float64(s.answered) / float64(s.newest)
	}
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
	}
	fmt.Fprintf(w, "clients          %d connected of %d, ran %s\n", s.connected, s.clients, took.Round(time.Millisecond))
	fmt.Fprintf(w, "requests         %d messages sent (%.0f/s), %d newest\n", s.sent, float64(s.sent)/took.Seconds(), s.newest)
	fmt.Fprintf(w, "newest answered  %d of %d (%.2f%%), %d with an error; %d rate-limit errors\n", s.answered, s.newest, pct, s.errored, s.rateLimited)
	fmt.Fprintf(w, "latency          p50 %s  p90 %s  p99 %s  max %s (last message of an interaction to its answer)\n",
		ms(percentile(s.latencies, 0.50)), ms(percentile(s.latencies, 0.90)), ms(percentile(s.latencies, 0.99)), ms(percentile(s.latencies, 1)))
	fmt.Fprintf(w, "  of drags       p50 %s  p90 %s  p99 %s  max %s (%d drags)\n",
		ms(percentile(s.dragLat, 0.50)), ms(percentile(s.dragLat, 0.90)), ms(percentile(s.dragLat, 0.99)), ms(percentile(s.dragLat, 1)), len(s.dragLat))
}

// serverMetrics is the part of GET /metrics the summary shows.
type serverMetrics struct {
	Runs struct {
		Completed, Cancelled, Failed int64
		CancelledMidRun              int64
		WastedSeconds                float64
		LatencyMs                    struct{ P50, P99 float64 } `json:"latencyMs"`
		QueueMs                      struct{ P99 float64 }      `json:"queueWaitMs"`
	} `json:"runs"`
	Errors map[string]int64 `json:"errors"`
}

func fetchMetrics(u string) (*serverMetrics, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m serverMetrics
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

// spawned is a server this run started.
type spawned struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
}

// spawnServer starts bin on a free loopback port and waits for the line
// that says where it listens.
func spawnServer(ctx context.Context, bin string, extra []string, stderr io.Writer) (*spawned, error) {
	args := append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("-spawn %s: %w", bin, err)
	}
	s := &spawned{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	// Exits when the server closes its stdout, at exit.
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	// Exits when the server does.
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	const prefix = "gradviz listening on http://"
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, prefix) {
			s.stop(stderr)
			return nil, fmt.Errorf("-spawn %s: first line %q, want %q…", bin, line, prefix)
		}
		s.url = "ws://" + strings.TrimPrefix(line, prefix) + "/ws"
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("-spawn %s: exited before listening", bin)
	case <-time.After(spawnWait):
	case <-ctx.Done():
	}
	s.stop(stderr)
	return nil, fmt.Errorf("-spawn %s: not listening after %s", bin, spawnWait)
}

// stop ends the server with SIGTERM, or kills it after stopWait.
func (s *spawned) stop(stderr io.Writer) {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopWait):
		fmt.Fprintln(stderr, "loadgen: the server did not stop on SIGTERM; killing it")
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// rssWatch samples a process's resident memory until stopped.
type rssWatch struct {
	pid  int
	done chan struct{}
	peak chan int64
	once sync.Once
	last struct{ peak, hwm int64 }
}

func watchRSS(pid int) *rssWatch {
	w := &rssWatch{pid: pid, done: make(chan struct{}), peak: make(chan int64, 1)}
	// Exits when stop is called.
	go func() {
		var peak int64
		tick := time.NewTicker(rssSample)
		defer tick.Stop()
		for {
			if rss, _, err := readStatus(pid); err == nil {
				peak = max(peak, rss)
			}
			select {
			case <-w.done:
				w.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// stop ends the sampling and returns the peak sampled VmRSS and the
// kernel's VmHWM (the peak over the process's life), in bytes.
func (w *rssWatch) stop() (peak, hwm int64) {
	w.once.Do(func() {
		_, hwm, _ := readStatus(w.pid)
		close(w.done)
		w.last.peak, w.last.hwm = <-w.peak, hwm
	})
	return w.last.peak, w.last.hwm
}

// readStatus reads VmRSS and VmHWM from /proc/PID/status, in bytes.
func readStatus(pid int) (rss, hwm int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}
