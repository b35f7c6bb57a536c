package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"gradviz/internal/engine"
)

// The training lab's request over the websocket: "train" trains up to
// three cells on the same data and streams their progress.

// trainRequest is a parsed "train" message.
type trainRequest struct {
	base  engine.TrainSettings
	cells []engine.Cell // one run per cell, side by side on the same data
	every int           // iterations per progress message
}

// trainFields are the names a "train" message may carry besides the
// settings.
var trainFields = []string{"task", "optimizer", "lr", "momentum", "batch", "iterations", "every", "cells"}

// maxCompared bounds the runs of one training request: every model can
// be compared with three others.
const maxCompared = 4

// trainingSettings reads the model settings of a train message: the task
// decides the inputs and the loss, so a value for D or loss, which would
// be ignored, is refused; the settings left out take the training
// defaults.
func trainingSettings(fields map[string]json.RawMessage, cfg Config, extra []string) (engine.Settings, error) {
	for _, name := range []string{"D", "loss"} {
		if _, ok := fields[name]; ok {
			return engine.Settings{}, fieldErrorf(name, "%s is set by the task in a train message; leave it out", name)
		}
	}
	return settingsFromJSON(mergeDefaults(fields, engine.DefaultTrainSettings().Model), cfg.Limits, extra...)
}

// parseTrainRequest reads a train message whose settings trainingSettings
// has read. Values past the server's training bounds are
// codeTrainingLimit errors, and an iteration past -max-work a
// codeWorkLimit one.
func parseTrainRequest(r *request) (trainRequest, error) {
	cfg, fields := r.cfg, r.fields
	req := trainRequest{base: engine.DefaultTrainSettings(), every: 10}
	req.base.Model = r.settings
	model := r.settings
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{{"task", (*string)(&req.base.Task)}, {"optimizer", (*string)(&req.base.Optimizer)}} {
		if raw, ok := fields[f.name]; ok {
			if err := stringField(raw, f.dst); err != nil {
				return req, fieldErrorf(f.name, "%s must be a string, got %s", f.name, shorten(string(raw)))
			}
		}
	}
	for _, f := range []struct {
		name     string
		dst      *float64
		min, max float64
	}{{"lr", &req.base.LR, 0, 10}, {"momentum", &req.base.Momentum, 0, 1}} {
		if *f.dst, err = numberField(fields, f.name, *f.dst, f.min, f.max); err != nil {
			return req, err
		}
	}
	for _, f := range []struct {
		name     string
		dst      *int
		min, max int
		bound    bool // max is a server flag, not the protocol's
	}{
		{"batch", &req.base.Batch, 1, cfg.Train.MaxBatch, true},
		{"iterations", &req.base.Iterations, 1, cfg.Train.MaxIterations, true},
		{"every", &req.every, 1, 1000, false},
	} {
		v, err := numberField(fields, f.name, float64(*f.dst), float64(f.min), float64(f.max))
		if err != nil {
			// A number over a server bound is a training limit.
			if v, e := numberField(fields, f.name, 0, math.Inf(-1), math.Inf(1)); f.bound && e == nil && v > float64(f.max) {
				err = withCode(codeTrainingLimit, err.(*FieldError))
			}
			return req, err
		}
		if v != math.Trunc(v) {
			return req, fieldErrorf(f.name, "%s must be a whole number, got %g", f.name, v)
		}
		*f.dst = int(v)
	}
	req.cells = []engine.Cell{model.Cell}
	if raw, ok := fields["cells"]; ok {
		var items []json.RawMessage
		names := cellNames()
		if err := json.Unmarshal(raw, &items); err != nil || items == nil || len(items) == 0 || len(items) > maxCompared {
			return req, fieldErrorf("cells", "cells must be a list of 1 to %d of %s, got %s", maxCompared, names, shorten(string(raw)))
		}
		req.cells = req.cells[:0]
		for _, item := range items {
			var n string
			if err := stringField(item, &n); err != nil {
				return req, fieldErrorf("cells", "cells must be a list of names among %s, got %s", names, shorten(string(item)))
			}
			c := engine.Cell(n)
			if c.Info().Cell != c || containsCell(req.cells, c) {
				return req, fieldErrorf("cells", "cells must be distinct names among %s, got %q", names, shorten(n))
			}
			req.cells = append(req.cells, c)
		}
	}
	for _, c := range req.cells {
		ts := req.base
		ts.Model.Cell = c
		if err := ts.Validate(cfg.Train); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				return req, err
			}
			// The settings are within the profile's limits already, and
			// batch and iterations at least 1, so one of these out of
			// range is past what training allows (a default batch past
			// -max-train-batch is one).
			if contains([]string{"T", "H", "K", "batch", "iterations"}, fe.Field) {
				err = withCode(codeTrainingLimit, fe)
			}
			return req, reframe(err, fe.Field, "training: "+fe.Message)
		}
	}
	return req, checkTrainCost(req, cfg.Limits.MaxWork, cfg.MemoryBudget)
}

