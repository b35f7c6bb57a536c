package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestOptimizersFindKnownMinimum minimises f(θ) = ½ Σ a_i (θ_i − c_i)²,
// whose minimum is θ = c, from a seeded start.
func TestOptimizersFindKnownMinimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 20
	a, c := make([]float64, n), make([]float64, n)
	for i := range n {
		a[i] = 0.5 + 4*rng.Float64() // curvatures from 0.5 to 4.5
		c[i] = rng.NormFloat64() * 3
	}
	for _, tc := range []struct {
		kind    OptimizerKind
		lr, mom float64
		steps   int
		tol     float64
	}{
		{OptSGD, 0.1, 0.9, 500, 1e-9},
		{OptSGD, 0.2, 0, 500, 1e-9},
		// Adam with a constant rate ends in an oscillation of order lr
		// around the minimum; the start was up to 9 away.
		{OptAdam, 0.01, 0.9, 5000, 0.01},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			theta, g := make([]float64, n), make([]float64, n)
			o := NewOptimizer(tc.kind, tc.lr, tc.mom, n)
			for range tc.steps {
				for i := range n {
					g[i] = a[i] * (theta[i] - c[i])
				}
				o.Step(theta, g)
			}
			for i := range n {
				if math.Abs(theta[i]-c[i]) > tc.tol {
					t.Fatalf("θ[%d] got %.6f, want %.6f", i, theta[i], c[i])
				}
			}
		})
	}
}

func trainFor(t *testing.T, ts TrainSettings, iterations int) (meanAcc float64, last StepStats, tr *Trainer) {
	t.Helper()
	tr = NewTrainer(ts)
	window := 100
	sum := 0.0
	for i := 1; i <= iterations; i++ {
		st, err := tr.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		last = st
		if i > iterations-window {
			sum += st.Accuracy
		}
	}
	return sum / float64(window), last, tr
}

// TestLSTMRemembersWhereRNNForgets is the article's "Jane … Kerala" claim
// as a measurement, on seed 1 and recall of one of 8 keys (chance 1/8).
// An LSTM with forget bias 1 (Gaussian init, gain 0.8) learns to recall
// the first of 30 tokens within 400 iterations. A tanh RNN initialised as
// PyTorch's nn.RNN is (uniform ±1/√H, which is this scheme at gain
// 1/√3 ≈ 0.58) stays at chance across 100 steps: its gradient vanishes
// long before step 1. Both use Adam, lr 0.01, batch 32.
func TestLSTMRemembersWhereRNNForgets(t *testing.T) {
	ts := DefaultTrainSettings()
	ts.LR, ts.Model.K = 0.01, 8
	ts.Model.Cell, ts.Model.T, ts.Model.ForgetBias = CellLSTM, 30, 1
	lstm, _, _ := trainFor(t, ts, 400)
	if lstm < 0.9 {
		t.Errorf("LSTM at T=30 after 400 iterations: accuracy %.2f, want ≥ 0.9", lstm)
	}
	ts.Model.Cell, ts.Model.T, ts.Model.ForgetBias = CellRNN, 100, 0
	ts.Model.Init, ts.Model.Gain = InitUniform, 1/math.Sqrt(3)
	rnn, _, tr := trainFor(t, ts, 600)
	if rnn > 0.2 {
		t.Errorf("tanh RNN at T=100 after 600 iterations: accuracy %.2f, want near chance 0.125 (≤ 0.2)", rnn)
	}
	profile, err := tr.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h := Horizon(profile, 1e-3); h >= 50 {
		t.Errorf("RNN memory horizon %d steps, want the gradient to fade within 50 of the 100", h)
	}
	t.Logf("accuracy: LSTM T=30 %.2f, RNN T=100 %.2f (chance %.3f)", lstm, rnn, ChanceAccuracy(TaskRecall, ts.Model.K))
}

