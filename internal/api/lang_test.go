package api

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"gradviz/internal/engine"
)

func TestWebsocketLangTrainReadExport(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)

	// Before any training there is no model to read with.
	send(t, conn, `{"type":"langRead","id":1,"sentence":"Jane speaks ____ fluently"}`)
	if m := readMsg(t, conn); m["type"] != "error" || m["code"] != "no-model" || m["field"] != "sentence" {
		t.Fatalf("got %v, want a no-model error on sentence", m)
	}

	send(t, conn, `{"type":"langTrain","id":2,"task":"kerala","distance":4,"H":6,"embed":4,"iterations":20,"every":10,"models":["rnn","bi-lstm"]}`)
	start := readMsg(t, conn)
	if start["type"] != "langStart" || len(start["runs"].([]any)) != 2 || start["runs"].([]any)[1].(map[string]any)["model"] != "bi-lstm" {
		t.Fatalf("got %v, want langStart with rnn and bi-lstm", start)
	}
	if c := start["chance"].(float64); math.Abs(c-1.0/16) > 1e-12 {
		t.Errorf("chance %v, want 1/16", c)
	}
	words := start["sentence"].([]any)
	if words[4] != "kerala" || len(words) != 5+4+4 {
		t.Errorf("sentence %v", words)
	}
	progress, finished := 0, 0
	for finished < 2 {
		m := readMsg(t, conn)
		switch m["type"] {
		case "langProgress":
			progress++
			rd := m["reading"].(map[string]any)
			if len(rd["strip"].([]any)) != len(words) || len(rd["guesses"].([]any)) != 5 || rd["blank"].(float64) != 11 {
				t.Fatalf("reading %v", rd)
			}
		case "langDone":
			if m["reason"] != "finished" {
				t.Fatalf("langDone %v", m)
			}
			h := m["horizon"].([]any)
			if len(h) != len(langHorizonDistances) || h[4].(map[string]any)["distance"].(float64) != 30 {
				t.Fatalf("horizon %v", h)
			}
			if a := m["accuracy"].(float64); a < 0 || a > 1 {
				t.Fatalf("accuracy %v", a)
			}
			finished++
		default:
			t.Fatalf("unexpected %v", m)
		}
	}
	if progress != 4 {
		t.Errorf("%d progress messages, want 4", progress)
	}
	if m := readMsg(t, conn); m["type"] != "done" {
		t.Fatalf("got %v, want done", m)
	}

	// The user's sentence: an unknown word is marked and has no strip.
	send(t, conn, `{"type":"langRead","id":3,"sentence":"Jane was born in Kerala. Zorblat! Jane speaks ____ fluently."}`)
	m := readMsg(t, conn)
	if m["type"] != "langReading" || len(m["readings"].([]any)) != 2 {
		t.Fatalf("got %v", m)
	}
	rd := m["readings"].([]any)[0].(map[string]any)
	if rd["known"].([]any)[5] != false || rd["strip"].([]any)[5].(float64) != 0 || rd["known"].([]any)[4] != true || rd["blank"].(float64) != 8 || rd["model"] != "rnn" {
		t.Errorf("reading %v", rd)
	}

	// The export replays the reading.
	send(t, conn, `{"type":"langExport","id":4,"run":1}`)
	m = readMsg(t, conn)
	if m["type"] != "langModel" {
		t.Fatalf("got %v", m)
	}
	raw, _ := json.Marshal(m["model"])
	var exp LangExport
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	if exp.Format != "gradviz-lang" || !exp.Model.Bidir || exp.Model.Cell != engine.CellLSTM || len(exp.Embedding) != len(exp.Vocabulary) || exp.Iteration != 20 {
		t.Errorf("export %+v", exp.Model)
	}
	names := []string{}
	for _, w := range exp.Weights {
		names = append(names, w.Name)
	}
	if strings.Join(names, ",") != "Wx,Wh,b,rev.Wx,rev.Wh,rev.b,V,c" {
		t.Errorf("weights %v", names)
	}
	send(t, conn, `{"type":"langExport","id":5,"run":3}`)
	if m := readMsg(t, conn); m["type"] != "error" || m["code"] != "no-model" || m["field"] != "run" {
		t.Fatalf("got %v", m)
	}
}

