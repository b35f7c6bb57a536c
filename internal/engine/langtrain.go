package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// The language lab trains one of the engine's models on a task of
// langtask.go. An embedding layer maps each word id w to a row E[w] of
// an N×D matrix, and the model reads x_t = E[w_t]; the output layer's
// softmax over the task's answers is scored at the blank only. ∂E/∂x_t,
// which the engine's backward pass computes, is both the embedding's
// gradient (summed over the steps that read a row) and the strip under
// the sentence: ‖∂E/∂x_k‖, how much the guess depends on word k.
//
// Sentences of a batch start together and are padded on the right with
// <pad>, whose row stays zero (like PyTorch's padding_idx). Padding on
// the left would leak: the number of pads in front of the blank would
// tell a one-directional model how long the rest of the sentence is.

// LangSettings describes one run of the language lab.
type LangSettings struct {
	Task     LangTask `json:"task"`
	Lang     Lang     `json:"lang"`
	Distance int      `json:"distance"`
	// Model gives the cell, activation, H, initialisation, gain, forget
	// bias, clipping, seed and direction; its D is the embedding's
	// width. T and K come from the task.
	Model      Settings      `json:"model"`
	Optimizer  OptimizerKind `json:"optimizer"`
	LR         float64       `json:"lr"`
	Batch      int           `json:"batch"`
	Iterations int           `json:"iterations"`
}

// LangLimits bounds a language-lab run; the server sets them from flags.
type LangLimits struct {
	MaxDistance, MaxH, MaxEmbed, MaxBatch, MaxIterations int
	// MaxVocab bounds the vocabulary, special words included.
	MaxVocab int
}

// DefaultLangLimits returns the server's default bounds.
func DefaultLangLimits() LangLimits {
	return LangLimits{MaxDistance: MaxLangDistance, MaxH: 64, MaxEmbed: 32, MaxBatch: 64, MaxIterations: 5000, MaxVocab: 1000}
}

// DefaultLangSettings returns the Kerala task at distance 30 for an
// LSTM of 16 units.
func DefaultLangSettings() LangSettings {
	m := Defaults()
	m.Cell, m.H, m.D, m.Gain, m.ForgetBias = CellLSTM, 16, 8, 1, 3
	m.Clip, m.Threshold = ClipGlobalNorm, 5
	return LangSettings{Task: LangKerala, Lang: LangEN, Distance: 30, Model: m, Optimizer: OptAdam, LR: 0.01, Batch: 32, Iterations: 800}
}

// Validate checks the run against lim and returns a *FieldError naming
// the field.
func (ls LangSettings) Validate(lim LangLimits) error {
	if err := oneOf("task", ls.Task, LangTasks); err != nil {
		return err
	}
	if err := oneOf("lang", ls.Lang, Langs); err != nil {
		return err
	}
	if ls.Distance < 0 || ls.Distance > lim.MaxDistance {
		return fieldErrorf("distance", "distance must be 0..%d, got %d", lim.MaxDistance, ls.Distance)
	}
	if ls.Model.D < 1 || ls.Model.D > lim.MaxEmbed {
		return fieldErrorf("embed", "embed must be 1..%d, got %d", lim.MaxEmbed, ls.Model.D)
	}
	g := NewLangGenerator(ls.Task, ls.Lang, ls.Distance)
	m := ls.Model
	m.T, m.K = 1, len(g.Answers())
	if err := m.Validate(Limits{MaxT: 1, MaxH: lim.MaxH, MaxD: lim.MaxEmbed, MaxK: m.K}); err != nil {
		return err
	}
	if n := len(g.Vocabulary()); n > lim.MaxVocab {
		return fieldErrorf("task", "the vocabulary of %s (%s) has %d words, more than the limit of %d", ls.Task, ls.Lang, n, lim.MaxVocab)
	}
	if err := oneOf("optimizer", ls.Optimizer, Optimizers); err != nil {
		return err
	}
	if !(ls.LR > 0 && ls.LR <= 10) {
		return fieldErrorf("lr", "lr must be greater than 0 and at most 10, got %s", formatFloat(ls.LR))
	}
	if ls.Batch < 1 || ls.Batch > lim.MaxBatch {
		return fieldErrorf("batch", "batch must be 1..%d, got %d", lim.MaxBatch, ls.Batch)
	}
	if ls.Iterations < 1 || ls.Iterations > lim.MaxIterations {
		return fieldErrorf("iterations", "iterations must be 1..%d, got %d", lim.MaxIterations, ls.Iterations)
	}
	return nil
}