// TestGlobalNormClippingKeepsRunFinite trains a ReLU RNN with large
// recurrent weights by plain SGD: without clipping the first update
// explodes the weights to NaN; the same seed with global-norm clipping
// stays finite and learns.
func TestGlobalNormClippingKeepsRunFinite(t *testing.T) {
	ts := DefaultTrainSettings()
	ts.Task, ts.Optimizer, ts.LR = TaskAdding, OptSGD, 0.05
	ts.Model.Act, ts.Model.Gain, ts.Model.T = ActReLU, 1.5, 50
	_, last, tr := trainFor(t, ts, 200)
	if !tr.Diverged() || !math.IsNaN(last.Loss) {
		t.Fatalf("without clipping: diverged %v, loss %v; want NaN weights and loss", tr.Diverged(), last.Loss)
	}
	ts.Model.Clip, ts.Model.Threshold = ClipGlobalNorm, 1
	_, last, tr = trainFor(t, ts, 200)
	if tr.Diverged() || math.IsNaN(last.Loss) || math.IsInf(last.Loss, 0) {
		t.Fatalf("with global-norm clipping: diverged %v, loss %v; want finite", tr.Diverged(), last.Loss)
	}
	if last.Loss > Baseline(TaskAdding, 50, 0) {
		t.Errorf("with clipping the loss got %.3f, want below the baseline %.3f", last.Loss, Baseline(TaskAdding, 50, 0))
	}
}

// TestBaselines checks each task's chance baseline against the loss of
// the input-blind predictor it describes, on sampled batches.
func TestBaselines(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const T, keys, B = 40, 8, 4000
	// Adding: always predict 1.
	b := makeBatch(TaskAdding, T, keys, B, rng)
	sum := 0.0
	for r, m := range b.mask {
		if m {
			sum += (b.values[r] - 1) * (b.values[r] - 1)
		}
	}
	if got, want := sum/B, Baseline(TaskAdding, T, keys); math.Abs(got-want) > 0.01 {
		t.Errorf("adding: constant-1 MSE got %.4f, want %.4f", got, want)
	}
	// Copy: blanks are certain; the ten symbols are a uniform guess.
	b = makeBatch(TaskCopy, T, keys, 1, rng)
	_, K, steps := TaskShape(TaskCopy, T, keys)
	loss := 0.0
	for r, m := range b.mask {
		if !m {
			continue
		}
		if r < steps-copyLen {
			if b.classes[r] != 0 {
				t.Fatalf("copy: step %d target %d, want blank", r+1, b.classes[r])
			}
			continue
		}
		if c := b.classes[r]; c < 1 || c >= K {
			t.Fatalf("copy: step %d target %d, want a symbol 1..%d", r+1, c, K-1)
		}
		loss += math.Log(copyAlphabet)
	}
	if got, want := loss/float64(steps), Baseline(TaskCopy, T, keys); math.Abs(got-want) > 1e-12 {
		t.Errorf("copy baseline got %.6f, want %.6f", got, want)
	}
	// Recall: a uniform guess over the keys costs ln K.
	if got, want := Baseline(TaskRecall, T, keys), math.Log(8); got != want {
		t.Errorf("recall baseline got %v, want %v", got, want)
	}
}

func TestHorizon(t *testing.T) {
	for _, c := range []struct {
		profile []float64
		want    int
	}{
		{[]float64{1e-9, 1e-4, 1e-2, 1}, 1},
		{[]float64{1, 1, 1}, 2},
		{[]float64{1e-2, 1e-9, 1e-2, 1}, 1},
		{[]float64{5}, 0},
		{[]float64{math.NaN(), 1}, 0},
	} {
		if got := Horizon(c.profile, 1e-3); got != c.want {
			t.Errorf("Horizon(%v) got %d, want %d", c.profile, got, c.want)
		}
	}
}

// TestTrainerStepAllocatesNothing checks that an iteration reuses the
// Trainer's batch, tape and scratch, for every cell and a bidirectional
// model, with step clipping on. The average over 20 iterations is
// truncated to whole objects, so a rare allocation by the runtime when
// the two halves hand over under load does not count; any buffer of an
// iteration would.
func TestTrainerStepAllocatesNothing(t *testing.T) {
	for _, cell := range Cells {
		ts := DefaultTrainSettings()
		ts.Model.Cell, ts.Model.T, ts.Model.Bidir = cell, 20, true
		ts.Model.Clip = ClipStepNorm
		tr := NewTrainer(ts)
		if _, err := tr.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := tr.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 {
			t.Errorf("%s: an iteration allocates %.1f objects, want 0", cell, allocs)
		}
	}
}

