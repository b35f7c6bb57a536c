package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gradviz/internal/engine"
	"gradviz/web"
)

// goodTour is a small valid tour file.
const goodTour = `{"id":"class-1","title":{"en":"Class 1","es":"Clase 1"},"steps":[
 {"id":"first","title":{"en":"First","es":"Primero"},"text":{"en":"Look.","es":"Mira."},"settings":{"gain":0.5,"act":"sigmoid"},"tab":"profile","pins":[{"gain":1}],"view":{"jac":true,"x":"back"}},
 {"id":"clip-train","title":{"en":"Train","es":"Entrena"},"text":{"en":"Go.","es":"Venga."},"settings":{"clip":"global-norm"},"tab":"lab",
  "lab":{"task":"adding","optimizer":"sgd","lr":0.05,"batch":32,"iterations":100,"cells":["rnn","lstm"]},"train":true,"sequence":[{"clip":"none"},{}],
  "predict":{"kind":"point","question":{"en":"Where?","es":"¿Dónde?"}},"panel":"bptt"}]}`

// tourWith is goodTour with the second step's field set to value (raw
// JSON), or removed when value is "".
func tourWith(t *testing.T, field, value string) string {
	t.Helper()
	var file map[string]any
	if err := json.Unmarshal([]byte(goodTour), &file); err != nil {
		t.Fatal(err)
	}
	step := file["steps"].([]any)[1].(map[string]any)
	if value == "" {
		delete(step, field)
	} else {
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			t.Fatal(err)
		}
		step[field] = v
	}
	out, _ := json.Marshal(file)
	return string(out)
}

func TestValidateTour(t *testing.T) {
	lim, train := engine.DefaultLimits(), engine.DefaultTrainLimits()
	if err := ValidateTour([]byte(goodTour), lim, train); err != nil {
		t.Fatalf("good tour: %v", err)
	}
	if err := ValidateTour(web.BuiltinTour(), lim, train); err != nil {
		t.Fatalf("built-in tour: %v", err)
	}
	for _, tc := range []struct {
		name, file, want string
	}{
		{"not JSON", `{"id":`, "is not valid JSON"},
		{"not an object", `[1]`, "must be an object"},
		{"bad tour id", strings.Replace(goodTour, `"class-1"`, `"Class 1"`, 1), "field id: must be 1 to 64 of a-z, 0-9 and -"},
		{"no title", strings.Replace(goodTour, `"title":{"en":"Class 1","es":"Clase 1"},`, ``, 1), "field title: is missing"},
		{"no Spanish", strings.Replace(goodTour, `"title":{"en":"Class 1","es":"Clase 1"}`, `"title":{"en":"Class 1"}`, 1), "field title.es: is missing"},
		{"unknown top field", strings.Replace(goodTour, `"id":"class-1"`, `"id":"class-1","author":"me"`, 1), "field author: is not a field of a tour file"},
		{"no steps", `{"id":"a","title":{"en":"A","es":"A"},"steps":[]}`, "field steps: must have 1..100 steps, got 0"},
		{"gain out of range", tourWith(t, "settings", `{"gain":-1}`), "step 2 (clip-train), field settings.gain: must be"},
		{"unknown setting", tourWith(t, "settings", `{"gian":1}`), "step 2 (clip-train), field settings.gian: is not a field"},
		{"setting of the wrong kind", tourWith(t, "settings", `{"T":"many"}`), "step 2 (clip-train), field settings.T:"},
		{"bad activation", tourWith(t, "settings", `{"act":"swish"}`), "step 2 (clip-train), field settings.act:"},
		{"bad tab", tourWith(t, "tab", `"charts"`), "step 2 (clip-train), field tab: must be one of profile, lab, bidir, map, phase"},
		{"bad pin", tourWith(t, "pins", `[{"H":0}]`), "step 2 (clip-train), field pins[0].H:"},
		{"too many pins", tourWith(t, "pins", `[{},{},{},{},{},{},{},{}]`), "field pins: at most 7 pins, got 8"},
		{"bad view", tourWith(t, "view", `{"x":"time"}`), "step 2 (clip-train), field view.x: must be one of step, back"},
		{"unknown view field", tourWith(t, "view", `{"zoom":2}`), "field view.zoom: is not a field"},
		{"bad lab rate", tourWith(t, "lab", `{"lr":0}`), "step 2 (clip-train), field lab.lr: must be between 1e-06 and 10, got 0"},
		{"lab batch over the limit", tourWith(t, "lab", `{"batch":129}`), "field lab.batch: must be between 1 and 128, got 129"},
		{"lab batch not whole", tourWith(t, "lab", `{"batch":2.5}`), "field lab.batch: must be a whole number"},
		{"bad lab cell", tourWith(t, "lab", `{"cells":["rnn","cnn"]}`), "field lab.cells[1]: must be one of"},
		{"bad langlab task", tourWith(t, "langlab", `{"task":"weather"}`), "field langlab.task: must be one of clouds, kerala, mouse"},
		{"langlab distance over the limit", tourWith(t, "langlab", `{"distance":201}`), "field langlab.distance: must be between 0 and 200, got 201"},
		{"bad langlab model", tourWith(t, "langlab", `{"models":["lstm","tri-lstm"]}`), "field langlab.models[1]: must be one of"},
		{"langlab model twice", tourWith(t, "langlab", `{"models":["bi-gru","bi-gru"]}`), "field langlab.models[1]: names bi-gru twice"},
		{"unknown langlab field", tourWith(t, "langlab", `{"words":3}`), "field langlab.words: is not a field"},
		{"bad langTask", tourWith(t, "view", `{"langTask":"rain"}`), "field view.langTask: must be one of clouds, kerala, mouse"},
		{"train not a bool", tourWith(t, "train", `"yes"`), "field train: must be true or false"},
		{"sequence without train", tourWith(t, "train", ``), "field sequence: is a chain of trainings"},
		{"bad sequence entry", tourWith(t, "sequence", `[{"threshold":-1}]`), "field sequence[0].threshold:"},
		{"bad predict kind", tourWith(t, "predict", `{"kind":"curve","question":{"en":"?","es":"?"}}`), "field predict.kind: must be one of point"},
		{"predict without question", tourWith(t, "predict", `{"kind":"point"}`), "field predict.question: is missing"},
		{"empty text", tourWith(t, "text", `{"en":"Go.","es":"  "}`), "step 2 (clip-train), field text.es: must not be empty"},
		{"bad panel", tourWith(t, "panel", `"chain"`), "field panel: must be one of bptt"},
		{"bad step id", tourWith(t, "id", `"Clip Train"`), "step 2, field id: must be 1 to 64"},
		{"duplicate step id", tourWith(t, "id", `"first"`), `step 2 (first), field id: "first" is also the id of step 1`},
		{"text too long", tourWith(t, "text", `{"en":"`+strings.Repeat("a", 4001)+`","es":"b"}`), "field text.en: is 4001 characters long; at most 4000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateTour([]byte(tc.file), lim, train)
			var te *TourError
			if err == nil || !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a TourError containing %q", err, tc.want)
			}
		})
	}
}

