package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// TrainSettings describes one training run of the training lab.
type TrainSettings struct {
	// Model gives the cell, activation, H, initialisation, gain, forget
	// bias, clipping, seed and direction. Its T is the task's gap and its
	// K the number of keys for recall; D comes from the task.
	Model      Settings
	Task       Task
	Optimizer  OptimizerKind
	LR         float64
	Momentum   float64 // SGD momentum, Adam β₁
	Batch      int
	Iterations int
}

// TrainLimits bounds a training run; the server sets them from flags.
type TrainLimits struct {
	MaxT, MaxH, MaxBatch, MaxIterations int
}

// DefaultTrainLimits keeps one iteration of the largest run near a tenth
// of a second on a laptop core.
func DefaultTrainLimits() TrainLimits {
	return TrainLimits{MaxT: 500, MaxH: 128, MaxBatch: 128, MaxIterations: 20000}
}

// DefaultTrainSettings returns the run the lab's Compare teaches with,
// within a minute: recall of one of 8 keys across 40 steps, Adam at lr
// 0.003, 1000 iterations of 32 sequences. The recurrent gain is 0.8, just
// inside the vanishing regime: at gain 1 (the edge of chaos) a tanh RNN
// can still carry the gradient across many steps, and a larger lr lets
// Adam's per-weight scaling dig the key out of a vanished gradient. The
// forget bias 3 keeps σ(3) ≈ 0.95 of the LSTM's cell state and the GRU's
// state per step (0.95^40 ≈ 0.14 across the sequence): at forget bias
// 1 (0.73^40 ≈ 3·10⁻⁶) the gated cells learn on some seeds only.
// TestDefaultsTeach holds these to their lesson.
func DefaultTrainSettings() TrainSettings {
	m := Defaults()
	m.T, m.H, m.K, m.Gain, m.ForgetBias = 40, 32, 8, 0.8, 3
	return TrainSettings{Model: m, Task: TaskRecall, Optimizer: OptAdam, LR: 0.003, Momentum: 0.9, Batch: 32, Iterations: 1000}
}

// Validate checks the run against lim, returning a *FieldError that
// names the field.
func (ts TrainSettings) Validate(lim TrainLimits) error {
	model := lim
	if err := ts.Model.Validate(Limits{MaxT: model.MaxT, MaxH: model.MaxH, MaxD: 64, MaxK: 16}); err != nil {
		return err
	}
	if err := oneOf("task", ts.Task, Tasks); err != nil {
		return err
	}
	if err := oneOf("optimizer", ts.Optimizer, Optimizers); err != nil {
		return err
	}
	if !(ts.LR > 0 && ts.LR <= 10) {
		return fieldErrorf("lr", "lr must be greater than 0 and at most 10, got %s", formatFloat(ts.LR))
	}
	if !(ts.Momentum >= 0 && ts.Momentum < 1) {
		return fieldErrorf("momentum", "momentum must be at least 0 and below 1, got %s", formatFloat(ts.Momentum))
	}
	if ts.Batch < 1 || ts.Batch > lim.MaxBatch {
		return fieldErrorf("batch", "batch must be 1..%d, got %d", lim.MaxBatch, ts.Batch)
	}
	if ts.Iterations < 1 || ts.Iterations > lim.MaxIterations {
		return fieldErrorf("iterations", "iterations must be 1..%d, got %d", lim.MaxIterations, ts.Iterations)
	}
	return nil
}

// Trainer trains one model on one task, an iteration at a time, so a
// caller can interleave runs, report progress and stop at any step.
type Trainer struct {
	ts     TrainSettings
	model  Settings // with the task's D, K and sequence length
	params *Params
	grads  *Params
	opt    *Optimizer
	data   *rand.Rand
	probe  *batch
	iter   int

	// Reused by every iteration, so that a step allocates nothing.
	batch batch
	tape  tape
	opts  backwardOptions
}

// StepStats is what one iteration measured.
type StepStats struct {
	Iteration int
	Loss      float64
	Accuracy  float64
	// GradNorm is ‖∂E/∂θ‖ before global-norm clipping (for the step modes,
	// of the gradient built from clipped δ_k); GradNormClipped is the norm
	// of the update's gradient.
	GradNorm, GradNormClipped float64
	// Clipped reports that clipping changed the gradient.
	Clipped bool
	// NonFinite reports an Inf or NaN in the loss or the gradient.
	NonFinite bool
}

