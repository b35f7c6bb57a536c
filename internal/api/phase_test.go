package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"gradviz/internal/engine"
)

// phaseBadFields are requests each wrong in one field, and that field.
var phaseBadFields = []struct {
	fields string // JSON members after "type" and "id"
	field  string
}{
	{`"x":"depth"`, "x"},
	{`"x":5`, "x"},
	{`"y":"gain"`, "y"},
	{`"x":"forgetBias"`, "x"},
	{`"nx":1`, "nx"},
	{`"nx":65`, "nx"},
	{`"nx":2.5`, "nx"},
	{`"nx":"48"`, "nx"},
	{`"ny":0`, "ny"},
	{`"xmin":-1`, "xmin"},
	{`"xmax":101`, "xmax"},
	{`"xmin":2,"xmax":1`, "xmax"},
	{`"ymin":0`, "ymin"},
	{`"ymin":2.5`, "ymin"},
	{`"ymax":2001`, "ymax"},
	{`"ymin":2,"ymax":10,"ny":20`, "ny"},
	{`"y":"H","ymax":257`, "ymax"},
	{`"x":"H","y":"T","ymax":5000`, "ymax"},
	{`"H":256,"ymax":2000`, "ny"},
	{`"T":0`, "T"},
	{`"act":"softsign"`, "act"},
	{`"rows":5`, "rows"},
}

// TestPhaseValidation: every bad field of a phase message is answered
// with an error that names it, and the socket carries on.
func TestPhaseValidation(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	for i, tc := range phaseBadFields {
		send(t, conn, fmt.Sprintf(`{"type":"phase","id":%d,%s}`, i+1, tc.fields))
		m := readMsg(t, conn)
		if m["type"] != "error" || m["id"] != float64(i+1) || m["field"] != tc.field {
			t.Errorf("%s: got %v, want an error naming %s", tc.fields, m, tc.field)
		}
	}
	// forgetBias is an axis for the LSTM.
	send(t, conn, `{"type":"phase","id":99,"cell":"lstm","x":"forgetBias","nx":3,"ny":2,"ymax":10,"H":4}`)
	if m := readUntil(t, conn, "phaseDone"); m["id"] != float64(99) {
		t.Errorf("lstm forgetBias diagram: %v", m)
	}
}

// TestPhaseExportValidation: the export's query is checked the same way,
// 400 naming the field.
func TestPhaseExportValidation(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	for _, tc := range []struct{ query, field string }{
		{"x=depth", "x"},
		{"nx=1", "nx"},
		{"nx=1e400", "nx"},
		{"nx=0x10", "nx"},
		{"ny=3&ny=4", "ny"},
		{"xmax=101", "xmax"},
		{"ymin=0", "ymin"},
		{"H=256&ymax=2000", "ny"},
		{"T=0", "T"},
		{"w=10", "w"},
		{"lang=fr", "lang"},
		{"pin=cell%3Drnn", "pin"},
	} {
		status, _, body := getJSON(t, ts, "/api/phase.png?"+tc.query)
		if status != http.StatusBadRequest || body["field"] != tc.field {
			t.Errorf("%s: %d %v, want 400 naming %s", tc.query, status, body, tc.field)
		}
	}
	if status, _, _ := getJSON(t, ts, "/api/phase.gif"); status != http.StatusNotFound {
		t.Errorf("/api/phase.gif: %d, want 404", status)
	}
}

