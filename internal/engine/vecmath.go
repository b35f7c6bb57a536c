package engine

import "math"

// The gates of a cell spend more time in exp than the recurrent products
// spend in gemm once those run at the speed of the machine. sigmoidVec
// and tanhVec compute four elements at a time (in assembly where the CPU
// has AVX2 and FMA) with the algorithms below, written out once in Go as
// the portable twin that the assembly matches bit for bit. Both are
// within 2 ulp of math's functions (TestVecMathAccuracy) and keep their
// special values: NaN stays NaN, ±Inf give the limits, ±0 stays ±0.

// Constants of expGates.
const (
	expLo  = -708.0             // below, exp is flushed to 0: 1 + e^x is then exactly 1
	expHi  = 709.782712893384   // ln(MaxFloat64): above, exp is +Inf
	log2e  = 1.4426950408889634 // 1/ln 2
	ln2Hi  = 6.93147180369123816490e-01
	ln2Lo  = 1.90821492927058770002e-10
	tanhLo = 0.625 // below, tanh uses the rational form (as math.Tanh)
)

// expPoly holds 1/n! for n = 13 down to 0: the Taylor series of e^r to
// degree 13, whose remainder on |r| ≤ ln2/2 is below 1e-17.
var expPoly = [14]float64{
	1.0 / 6227020800, 1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800,
	1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24,
	1.0 / 6, 0.5, 1, 1,
}

// tanhP and tanhQ are math.Tanh's rational approximation on |x| < 0.625.
var (
	tanhP = [3]float64{-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3}
	tanhQ = [3]float64{1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3}
)

// expGates returns e^x for x ≥ −708 (and 0 below, where the gates only
// ever add it to 1): x = k·ln2 + r, e^r by its Taylor polynomial and the
// scale 2^k built in the exponent bits, in two halves so that k = 1024
// stays finite.
func expGates(x float64) float64 {
	xc := x
	if !(xc >= expLo) {
		xc = expLo
	}
	if xc > expHi {
		xc = expHi
	}
	k := math.RoundToEven(xc * log2e)
	r := math.FMA(-k, ln2Hi, xc)
	r = math.FMA(-k, ln2Lo, r)
	p := expPoly[0]
	for _, c := range expPoly[1:] {
		p = math.FMA(p, r, c)
	}
	p *= math.Float64frombits(uint64(int64(k)+1022) << 52)
	p *= 2
	switch {
	case x > expHi:
		return math.Inf(1)
	case x < expLo:
		return 0
	case x != x:
		return x
	}
	return p
}

// sigmoidGo is the portable twin of the assembly sigmoid.
func sigmoidGo(x float64) float64 { return 1 / (1 + expGates(-x)) }

// tanhGo is the portable twin of the assembly tanh: math.Tanh's method,
// 1 − 2/(e^{2|x|} + 1) with x's sign from 0.625 up and the rational form
// below.
func tanhGo(x float64) float64 {
	z := math.Abs(x)
	big := 1 - 2/(expGates(2*z)+1)
	big = math.Copysign(big, x)
	s := x * x
	num := math.FMA(math.FMA(tanhP[0], s, tanhP[1]), s, tanhP[2])
	den := math.FMA(math.FMA(s+tanhQ[0], s, tanhQ[1]), s, tanhQ[2])
	small := x + x*s*num/den
	switch {
	case z >= tanhLo:
		return big
	case x == 0:
		return x
	}
	return small
}

// sigmoidVec sets dst[i] = 1/(1 + e^{−src[i]}); dst may be src.
func sigmoidVec(dst, src []float64) {
	dst = dst[:len(src)]
	n := len(src) &^ 3
	if hasFMA && n > 0 {
		sigmoidFMA(&dst[0], &src[0], n)
	} else {
		n = 0
	}
	for i := n; i < len(src); i++ {
		dst[i] = sigmoidGo(src[i])
	}
}

// tanhVec sets dst[i] = tanh(src[i]); dst may be src.
func tanhVec(dst, src []float64) {
	dst = dst[:len(src)]
	n := len(src) &^ 3
	if hasFMA && n > 0 {
		tanhFMA(&dst[0], &src[0], n)
	} else {
		n = 0
	}
	for i := n; i < len(src); i++ {
		dst[i] = tanhGo(src[i])
	}
}
