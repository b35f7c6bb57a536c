package api

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"gradviz/internal/engine"
)

// GET /api/train.json?<settings>&task=…&cells=…: the training lab's run,
// trained again in the server from its settings (the same ones a train
// message takes, cells comma-separated), deterministically, under the
// lab's limits, with everything a student needs to replay it elsewhere:
// each model's initial weights, the rule that draws the batches and the
// batches themselves (when they are at most maxExportNumbers numbers), the
// probe sequence, the optimizer with its constants, the clipping rule,
// and each run's loss, accuracy and gradient norm at every iteration.
// docs/replay.md describes the fields and replays them in PyTorch.

// TrainExportVersion is the version of the training export's format.
const TrainExportVersion = 1

// maxExportNumbers bounds the batches an export carries; a longer run's
// export has the rule to draw them, and batches null.
const maxExportNumbers = 1 << 22

type trainExport struct {
	Version    int               `json:"version"`
	Task       engine.Task       `json:"task"`
	Gap        int               `json:"T"`
	Keys       int               `json:"keys"`
	Batch      int               `json:"batch"`
	Iterations int               `json:"iterations"`
	Optimizer  exportOptimizer   `json:"optimizer"`
	Clipping   exportClipping    `json:"clipping"`
	Loss       string            `json:"loss"`
	Baseline   Float             `json:"baseline"`
	Chance     Float             `json:"chanceAccuracy"`
	Data       exportData        `json:"data"`
	Models     []exportModel     `json:"models"`
	Probe      *exportBatch      `json:"probe"`
	Runs       []exportRun       `json:"runs"`
	Omitted    string            `json:"batchesOmitted,omitempty"`
	Extra      map[string]string `json:"notes"`
}

type exportOptimizer struct {
	Kind     engine.OptimizerKind `json:"kind"`
	LR       Float                `json:"lr"`
	Momentum Float                `json:"momentum,omitempty"` // SGD
	Beta1    Float                `json:"beta1,omitempty"`    // Adam
	Beta2    Float                `json:"beta2,omitempty"`
	Epsilon  Float                `json:"epsilon,omitempty"`
	Rule     string               `json:"rule"`
}

type exportClipping struct {
	Mode      engine.ClipMode `json:"mode"`
	Threshold Float           `json:"threshold"`
	Rule      string          `json:"rule"`
}

type exportData struct {
	Seed   uint64 `json:"seed"`
	Stream string `json:"stream"`
	Probe  string `json:"probeStream"`
	RNG    string `json:"rng"`
	Draw   string `json:"draw"`
}

type exportModel struct {
	Cell    engine.Cell     `json:"cell"`
	Config  engine.Settings `json:"config"` // as the task shapes it: D, K and the sequence length
	Weights Weights         `json:"weights"`
}

type exportRun struct {
	Cell            engine.Cell `json:"cell"`
	Reason          string      `json:"reason"` // finished, diverged or limit
	Iterations      int         `json:"iterations"`
	Loss            Floats      `json:"loss"`
	Accuracy        Floats      `json:"accuracy"`
	GradNorm        Floats      `json:"gradNorm"`
	GradNormClipped Floats      `json:"gradNormClipped"`
}

// exportBatch is an engine.TrainBatch on the wire.
type exportBatch struct {
	Tokens  [][]int  `json:"tokens,omitempty"`
	Classes [][]int  `json:"classes,omitempty"`
	Values  []Floats `json:"values,omitempty"`
	Marks   [][2]int `json:"marks,omitempty"`
	Targets Floats   `json:"targets,omitempty"`
}

func newExportBatch(tb *engine.TrainBatch) *exportBatch {
	eb := &exportBatch{Tokens: tb.Tokens, Classes: tb.Classes, Marks: tb.Marks}
	if tb.Task == engine.TaskAdding {
		eb.Values = make([]Floats, len(tb.Values))
		for i, v := range tb.Values {
			eb.Values[i] = v
		}
		eb.Targets = tb.Targets
	}
	return eb
}

// trainFieldsFromQuery turns a query into the fields of a train message:
// cells is a comma-separated list, a number or true/false is itself, any
// other text a string. A name given twice is an error.
func trainFieldsFromQuery(q url.Values) (map[string]json.RawMessage, error) {
	fields := make(map[string]json.RawMessage, len(q))
	for _, name := range sortedKeys(q) {
		vs := q[name]
		if len(vs) > 1 {
			return nil, fieldErrorf(shorten(name), "%s is given %d times", shorten(name), len(vs))
		}
		v := vs[0]
		var raw []byte
		switch {
		case name == "cells":
			var list []string
			start := 0
			for i := 0; i <= len(v); i++ {
				if i == len(v) || v[i] == ',' {
					list = append(list, v[start:i])
					start = i + 1
				}
			}
			raw, _ = json.Marshal(list)
		case v == "true" || v == "false":
			raw = []byte(v)
		default:
			if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				raw = strconv.AppendFloat(nil, f, 'g', -1, 64) // ".5" and "040" as JSON numbers
			} else {
				raw, _ = json.Marshal(v)
			}
		}
		fields[name] = raw
	}
	return fields, nil
}

