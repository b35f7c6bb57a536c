package engine

import (
	"context"
	"math"
	"math/cmplx"
	"slices"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Spectrum describes the recurrent matrix Wh of a vanilla RNN.
type Spectrum struct {
	// Gamma is sup f′ of the activation (Activation.Gamma).
	Gamma float64
	// SigmaMax is the largest singular value σ_max(Wh). Pascanu, Mikolov
	// and Bengio (2013) show that γ·σ_max < 1 is sufficient for the
	// gradient to vanish and γ·σ_max > 1 necessary for it to explode.
	SigmaMax float64
	// SpectralRadius is the largest |λ| over the eigenvalues of Wh.
	SpectralRadius float64
	// SingularValues of Wh in decreasing order.
	SingularValues []float64
	// Eigenvalues of Wh in decreasing order of modulus.
	Eigenvalues []complex128
}

// Regime names what Pascanu et al.'s condition implies.
type Regime string

// The regimes of γ·σ_max.
const (
	RegimeVanishing  Regime = "vanishing"   // γ·σ_max < 1: the profile must vanish
	RegimeMayExplode Regime = "may-explode" // γ·σ_max ≥ 1: explosion is possible, not certain
	RegimeUnknown    Regime = "unknown"     // the matrix is not finite
)

// Regime returns the regime implied by γ·σ_max.
func (s *Spectrum) Regime() Regime {
	switch g := s.Gamma * s.SigmaMax; {
	case math.IsNaN(g) || math.IsInf(g, 0):
		return RegimeUnknown
	case g < 1:
		return RegimeVanishing
	}
	return RegimeMayExplode
}

// NewSpectrum computes the singular values and eigenvalues of the H×H
// row-major matrix wh. A matrix with a non-finite entry (a weight that
// overflowed in training) gives NaN throughout.
func NewSpectrum(wh []float64, h int, act Activation) *Spectrum {
	sp := &Spectrum{Gamma: act.Gamma(), SigmaMax: math.NaN(), SpectralRadius: math.NaN()}
	if !allFinite(wh) {
		return sp
	}
	m := mat.NewDense(h, h, slices.Clone(wh))
	var svd mat.SVD
	if svd.Factorize(m, mat.SVDNone) {
		sp.SingularValues = svd.Values(nil)
		sp.SigmaMax = sp.SingularValues[0]
	}
	var eig mat.Eigen
	if eig.Factorize(m, mat.EigenNone) {
		ev := eig.Values(nil)
		slices.SortStableFunc(ev, func(a, b complex128) int {
			switch ma, mb := cmplx.Abs(a), cmplx.Abs(b); {
			case ma > mb:
				return -1
			case ma < mb:
				return 1
			}
			return 0
		})
		sp.Eigenvalues = ev
		sp.SpectralRadius = cmplx.Abs(ev[0])
	}
	return sp
}

// scaled returns the spectrum of gain·Wh for the activation, given that
// of Wh.
func (s *Spectrum) scaled(gain float64, act Activation) *Spectrum {
	out := &Spectrum{
		Gamma:          act.Gamma(),
		SigmaMax:       gain * s.SigmaMax,
		SpectralRadius: gain * s.SpectralRadius,
		SingularValues: make([]float64, len(s.SingularValues)),
		Eigenvalues:    make([]complex128, len(s.Eigenvalues)),
	}
	for i, v := range s.SingularValues {
		out.SingularValues[i] = gain * v
	}
	for i, v := range s.Eigenvalues {
		out.Eigenvalues[i] = complex(gain, 0) * v
	}
	return out
}

// Bound returns Pascanu et al.'s bound on the profile's axes,
//
//	bound_k = Σ_{t≥k} ‖v_t‖ (γ·σ_max)^(t−k),
//
// where v_t is the output layer's direct share of ∂E/∂s_t (zero for
// unscored steps). For loss=last this is ‖δ_T‖ (γ·σ_max)^(T−k). It
// bounds ‖∂E/∂s_k‖ without clipping because ‖∂s_t/∂s_k‖ ≤ (γ·σ_max)^(t−k).
func (s *Spectrum) Bound(direct []float64) []float64 {
	rate := s.Gamma * s.SigmaMax
	out := make([]float64, len(direct))
	acc := 0.0
	for k := len(direct) - 1; k >= 0; k-- {
		acc = direct[k] + rate*acc
		out[k] = acc
	}
	return out
}

// jacobianJob computes ‖J_t‖₂ = ‖diag(f′(a_t)) Wh‖₂ for t = 1..T, given
// the states s_t (rows 1..T of states, each H long); any number of
// goroutines may share the steps by calling work.
//
// With G = Wh Whᵀ, ‖J_t‖₂² is the largest eigenvalue of D_t G D_t. When G
// is diagonal, as for orthogonal and identity initialisations, that is
// max_i d_i² G_ii. Otherwise Lanczos with full reorthogonalisation,
// started from D_t times the top eigenvector of G, runs until the Ritz
// residual is below jacobianTol of the Ritz value.
type jacobianJob struct {
	h        int
	act      Activation
	states   []float64
	gram     []float64
	top      []float64
	diagonal bool
	out      []float64
	next     atomic.Int64 // next step to claim
}

// jacobianTol bounds the Lanczos residual relative to the Ritz value. The
// eigenvalue error is at most residual²/gap, which at this tolerance
// leaves ‖J_t‖ within 1e-9 relative of a dense SVD in every test.
const jacobianTol = 1e-5

// jacobianChunk is how many steps a worker claims at once.
const jacobianChunk = 16

// newJacobianJob prepares the norms for the given states; the first
// len(known) of them (at most) are taken from known instead of computed.
func newJacobianJob(wh []float64, h int, act Activation, states []float64, known []float64) *jacobianJob {
	job := &jacobianJob{h: h, act: act, states: states, out: make([]float64, len(states)/h)}
	done := copy(job.out, known)
	job.next.Store(int64(done))
	if done == len(job.out) {
		return job
	}
	job.gram = make([]float64, h*h)
	mulABt(job.gram, wh, wh, h, h, h, 0)
	if !allFinite(job.gram) {
		for i := done; i < len(job.out); i++ {
			job.out[i] = math.NaN()
		}
		job.next.Store(int64(len(job.out)))
		return job
	}
	job.diagonal = isDiagonal(job.gram, h)
	if !job.diagonal {
		ones := make([]float64, h)
		for i := range ones {
			ones[i] = 1
		}
		lz := newLanczos(h, job.gram)
		lz.tol = 1e-12
		job.top = make([]float64, h)
		lz.largest(ones, ones, job.top)
	}
	return job
}

// work computes steps until none are left or ctx is done. Several
// goroutines may call it at once.
func (job *jacobianJob) work(ctx context.Context) error {
	pacer := pacerOf(ctx)
	h := job.h
	w := &jacobianWorker{lz: newLanczos(h, job.gram), deriv: make([]float64, h)}
	w.lz.tol = jacobianTol
	deriv := w.deriv
	for {
		first := int(job.next.Add(jacobianChunk)) - jacobianChunk
		if first >= len(job.out) {
			return nil
		}
		for t := first; t < min(first+jacobianChunk, len(job.out)); t++ {
			if err := checkpoint(ctx, pacer); err != nil {
				return err
			}
			job.act.deriv(deriv, job.states[t*h:(t+1)*h])
			if job.diagonal {
				m := 0.0
				for i, d := range deriv {
					m = max(m, d*d*job.gram[i*h+i])
				}
				job.out[t] = math.Sqrt(m)
				if !allFinite(deriv) {
					job.out[t] = math.NaN()
				}
				continue
			}
			job.out[t] = math.Sqrt(job.largest(w, deriv))
		}
	}
}

// workOnTwo is work on the calling goroutine and, if ctx's Lender lends
// a core, on one more.
func (job *jacobianJob) workOnTwo(ctx context.Context) error {
	release, ok := borrowCore(ctx)
	if !ok {
		return job.work(ctx)
	}
	defer release()
	helper := make(chan error, 1)
	// Exits when every step is claimed or ctx is cancelled.
	go func() { helper <- job.work(ctx) }()
	err := job.work(ctx)
	if herr := <-helper; err == nil {
		err = herr
	}
	return err
}

// largest returns λ_max(D G D) for D = diag(d). Units with f′ = 0 (ReLU
// units that are off) contribute nothing, so when there are many of them
// the problem shrinks to the active rows and columns of G first: at half
// the units active, each Lanczos step costs a quarter.
func (job *jacobianJob) largest(w *jacobianWorker, d []float64) float64 {
	active := 0
	for _, v := range d {
		if v != 0 {
			active++
		}
	}
	if active == 0 {
		return 0
	}
	gram, top := job.gram, job.top
	if active < job.h*9/10 {
		gram, top, d = w.sub.restrict(job.gram, job.top, d, job.h, active)
	}
	w.lz.reset(len(d), gram)
	return w.lz.largest(d, top, nil)
}

// jacobianWorker is one goroutine's scratch space.
type jacobianWorker struct {
	lz    *lanczos
	sub   activeSet
	deriv []float64
}

// activeSet holds G, the start vector and d restricted to the units with
// f′ ≠ 0.
type activeSet struct {
	gram, top, d []float64
	idx          []int
}

func (a *activeSet) restrict(gram, top, d []float64, h, active int) ([]float64, []float64, []float64) {
	a.idx = a.idx[:0]
	for i, v := range d {
		if v != 0 {
			a.idx = append(a.idx, i)
		}
	}
	a.gram = slices.Grow(a.gram[:0], active*active)[:active*active]
	a.top = slices.Grow(a.top[:0], active)[:active]
	a.d = slices.Grow(a.d[:0], active)[:active]
	for r, i := range a.idx {
		row := gram[i*h:]
		for c, j := range a.idx {
			a.gram[r*active+c] = row[j]
		}
		a.top[r] = top[i]
		a.d[r] = d[i]
	}
	return a.gram, a.top, a.d
}

// isDiagonal reports whether the symmetric h×h matrix g is diagonal up to
// rounding: every off-diagonal entry within 1e-13 of the largest diagonal
// one, which moves its eigenvalues by at most h·1e-13 relative.
func isDiagonal(g []float64, h int) bool {
	top := 0.0
	for i := range h {
		top = max(top, math.Abs(g[i*h+i]))
	}
	for i := range h {
		for j := range h {
			if i != j && math.Abs(g[i*h+j]) > 1e-13*top {
				return false
			}
		}
	}
	return true
}

// lanczos holds the buffers for repeated largest-eigenvalue solves of
// D G D for a fixed symmetric G and varying diagonal D.
type lanczos struct {
	n           int
	gram        []float64
	basis       []float64 // maxIter×n Lanczos vectors, for reorthogonalisation
	w, tmp      []float64
	alpha, beta []float64
	y, work     []float64
	coef        []float64
	tol         float64 // stop when the Ritz residual is below tol·θ
	maxIter     int
	minIter     int // iterations before the first convergence test
	iterations  int // total over all solves, for tests and tuning
}

// newLanczos returns buffers for problems of size up to n.
func newLanczos(n int, gram []float64) *lanczos {
	lz := &lanczos{
		basis: make([]float64, (n+1)*n),
		w:     make([]float64, n), tmp: make([]float64, n),
		alpha: make([]float64, 0, n), beta: make([]float64, 0, n),
		y: make([]float64, n), work: make([]float64, n), coef: make([]float64, n),
		tol: 1e-10,
	}
	lz.reset(n, gram)
	return lz
}

// reset points lz at an n×n matrix, n no larger than it was made for.
func (lz *lanczos) reset(n int, gram []float64) {
	lz.n, lz.gram, lz.maxIter, lz.minIter = n, gram, n, min(n-1, 8)
	lz.w, lz.tmp = lz.w[:n], lz.tmp[:n]
}

// largest returns λ_max(D G D) with D = diag(d), which is
// ‖diag(d) Wh‖₂² when G = Wh Whᵀ, starting from D·start. If vec is not
// nil it receives the unit eigenvector.
func (lz *lanczos) largest(d, start, vec []float64) float64 {
	if !allFinite(d) {
		return math.NaN()
	}
	n := lz.n
	q := lz.basis[:n]
	// A slight fixed perturbation keeps a component along every direction
	// even where start itself is orthogonal to the answer.
	for i := range q {
		q[i] = d[i] * (start[i] + 0.1/math.Sqrt(float64(n))*float64(1-2*(i%2)))
	}
	qn := norm2(q)
	if qn == 0 {
		clear(vec)
		return 0
	}
	for i := range q {
		q[i] /= qn
	}
	lz.alpha, lz.beta = lz.alpha[:0], lz.beta[:0]
	w := lz.w
	theta := 0.0
	for j := 0; j < lz.maxIter; j++ {
		lz.iterations++
		q = lz.basis[j*n : (j+1)*n]
		for i := range q {
			lz.tmp[i] = d[i] * q[i]
		}
		mulAB(w, lz.tmp, lz.gram, 1, n, n, 0)
		for i := range w {
			w[i] *= d[i]
		}
		a := dot(w, q)
		lz.alpha = append(lz.alpha, a)
		var bPrev float64
		if j > 0 {
			bPrev = lz.beta[j-1]
			qPrev := lz.basis[(j-1)*n : j*n]
			for i := range w {
				w[i] -= a*q[i] + bPrev*qPrev[i]
			}
		} else {
			for i := range w {
				w[i] -= a * q[i]
			}
		}
		// One pass of full reorthogonalisation keeps the Lanczos vectors
		// orthogonal to working precision over the few dozen steps we
		// take, so no ghost copies of converged Ritz values appear.
		basis := general(lz.basis, j+1, n, n)
		coef := vector(lz.coef[:j+1])
		blas64.Gemv(blas.NoTrans, 1, basis, vector(w), 0, coef)
		blas64.Gemv(blas.Trans, -1, basis, coef, 1, vector(w))
		b := norm2(w)
		done := b <= 1e-14*math.Abs(a) || j == lz.maxIter-1
		// Solving the small eigenproblem costs about a quarter of a
		// matrix-vector product, so it is done only every other step once
		// convergence is plausible.
		if done || (j >= lz.minIter && j%2 == 0) {
			theta = largestTridiagonal(lz.alpha, lz.beta, theta)
			if done || b*lz.ritzVector(theta) <= lz.tol*theta {
				if vec != nil {
					y := lz.y[:j+1]
					blas64.Gemv(blas.Trans, 1, basis, vector(y), 0, vector(vec))
					if nv := norm2(vec); nv > 0 {
						for i := range vec {
							vec[i] /= nv
						}
					}
				}
				return theta
			}
		}
		lz.beta = append(lz.beta, b)
		next := lz.basis[(j+1)*n : (j+2)*n]
		for i := range next {
			next[i] = w[i] / b
		}
	}
	return theta
}

// ritzVector sets lz.y to the unit eigenvector of the m×m Lanczos
// tridiagonal matrix belonging to its largest eigenvalue theta, by two
// steps of inverse iteration, and returns |y_m|. T − σI with σ just above theta is negative
// definite, so the pivot-free tridiagonal solve is stable.
func (lz *lanczos) ritzVector(theta float64) float64 {
	m := len(lz.alpha)
	sigma := theta + 1e-10*math.Max(math.Abs(theta), 1e-300)
	y := lz.y[:m]
	for i := range y {
		y[i] = 1
	}
	c := lz.work[:m]
	for range 2 {
		// Thomas algorithm on (T − σI) x = y, in place.
		c[0] = 0
		piv := lz.alpha[0] - sigma
		if m > 1 {
			c[0] = lz.beta[0] / piv
		}
		y[0] /= piv
		for i := 1; i < m; i++ {
			piv = lz.alpha[i] - sigma - lz.beta[i-1]*c[i-1]
			if i < m-1 {
				c[i] = lz.beta[i] / piv
			}
			y[i] = (y[i] - lz.beta[i-1]*y[i-1]) / piv
		}
		for i := m - 2; i >= 0; i-- {
			y[i] -= c[i] * y[i+1]
		}
		n := norm2(y)
		for i := range y {
			y[i] /= n
		}
	}
	return math.Abs(y[m-1])
}

// largestTridiagonal returns the largest eigenvalue of the symmetric
// tridiagonal matrix with diagonal alpha and off-diagonal beta
// (len(beta) ≥ len(alpha)−1); lower is a known lower bound.
//
// Newton's method on det(T − xI), started above the spectrum (Gershgorin),
// decreases monotonically to the largest root, since
// x − p/p′ = x − 1/Σ_k 1/(x − λ_k) never passes λ_max. The pivots of the
// LDLᵀ factorisation of T − xI give p′/p without overflow. Bisection on
// Sturm counts takes over should rounding ever break monotonicity.
func largestTridiagonal(alpha, beta []float64, lower float64) float64 {
	m := len(alpha)
	hi, lo := math.Inf(-1), math.Inf(1)
	for i := range m {
		r := 0.0
		if i > 0 {
			r += math.Abs(beta[i-1])
		}
		if i < m-1 {
			r += math.Abs(beta[i])
		}
		hi = max(hi, alpha[i]+r)
		lo = min(lo, alpha[i]-r)
	}
	lo = max(lo, lower)
	if lo >= hi {
		return hi
	}
	// pivots returns the number of eigenvalues above x and, when all are
	// below, the Newton step length p/p′ > 0.
	pivots := func(x float64) (above int, step float64) {
		q := alpha[0] - x
		dq := -1.0
		sum := dq / q
		below := 0
		if q < 0 {
			below++
		}
		for i := 1; i < m; i++ {
			if q == 0 {
				q = 1e-300
			}
			b2 := beta[i-1] * beta[i-1]
			dq = -1 + b2*dq/(q*q)
			q = alpha[i] - x - b2/q
			if q < 0 {
				below++
			}
			sum += dq / q
		}
		return m - below, 1 / sum
	}
	x := hi
	for range 100 {
		above, step := pivots(x)
		if above > 0 {
			// Rounding took x below λ_max: bracket and bisect.
			lo = max(lo, x)
			break
		}
		hi = x
		if !(step > 0) || step <= 1e-14*math.Abs(x) {
			return x
		}
		x -= step
		if x <= lo {
			break
		}
	}
	for hi-lo > 1e-14*math.Abs(hi) && hi-lo > 1e-300 {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if above, _ := pivots(mid); above > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