func TestToursRoute(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "class-1.json"), []byte(goodTour), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ToursDir = dir
	if _, err := LoadTours(dir, cfg.Limits, cfg.Train); err != nil {
		t.Fatalf("LoadTours: %v", err)
	}
	ts, _ := newTestServer(t, cfg)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = strings.TrimPrefix(ts.URL, "http://")
		ts.Config.Handler.ServeHTTP(rec, req)
		return rec
	}
	if rec := get("/api/tours/builtin"); rec.Code != 200 || rec.Body.String() != string(web.BuiltinTour()) {
		t.Errorf("builtin: %d, %d bytes; want 200 and the embedded file", rec.Code, rec.Body.Len())
	}
	if rec := get("/api/tours/class-1"); rec.Code != 200 || rec.Body.String() != goodTour {
		t.Errorf("class-1: %d %q; want 200 and the file", rec.Code, rec.Body.String())
	} else if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("class-1: Content-Type %q", ct)
	}
	for _, path := range []string{"/api/tours/none", "/api/tours/Class-1", "/api/tours/..%2Fetc", "/api/tours/" + strings.Repeat("a", 65)} {
		if rec := get(path); rec.Code != 404 || !strings.Contains(rec.Body.String(), `"not-found"`) {
			t.Errorf("%s: %d %s; want 404 not-found", path, rec.Code, rec.Body.String())
		}
	}
	// The page itself takes ?tour= (the page loads the tour).
	if rec := get("/?tour=class-1&preset=first"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"bptt"`) {
		t.Errorf("/?tour=class-1: %d; want 200 and the page with the built-in tour in its bootstrap data", rec.Code)
	}
	// A file broken after the start is refused, naming its step and field.
	if err := os.WriteFile(filepath.Join(dir, "class-1.json"), []byte(tourWith(t, "settings", `{"gain":-1}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := get("/api/tours/class-1")
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "class-1.json: step 2 (clip-train), field settings.gain") {
		t.Errorf("broken file: %d %s", rec.Code, rec.Body.String())
	}
	if _, err := LoadTours(dir, cfg.Limits, cfg.Train); err == nil || !strings.Contains(err.Error(), "class-1.json: step 2 (clip-train), field settings.gain") {
		t.Errorf("LoadTours of a broken file: %v", err)
	}
	// Without -tours only the built-in tour is there.
	ts, _ = newTestServer(t, DefaultConfig())
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/tours/class-1", nil)
	req.Host = strings.TrimPrefix(ts.URL, "http://")
	ts.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Errorf("no -tours: %d, want 404", rec.Code)
	}
}

func TestLoadToursRefusesBadNames(t *testing.T) {
	for _, name := range []string{"Class.json", "builtin.json", "a_b.json"} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, name), []byte(goodTour), 0o644)
		if _, err := LoadTours(dir, engine.DefaultLimits(), engine.DefaultTrainLimits()); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v, want an error naming it", name, err)
		}
	}
	if _, err := LoadTours(filepath.Join(t.TempDir(), "missing"), engine.DefaultLimits(), engine.DefaultTrainLimits()); err == nil || !strings.Contains(err.Error(), "-tours") {
		t.Errorf("missing directory: %v", err)
	}
}

// FuzzValidateTour: no input panics the checker, and every file it
// accepts is a JSON object with steps.
func FuzzValidateTour(f *testing.F) {
	f.Add([]byte(goodTour))
	f.Add(web.BuiltinTour())
	f.Add([]byte(`{"id":"a","title":{"en":"A","es":"A"},"steps":[{"id":"b","title":{"en":"B","es":"B"},"text":{"en":"C","es":"C"},"settings":{"T":1e400}}]}`))
	f.Add([]byte(`{"steps":null}`))
	lim, train := engine.DefaultLimits(), engine.DefaultTrainLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		if ValidateTour(data, lim, train) != nil {
			return
		}
		var file struct {
			Steps []json.RawMessage `json:"steps"`
		}
		if err := json.Unmarshal(data, &file); err != nil || len(file.Steps) == 0 {
			t.Errorf("accepted %q: %v, %d steps", data, err, len(file.Steps))
		}
	})
}