// checkTrainCost bounds one training iteration of each run, the batch
// through the task's sequence: its work by -max-work like one profile (a
// run holds a worker an iteration at a time), and its working memory by
// the server's whole budget (attention keeps a T×T matrix per sequence,
// so a batch of long sequences can be small work and large memory).
// Either bound is off when 0.
func checkTrainCost(req trainRequest, maxWork, budget int64) error {
	for _, c := range req.cells {
		m := req.base.Model
		m.Cell = c
		m.D, m.K, m.T = engine.TaskShape(req.base.Task, req.base.Model.T, req.base.Model.K)
		if w := m.Work() * int64(req.base.Batch); maxWork > 0 && w > maxWork {
			return codedf(codeWorkLimit, "batch", "training: batch × %s must be at most %d, got %d (%s, %d steps, H=%d, batch %d): use a smaller batch, a shorter sequence or fewer hidden units",
				c.Info().WorkFormula, maxWork, w, c, m.T, m.H, req.base.Batch)
		}
		if b := m.WorkingBytes(req.base.Batch); budget > 0 && b > budget {
			return codedf(codeWorkLimit, "batch", "training: one iteration needs about %d MB of memory (%s, %d steps, H=%d, batch %d), more than the server's %d MB: use a smaller batch or a shorter sequence",
				b>>20, c, m.T, m.H, req.base.Batch, budget>>20)
		}
	}
	return nil
}

// mergeDefaults fills the settings a train message leaves out from the
// training defaults (T=40, K=8, gain 0.8, forget bias 3) rather than the
// profile's.
func mergeDefaults(fields map[string]json.RawMessage, def engine.Settings) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(fields)+4)
	for k, v := range fields {
		out[k] = v
	}
	for name, v := range map[string]any{"T": def.T, "K": def.K, "gain": def.Gain, "forgetBias": def.ForgetBias} {
		if _, ok := out[name]; !ok {
			out[name], _ = json.Marshal(v)
		}
	}
	return out
}

func containsCell(cells []engine.Cell, c engine.Cell) bool {
	for _, x := range cells {
		if x == c {
			return true
		}
	}
	return false
}

// trainStartMessage opens a training stream.
type trainStartMessage struct {
	Type           string          `json:"type"`
	ID             int64           `json:"id"`
	Task           engine.Task     `json:"task"`
	Config         engine.Settings `json:"config"` // the model of run 0, as the task shapes it
	Iterations     int             `json:"iterations"`
	Every          int             `json:"every"`
	Baseline       Float           `json:"baseline"`
	ChanceAccuracy Float           `json:"chanceAccuracy"`
	Runs           []trainRun      `json:"runs"`
}

type trainRun struct {
	Run  int         `json:"run"`
	Cell engine.Cell `json:"cell"`
}

