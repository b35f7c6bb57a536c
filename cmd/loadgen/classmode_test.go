package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gradviz/internal/api"
	"gradviz/internal/class"
	"gradviz/internal/class/natstest"
)

// classStudents is how many students the class tests run: a few by
// default; GRADVIZ_CLASS_LOAD=300 measures a full class (the README's
// figures over two replicas).
func classStudents(t *testing.T) int {
	if v := os.Getenv("GRADVIZ_CLASS_LOAD"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return 20
}

func classServer(t *testing.T, broker class.Broker) *target {
	cfg := api.DefaultConfig()
	cfg.ClassBroker = broker
	srv := httptest.NewServer(api.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg))
	t.Cleanup(srv.Close)
	tgt, err := loopbackTarget(context.Background(), srv.URL, net.DefaultResolver)
	if err != nil {
		t.Fatal(err)
	}
	return tgt
}

func checkClassRun(t *testing.T, out string, err error, n int) {
	t.Helper()
	t.Log("\n" + out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{"students         " + strconv.Itoa(n) + " joined of " + strconv.Itoa(n), "(100.00%)", "latency          p50 "} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in\n%s", want, out)
		}
	}
}

// TestClassLoad: every student gets every update, on one server.
func TestClassLoad(t *testing.T) {
	n := classStudents(t)
	tgt := classServer(t, nil)
	var out bytes.Buffer
	err := runClass(context.Background(), tgt, tgt, n, 10, 2*time.Second, &out)
	checkClassRun(t, out.String(), err, n)
}

// TestClassLoadOverNATS: the teacher on one replica, the students on
// another, over a NATS server in this process.
func TestClassLoadOverNATS(t *testing.T) {
	n := classStudents(t)
	addr := natstest.Start(t)
	var tg [2]*target
	for i := range tg {
		b, err := class.DialNATS(addr, "replica")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		tg[i] = classServer(t, b)
	}
	var out bytes.Buffer
	err := runClass(context.Background(), tg[0], tg[1], n, 10, 2*time.Second, &out)
	checkClassRun(t, out.String(), err, n)
}
