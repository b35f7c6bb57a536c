package engine

import (
	"context"
	"fmt"
)

// TrainBatch is one batch of a training run as plain data, sequence by
// sequence, for an export that another program can replay: the input of
// step t of sequence r and what is scored.
//
//   - recall and copy: Tokens[r][t−1] is the index of the 1 in the
//     one-hot input at step t. Recall scores the last step with the class
//     Classes[r][0]; copy scores every step t with Classes[r][t−1].
//   - adding: Values[r][t−1] is input 0 at step t; input 1 is 1 at the two
//     steps Marks[r] (1-based, equal when the sequence has one step) and 0
//     elsewhere. The last step is scored against Targets[r], the sum.
//
// E is the mean over the scored terms of the cross-entropy of softmax(o)
// (recall, copy) or of (o − y)² (adding).
type TrainBatch struct {
	Task     Task
	Steps, B int
	Tokens   [][]int
	Classes  [][]int
	Values   [][]float64
	Marks    [][2]int
	Targets  []float64
}

// Numbers returns how many numbers the batch holds, for bounding an
// export.
func (tb *TrainBatch) Numbers() int {
	n := 0
	for r := range tb.B {
		switch tb.Task {
		case TaskAdding:
			n += len(tb.Values[r]) + 3
		default:
			n += len(tb.Tokens[r]) + len(tb.Classes[r])
		}
	}
	return n
}

// BatchSource draws the batches of a training run as its Trainer draws
// them, from a stream of its own: the same seed and task give the same
// batches, whatever the cell.
type BatchSource struct {
	ts TrainSettings
	b  batch
	fn func() *batch
}

// NewBatchSource returns the source of ts's training batches.
func NewBatchSource(ts TrainSettings) *BatchSource {
	src := &BatchSource{ts: ts}
	rng := stream(ts.Model.Seed, "train/"+string(ts.Task))
	src.fn = func() *batch { return makeBatchInto(&src.b, ts.Task, ts.Model.T, ts.Model.K, ts.Batch, rng) }
	return src
}

// Next returns the next batch.
func (src *BatchSource) Next() *TrainBatch { return exportBatch(src.ts.Task, src.fn()) }

// ProbeBatch returns the fixed probe sequence of ts (one sequence), on
// which the lab measures ‖∂E/∂s_k‖.
func ProbeBatch(ts TrainSettings) *TrainBatch {
	return exportBatch(ts.Task, makeBatch(ts.Task, ts.Model.T, ts.Model.K, 1, stream(ts.Model.Seed, "probe/"+string(ts.Task))))
}

// exportBatch writes b, time-major, as a TrainBatch.
func exportBatch(task Task, b *batch) *TrainBatch {
	tb := &TrainBatch{Task: task, Steps: b.T, B: b.B}
	row := func(t, r int) int { return (t-1)*b.B + r }
	for r := range b.B {
		switch task {
		case TaskAdding:
			vals := make([]float64, b.T)
			var marks []int
			for t := 1; t <= b.T; t++ {
				x := b.X[row(t, r)*b.D : (row(t, r)+1)*b.D]
				vals[t-1] = x[0]
				if x[1] == 1 {
					marks = append(marks, t)
				}
			}
			if len(marks) == 1 {
				marks = append(marks, marks[0])
			}
			tb.Values = append(tb.Values, vals)
			tb.Marks = append(tb.Marks, [2]int{marks[0], marks[1]})
			tb.Targets = append(tb.Targets, b.values[row(b.T, r)])
		default:
			toks := make([]int, b.T)
			var classes []int
			for t := 1; t <= b.T; t++ {
				x := b.X[row(t, r)*b.D : (row(t, r)+1)*b.D]
				for j, v := range x {
					if v == 1 {
						toks[t-1] = j
					}
				}
				if b.mask[row(t, r)] {
					classes = append(classes, b.classes[row(t, r)])
				}
			}
			tb.Tokens = append(tb.Tokens, toks)
			tb.Classes = append(tb.Classes, classes)
		}
	}
	return tb
}

// importBatch builds the engine's batch from tb into b, by the rules
// TrainBatch documents.
func importBatch(b *batch, tb *TrainBatch, keys int) (*batch, error) {
	D, _, _ := TaskShape(tb.Task, 0, keys)
	steps := tb.Steps
	*b = batch{T: steps, B: tb.B, D: D, X: reuse(b.X, steps*tb.B*D), mask: reuse(b.mask, steps*tb.B),
		classes: reuse(b.classes, steps*tb.B), values: reuse(b.values, steps*tb.B)}
	row := func(t, r int) int { return (t-1)*tb.B + r }
	for r := range tb.B {
		switch tb.Task {
		case TaskAdding:
			b.squared = true
			if len(tb.Values[r]) != steps {
				return nil, fmt.Errorf("sequence %d has %d values, want %d", r, len(tb.Values[r]), steps)
			}
			for t := 1; t <= steps; t++ {
				b.X[row(t, r)*D] = tb.Values[r][t-1]
			}
			for _, m := range tb.Marks[r] {
				b.X[row(m, r)*D+1] = 1
			}
			b.mask[row(steps, r)] = true
			b.values[row(steps, r)] = tb.Targets[r]
		default:
			if len(tb.Tokens[r]) != steps {
				return nil, fmt.Errorf("sequence %d has %d tokens, want %d", r, len(tb.Tokens[r]), steps)
			}
			for t := 1; t <= steps; t++ {
				b.X[row(t, r)*D+tb.Tokens[r][t-1]] = 1
			}
			if tb.Task == TaskCopy {
				for t := 1; t <= steps; t++ {
					b.mask[row(t, r)] = true
					b.classes[row(t, r)] = tb.Classes[r][t-1]
				}
			} else {
				b.mask[row(steps, r)] = true
				b.classes[row(steps, r)] = tb.Classes[r][0]
			}
		}
	}
	scored := 0
	for _, m := range b.mask {
		if m {
			scored++
		}
	}
	b.weight = 1 / float64(scored)
	return b, nil
}

// StepBatch runs one iteration as Step does, on the batch tb instead of
// the next one of the trainer's own stream: a replay of an export.
func (tr *Trainer) StepBatch(ctx context.Context, tb *TrainBatch) (StepStats, error) {
	b, err := importBatch(&tr.batch, tb, tr.ts.Model.K)
	if err != nil {
		return StepStats{}, err
	}
	return tr.step(ctx, b)
}

// SetParams replaces the trainer's parameters by a copy of data, which
// must have the length of Params().Data.
func (tr *Trainer) SetParams(data []float64) error {
	if len(data) != len(tr.params.Data) {
		return fmt.Errorf("got %d parameters, want %d", len(data), len(tr.params.Data))
	}
	copy(tr.params.Data, data)
	return nil
}