// progressMessage reports a window of iterations of one run.
type progressMessage struct {
	Type      string `json:"type"`
	ID        int64  `json:"id"`
	Run       int    `json:"run"`
	Iteration int    `json:"iter"`
	// Means over the iterations since the last message.
	Loss            Float `json:"loss"`
	Accuracy        Float `json:"accuracy"`
	GradNorm        Float `json:"gradNorm"`
	GradNormClipped Float `json:"gradNormClipped"`
	// ClipRate is the fraction of those iterations at which clipping
	// changed the gradient; NonFinite counts those with Inf or NaN.
	ClipRate  Float `json:"clipRate"`
	NonFinite int   `json:"nonFinite"`
	// Horizon is how many steps back ‖∂E/∂s_k‖/‖∂E/∂s_T‖ stays above 1e-3
	// on the probe sequence; Profile is that ‖∂E/∂s_k‖.
	Horizon        int     `json:"horizon"`
	Profile        Floats  `json:"profile"`
	ItersPerSecond float64 `json:"itersPerSecond"`
}

// trainDoneMessage ends one run: "finished", "diverged" (the weights are
// no longer finite), "stopped" or "limit" (the server's CPU cap).
type trainDoneMessage struct {
	Type      string `json:"type"`
	ID        int64  `json:"id"`
	Run       int    `json:"run"`
	Reason    string `json:"reason"`
	Iteration int    `json:"iter"`
}

// window accumulates the iterations between two progress messages.
type window struct {
	n, clipped, nonFinite     int
	loss, acc, norm, clipped2 float64
}

func (w *window) add(st engine.StepStats) {
	w.n++
	w.loss += st.Loss
	w.acc += st.Accuracy
	w.norm += st.GradNorm
	w.clipped2 += st.GradNormClipped
	if st.Clipped {
		w.clipped++
	}
	if st.NonFinite {
		w.nonFinite++
	}
}

// labRun is one model being trained.
type labRun struct {
	tr        *engine.Trainer
	win       window
	done      bool
	since     time.Time // start of the current window
	sinceIter int
}

// runTraining trains one model per requested cell, interleaved an
// iteration at a time so the curves advance together, and streams
// progress until the iterations are done, every run has diverged, or ctx
// is cancelled (a stop, a newer train, the client leaving). However it
// ends, while the client is there, each run gets its trainDone and the
// stream ends with done.
func (sess *session) runTraining(ctx context.Context, id int64, req trainRequest) {
	sess.trainingStream(id, func() { sess.trainRuns(ctx, id, req) })
}

// trainingStream counts a training in the metrics while runs streams it,
// then ends the stream with done while the client is there. The training
// lab and the language lab both stream through it.
func (sess *session) trainingStream(id int64, runs func()) {
	m := sess.srv.metrics
	m.trainingStarted.Add(1)
	m.trainingActive.Add(1)
	defer m.trainingActive.Add(-1)
	runs()
	if sess.ctx.Err() == nil {
		sess.sendDone(id)
	}
}

