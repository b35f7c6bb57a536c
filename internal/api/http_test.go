package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthz(t *testing.T) {
	srv := newTestServer(t)
	status, ctype, body := get(t, srv, "/healthz")
	if status != http.StatusOK {
		t.Errorf("status: got %d, want 200", status)
	}
	if !strings.HasPrefix(ctype, "application/json") {
		t.Errorf("Content-Type: got %q, want application/json", ctype)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil || v["status"] != "ok" {
		t.Errorf("body: got %s, want {\"status\":\"ok\"}", body)
	}
}

func TestProfileGoodRequest(t *testing.T) {
	srv := newTestServer(t)
	for _, tc := range []struct {
		name        string
		query       string
		wantWeights bool
	}{
		{"defaults", "", false},
		{"with weights", "?include=weights", true},
		{"settings", "?cell=gru&T=10&H=4&D=2&K=3&loss=sum&bidir=true&seed=0", false},
		{"settings with weights", "?cell=lstm&T=10&H=4&forgetBias=-1.5&include=weights", true},
		{"largest", "?T=2000&H=8", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ctype, body := get(t, srv, "/api/profile"+tc.query)
			if status != http.StatusOK {
				t.Fatalf("status: got %d, want 200; body %s", status, body)
			}
			if !strings.HasPrefix(ctype, "application/json") {
				t.Errorf("Content-Type: got %q, want application/json", ctype)
			}
			if !json.Valid(body) {
				t.Fatalf("body is not valid JSON: %.200s", body)
			}
			ex := decodeExport(t, body)
			if ex["version"] != 1.0 {
				t.Errorf("version: got %v, want 1", ex["version"])
			}
			for _, name := range []string{"config", "loss", "gradNorm", "gradNormClipped", "profile"} {
				if _, ok := ex[name]; !ok {
					t.Errorf("%s: missing", name)
				}
			}
			for _, name := range []string{"weights", "inputs", "targets"} {
				if _, ok := ex[name]; ok != tc.wantWeights {
					t.Errorf("%s present: got %v, want %v", name, ok, tc.wantWeights)
				}
			}
		})
	}
}

func TestProfileBadRequests(t *testing.T) {
	srv := newTestServer(t)
	for _, tc := range []struct {
		name, query, field string
	}{
		{"T zero", "T=0", "T"},
		{"T too long", "T=2001", "T"},
		{"T negative", "T=-5", "T"},
		{"T not whole", "T=1e3", "T"},
		{"T fraction", "T=10.5", "T"},
		{"H zero", "H=0", "H"},
		{"H too large", "H=257", "H"},
		{"D zero", "D=0", "D"},
		{"D too large", "D=65", "D"},
		{"K one", "K=1", "K"},
		{"K too large", "K=65", "K"},
		{"work too large", "cell=lstm&bidir=true&T=2000&H=256", "T"},
		{"cell unknown", "cell=cnn", "cell"},
		{"cell case", "cell=RNN", "cell"},
		{"act unknown", "act=softplus", "act"},
		{"init unknown", "init=zeros", "init"},
		{"clip unknown", "clip=max", "clip"},
		{"loss unknown", "loss=mean", "loss"},
		{"gain NaN", "gain=NaN", "gain"},
		{"gain Inf", "gain=Inf", "gain"},
		{"gain -Inf", "gain=-Inf", "gain"},
		{"gain negative", "gain=-1", "gain"},
		{"gain too large", "gain=101", "gain"},
		{"gain not a number", "gain=abc", "gain"},
		{"gain huge", "gain=1e400", "gain"},
		{"forgetBias too large", "cell=lstm&forgetBias=21", "forgetBias"},
		{"threshold zero", "threshold=0", "threshold"},
		{"threshold negative", "threshold=-1", "threshold"},
		{"threshold NaN", "threshold=NaN", "threshold"},
		{"seed negative", "seed=-1", "seed"},
		{"seed too large", "seed=4294967296", "seed"},
		{"seed not a number", "seed=x", "seed"},
		{"bidir not a bool", "bidir=maybe", "bidir"},
		{"unknown name", "t=500", "t"},
		{"unknown name with valid ones", "cell=rnn&foo=1", "foo"},
		{"repeated name", "T=10&T=20", "T"},
		{"repeated enum", "cell=rnn&cell=lstm", "cell"},
		{"include unknown", "include=foo", "include"},
		{"include empty weights typo", "include=weight", "include"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ctype, body := get(t, srv, "/api/profile?"+tc.query)
			if status != http.StatusBadRequest {
				t.Fatalf("GET ?%s: got status %d, want 400; body %s", tc.query, status, body)
			}
			if !strings.HasPrefix(ctype, "application/json") {
				t.Errorf("Content-Type: got %q, want application/json", ctype)
			}
			var e struct {
				Field   *string `json:"field"`
				Message *string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body: got %s, want JSON {\"field\":…,\"message\":…}: %v", body, err)
			}
			if e.Field == nil || *e.Field != tc.field {
				t.Errorf("field: got %s, want %q", jsonOf(e.Field), tc.field)
			}
			if e.Message == nil || *e.Message == "" {
				t.Errorf("message: got %s, want a message for people", jsonOf(e.Message))
			}
		})
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	h := newTestServer(t).Config.Handler
	for _, tc := range []struct {
		name, method, path string
		want               int
	}{
		{"unknown path", http.MethodGet, "/nope", http.StatusNotFound},
		{"unknown api path", http.MethodGet, "/api/profiles", http.StatusNotFound},
		{"POST profile", http.MethodPost, "/api/profile", http.StatusMethodNotAllowed},
		{"DELETE profile", http.MethodDelete, "/api/profile", http.StatusMethodNotAllowed},
		{"POST healthz", http.MethodPost, "/healthz", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Host = "localhost" // not httptest's example.com, which the server refuses
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("%s %s: got status %d, want %d", tc.method, tc.path, rec.Code, tc.want)
			}
			if allow := rec.Header().Get("Allow"); tc.want == http.StatusMethodNotAllowed && allow != "GET, HEAD" {
				t.Errorf("%s %s: Allow got %q, want \"GET, HEAD\"", tc.method, tc.path, allow)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			var e map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("body: got %s, want JSON: %v", rec.Body.Bytes(), err)
			}
			if msg, _ := e["message"].(string); msg == "" {
				t.Errorf("message: got %v, want a message", e["message"])
			}
		})
	}
}

