package class

import (
	"testing"

	"gradviz/internal/class/natstest"
)

func init() {
	brokers["nats"] = func(t *testing.T) (Broker, Broker) {
		addr := natstest.Start(t)
		a, err := DialNATS(addr, "teacher's replica")
		if err != nil {
			t.Fatal(err)
		}
		b, err := DialNATS(addr, "students' replica")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		t.Cleanup(b.Close)
		return a, b
	}
}

func TestDialNATSBadAddress(t *testing.T) {
	for _, addr := range []string{"", "localhost:4222", "http://x:1"} {
		if _, err := DialNATS(addr, "x"); err == nil {
			t.Errorf("%q: no error", addr)
		}
	}
}
