package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestWebsocketFieldsHaveOneType: every field of a message has one JSON
// type; null, a string for a number, a number for a string, a name given
// twice and a setting the message does not use are errors that name the
// field, and the connection carries on.
func TestWebsocketFieldsHaveOneType(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	for _, tc := range []struct{ msg, field string }{
		{`{"type":"config","id":"7","T":5}`, "id"},
		{`{"type":"config","id":null,"T":5}`, "id"},
		{`{"type":null}`, "type"},
		{`{"type":7}`, "type"},
		{`{"type":"config","T":"5"}`, "T"},
		{`{"type":"config","T":null}`, "T"},
		{`{"type":"config","gain":"1"}`, "gain"},
		{`{"type":"config","cell":5}`, "cell"},
		{`{"type":"config","cell":null}`, "cell"},
		{`{"type":"config","cell":" rnn"}`, "cell"},
		{`{"type":"config","cell":"rnn "}`, "cell"},
		{`{"type":"config","bidir":"true"}`, "bidir"},
		{`{"type":"config","bidir":1}`, "bidir"},
		{`{"type":"config","T":5,"T":2000}`, "T"},
		{`{"type":"config","cell":"lstm","act":"linear"}`, "act"},
		{`{"type":"config","cell":"gru","act":"linear"}`, "act"},
		{`{"type":"config","rows":3}`, "rows"},
		{`{"type":"animate","stepsPerSecond":null}`, "stepsPerSecond"},
		{`{"type":"animate","stepsPerSecond":"20"}`, "stepsPerSecond"},
		{`{"type":"map","rows":null}`, "rows"},
		{`{"type":"map","rows":[64]}`, "rows"},
		{`{"type":"sensitivity","outputStep":"3"}`, "outputStep"},
		{`{"type":"sensitivity","outputStep":true}`, "outputStep"},
		{`{"type":"stop","what":null}`, "what"},
		{`{"type":"stop","what":1}`, "what"},
		{`{"type":"stop","what":["all"]}`, "what"},
		{`{"type":"stop","T":5}`, "T"},
		{`{"type":"train","task":null}`, "task"},
		{`{"type":"train","task":1}`, "task"},
		{`{"type":"train","optimizer":null}`, "optimizer"},
		{`{"type":"train","momentum":null}`, "momentum"},
		{`{"type":"train","lr":"0.1"}`, "lr"},
		{`{"type":"train","batch":null}`, "batch"},
		{`{"type":"train","iterations":true}`, "iterations"},
		{`{"type":"train","every":{}}`, "every"},
		{`{"type":"train","cells":null}`, "cells"},
		{`{"type":"train","cells":[null]}`, "cells"},
		{`{"type":"train","cells":[1]}`, "cells"},
		{`{"type":"train","cells":["rnn",["lstm"]]}`, "cells"},
		{`{"type":"train","D":4}`, "D"},
		{`{"type":"train","loss":"sum"}`, "loss"},
		{`{"type":"train","loss":"last"}`, "loss"},
		{`{"type":"train","outputStep":3}`, "outputStep"},
		{`{"type":"train","cell":"lstm","act":"linear"}`, "act"},
	} {
		send(t, conn, tc.msg)
		m := readUntil(t, conn, "error")
		if m["field"] != tc.field {
			t.Errorf("%s: error %v, want one naming field %q", tc.msg, m, tc.field)
		}
		if msg, _ := m["message"].(string); msg == "" || strings.HasPrefix(msg, "internal") {
			t.Errorf("%s: message %q, want one for people", tc.msg, msg)
		}
	}
	// Nothing was started, and the connection still serves.
	send(t, conn, `{"type":"config","id":99,"T":3,"cell":"lstm"}`)
	if m := readUntil(t, conn, "profile"); m["id"] != float64(99) {
		t.Fatalf("after the bad messages got %v, want profile 99", m)
	}
	// A gated cell with an activation other than linear is accepted: the
	// page sends every setting, and the cell ignores it.
	send(t, conn, `{"type":"config","id":100,"T":3,"cell":"gru","act":"relu"}`)
	if m := readUntil(t, conn, "profile"); m["id"] != float64(100) {
		t.Fatalf("gru with act relu: got %v, want profile 100", m)
	}
}