func TestWebsocketLangBadRequests(t *testing.T) {
	cfg := DefaultConfig()
	ts, _ := newTestServer(t, cfg)
	conn := dial(t, ts, nil)
	for _, c := range []struct{ msg, code, field string }{
		{`{"type":"langTrain","task":"weather"}`, "bad-field", "task"},
		{`{"type":"langTrain","lang":"fr"}`, "bad-field", "lang"},
		{`{"type":"langTrain","distance":201}`, "lang-limit", "distance"},
		{`{"type":"langTrain","distance":-1}`, "bad-field", "distance"},
		{`{"type":"langTrain","embed":1000}`, "lang-limit", "embed"},
		{`{"type":"langTrain","H":100}`, "lang-limit", "H"},
		{`{"type":"langTrain","iterations":100000}`, "lang-limit", "iterations"},
		{`{"type":"langTrain","models":["lstm","lstm"]}`, "bad-field", "models"},
		{`{"type":"langTrain","models":["tri-lstm"]}`, "bad-field", "models"},
		{`{"type":"langTrain","models":[]}`, "bad-field", "models"},
		{`{"type":"langTrain","T":30}`, "bad-field", "T"},
		{`{"type":"langTrain","bidir":true}`, "bad-field", "bidir"},
		{`{"type":"langTrain","sentence":"no blank"}`, "bad-field", "sentence"},
		{`{"type":"langTrain","colour":"red"}`, "unknown-field", "colour"},
		{`{"type":"langRead","sentence":"two ____ blanks ____"}`, "bad-field", "sentence"},
		{`{"type":"langRead","sentence":7}`, "bad-field", "sentence"},
		{`{"type":"langRead","sentence":"` + strings.Repeat("a", 2001) + `"}`, "bad-field", "sentence"},
		{`{"type":"langExport","run":"x"}`, "bad-field", "run"},
	} {
		send(t, conn, c.msg)
		m := readMsg(t, conn)
		if m["type"] != "error" || m["code"] != c.code || m["field"] != c.field {
			t.Errorf("%s: got %v, want %s on %s", c.msg, m, c.code, c.field)
		}
	}
	// The server keeps serving.
	send(t, conn, `{"type":"langTrain","id":9,"task":"clouds","distance":0,"H":4,"embed":2,"iterations":1}`)
	if m := readMsg(t, conn); m["type"] != "langStart" {
		t.Fatalf("got %v", m)
	}
	readUntil(t, conn, "done")
}

func TestLangCostBounded(t *testing.T) {
	req := langRequest{base: engine.DefaultLangSettings(), models: []langModelName{{cell: engine.CellLSTM, bidir: true}}}
	req.base.Distance = 200
	err := checkLangCost(req, 1000, 0)
	if errorCodeOf(err) != codeWorkLimit {
		t.Fatalf("got %v", err)
	}
	if err := checkLangCost(req, 0, 0); err != nil {
		t.Fatal(err)
	}
}

// The user's sentence is read, and a model exported, while the models
// are still training; a stop then ends the training as for train.
func TestWebsocketLangReadWhileTraining(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"langTrain","id":1,"task":"mouse","distance":2,"H":4,"embed":3,"iterations":5000,"every":5,"models":["gru","bi-gru"]}`)
	readUntil(t, conn, "langProgress")
	send(t, conn, `{"type":"langRead","id":2,"sentence":"The bat is used to ____ the ball during the game"}`)
	m := readUntil(t, conn, "langReading")
	if m["id"].(float64) != 2 || len(m["readings"].([]any)) != 2 {
		t.Fatalf("got %v", m)
	}
	send(t, conn, `{"type":"langExport","id":3,"run":1}`)
	m = readUntil(t, conn, "langModel")
	if m["id"].(float64) != 3 || m["model"].(map[string]any)["model"].(map[string]any)["bidir"] != true {
		t.Fatalf("got %v", m)
	}
	send(t, conn, `{"type":"stop","id":4,"what":"training"}`)
	stopped := 0
	for {
		m := readMsg(t, conn)
		if m["type"] == "langDone" && m["reason"] == "stopped" {
			stopped++
		}
		if m["type"] == "done" && m["id"].(float64) == 1 {
			break
		}
	}
	if stopped != 2 {
		t.Errorf("%d runs ended stopped, want 2", stopped)
	}
}
