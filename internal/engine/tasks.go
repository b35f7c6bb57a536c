package engine

import (
	"math"
	"math/rand/v2"
)

// Task names a sequence task for the training lab.
type Task string

// The tasks. Each needs memory over T steps; each has a chance baseline.
const (
	// TaskRecall: the first token, one of K keys, decides the label at
	// the end; T−1 distractor tokens come between. It is the article's
	// "Jane was born in Kerala … Jane speaks ____" in miniature.
	TaskRecall Task = "recall"
	// TaskAdding: two of T numbers are marked; predict their sum
	// (Hochreiter & Schmidhuber 1997).
	TaskAdding Task = "adding"
	// TaskCopy: ten symbols, a gap of T blanks, then reproduce the ten
	// (Arjovsky, Shah & Bengio 2016).
	TaskCopy Task = "copy"
)

// Tasks lists every Task.
var Tasks = []Task{TaskRecall, TaskAdding, TaskCopy}

// TaskLabels names every Task in each language of the page and the
// figures, as the settings schema names the settings' options.
var TaskLabels = map[Task]Text{
	TaskRecall: {"recall", "recuerdo de la clave"},
	TaskAdding: {"adding problem", "problema de la suma"},
	TaskCopy:   {"copy memory", "memoria de copia"},
}

// recallNoise is the number of distractor symbols in the recall task.
const recallNoise = 4

// Copy task sizes: copyLen symbols from an alphabet of copyAlphabet, a
// blank and a delimiter.
const (
	copyLen      = 10
	copyAlphabet = 8
)

// TaskShape returns the input features D, output classes K (1 for the
// regression of the adding problem) and sequence length of task at gap T,
// given the number of keys for recall.
func TaskShape(task Task, T, keys int) (D, K, steps int) {
	switch task {
	case TaskAdding:
		return 2, 1, T
	case TaskCopy:
		return copyAlphabet + 2, copyAlphabet + 1, T + 2*copyLen
	}
	return keys + recallNoise, keys, T
}

// Baseline returns the loss of the best input-blind predictor and what it
// is: ln K for recall (uniform guess), E[(y−1)²] = 1/6 for adding
// (always predict 1), 10·ln 8/(T+20) for copy (blanks, then a uniform
// guess over the alphabet).
func Baseline(task Task, T, keys int) float64 {
	switch task {
	case TaskAdding:
		return 1.0 / 6
	case TaskCopy:
		return copyLen * math.Log(copyAlphabet) / float64(T+2*copyLen)
	}
	return math.Log(float64(keys))
}

// ChanceAccuracy returns the accuracy of guessing: 1/K for recall, the
// probability that a constant 1 lands within 0.04 of the sum for adding
// (≈ 0.08·… computed for the triangular density), 1/8 for copy.
func ChanceAccuracy(task Task, keys int) float64 {
	switch task {
	case TaskAdding:
		// P(|y−1| < 0.04) for y the sum of two U(0,1): 1 − (1−0.04)².
		return 1 - 0.96*0.96
	case TaskCopy:
		return 1.0 / copyAlphabet
	}
	return 1 / float64(keys)
}

// makeBatch draws B sequences of the task, time-major as the engine
// expects, with the loss averaged over every scored term.
func makeBatch(task Task, T, keys, B int, rng *rand.Rand) *batch {
	return makeBatchInto(new(batch), task, T, keys, B, rng)
}

// makeBatchInto is makeBatch drawing into b, whose arrays it reuses when
// they are large enough; it draws the same numbers from rng.
func makeBatchInto(b *batch, task Task, T, keys, B int, rng *rand.Rand) *batch {
	D, K, steps := TaskShape(task, T, keys)
	classes, values := b.classes, b.values
	*b = batch{T: steps, B: B, D: D, X: reuse(b.X, steps*B*D), mask: reuse(b.mask, steps*B)}
	at := func(t, r int) int { return (t-1)*B + r } // row of step t, sequence r
	switch task {
	case TaskRecall:
		b.classes = reuse(classes, steps*B)
		for r := range B {
			key := rng.IntN(K)
			b.X[at(1, r)*D+key] = 1
			for t := 2; t <= steps; t++ {
				b.X[at(t, r)*D+K+rng.IntN(recallNoise)] = 1
			}
			b.mask[at(steps, r)] = true
			b.classes[at(steps, r)] = key
		}
	case TaskAdding:
		b.squared = true
		b.values = reuse(values, steps*B)
		for r := range B {
			for t := 1; t <= steps; t++ {
				b.X[at(t, r)*D] = rng.Float64()
			}
			// One mark in each half, as in Hochreiter & Schmidhuber.
			half := max(1, steps/2)
			m1 := 1 + rng.IntN(half)
			m2 := m1
			if steps > 1 {
				m2 = half + 1 + rng.IntN(steps-half)
			}
			b.X[at(m1, r)*D+1] = 1
			b.X[at(m2, r)*D+1] = 1
			sum := b.X[at(m1, r)*D]
			if m2 != m1 {
				sum += b.X[at(m2, r)*D]
			}
			b.mask[at(steps, r)] = true
			b.values[at(steps, r)] = sum
		}
	case TaskCopy:
		b.classes = reuse(classes, steps*B)
		blank, delim := 0, copyAlphabet+1
		for r := range B {
			for t := 1; t <= steps; t++ {
				sym := blank
				switch {
				case t <= copyLen:
					sym = 1 + rng.IntN(copyAlphabet)
				case t == T+copyLen:
					sym = delim
				}
				b.X[at(t, r)*D+sym] = 1
				b.mask[at(t, r)] = true
				if t > T+copyLen {
					// Reproduce symbol t−T−10 of the prefix.
					src := t - T - copyLen
					for j := range D {
						if b.X[at(src, r)*D+j] == 1 {
							b.classes[at(t, r)] = j
						}
					}
				}
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
	return b
}

// reuse returns v with length n and every element zero, reusing its
// array when it is large enough.
func reuse[E any](v []E, n int) []E {
	if cap(v) < n {
		return make([]E, n)
	}
	v = v[:n]
	clear(v)
	return v
}

// accuracy returns the fraction of the task's answers that tp got right:
// the label at the end (recall), the sum within 0.04 (adding) or the ten
// reproduced symbols (copy).
func accuracy(task Task, tp *tape) float64 {
	b, K := tp.batch, tp.p.K
	right, total := 0, 0
	for t := 1; t <= b.T; t++ {
		if task == TaskCopy && t <= b.T-copyLen {
			continue // the blanks are free
		}
		for r := range b.B {
			row := (t-1)*b.B + r
			if !b.mask[row] {
				continue
			}
			total++
			o := tp.out[row*K : (row+1)*K]
			if b.squared {
				if math.Abs(o[0]-b.values[row]) < 0.04 {
					right++
				}
				continue
			}
			best := 0
			for j, v := range o {
				if v > o[best] {
					best = j
				}
			}
			if best == b.classes[row] {
				right++
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(right) / float64(total)
}