// LangTrainer trains a model with its embedding on one task.
type LangTrainer struct {
	ls      LangSettings
	gen     *LangGenerator
	vocab   []string
	ids     map[string]int
	answers []string
	aids    map[string]int
	model   Settings
	params  *Params
	grads   *Params
	emb     []float64 // N×D, row 0 (<pad>) zero
	gemb    []float64
	opt     *Optimizer
	optEmb  *Optimizer
	data    *rand.Rand
	iter    int

	batch batch
	tape  tape
	dx    []float64
}

// LangStats is what one iteration measured.
type LangStats struct {
	Iteration int
	Loss      float64
	Accuracy  float64
	GradNorm  float64
	NonFinite bool
}

// NewLangTrainer returns a trainer with seeded weights, embedding and
// sentences; ls must be valid.
func NewLangTrainer(ls LangSettings) *LangTrainer {
	g := NewLangGenerator(ls.Task, ls.Lang, ls.Distance)
	tr := &LangTrainer{ls: ls, gen: g, vocab: g.Vocabulary(), answers: g.Answers(), ids: map[string]int{}, aids: map[string]int{}}
	for i, w := range tr.vocab {
		tr.ids[w] = i
	}
	for i, a := range tr.answers {
		tr.aids[a] = i
	}
	m := ls.Model
	m.K = len(tr.answers)
	m.T = 1
	tr.model = m
	tr.params = InitParams(m)
	tr.grads = NewParams(m.Cell, m.H, m.D, m.K, tr.params.Dirs)
	D := m.D
	tr.emb = make([]float64, len(tr.vocab)*D)
	fillNormal(tr.emb[D:], 1, stream(m.Seed, "lang/embedding"))
	tr.gemb = make([]float64, len(tr.emb))
	tr.opt = NewOptimizer(ls.Optimizer, ls.LR, 0.9, len(tr.params.Data))
	tr.optEmb = NewOptimizer(ls.Optimizer, ls.LR, 0.9, len(tr.emb))
	tr.data = stream(m.Seed, "lang/train/"+string(ls.Task)+"/"+string(ls.Lang))
	return tr
}

// Settings returns the run's settings.
func (tr *LangTrainer) Settings() LangSettings { return tr.ls }

// Model returns the model's settings (D the embedding's width, K the
// number of answers).
func (tr *LangTrainer) Model() Settings { return tr.model }

// Params returns the model's current weights.
func (tr *LangTrainer) Params() *Params { return tr.params }

// Embedding returns the current N×D embedding, row i for Vocab()[i].
func (tr *LangTrainer) Embedding() []float64 { return tr.emb }

// Vocab returns the input words in id order.
func (tr *LangTrainer) Vocab() []string { return tr.vocab }

// Answers returns the answer words in class order.
func (tr *LangTrainer) Answers() []string { return tr.answers }

// Generator returns the task's sentence generator.
func (tr *LangTrainer) Generator() *LangGenerator { return tr.gen }

// Iteration returns how many steps have run.
func (tr *LangTrainer) Iteration() int { return tr.iter }

// Known reports whether word is in the vocabulary.
func (tr *LangTrainer) Known(word string) bool { _, ok := tr.ids[word]; return ok }