// TestQueryNumbersArePlainDecimal: a query string's numbers are written
// as JSON writes them; strconv's underscores, hex floats, signs, spaces,
// Inf and NaN are refused, and so are booleans other than true and false.
func TestQueryNumbersArePlainDecimal(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	for _, tc := range []struct{ query, field string }{
		{"gain=1_0", "gain"},
		{"gain=0x1p3", "gain"},
		{"gain=0x10", "gain"},
		{"gain=%2B1", "gain"},
		{"gain=.5", "gain"},
		{"gain=1.", "gain"},
		{"gain=01", "gain"},
		{"gain=%201", "gain"},
		{"gain=1%20", "gain"},
		{"gain=Inf", "gain"},
		{"gain=infinity", "gain"},
		{"gain=nan", "gain"},
		{"gain=1e", "gain"},
		{"gain=1e%2B", "gain"},
		{"gain=", "gain"},
		{"threshold=1%00", "threshold"},
		{"T=1_0", "T"},
		{"T=010", "T"},
		{"T=%2B5", "T"},
		{"T=5%20", "T"},
		{"T=5.0", "T"},
		{"T=-0", "T"},
		{"seed=0x10", "seed"},
		{"seed=1_000", "seed"},
		{"seed=%2B1", "seed"},
		{"seed=01", "seed"},
		{"bidir=1", "bidir"},
		{"bidir=TRUE", "bidir"},
		{"bidir=t", "bidir"},
		{"bidir=", "bidir"},
		{"cell=rnn%20", "cell"},
		{"cell=lstm&act=linear", "act"},
		{"cell=gru&act=linear", "act"},
	} {
		base := "/api/profile?T=3&H=2&"
		if strings.HasPrefix(tc.query, "T=") {
			base = "/api/profile?H=2&"
		}
		status, _, body := getJSON(t, ts, base+tc.query)
		if status != http.StatusBadRequest || body["field"] != tc.field {
			t.Errorf("?%s: got %d %v, want 400 naming %q", tc.query, status, body, tc.field)
		}
	}
	for _, q := range []string{"gain=0.5", "gain=1e-1", "gain=2E%2B0", "gain=0", "forgetBias=-1.5&cell=lstm", "seed=0", "bidir=true", "bidir=false", "act=linear"} {
		if status, _, body := getJSON(t, ts, "/api/profile?T=3&H=2&"+q); status != http.StatusOK {
			t.Errorf("?%s: got %d %v, want 200", q, status, body)
		}
	}
	// A pin is read by the same rules, and its error is the pin's.
	pin := url.QueryEscape("gain=1_0")
	if status, _, body := getJSON(t, ts, "/api/plot.csv?T=3&H=2&pin="+pin); status != http.StatusBadRequest || body["field"] != "pin" {
		t.Errorf("pin gain=1_0: got %d %v, want 400 naming pin", status, body)
	}
}

func TestIsDecimal(t *testing.T) {
	for _, tc := range []struct {
		s            string
		signed, real bool
		want         bool
	}{
		{"0", false, false, true},
		{"10", false, false, true},
		{"-3", true, false, true},
		{"-3", false, false, false},
		{"-0.5e-7", true, true, true},
		{"1E+21", true, true, true},
		{"1.5", true, false, false},
		{"", true, true, false},
		{"-", true, true, false},
		{"00", true, true, false},
		{"1_0", true, true, false},
		{"0x1p3", true, true, false},
		{"+1", true, true, false},
		{"1.e3", true, true, false},
		{"١", true, true, false}, // an Arabic-Indic digit
	} {
		if got := isDecimal(tc.s, tc.signed, tc.real); got != tc.want {
			t.Errorf("isDecimal(%q, %v, %v) = %v, want %v", tc.s, tc.signed, tc.real, got, tc.want)
		}
	}
}
