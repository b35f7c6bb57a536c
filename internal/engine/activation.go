package engine

import "math"

// Gamma returns sup f′, the largest slope of the activation: 1/4 for the
// sigmoid, 1 for the others. It is the γ of Pascanu et al.'s bound.
func (a Activation) Gamma() float64 {
	if a == ActSigmoid {
		return 0.25
	}
	return 1
}

// apply sets s = f(a) element by element. NaN passes through every
// activation, so an overflow stays visible.
func (act Activation) apply(s, a []float64) {
	switch act {
	case ActSigmoid:
		sigmoidVec(s, a)
	case ActTanh:
		tanhVec(s, a)
	case ActReLU:
		for i, v := range a {
			if v <= 0 {
				v = 0
			}
			s[i] = v
		}
	case ActLinear:
		copy(s, a)
	default:
		panic("engine: unknown activation " + string(act))
	}
}

// deriv sets d = f′(a), computed from the state s = f(a), for each element.
// For ReLU, f′(0) is taken as 0, as in PyTorch.
func (act Activation) deriv(d, s []float64) {
	switch act {
	case ActSigmoid:
		for i, v := range s {
			d[i] = v * (1 - v)
		}
	case ActTanh:
		for i, v := range s {
			d[i] = 1 - v*v
		}
	case ActReLU:
		for i, v := range s {
			switch {
			case v > 0:
				d[i] = 1
			case v == 0:
				d[i] = 0
			default:
				d[i] = math.NaN()
			}
		}
	case ActLinear:
		for i, v := range s {
			d[i] = 1
			if math.IsNaN(v) {
				d[i] = v
			}
		}
	default:
		panic("engine: unknown activation " + string(act))
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
