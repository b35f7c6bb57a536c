package engine

import (
	"math"
	"math/rand/v2"
	"testing"
)

// vecMathInputs returns arguments across every branch of the gate
// functions: tiny, around the tanh switch at 0.625, the range where gates
// saturate, the ends of exp's range, and the special values.
func vecMathInputs() []float64 {
	rng := rand.New(rand.NewPCG(11, 11))
	xs := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 0.625, -0.625,
		math.Nextafter(0.625, 0), 1e-300, -5e-324, 708, -708, 709.78, -709.78, 710, -710, 745, -746, 354.9, 1e308}
	for range 200000 {
		scale := math.Pow(10, 4*rng.Float64()-3) // 1e-3 .. 10
		xs = append(xs, scale*rng.NormFloat64())
	}
	for range 2000 {
		xs = append(xs, 1500*(rng.Float64()-0.5))
	}
	return xs
}

func ulps(a, b float64) float64 {
	if a == b || math.IsNaN(a) && math.IsNaN(b) {
		return 0
	}
	return math.Abs(a-b) / (math.Nextafter(math.Abs(b), math.Inf(1)) - math.Abs(b))
}

// TestVecMathAccuracy checks the gate functions against math's within
// 2 ulp (or 1e-300 absolute, where math returns subnormals) and the
// special values exactly.
func TestVecMathAccuracy(t *testing.T) {
	worst := map[string]float64{}
	for _, x := range vecMathInputs() {
		for name, c := range map[string][2]float64{
			"sigmoid": {sigmoidGo(x), 1 / (1 + math.Exp(-x))},
			"tanh":    {tanhGo(x), math.Tanh(x)},
		} {
			got, want := c[0], c[1]
			if math.IsNaN(want) != math.IsNaN(got) || math.IsInf(want, 0) && got != want {
				t.Fatalf("%s(%v) = %v, want %v", name, x, got, want)
			}
			if want == 0 && got == 0 && math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%s(%v) = %v, want %v (sign of zero)", name, x, got, want)
			}
			if math.Abs(got-want) < 1e-300 {
				continue
			}
			u := ulps(got, want)
			worst[name] = max(worst[name], u)
			if u > 2 {
				t.Fatalf("%s(%v) = %v, want %v: %.1f ulp", name, x, got, want, u)
			}
		}
	}
	t.Logf("worst error in ulp: %v", worst)
}

// TestVecMathTwins checks the assembly against its Go twin bit for bit,
// over slice lengths that leave tails.
func TestVecMathTwins(t *testing.T) {
	xs := vecMathInputs()
	for _, n := range []int{1, 3, 4, 7, 64, len(xs)} {
		src := xs[:n]
		s, th := make([]float64, n), make([]float64, n)
		sigmoidVec(s, src)
		tanhVec(th, src)
		for i, x := range src {
			if a, b := s[i], sigmoidGo(x); math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
				t.Fatalf("sigmoid(%v): vector %v, Go %v", x, a, b)
			}
			if a, b := th[i], tanhGo(x); math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
				t.Fatalf("tanh(%v): vector %v, Go %v", x, a, b)
			}
		}
	}
}

func BenchmarkGates(b *testing.B) {
	src, dst := make([]float64, 256), make([]float64, 256)
	for i := range src {
		src[i] = float64(i-128) / 32
	}
	b.Run("sigmoidVec", func(b *testing.B) {
		for b.Loop() {
			sigmoidVec(dst, src)
		}
	})
	b.Run("tanhVec", func(b *testing.B) {
		for b.Loop() {
			tanhVec(dst, src)
		}
	})
	b.Run("math", func(b *testing.B) {
		for b.Loop() {
			for i, x := range src {
				dst[i] = 1 / (1 + math.Exp(-x))
			}
		}
	})
	b.Run("mathTanh", func(b *testing.B) {
		for b.Loop() {
			for i, x := range src {
				dst[i] = math.Tanh(x)
			}
		}
	})
}