// NewTrainer returns a trainer with seeded parameters and data. Runs with
// the same seed and task see the same batches, whatever the cell.
func NewTrainer(ts TrainSettings) *Trainer {
	m := ts.Model
	m.D, m.K, m.T = TaskShape(ts.Task, ts.Model.T, ts.Model.K)
	p := InitParams(m)
	tr := &Trainer{
		ts: ts, model: m, params: p,
		grads: NewParams(p.Cell, p.H, p.D, p.K, p.Dirs),
		opt:   NewOptimizer(ts.Optimizer, ts.LR, ts.Momentum, len(p.Data)),
		data:  stream(m.Seed, "train/"+string(ts.Task)),
		probe: makeBatch(ts.Task, ts.Model.T, ts.Model.K, 1, stream(m.Seed, "probe/"+string(ts.Task))),
	}
	return tr
}

// Model returns the settings of the trained model (D, K and T as the task
// makes them).
func (tr *Trainer) Model() Settings { return tr.model }

// Params returns the current parameters; the trainer keeps using them.
func (tr *Trainer) Params() *Params { return tr.params }

// Diverged reports whether a parameter is no longer finite, after which
// no update can bring the model back.
func (tr *Trainer) Diverged() bool { return !allFinite(tr.params.Data) }

// Step runs one iteration: a fresh batch, forward, backward through time
// with the clipping mode, and an optimizer update. A non-finite gradient
// is applied like any other, as a framework would: that is how a run dies
// of an explosion, and clipping is how it survives.
func (tr *Trainer) Step(ctx context.Context) (StepStats, error) {
	b := makeBatchInto(&tr.batch, tr.ts.Task, tr.ts.Model.T, tr.ts.Model.K, tr.ts.Batch, tr.data)
	return tr.step(ctx, b)
}

// step is Step on the batch b.
func (tr *Trainer) step(ctx context.Context, b *batch) (StepStats, error) {
	tr.iter++
	s := tr.model
	tp := &tr.tape
	tp.scoredOnly = true // accuracy reads only the scored steps
	if err := tp.forward(ctx, tr.params, s.Act, b, nil); err != nil {
		return StepStats{}, err
	}
	clear(tr.grads.Data)
	opts := &tr.opts
	*opts = backwardOptions{clip: s.Clip, threshold: s.Threshold}
	if err := backward(ctx, tp, tr.grads, opts); err != nil {
		return StepStats{}, err
	}
	st := StepStats{Iteration: tr.iter, Loss: tp.loss, Accuracy: accuracy(tr.ts.Task, tp), Clipped: opts.clipped > 0}
	st.GradNorm = norm2(tr.grads.Data)
	st.GradNormClipped = st.GradNorm
	if s.Clip == ClipGlobalNorm {
		_, st.GradNormClipped = ClipByGlobalNorm(tr.grads.Data, s.Threshold)
		st.Clipped = st.GradNormClipped < st.GradNorm
	}
	st.NonFinite = math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) || math.IsNaN(st.GradNorm) || math.IsInf(st.GradNorm, 0)
	tr.opt.Step(tr.params.Data, tr.grads.Data)
	return st, nil
}

// Shrink lets go of the buffers the trainer keeps between iterations
// (the forward record and the backward scratch), so that a large run
// waiting for its next iteration holds no working memory; the next Step
// allocates them again. Results do not change.
func (tr *Trainer) Shrink() {
	tr.tape = tape{}
	tr.opts = backwardOptions{}
}

// Probe measures ‖∂E/∂s_k‖ for k = 1..steps on a fixed probe sequence
// with the current parameters, without clipping: the profile the model
// has now.
func (tr *Trainer) Probe(ctx context.Context) ([]float64, error) {
	tp, err := forward(ctx, tr.params, tr.model.Act, tr.probe, nil)
	if err != nil {
		return nil, err
	}
	opts := backwardOptions{}
	opts.dhNorm[0] = make([]float64, tr.probe.T)
	if err := backward(ctx, tp, nil, &opts); err != nil {
		return nil, err
	}
	return opts.dhNorm[0], nil
}

// Horizon returns how many steps back from the last the profile stays
// above ratio times its last value: the memory horizon of the model.
func Horizon(profile []float64, ratio float64) int {
	n := len(profile)
	if n == 0 || !(profile[n-1] > 0) {
		return 0
	}
	limit := ratio * profile[n-1]
	h := 0
	for k := n - 2; k >= 0; k-- {
		if !(profile[k] >= limit) {
			break
		}
		h++
	}
	return h
}

// String describes the run for logs.
func (ts TrainSettings) String() string {
	return fmt.Sprintf("%s %s T=%d H=%d %s lr=%g batch=%d", ts.Task, ts.Model.Cell, ts.Model.T, ts.Model.H, ts.Optimizer, ts.LR, ts.Batch)
}
