package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gradviz/internal/engine"
)

// trainExportWire is the training export as a reader sees it.
type trainExportWire struct {
	Version    int             `json:"version"`
	Task       engine.Task     `json:"task"`
	Gap        int             `json:"T"`
	Keys       int             `json:"keys"`
	Batch      int             `json:"batch"`
	Iterations int             `json:"iterations"`
	Optimizer  map[string]any  `json:"optimizer"`
	Clipping   map[string]any  `json:"clipping"`
	Loss       string          `json:"loss"`
	Data       map[string]any  `json:"data"`
	Probe      json.RawMessage `json:"probe"`
	Models     []struct {
		Cell    engine.Cell     `json:"cell"`
		Config  engine.Settings `json:"config"`
		Weights json.RawMessage `json:"weights"`
	} `json:"models"`
	Runs []struct {
		Cell       engine.Cell `json:"cell"`
		Reason     string      `json:"reason"`
		Iterations int         `json:"iterations"`
		Loss       []Float     `json:"loss"`
		Accuracy   []Float     `json:"accuracy"`
		GradNorm   []Float     `json:"gradNorm"`
	} `json:"runs"`
	Batches []struct {
		Tokens  [][]int   `json:"tokens"`
		Classes [][]int   `json:"classes"`
		Values  [][]Float `json:"values"`
		Marks   [][2]int  `json:"marks"`
		Targets []Float   `json:"targets"`
	} `json:"batches"`
}

// TestTrainExportReplays: the training export names every constant of
// its run, its weights are the model's initial weights, and its batches,
// put through the engine from those weights, give its own loss curve bit
// for bit, for each task, both optimizers, with and without clipping.
func TestTrainExportReplays(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	for _, q := range []string{
		"task=recall&cells=rnn,lstm,gru,attn&T=12&H=6&K=3&batch=4&iterations=7&optimizer=adam&lr=.01&forgetBias=1",
		"task=adding&cells=rnn,gru&T=9&H=5&batch=3&iterations=6&optimizer=sgd&lr=0.05&momentum=0.9&clip=global-norm&threshold=0.1",
		"task=copy&cells=lstm&T=3&H=4&batch=2&iterations=4&optimizer=adam&lr=0.02&clip=step-norm&threshold=0.2&seed=7",
	} {
		t.Run(strings.SplitN(q, "&", 2)[0], func(t *testing.T) {
			resp, err := http.Get(ts.URL + "/api/train.json?" + q)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var ex trainExportWire
			if err := json.Unmarshal(body, &ex); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"kind", "lr", "rule"} {
				if _, ok := ex.Optimizer[name]; !ok {
					t.Errorf("optimizer has no %s: %v", name, ex.Optimizer)
				}
			}
			want := []string{"momentum"}
			if ex.Optimizer["kind"] == "adam" {
				want = []string{"beta1", "beta2", "epsilon"}
			}
			for _, name := range want {
				if _, ok := ex.Optimizer[name].(float64); !ok {
					t.Errorf("optimizer %v has no %s", ex.Optimizer["kind"], name)
				}
			}
			for _, name := range []string{"mode", "threshold", "rule"} {
				if _, ok := ex.Clipping[name]; !ok {
					t.Errorf("clipping has no %s", name)
				}
			}
			for _, name := range []string{"seed", "stream", "probeStream", "rng", "draw"} {
				if _, ok := ex.Data[name]; !ok {
					t.Errorf("data has no %s", name)
				}
			}
			if ex.Version != TrainExportVersion || ex.Loss == "" || len(ex.Probe) < 3 {
				t.Errorf("version %d, loss %q, probe %s", ex.Version, ex.Loss, ex.Probe)
			}
			if len(ex.Batches) != ex.Iterations || len(ex.Runs) != len(ex.Models) || len(ex.Models) == 0 {
				t.Fatalf("%d batches for %d iterations, %d runs for %d models", len(ex.Batches), ex.Iterations, len(ex.Runs), len(ex.Models))
			}
			for i, md := range ex.Models {
				run := ex.Runs[i]
				if run.Cell != md.Cell || run.Reason != "finished" || run.Iterations != ex.Iterations || len(run.Loss) != ex.Iterations || len(run.Accuracy) != ex.Iterations || len(run.GradNorm) != ex.Iterations {
					t.Fatalf("run %d: %s %s after %d, %d losses; want %s finished after %d", i, run.Cell, run.Reason, run.Iterations, len(run.Loss), md.Cell, ex.Iterations)
				}
				settings := engine.TrainSettings{Model: md.Config, Task: ex.Task, Optimizer: engine.OptimizerKind(ex.Optimizer["kind"].(string)),
					LR: ex.Optimizer["lr"].(float64), Batch: ex.Batch, Iterations: ex.Iterations}
				settings.Model.T, settings.Model.K = ex.Gap, ex.Keys
				if v, ok := ex.Optimizer["beta1"].(float64); ok {
					settings.Momentum = v
				} else {
					settings.Momentum = ex.Optimizer["momentum"].(float64)
				}
				tr := engine.NewTrainer(settings)
				if !reflect.DeepEqual(tr.Model(), md.Config) {
					t.Fatalf("%s: the export's config %+v does not rebuild itself: %+v", md.Cell, md.Config, tr.Model())
				}
				w, _ := json.Marshal(exportWeights(tr.Params()))
				if string(w) != string(md.Weights) {
					t.Fatalf("%s: the export's weights are not the model's initial weights", md.Cell)
				}
				for it, b := range ex.Batches {
					tb := &engine.TrainBatch{Task: ex.Task, Steps: md.Config.T, B: ex.Batch, Tokens: b.Tokens, Classes: b.Classes, Marks: b.Marks}
					for _, v := range b.Values {
						tb.Values = append(tb.Values, floats(v))
					}
					tb.Targets = floats(b.Targets)
					st, err := tr.StepBatch(context.Background(), tb)
					if err != nil {
						t.Fatal(err)
					}
					if st.Loss != float64(run.Loss[it]) || st.Accuracy != float64(run.Accuracy[it]) || st.GradNorm != float64(run.GradNorm[it]) {
						t.Fatalf("%s iteration %d: replay loss %v accuracy %v ‖g‖ %v, export %v %v %v", md.Cell, it+1, st.Loss, st.Accuracy, st.GradNorm, run.Loss[it], run.Accuracy[it], run.GradNorm[it])
					}
				}
			}
		})
	}
}

