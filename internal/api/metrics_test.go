package api

import (
	"sync"
	"testing"
	"time"
)

func TestMetricsEndpoint(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Workers = 3
	ts, _ := newTestServer(t, cfg)
	a, b := dial(t, ts, nil), dial(t, ts, nil)
	for id := 1; id <= 5; id++ {
		send(t, a, `{"type":"config","id":`+itoa(id)+`,"T":50}`)
		readUntil(t, a, "profile")
	}
	send(t, b, `{"type":"config","id":1,"T":0}`)
	readUntil(t, b, "error")
	getJSON(t, ts, "/api/profile?T=20")
	getJSON(t, ts, "/api/profile?cell=cnn")
	getJSON(t, ts, "/nope")

	snap := metricsOf(t, ts)
	if snap.Connections.Active != 2 || snap.Connections.Total != 2 || snap.Connections.Max != cfg.MaxConnections {
		t.Errorf("connections: got %+v, want 2 active, 2 in total, max %d", snap.Connections, cfg.MaxConnections)
	}
	r := snap.Runs
	if r.Completed != 6 || r.Workers != 3 || r.Running != 0 || r.Waiting != 0 {
		t.Errorf("runs: got %+v, want 6 completed on 3 idle workers", r)
	}
	if r.PerSecond <= 0 {
		t.Errorf("runs.perSecond: got %g, want > 0", r.PerSecond)
	}
	if r.LatencyMs.Samples != 6 || !(r.LatencyMs.P50 > 0 && r.LatencyMs.P50 <= r.LatencyMs.P99 && r.LatencyMs.P99 <= r.LatencyMs.Max) {
		t.Errorf("runs.latencyMs: got %+v, want 6 samples with 0 < p50 ≤ p99 ≤ max", r.LatencyMs)
	}
	if r.QueueMs.Samples != 6 {
		t.Errorf("runs.queueWaitMs: got %+v, want 6 samples", r.QueueMs)
	}
	for kind, want := range map[string]int64{errInvalid: 2, errNotFound: 1} {
		if got := snap.Errors[kind]; got != want {
			t.Errorf("errors[%s]: got %d, want %d", kind, got, want)
		}
	}
	if snap.UptimeSeconds <= 0 {
		t.Errorf("uptimeSeconds: got %g, want > 0", snap.UptimeSeconds)
	}
}

func TestRingPercentiles(t *testing.T) {
	for _, tc := range []struct {
		name          string
		samples       []time.Duration // in order of arrival
		p50, p99, max float64         // milliseconds
		n             int
	}{
		{"empty", nil, 0, 0, 0, 0},
		{"one", []time.Duration{3 * time.Millisecond}, 3, 3, 3, 1},
		{"1..100 ms", seq(1, 100), 50, 99, 100, 100},
		// Only the latest latencySamples count: 1..1024 ms are pushed out
		// by 1025..2048.
		{"wrapped", seq(1, 2*latencySamples), latencySamples + 512, latencySamples + 1014, 2 * latencySamples, latencySamples},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r ring
			for _, d := range tc.samples {
				r.add(d)
			}
			got := r.percentiles()
			if got.P50 != tc.p50 || got.P99 != tc.p99 || got.Max != tc.max || got.Samples != tc.n {
				t.Errorf("got p50 %g p99 %g max %g n %d, want %g %g %g %d", got.P50, got.P99, got.Max, got.Samples, tc.p50, tc.p99, tc.max, tc.n)
			}
		})
	}
}

func seq(from, to int) []time.Duration {
	var out []time.Duration
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*time.Millisecond)
	}
	return out
}

// TestMetricsConcurrent records and reads from many goroutines at once;
// go test -race checks it.
func TestMetricsConcurrent(t *testing.T) {
	_, app := newTestServer(t, DefaultConfig())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		// Exits after its 500 records.
		go func() {
			defer wg.Done()
			for i := range 500 {
				app.metrics.runEnded(kindProfile, prioInteractive, time.Millisecond, time.Duration(i)*time.Microsecond, runOutcome(i%4))
				app.metrics.countError(errInvalid)
				if i%50 == g {
					app.snapshot(time.Now())
				}
			}
		}()
	}
	wg.Wait()
	snap := app.snapshot(time.Now())
	if snap.Runs.Completed != 1000 || snap.Runs.Cancelled != 1000 || snap.Runs.Failed != 1000 || snap.Runs.Panicked != 1000 {
		t.Errorf("runs: got %+v, want 1000 of each outcome", snap.Runs)
	}
	if snap.Errors[errInvalid] != 4000 {
		t.Errorf("errors[invalid]: got %d, want 4000", snap.Errors[errInvalid])
	}
}
