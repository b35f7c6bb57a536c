package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// randomSettings draws settings across every cell, activation, scheme and
// loss, with gains from well inside the vanishing regime to far past the
// exploding one.
func randomSettings(rng *rand.Rand, maxT, maxH int) Settings {
	s := Defaults()
	s.Cell = Cells[rng.IntN(len(Cells))]
	s.Act = Activations[rng.IntN(len(Activations))]
	s.T = 1 + rng.IntN(maxT)
	s.H = 1 + rng.IntN(maxH)
	s.D = 1 + rng.IntN(6)
	s.K = 2 + rng.IntN(6)
	s.Init = InitSchemes[rng.IntN(len(InitSchemes))]
	s.Gain = math.Exp(rng.Float64()*math.Log(50)) / 10 // 0.1 … 5, log-uniform
	s.ForgetBias = rng.Float64()*4 - 1
	s.Clip = ClipModes[rng.IntN(len(ClipModes))]
	s.Threshold = math.Exp(rng.Float64()*math.Log(1e4)) / 100 // 0.01 … 100
	s.Loss = LossModes[rng.IntN(len(LossModes))]
	s.Seed = rng.Uint64N(1 << 20)
	return s
}

func mustProfile(t *testing.T, s Settings) *Result {
	t.Helper()
	r, err := BackpropProfile(context.Background(), s)
	if err != nil {
		t.Fatalf("%+v: %v", s, err)
	}
	return r
}

// denseJacobianNorm is ‖diag(f′(a)) Wh‖₂ by a full SVD, the reference for
// the Lanczos solver.
func denseJacobianNorm(wh []float64, h int, act Activation, state []float64) float64 {
	d := make([]float64, h)
	act.deriv(d, state)
	j := mat.NewDense(h, h, nil)
	for r := range h {
		for c := range h {
			j.Set(r, c, d[r]*wh[r*h+c])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(j, mat.SVDNone) {
		panic("svd failed")
	}
	return svd.Values(nil)[0]
}

func TestJacobianNormMatchesDenseSVD(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := range 120 {
		s := randomSettings(rng, 40, 48)
		s.Cell = CellRNN
		r := mustProfile(t, s)
		tp, err := forward(context.Background(), r.Params, s.Act, &batch{T: s.T, B: 1, D: s.D, X: r.Inputs, classes: r.Targets, mask: make([]bool, s.T), weight: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k := 1; k <= s.T; k++ {
			want := denseJacobianNorm(r.Params.Chain[0].Wh, s.H, s.Act, tp.chain[0].s[k*s.H:(k+1)*s.H])
			got := r.Profile.JacobianNorm[k-1]
			// The export promises every number to 1e-9 relative; the SVD is
			// accurate to ~1e-15, so the Lanczos stopping rule has the rest.
			if math.Abs(got-want) > 1e-9*want+1e-14 {
				t.Fatalf("trial %d %+v step %d: ‖J_k‖ got %.15g, want %.15g", trial, s, k, got, want)
			}
		}
	}
}

func TestLargestTridiagonalMatchesEigenSym(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for range 300 {
		m := 1 + rng.IntN(30)
		alpha, beta := make([]float64, m), make([]float64, m)
		sym := mat.NewSymDense(m, nil)
		for i := range m {
			alpha[i] = rng.NormFloat64()
			sym.SetSym(i, i, alpha[i])
			if i > 0 {
				beta[i-1] = rng.NormFloat64()
				sym.SetSym(i, i-1, beta[i-1])
			}
		}
		var eig mat.EigenSym
		eig.Factorize(sym, false)
		want := slices.Max(eig.Values(nil))
		if got := largestTridiagonal(alpha, beta, math.Inf(-1)); math.Abs(got-want) > 1e-13*math.Max(1, math.Abs(want)) {
			t.Fatalf("m=%d: got %.16g, want %.16g", m, got, want)
		}
	}
}

func TestSigmoidDerivativeAtMostAQuarter(t *testing.T) {
	a := make([]float64, 20001)
	for i := range a {
		a[i] = float64(i-10000) / 500 // −20 … 20
	}
	for _, act := range Activations {
		s, d := make([]float64, len(a)), make([]float64, len(a))
		act.apply(s, a)
		act.deriv(d, s)
		if got := slices.Max(d); got > act.Gamma() {
			t.Errorf("%s: max f′ got %v, want ≤ γ = %v", act, got, act.Gamma())
		}
		if act == ActSigmoid && d[10000] != 0.25 {
			t.Errorf("sigmoid′(0) got %v, want 0.25 exactly", d[10000])
		}
	}
}

// TestProfileWithinPascanuBound checks, over many random settings, that the
// unclipped profile never exceeds Pascanu et al.'s bound and that every
// per-step Jacobian norm is at most γ·σ_max. The 1e-9 slack covers
// rounding in products of up to 200 factors.
func TestProfileWithinPascanuBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	acts := map[Activation]int{}
	for trial := range 400 {
		s := randomSettings(rng, 200, 48)
		s.Cell = CellRNN
		if trial%2 == 0 {
			s.Act = ActSigmoid // the article's case, half of all trials
		}
		acts[s.Act]++
		r := mustProfile(t, s)
		if r.Overflow.Any() {
			continue
		}
		rate := r.Spectrum.Gamma * r.Spectrum.SigmaMax
		for k := range s.T {
			if got, bound := r.Profile.DEdsRaw[k], r.Profile.Bound[k]; got > bound*(1+1e-9) {
				t.Fatalf("trial %d %+v: ‖∂E/∂s_%d‖ = %g exceeds bound %g", trial, s, k+1, got, bound)
			}
			if jn := r.Profile.JacobianNorm[k]; jn > rate*(1+1e-12) {
				t.Fatalf("trial %d %+v: ‖J_%d‖ = %g exceeds γ·σ_max = %g", trial, s, k+1, jn, rate)
			}
		}
	}
	if acts[ActSigmoid] < 200 {
		t.Fatalf("only %d sigmoid trials", acts[ActSigmoid])
	}
}

func TestSpectrum(t *testing.T) {
	s := Defaults()
	s.Init, s.Gain, s.H = InitOrthogonal, 0.7, 20
	sp := mustProfile(t, s).Spectrum
	// Every singular value and eigenvalue modulus of gain·Q is the gain.
	for _, v := range sp.SingularValues {
		if math.Abs(v-0.7) > 1e-12 {
			t.Fatalf("orthogonal×0.7: singular value %v, want 0.7", v)
		}
	}
	if math.Abs(sp.SpectralRadius-0.7) > 1e-12 || len(sp.Eigenvalues) != 20 {
		t.Fatalf("spectral radius %v over %d eigenvalues, want 0.7 over 20", sp.SpectralRadius, len(sp.Eigenvalues))
	}
	if sp.Regime() != RegimeVanishing {
		t.Errorf("tanh, σ_max 0.7: regime %s, want vanishing", sp.Regime())
	}
	s.Act, s.Gain = ActSigmoid, 3.9
	if r := mustProfile(t, s).Spectrum.Regime(); r != RegimeVanishing {
		t.Errorf("sigmoid, σ_max 3.9: regime %s, want vanishing (γ·σ = 0.975)", r)
	}
	s.Gain = 4.1
	if r := mustProfile(t, s).Spectrum.Regime(); r != RegimeMayExplode {
		t.Errorf("sigmoid, σ_max 4.1: regime %s, want may-explode", r)
	}
}