// TestShrinkKeepsTheRun: a trainer that lets go of its buffers between
// iterations trains the same bits as one that keeps them.
func TestShrinkKeepsTheRun(t *testing.T) {
	for _, cell := range Cells {
		ts := DefaultTrainSettings()
		ts.Model.Cell, ts.Batch = cell, 4
		a, b := NewTrainer(ts), NewTrainer(ts)
		for range 3 {
			if _, err := a.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
			b.Shrink()
		}
		if !slicesEqual(a.Params().Data, b.Params().Data) {
			t.Errorf("%s: parameters differ after Shrink", cell)
		}
	}
}

// TestBatchSourceReplaysTheRun: the batches a BatchSource draws, put back
// through StepBatch from the same initial weights, give the trainer's own
// losses bit for bit, for every task and cell.
func TestBatchSourceReplaysTheRun(t *testing.T) {
	for _, task := range Tasks {
		for _, cell := range Cells {
			ts := DefaultTrainSettings()
			ts.Task, ts.Model.Cell, ts.Model.T, ts.Model.H, ts.Batch = task, cell, 12, 8, 5
			ts.Model.Clip, ts.Model.Threshold = ClipGlobalNorm, 0.5
			a, b := NewTrainer(ts), NewTrainer(ts)
			src := NewBatchSource(ts)
			for i := range 4 {
				want, err := a.Step(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				tb := src.Next()
				if tb.Numbers() == 0 {
					t.Fatalf("%s %s: an empty batch", task, cell)
				}
				got, err := b.StepBatch(context.Background(), tb)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("%s %s iteration %d: replay %+v, run %+v", task, cell, i+1, got, want)
				}
			}
		}
	}
}

// TestDefaultsTeach is the lab's Compare on its defaults: on seeds 1, 2
// and 3 the LSTM and the GRU learn to recall the key across 40 steps
// (accuracy over the last 100 of the default iterations at least 0.9)
// while the tanh RNN stays near chance (1/8; at most 0.2), and the whole
// comparison stays within a budget of work: the forward passes'
// multiply-adds of the four runs, which the lab trains in well under a
// minute on one core. Under -race, where an iteration costs many times
// more, it trains the same runs of seed 1, the page's, for their first
// 300 iterations only (the LSTM and the GRU learn within 250 on seeds 1
// to 5), which the default run continues unchanged.
func TestDefaultsTeach(t *testing.T) {
	ts := DefaultTrainSettings()
	work := int64(0)
	for _, cell := range Cells {
		m := ts.Model
		m.Cell = cell
		m.D, m.K, m.T = TaskShape(ts.Task, ts.Model.T, ts.Model.K)
		work += m.Work() * int64(ts.Batch) * int64(ts.Iterations)
	}
	const budget = 2e10
	if work > budget {
		t.Errorf("a Compare of the defaults is %.3g multiply-adds, want at most %.0e", float64(work), budget)
	}
	seeds, iterations := []uint64{1, 2, 3}, ts.Iterations
	if raceEnabled {
		seeds, iterations = seeds[:1], 300
	}
	chance := ChanceAccuracy(ts.Task, ts.Model.K)
	for _, seed := range seeds {
		acc := map[Cell]float64{}
		for _, cell := range []Cell{CellRNN, CellLSTM, CellGRU} {
			run := ts
			run.Model.Cell, run.Model.Seed = cell, seed
			acc[cell], _, _ = trainFor(t, run, iterations)
		}
		t.Logf("seed %d after %d iterations: accuracy RNN %.2f, LSTM %.2f, GRU %.2f (chance %.3f); a Compare is %.3g multiply-adds", seed, iterations, acc[CellRNN], acc[CellLSTM], acc[CellGRU], chance, float64(work))
		if acc[CellLSTM] < 0.9 || acc[CellGRU] < 0.9 {
			t.Errorf("seed %d: LSTM %.2f, GRU %.2f; want both at least 0.9", seed, acc[CellLSTM], acc[CellGRU])
		}
		if acc[CellRNN] > 0.2 {
			t.Errorf("seed %d: RNN %.2f, want near chance %.3f (at most 0.2)", seed, acc[CellRNN], chance)
		}
	}
}