// phaseMsg is a server message of a diagram, decoded.
type phaseMsg struct {
	Type   string `json:"type"`
	ID     int64  `json:"id"`
	Row    int    `json:"row"`
	Values Floats `json:"values"`
	X      struct {
		Name   string `json:"name"`
		Values Floats `json:"values"`
	} `json:"x"`
	Y struct {
		Name   string `json:"name"`
		Values Floats `json:"values"`
	} `json:"y"`
	Gamma *Float `json:"gamma"`
	Edge  *struct {
		Along string `json:"along"`
		Gains Floats `json:"gains"`
	} `json:"edge"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func readPhase(t *testing.T, conn *websocket.Conn) phaseMsg {
	t.Helper()
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m phaseMsg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("message %.200s: %v", data, err)
	}
	return m
}

// TestPhaseStream: phaseStart with the grid and the edge of chaos, then
// every row in order with one value per x, then phaseDone; the values
// are the engine's, non-finite ones as strings.
func TestPhaseStream(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	send(t, conn, `{"type":"phase","id":3,"H":8,"nx":6,"ny":5,"xmin":0,"xmax":2,"ymin":2,"ymax":40}`)
	start := readPhase(t, conn)
	if start.Type != "phaseStart" || start.ID != 3 || start.X.Name != "gain" || start.Y.Name != "T" || len(start.X.Values) != 6 || len(start.Y.Values) != 5 {
		t.Fatalf("first message %+v, want phaseStart of a 6×5 gain × T grid", start)
	}
	if start.Gamma == nil || *start.Gamma != 1 || start.Edge == nil || start.Edge.Along != "T" || len(start.Edge.Gains) != 5 {
		t.Errorf("start: gamma %v, edge %+v; want γ = 1 and 5 gains along T", start.Gamma, start.Edge)
	}
	base := engine.Defaults()
	base.H = 8
	ph, err := engine.NewPhase(base, engine.Axis{Name: engine.AxisGain, N: 6, Min: 0, Max: 2}, engine.Axis{Name: engine.AxisT, N: 5, Min: 2, Max: 40})
	if err != nil {
		t.Fatal(err)
	}
	for r := range 5 {
		m := readPhase(t, conn)
		if m.Type != "phaseRow" || m.ID != 3 || m.Row != r || len(m.Values) != 6 {
			t.Fatalf("message %d: %+v, want row %d with 6 values", r+1, m, r)
		}
		want, err := ph.Row(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		for c, v := range m.Values {
			if w := want.Decades[c]; v != w && !(math.IsNaN(v) && math.IsNaN(w)) {
				t.Errorf("row %d col %d: %v, the engine's %v", r, c, v, w)
			}
		}
		// Gain 0 has no path back: ‖∂E/∂s_1‖ = 0 exactly, −∞ decades.
		if r > 0 && !math.IsInf(m.Values[0], -1) {
			t.Errorf("row %d at gain 0: %v, want -Infinity", r, m.Values[0])
		}
	}
	if done := readPhase(t, conn); done.Type != "phaseDone" || done.ID != 3 {
		t.Errorf("last message %+v, want phaseDone", done)
	}
	// A gated cell has no edge of chaos.
	send(t, conn, `{"type":"phase","id":4,"cell":"gru","H":4,"nx":2,"ny":2,"ymax":10}`)
	if start := readPhase(t, conn); start.Type != "phaseStart" || start.Edge != nil || start.Gamma != nil {
		t.Errorf("gru start %+v, want no edge and no γ", start)
	}
	readUntil(t, conn, "phaseDone")
}

// TestPhaseSuperseded: a newer phase request stops the older one: no
// message of the older arrives after the newer starts, and the older
// never finishes. Other analyses are not its concern.
func TestPhaseSuperseded(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	conn := dial(t, ts, nil)
	// Long rows: 64 points of T up to 2000 each.
	send(t, conn, `{"type":"phase","id":1,"H":48,"nx":64,"ny":16,"ymin":1000,"ymax":2000}`)
	if m := readPhase(t, conn); m.Type != "phaseStart" || m.ID != 1 {
		t.Fatalf("got %+v, want the first diagram's start", m)
	}
	// Once it streams, a newer request.
	if m := readPhase(t, conn); m.Type != "phaseRow" || m.ID != 1 || m.Row != 0 {
		t.Fatalf("got %+v, want the first diagram's first row", m)
	}
	send(t, conn, `{"type":"phase","id":2,"H":4,"nx":3,"ny":3,"ymax":20}`)
	firstRows, afterStart := 1, 0
	started := false
	for {
		m := readPhase(t, conn)
		switch {
		case m.ID == 1 && m.Type == "phaseDone":
			t.Fatalf("the superseded diagram finished")
		case m.ID == 1:
			firstRows++
			if started {
				afterStart++
			}
		case m.ID == 2 && m.Type == "phaseStart":
			started = true
		}
		if m.ID == 2 && m.Type == "phaseDone" {
			break
		}
	}
	if afterStart > 0 || firstRows >= 16 {
		t.Errorf("the superseded diagram sent %d rows, %d of them after the newer one started", firstRows, afterStart)
	}
	// stop with what=analysis stops a diagram too.
	send(t, conn, `{"type":"phase","id":5,"H":48,"nx":64,"ny":16,"ymin":1000,"ymax":2000}`)
	send(t, conn, `{"type":"stop","id":6,"what":"analysis"}`)
	for {
		m := readPhase(t, conn)
		if m.ID == 5 && m.Type == "phaseDone" {
			t.Fatalf("the stopped diagram finished")
		}
		if m.Type == "stopped" {
			break
		}
	}
}

// TestPhaseExport: the PNG decodes at the size asked, the SVG is an SVG,
// the CSV has its header and one line per point, with the engine's values.
func TestPhaseExport(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		return resp, body
	}
	q := "H=8&nx=5&ny=4&xmin=0.5&xmax=2.5&ymin=10&ymax=40"
	resp, body := get("/api/phase.png?" + q + "&w=1000&h=600&lang=es")
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 600 {
		t.Errorf("PNG %v, want 1000×600", b)
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "image/png" || !strings.Contains(cd, "gradviz-phase-rnn-tanh-gain-T.png") {
		t.Errorf("headers %q, %q", ct, cd)
	}
	if _, body := get("/api/phase.svg?" + q); !bytes.Contains(body[:min(len(body), 400)], []byte("<svg")) {
		t.Errorf("SVG starts %.100q", body)
	}
	// The caption is readable in the page's language and links to the tab.
	_, body = get("/api/phase.svg?" + q + "&lang=es")
	text := strings.ReplaceAll(html.UnescapeString(string(body)), "\u00a0", " ")
	for _, want := range []string{"Ganancia: 0,5…2,5 (x, 5 puntos)", "Longitud de la secuencia: 10…40 (y, 4 puntos)", "Unidades ocultas: 8", "tab=phase", "phaseX=gain"} {
		if !strings.Contains(text, want) {
			t.Errorf("Spanish phase caption lacks %q", want)
		}
	}
	if strings.Contains(text, "H=8 ") || strings.Contains(text, "cell=rnn") {
		t.Errorf("Spanish phase caption has a key=value dump")
	}
	resp, body = get("/api/phase.pdf?" + q + "&lang=es")
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("PDF Content-Type %q", ct)
	}
	wantPDF(1200, 700)(t, body)
	_, body = get("/api/phase.csv?" + q)
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "gain,T,dE_ds_1,dE_ds_T,log10_ratio,edge_gain" {
		t.Errorf("header %s", got)
	}
	if len(rows) != 1+5*4 {
		t.Fatalf("%d lines, want a header and 5·4 points", len(rows))
	}
	base := engine.Defaults()
	base.H = 8
	ph, err := engine.NewPhase(base, engine.Axis{Name: engine.AxisGain, N: 5, Min: 0.5, Max: 2.5}, engine.Axis{Name: engine.AxisT, N: 4, Min: 10, Max: 40})
	if err != nil {
		t.Fatal(err)
	}
	for r := range 4 {
		want, err := ph.Row(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		for c := range 5 {
			line := rows[1+r*5+c]
			if exp := fmt.Sprint(want.Decades[c]); line[0] != fmt.Sprint(ph.Xs[c]) || line[1] != fmt.Sprint(ph.Ys[r]) || line[4] != exp {
				t.Errorf("line %d: %v, want gain %v, T %v, %s decades", 1+r*5+c, line, ph.Xs[c], ph.Ys[r], exp)
			}
		}
	}
}