// trainRuns is runTraining without the stream's end.
func (sess *session) trainRuns(ctx context.Context, id int64, req trainRequest) {
	runs := make([]*labRun, len(req.cells))
	start := trainStartMessage{
		Type: "trainStart", ID: id, Task: req.base.Task, Iterations: req.base.Iterations, Every: req.every,
		Baseline:       Float(engine.Baseline(req.base.Task, req.base.Model.T, req.base.Model.K)),
		ChanceAccuracy: Float(engine.ChanceAccuracy(req.base.Task, req.base.Model.K)),
	}
	for i, c := range req.cells {
		ts := req.base
		ts.Model.Cell = c
		runs[i] = &labRun{tr: engine.NewTrainer(ts), since: time.Now()}
		start.Runs = append(start.Runs, trainRun{Run: i, Cell: c})
	}
	start.Config = runs[0].tr.Model()
	sess.sendJSON(start, false)
	sess.log.Info("training started", "runs", len(runs), "task", req.base.Task, "T", req.base.Model.T, "H", req.base.Model.H)

	finish := func(i int, reason string, iter int) {
		runs[i].done = true
		sess.sendJSON(trainDoneMessage{Type: "trainDone", ID: id, Run: i, Reason: reason, Iteration: iter}, false)
	}
	// finishRest ends every run still going with reason.
	finishRest := func(reason string, iter int) {
		for i, r := range runs {
			if !r.done {
				finish(i, reason, iter)
			}
		}
	}
	var cpu atomic.Int64
	ctx = withCPUMeter(ctx, &cpu)
	limit := func(iter int, reason, why string) {
		sess.log.Info("training ended by the server", "reason", why, "iter", iter, "cpuSeconds", time.Duration(cpu.Load()).Seconds())
		finishRest(reason, iter)
	}
	cfg := sess.srv.cfg
	for iter := 1; iter <= req.base.Iterations; iter++ {
		if cfg.TrainCPU > 0 && time.Duration(cpu.Load()) > cfg.TrainCPU {
			limit(iter-1, "limit", "cpu")
			return
		}
		if cfg.TrainUnread > 0 && sess.unreadFor() > cfg.TrainUnread {
			limit(iter-1, "stopped", "unread")
			return
		}
		active := 0
		for i, r := range runs {
			if r.done {
				continue
			}
			active++
			var st engine.StepStats
			bytes := r.tr.Model().WorkingBytes(req.base.Batch)
			err := sess.srv.withSlot(ctx, bytes, func(ctx context.Context) (err error) {
				st, err = r.tr.Step(ctx)
				if bytes > cfg.MemoryBudget/64 {
					// The memory is reserved only while the iteration
					// runs: a large run gives its buffers back with its
					// slot. A small one keeps them and allocates nothing.
					r.tr.Shrink()
				}
				return err
			})
			if err != nil {
				if ctx.Err() == nil {
					sess.sendErr(id, err)
				}
				if sess.ctx.Err() == nil {
					finishRest("stopped", iter)
				}
				return
			}
			r.win.add(st)
			diverged := r.tr.Diverged()
			if iter%req.every == 0 || iter == req.base.Iterations || diverged {
				sess.sendProgress(ctx, id, i, iter, r.tr, &r.win, r.since, iter-r.sinceIter)
				r.win, r.since, r.sinceIter = window{}, time.Now(), iter
			}
			if diverged {
				finish(i, "diverged", iter)
			}
		}
		if active == 0 {
			break
		}
	}
	finishRest("finished", req.base.Iterations)
}

func (sess *session) sendProgress(ctx context.Context, id int64, run, iter int, tr *engine.Trainer, w *window, since time.Time, iters int) {
	var profile []float64
	sess.srv.withSlot(ctx, tr.Model().WorkingBytes(1), func(ctx context.Context) (err error) {
		profile, err = tr.Probe(ctx)
		return err
	})
	n := float64(max(w.n, 1))
	msg := progressMessage{
		Type: "progress", ID: id, Run: run, Iteration: iter,
		Loss: Float(w.loss / n), Accuracy: Float(w.acc / n),
		GradNorm: Float(w.norm / n), GradNormClipped: Float(w.clipped2 / n),
		ClipRate: Float(float64(w.clipped) / n), NonFinite: w.nonFinite,
		Horizon: engine.Horizon(profile, 1e-3), Profile: profile,
	}
	if d := time.Since(since).Seconds(); d > 0 {
		msg.ItersPerSecond = math.Round(float64(iters)/d*10) / 10
	}
	// Progress is droppable: the next message carries newer numbers.
	sess.sendJSON(msg, true)
}

// cellNames lists the models for error messages: "rnn, lstm, gru".
func cellNames() string {
	names := make([]string, len(engine.Cells))
	for i, c := range engine.Cells {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}