// fillBatch lays sentences out time-major, padded on the right, with the
// blank of each scored.
func (tr *LangTrainer) fillBatch(b *batch, sents [][]int, blanks, classes []int) {
	T := 0
	for _, s := range sents {
		T = max(T, len(s))
	}
	B, D := len(sents), tr.model.D
	cls := b.classes
	*b = batch{T: T, B: B, D: D, X: reuse(b.X, T*B*D), mask: reuse(b.mask, T*B), classes: reuse(cls, T*B), weight: 1 / float64(B)}
	for r, s := range sents {
		for i, id := range s {
			row := i*B + r
			copy(b.X[row*D:(row+1)*D], tr.emb[id*D:(id+1)*D])
		}
		row := blanks[r]*B + r
		b.mask[row] = true
		b.classes[row] = classes[r]
	}
}

// encode returns the ids of s's words (unknown words as <unk>).
func (tr *LangTrainer) encode(words []string) []int {
	ids := make([]int, len(words))
	for i, w := range words {
		id, ok := tr.ids[w]
		if !ok {
			id = tr.ids[WordUnk]
		}
		ids[i] = id
	}
	return ids
}

// Step runs one iteration on a fresh batch.
func (tr *LangTrainer) Step(ctx context.Context) (LangStats, error) {
	tr.iter++
	B := tr.ls.Batch
	sents := make([][]int, B)
	blanks, classes := make([]int, B), make([]int, B)
	for r := range B {
		s := tr.gen.Sample(tr.data)
		sents[r], blanks[r], classes[r] = tr.encode(s.Words), s.Blank, tr.aids[s.Answer]
	}
	loss, correct, err := tr.lossGrad(ctx, sents, blanks, classes)
	if err != nil {
		return LangStats{}, err
	}
	st := LangStats{Iteration: tr.iter, Loss: loss, Accuracy: float64(correct) / float64(B)}
	ss := dot(tr.grads.Data, tr.grads.Data) + dot(tr.gemb, tr.gemb)
	st.GradNorm = math.Sqrt(ss)
	if tr.model.Clip == ClipGlobalNorm && st.GradNorm > tr.model.Threshold && !math.IsInf(st.GradNorm, 0) {
		scale := tr.model.Threshold / st.GradNorm
		for i := range tr.grads.Data {
			tr.grads.Data[i] *= scale
		}
		for i := range tr.gemb {
			tr.gemb[i] *= scale
		}
	}
	st.NonFinite = math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) || math.IsNaN(st.GradNorm) || math.IsInf(st.GradNorm, 0)
	tr.opt.Step(tr.params.Data, tr.grads.Data)
	tr.optEmb.Step(tr.emb, tr.gemb)
	clear(tr.emb[:tr.model.D]) // <pad> stays zero
	return st, nil
}

// lossGrad runs forward and backward over the sentences and leaves
// ∂E/∂θ in tr.grads and ∂E/∂E_w in tr.gemb, with E the mean
// cross-entropy at the blanks; it returns E and how many were right.
func (tr *LangTrainer) lossGrad(ctx context.Context, sents [][]int, blanks, classes []int) (float64, int, error) {
	b := &tr.batch
	tr.fillBatch(b, sents, blanks, classes)
	tp := &tr.tape
	tp.scoredOnly = true
	if err := tp.forward(ctx, tr.params, tr.model.Act, b, nil); err != nil {
		return 0, 0, err
	}
	clear(tr.grads.Data)
	tr.dx = reuse(tr.dx, b.T*b.B*b.D)
	opts := backwardOptions{clip: tr.model.Clip, threshold: tr.model.Threshold, dx: tr.dx}
	if err := backward(ctx, tp, tr.grads, &opts); err != nil {
		return 0, 0, err
	}
	tr.embGrad(sents, b.T)
	return tp.loss, tp.correct, nil
}

