package engine

import (
	"context"
	"math"
	"testing"
)

// TestPositionCode checks P against its definition, including the odd
// H whose last column is a sine.
func TestPositionCode(t *testing.T) {
	const T, H = 4, 5
	var at attnTape
	at.position(T, H)
	for step := 1; step <= T; step++ {
		for i := 0; 2*i < H; i++ {
			angle := float64(step) / math.Pow(10000, float64(2*i)/H)
			if got := at.pos[(step-1)*H+2*i]; got != math.Sin(angle) {
				t.Errorf("P[%d][%d] = %g, want sin(%g) = %g", step, 2*i, got, angle, math.Sin(angle))
			}
			if 2*i+1 < H {
				if got := at.pos[(step-1)*H+2*i+1]; got != math.Cos(angle) {
					t.Errorf("P[%d][%d] = %g, want cos(%g) = %g", step, 2*i+1, got, angle, math.Cos(angle))
				}
			}
		}
	}
}

// TestAttentionIsCausal: the loss at t depends on the inputs up to t
// alone, unless bidir lifts the mask, when it depends on every input.
func TestAttentionIsCausal(t *testing.T) {
	for _, bidir := range []bool{false, true} {
		s := Defaults()
		s.Cell, s.T, s.Bidir = CellAttn, 20, bidir
		const step = 8
		sens, err := InputSensitivity(context.Background(), s, step)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range sens.DEtDx {
			seen := bidir || k+1 <= step
			if seen && !(v > 1e-6) {
				t.Errorf("bidir=%v: ‖∂E_%d/∂x_%d‖ = %g, want clearly positive", bidir, step, k+1, v)
			}
			if !seen && v != 0 {
				t.Errorf("bidir=%v: ‖∂E_%d/∂x_%d‖ = %g, want exactly 0 (causal mask)", bidir, step, k+1, v)
			}
		}
	}
}

// TestUniformAttentionReachesEveryStepAlike: with Wq = Wk = 0 every
// position attends to all it sees equally, α_Tj = 1/T, and the only path
// from E_T to s_k is v_k, so δ_k = Wvᵀ ∂E/∂z_T / T, the same vector at
// every k < T. Path length 1 at every distance, exactly.
func TestUniformAttentionReachesEveryStepAlike(t *testing.T) {
	s := Defaults()
	s.Cell, s.T = CellAttn, 30
	p := InitParams(s)
	qkv := qkvWeights(p)
	clear(qkv[:2*s.H*s.H]) // Wq and Wk
	inputs, targets := sequence(s)
	b := &batch{T: s.T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, s.T), weight: 1}
	b.mask[s.T-1] = true
	tp, err := forward(context.Background(), p, s.Act, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := backwardOptions{}
	opts.dh[0] = make([]float64, s.T*s.H)
	if err := backward(context.Background(), tp, nil, &opts); err != nil {
		t.Fatal(err)
	}
	first := opts.dh[0][:s.H]
	if norm2(first) == 0 {
		t.Fatal("δ_1 is zero: nothing to compare")
	}
	for k := 2; k < s.T; k++ {
		for j, v := range opts.dh[0][(k-1)*s.H : k*s.H] {
			if math.Abs(v-first[j]) > 1e-15*math.Abs(first[j]) {
				t.Fatalf("δ_%d[%d] = %.17g, δ_1[%d] = %.17g: want equal", k, j, v, j, first[j])
			}
		}
	}
}

// TestAttentionKeepsWhatRecurrenceLoses compares one profile of each at
// T = 200: the tanh RNN's ‖∂E/∂s_1‖ is some thirty decades below
// ‖∂E/∂s_T‖, attention's within two (the softmax spreads its weight over
// the steps it sees, about 1/T each, but multiplies no Jacobians).
func TestAttentionKeepsWhatRecurrenceLoses(t *testing.T) {
	ratio := func(c Cell) float64 {
		s := Defaults()
		s.Cell, s.T = c, 200
		r := mustProfile(t, s)
		return r.Profile.DEds[0] / r.Profile.DEds[s.T-1]
	}
	if r := ratio(CellRNN); !(r < 1e-20) {
		t.Errorf("rnn ‖∂E/∂s_1‖/‖∂E/∂s_T‖ = %g, want below 1e-20", r)
	}
	if r := ratio(CellAttn); !(r > 1e-2) {
		t.Errorf("attn ‖∂E/∂s_1‖/‖∂E/∂s_T‖ = %g, want above 1e-2", r)
	}
}

// TestAttentionLearnsRecallWhereRNNCannot trains the recall task at
// T = 100, where the tanh RNN stays at chance (TestLSTMRemembersWhereRNNForgets).
func TestAttentionLearnsRecallWhereRNNCannot(t *testing.T) {
	ts := DefaultTrainSettings()
	ts.Model.Cell, ts.Model.T = CellAttn, 100
	acc, _, _ := trainFor(t, ts, 200)
	if acc < 0.9 {
		t.Errorf("attention at T=100 after 200 iterations: accuracy %.2f, want ≥ 0.9", acc)
	}
}

// TestAttentionBackwardPausesEveryBlock counts the pause points of one
// backward pass over a long sequence: one per sequence, one more per
// further block of 64 rows of scores, and one per step, so that a
// cancelled pass stops within a block, never after all T² scores.
func TestAttentionBackwardPausesEveryBlock(t *testing.T) {
	s := Defaults()
	s.Cell, s.T, s.H = CellAttn, 640, 8
	p := InitParams(s)
	inputs, targets := sequence(s)
	b := &batch{T: s.T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, s.T), weight: 1}
	b.mask[s.T-1] = true
	tp, err := forward(context.Background(), p, s.Act, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := &countingContext{Context: context.Background(), limit: 1 << 30}
	if err := backward(ctx, tp, nil, &backwardOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := int64(1 + (s.T/attnBlock - 1) + s.T); ctx.calls != want {
		t.Errorf("backward asked the context %d times, want %d (1 + %d blocks + %d steps)", ctx.calls, want, s.T/attnBlock-1, s.T)
	}
}

// TestPhaseOfSilentAttention: at gain 0 attention's Wq, Wk and Wv are 0,
// so no error reaches any state; the phase diagram calls that −Inf (no
// signal at step 1), not the NaN of an overflow.
func TestPhaseOfSilentAttention(t *testing.T) {
	s := Defaults()
	s.Cell, s.T, s.Gain = CellAttn, 20, 0
	r := mustProfile(t, s)
	first, last := r.Profile.DEds[0], r.Profile.DEds[s.T-1]
	if first != 0 || last != 0 {
		t.Fatalf("gain 0: ‖∂E/∂s_1‖ = %g, ‖∂E/∂s_T‖ = %g, want both 0", first, last)
	}
	if d := Decades(first, last); !math.IsInf(d, -1) {
		t.Errorf("Decades(0, 0) = %g, want −Inf", d)
	}
	if d := Decades(1e-3, 1); d != -3 {
		t.Errorf("Decades(1e-3, 1) = %g, want −3", d)
	}
	if d := Decades(math.NaN(), 1); !math.IsNaN(d) {
		t.Errorf("Decades(NaN, 1) = %g, want NaN (an overflow)", d)
	}
}