// handleTrainExport serves GET /api/train.json.
func (s *Server) handleTrainExport() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cfg := s.cfg
		fields, err := trainFieldsFromQuery(r.URL.Query())
		if err != nil {
			writeError(w, s.logger, err)
			return
		}
		allowed := append([]string{}, trainFields...)
		settings, err := trainingSettings(fields, cfg, allowed)
		if err != nil {
			writeError(w, s.logger, err)
			return
		}
		req, err := parseTrainRequest(&request{fields: fields, settings: settings, cfg: cfg})
		if err != nil {
			writeError(w, s.logger, err)
			return
		}
		// A training takes longer than the server's read and write
		// timeouts allow a plot; this request gets the lab's bound (its
		// route's run timeout) and a minute to send the file.
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(max(cfg.RunTimeout, cfg.TrainCPU) + time.Minute)
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		tag := runTagOf(r.Context())
		tag.kind = kindTrain
		var cpu atomic.Int64
		ctx := withCPUMeter(withRunTag(r.Context(), tag), &cpu)
		ex, err := s.trainForReplay(ctx, req, &cpu)
		if err != nil {
			writeError(w, s.logger, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="gradviz-training.json"`)
		bw := bufio.NewWriterSize(w, 1<<16)
		writeTrainExport(bw, ex, req)
		bw.Flush()
	}
}

// trainForReplay trains every run of req as the lab does, an iteration of
// each model at a time in a worker slot, and records every iteration.
func (s *Server) trainForReplay(ctx context.Context, req trainRequest, cpu *atomic.Int64) (*trainExport, error) {
	base := req.base
	m := base.Model
	o := engine.NewOptimizer(base.Optimizer, base.LR, base.Momentum, 0)
	ex := &trainExport{
		Version: TrainExportVersion, Task: base.Task, Gap: m.T, Keys: m.K, Batch: base.Batch, Iterations: base.Iterations,
		Clipping: exportClipping{Mode: m.Clip, Threshold: Float(m.Threshold), Rule: clipRule(m.Clip)},
		Baseline: Float(engine.Baseline(base.Task, m.T, m.K)), Chance: Float(engine.ChanceAccuracy(base.Task, m.K)),
		Data: exportData{
			Seed: m.Seed, Stream: "train/" + string(base.Task), Probe: "probe/" + string(base.Task),
			RNG:  "Go math/rand/v2: rand.New(rand.NewPCG(seed, h)), h the FNV-1a 64-bit hash of the stream's name; one stream for every batch in turn, another for the probe",
			Draw: drawRule(base.Task),
		},
		Extra: map[string]string{
			"weights": "as /api/profile?include=weights writes them: matrices row-major as nested arrays, gate-stacked arrays split by gate letter, the GRU's bh_n inside b",
			"runs":    "every run starts from its model's weights and sees the same batches; loss[i] is E of iteration i+1 before its update",
		},
	}
	switch base.Optimizer {
	case engine.OptAdam:
		ex.Optimizer = exportOptimizer{Kind: o.Kind, LR: Float(o.LR), Beta1: Float(o.Momentum), Beta2: Float(o.Beta2), Epsilon: Float(o.Epsilon),
			Rule: "t ← t+1; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε) (PyTorch's Adam)"}
	default:
		ex.Optimizer = exportOptimizer{Kind: o.Kind, LR: Float(o.LR), Momentum: Float(o.Momentum),
			Rule: "m ← μm + g (m starts at 0, so the first m is g); θ ← θ − lr·m (PyTorch's SGD, dampening 0, no Nesterov)"}
	}
	if base.Task == engine.TaskAdding {
		ex.Loss = "mean over the batch of (o_T − y)²"
	} else if base.Task == engine.TaskCopy {
		ex.Loss = "mean over every step of every sequence of the cross-entropy of softmax(o_t)"
	} else {
		ex.Loss = "mean over the batch of the cross-entropy of softmax(o_T)"
	}
	ex.Probe = newExportBatch(engine.ProbeBatch(base))

	trainers := make([]*engine.Trainer, len(req.cells))
	for i, c := range req.cells {
		ts := base
		ts.Model.Cell = c
		trainers[i] = engine.NewTrainer(ts)
		ex.Models = append(ex.Models, exportModel{Cell: c, Config: trainers[i].Model(), Weights: exportWeights(trainers[i].Params().Clone())})
		ex.Runs = append(ex.Runs, exportRun{Cell: c, Reason: "finished",
			Loss: make(Floats, 0, base.Iterations), Accuracy: make(Floats, 0, base.Iterations),
			GradNorm: make(Floats, 0, base.Iterations), GradNormClipped: make(Floats, 0, base.Iterations)})
	}
	done := make([]bool, len(trainers))
	for iter := 1; iter <= base.Iterations; iter++ {
		if s.cfg.TrainCPU > 0 && time.Duration(cpu.Load()) > s.cfg.TrainCPU {
			for i := range done {
				if !done[i] {
					ex.Runs[i].Reason, done[i] = "limit", true
				}
			}
			break
		}
		active := 0
		for i, tr := range trainers {
			if done[i] {
				continue
			}
			active++
			var st engine.StepStats
			bytes := tr.Model().WorkingBytes(base.Batch)
			err := s.withSlot(ctx, bytes, func(ctx context.Context) (err error) {
				st, err = tr.Step(ctx)
				if bytes > s.cfg.MemoryBudget/64 {
					tr.Shrink()
				}
				return err
			})
			if err != nil {
				return nil, err
			}
			run := &ex.Runs[i]
			run.Iterations = iter
			run.Loss = append(run.Loss, st.Loss)
			run.Accuracy = append(run.Accuracy, st.Accuracy)
			run.GradNorm = append(run.GradNorm, st.GradNorm)
			run.GradNormClipped = append(run.GradNormClipped, st.GradNormClipped)
			if tr.Diverged() {
				run.Reason, done[i] = "diverged", true
			}
		}
		if active == 0 {
			break
		}
	}
	return ex, nil
}

// writeTrainExport writes ex with its batches, drawn again from the seed
// as they are written, so that the export holds no more than one batch
// in memory besides its curves.
func writeTrainExport(w *bufio.Writer, ex *trainExport, req trainRequest) {
	n := 0
	for _, r := range ex.Runs {
		n = max(n, r.Iterations)
	}
	src := engine.NewBatchSource(req.base)
	per := 0
	if n > 0 {
		per = src.Next().Numbers()
		src = engine.NewBatchSource(req.base)
	}
	if per*n > maxExportNumbers {
		ex.Omitted = "the batches of this run are more than " + strconv.Itoa(maxExportNumbers) + " numbers; draw them as data.draw says, or export fewer iterations"
		n = 0
	}
	head, _ := json.Marshal(ex)
	w.Write(head[:len(head)-1]) // without its closing brace
	if ex.Omitted != "" {
		w.WriteString(`,"batches":null}` + "\n")
		return
	}
	w.WriteString(`,"batches":[`)
	for i := range n {
		if i > 0 {
			w.WriteByte(',')
		}
		b, _ := json.Marshal(newExportBatch(src.Next()))
		w.Write(b)
	}
	w.WriteString("]}\n")
}

func clipRule(mode engine.ClipMode) string {
	switch mode {
	case engine.ClipGlobalNorm:
		return "after backpropagation, with g every parameter's gradient as one vector: if ‖g‖₂ > threshold, g ← g·threshold/‖g‖₂ (torch.nn.utils.clip_grad_norm_ without its 1e-6)"
	case engine.ClipStepNorm:
		return "during backpropagation through time, δ_k = ∂E/∂s_k, when ‖δ_k‖₂ > threshold, becomes δ_k·threshold/‖δ_k‖₂ before it reaches the weights and s_{k−1}"
	case engine.ClipStepValue:
		return "during backpropagation through time, every element of δ_k = ∂E/∂s_k is clamped to [−threshold, threshold] before it reaches the weights and s_{k−1}"
	}
	return "none: the gradient is applied as computed"
}

func drawRule(task engine.Task) string {
	switch task {
	case engine.TaskAdding:
		return "for each sequence r in turn: T numbers u_t = Float64(), then m1 = 1 + IntN(h) and m2 = h + 1 + IntN(T − h) with h = max(1, T/2); the target is u_m1 + u_m2"
	case engine.TaskCopy:
		return "for each sequence r in turn: steps 1..10 the symbols 1 + IntN(8); steps 11..T+9 the blank 0, step T+10 the delimiter 9, steps T+11..T+20 the blank; every step is scored, the target the blank up to step T+10 and then symbol t−T−10"
	}
	return "for each sequence r in turn: key = IntN(K), the token of step 1; then for t = 2..T the token K + IntN(4), a distractor; the target is the key"
}