// embGrad sums ∂E/∂x_t into the rows of the embedding that the steps
// read, <pad> excluded.
func (tr *LangTrainer) embGrad(sents [][]int, T int) {
	clear(tr.gemb)
	B, D := len(sents), tr.model.D
	for r, s := range sents {
		for i, id := range s {
			if id == 0 {
				continue
			}
			row := i*B + r
			g := tr.gemb[id*D : (id+1)*D]
			for j, v := range tr.dx[row*D : (row+1)*D] {
				g[j] += v
			}
		}
	}
}

// Evaluate returns the accuracy on n sentences of the task at distance,
// drawn from their own seeded stream (the same for every model).
func (tr *LangTrainer) Evaluate(ctx context.Context, distance, n int) (float64, error) {
	g := NewLangGenerator(tr.ls.Task, tr.ls.Lang, distance)
	rng := stream(tr.model.Seed, fmt.Sprintf("lang/test/%s/%s/%d", tr.ls.Task, tr.ls.Lang, distance))
	right := 0
	const chunk = 50
	var b batch
	var tp tape
	tp.scoredOnly = true
	for done := 0; done < n; done += chunk {
		m := min(chunk, n-done)
		sents := make([][]int, m)
		blanks, classes := make([]int, m), make([]int, m)
		for r := range m {
			s := g.Sample(rng)
			sents[r], blanks[r], classes[r] = tr.encode(s.Words), s.Blank, tr.aids[s.Answer]
		}
		tr.fillBatch(&b, sents, blanks, classes)
		if err := tp.forward(ctx, tr.params, tr.model.Act, &b, nil); err != nil {
			return 0, err
		}
		right += tp.correct
	}
	return float64(right) / float64(n), nil
}

// LangGuess is one answer and its probability.
type LangGuess struct {
	Word string  `json:"word"`
	P    float64 `json:"p"`
}

// LangReading is what the model makes of one sentence.
type LangReading struct {
	Words []string `json:"words"`
	// Known marks the words in the vocabulary; only they are fed to the
	// model, and Strip is 0 at the others.
	Known []bool `json:"known"`
	Blank int    `json:"blank"`
	// Guesses are the five likeliest answers, best first.
	Guesses []LangGuess `json:"guesses"`
	// Strip is ‖∂E/∂x_k‖ for every word, E = −ln p(best guess).
	Strip []float64 `json:"strip"`
}

// Read runs the model over words (one of which is the blank), skipping
// words outside the vocabulary, and returns the guesses and the strip.
func (tr *LangTrainer) Read(ctx context.Context, words []string) (LangReading, error) {
	out := LangReading{Words: words, Known: make([]bool, len(words)), Strip: make([]float64, len(words)), Blank: -1}
	var ids, at []int
	blank := -1
	for i, w := range words {
		if id, ok := tr.ids[w]; ok && id != 0 {
			out.Known[i] = true
			if w == WordBlank && blank < 0 {
				blank = len(ids)
				out.Blank = i
			}
			ids = append(ids, id)
			at = append(at, i)
		}
	}
	if blank < 0 {
		return out, fieldErrorf("sentence", "the sentence has no blank: write ____ where the missing word goes")
	}
	var b batch
	tr.fillBatch(&b, [][]int{ids}, []int{blank}, []int{0})
	tp, err := forward(ctx, tr.params, tr.model.Act, &b, nil)
	if err != nil {
		return out, err
	}
	K := tr.model.K
	row := blank
	p := tp.out[row*K : (row+1)*K]
	order := make([]int, K)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, c int) int {
		switch {
		case p[a] > p[c]:
			return -1
		case p[a] < p[c]:
			return 1
		}
		return 0
	})
	for _, k := range order[:min(5, K)] {
		out.Guesses = append(out.Guesses, LangGuess{tr.answers[k], p[k]})
	}
	b.classes[row] = order[0]
	D := tr.model.D
	opts := backwardOptions{dx: make([]float64, len(ids)*D)}
	if err := backward(ctx, tp, nil, &opts); err != nil {
		return out, err
	}
	for j, i := range at {
		out.Strip[i] = norm2(opts.dx[j*D : (j+1)*D])
	}
	return out, nil
}