func floats(v []Float) []float64 {
	out := make([]float64, len(v))
	for i, f := range v {
		out[i] = float64(f)
	}
	return out
}

// TestTrainExportRefusesBadSettings: a bad value is a clear error that
// names its field, as in the lab.
func TestTrainExportRefusesBadSettings(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	for q, field := range map[string]string{
		"task=recall&lr=abc":           "lr",
		"task=nope":                    "task",
		"cells=rnn,rnn":                "cells",
		"iterations=99999999":          "iterations",
		"optimizer=adam&optimizer=sgd": "optimizer",
		"bogus=1":                      "bogus",
	} {
		resp, err := http.Get(ts.URL + "/api/train.json?" + q)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Field string `json:"field"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || body.Field != field {
			t.Errorf("%s: status %d, field %q; want 400 naming %s", q, resp.StatusCode, body.Field, field)
		}
	}
}

// TestTrainExportOmitsLongBatches: a run whose batches would be more
// than maxExportNumbers numbers is exported without them, saying so,
// with its curves whole.
func TestTrainExportOmitsLongBatches(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	// 128 sequences of 501 numbers (500 tokens and the key) per batch.
	iterations := maxExportNumbers/(128*501) + 1
	resp, err := http.Get(ts.URL + "/api/train.json?task=recall&cells=rnn&T=500&H=2&batch=128&iterations=" + strconv.Itoa(iterations))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ex struct {
		Batches *[]any `json:"batches"`
		Omitted string `json:"batchesOmitted"`
		Runs    []struct {
			Loss []Float `json:"loss"`
		} `json:"runs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ex); err != nil {
		t.Fatal(err)
	}
	if ex.Batches != nil || !strings.Contains(ex.Omitted, "draw them") || len(ex.Runs) != 1 || len(ex.Runs[0].Loss) != iterations {
		t.Errorf("batches %v, batchesOmitted %q, %d runs; want null, a reason, and %d losses", ex.Batches, ex.Omitted, len(ex.Runs), iterations)
	}
}