// TestOverflowEncoding runs an exploding linear RNN until its states
// overflow and checks the non-finite numbers reach the client as the
// strings "NaN", "Infinity" and "-Infinity", in valid JSON.
func TestOverflowEncoding(t *testing.T) {
	srv := newTestServer(t)
	for _, query := range []string{
		"cell=rnn&act=linear&gain=6&T=2000&H=8",
		"cell=rnn&act=linear&gain=6&T=2000&H=8&include=weights",
	} {
		t.Run(query, func(t *testing.T) {
			status, _, body := get(t, srv, "/api/profile?"+query)
			if status != http.StatusOK {
				t.Fatalf("status: got %d, want 200; body %.300s", status, body)
			}
			if !json.Valid(body) {
				t.Fatalf("json.Valid(body): got false, want true; body %.300s", body)
			}
			if !strings.Contains(string(body), `"NaN"`) && !strings.Contains(string(body), `"Infinity"`) {
				t.Errorf("body: got no \"NaN\" or \"Infinity\" string, want the overflow visible")
			}
			for _, bad := range []string{"NaN,", "NaN]", "Infinity,", "Infinity]", "+Inf", "-Inf,"} {
				if i := strings.Index(string(body), bad); i >= 0 && (i == 0 || body[i-1] != '"') {
					t.Errorf("body: got a bare %q at byte %d, want non-finite numbers quoted", bad, i)
				}
			}
			ex := decodeExport(t, body)
			ov, ok := ex["overflow"].(map[string]any)
			if !ok {
				t.Fatalf("overflow: got %v, want an object", ex["overflow"])
			}
			fwd, _ := ov["forward"].(float64)
			if !(fwd > 0) {
				t.Errorf("overflow.forward: got %v, want > 0", ov["forward"])
			}
			// stateNorm shows the state growing until it is no longer finite
			// at overflow.forward.
			sn := vec(t, object(t, ex["profile"], "profile")["stateNorm"], "profile.stateNorm")
			if f := int(fwd); f >= 1 && f <= len(sn) {
				for k := 1; k < f; k++ {
					if !allFinite(sn[k-1 : k]) {
						t.Errorf("stateNorm[k=%d]: got %v, want finite before overflow.forward=%d", k, sn[k-1], f)
						break
					}
				}
				if allFinite(sn[f-1 : f]) {
					t.Errorf("stateNorm[k=%d]: got %v, want non-finite at overflow.forward", f, sn[f-1])
				}
			}
			if !strings.Contains(query, "include=weights") {
				return
			}
			// The reference agrees on where the forward pass overflows and on
			// every state norm, finite or not.
			m := modelFromExport(t, ex)
			want := reference(m)
			if int(fwd) != want.OverflowForward {
				t.Errorf("overflow.forward: got %v, want %d", fwd, want.OverflowForward)
			}
			c := &checker{t: t, stats: newErrStats()}
			c.series("stateNorm", sn, want.StateNorm)
			c.number("loss", num(t, ex["loss"], "loss"), want.Loss)
		})
	}
}
