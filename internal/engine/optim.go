package engine

import "math"

// OptimizerKind names an update rule.
type OptimizerKind string

// The optimizers of the training lab.
const (
	OptSGD  OptimizerKind = "sgd"  // SGD with momentum (PyTorch's convention)
	OptAdam OptimizerKind = "adam" // Kingma & Ba 2015, with bias correction
)

// Optimizers lists every OptimizerKind.
var Optimizers = []OptimizerKind{OptSGD, OptAdam}

// OptimizerLabels names every OptimizerKind in each language of the page
// and the figures.
var OptimizerLabels = map[OptimizerKind]Text{
	OptAdam: {"Adam", "Adam"},
	OptSGD:  {"SGD with momentum", "SGD con momento"},
}

// Optimizer updates parameters from gradients. Its state is sized for one
// parameter vector.
type Optimizer struct {
	Kind     OptimizerKind
	LR       float64
	Momentum float64 // SGD momentum μ, or Adam's β₁
	Beta2    float64 // Adam's β₂
	Epsilon  float64 // Adam's ε

	m, v []float64
	step int
}

// NewOptimizer returns an optimizer for n parameters with the usual
// constants (β₂ = 0.999, ε = 1e-8).
func NewOptimizer(kind OptimizerKind, lr, momentum float64, n int) *Optimizer {
	o := &Optimizer{Kind: kind, LR: lr, Momentum: momentum, Beta2: 0.999, Epsilon: 1e-8, m: make([]float64, n)}
	if kind == OptAdam {
		o.v = make([]float64, n)
	}
	return o
}

// Step applies one update to theta given the gradient g:
//
//	sgd:  m ← μ m + g;  θ ← θ − lr m
//	adam: m ← β₁ m + (1−β₁) g;  v ← β₂ v + (1−β₂) g²;
//	      θ ← θ − lr m̂ / (√v̂ + ε), with m̂, v̂ bias-corrected.
func (o *Optimizer) Step(theta, g []float64) {
	o.step++
	switch o.Kind {
	case OptAdam:
		b1, b2 := o.Momentum, o.Beta2
		c1 := 1 - math.Pow(b1, float64(o.step))
		c2 := 1 - math.Pow(b2, float64(o.step))
		for i, gi := range g {
			o.m[i] = b1*o.m[i] + (1-b1)*gi
			o.v[i] = b2*o.v[i] + (1-b2)*gi*gi
			theta[i] -= o.LR * (o.m[i] / c1) / (math.Sqrt(o.v[i]/c2) + o.Epsilon)
		}
	default:
		for i, gi := range g {
			o.m[i] = o.Momentum*o.m[i] + gi
			theta[i] -= o.LR * o.m[i]
		}
	}
}
