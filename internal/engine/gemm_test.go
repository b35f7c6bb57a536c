package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGemm is the textbook triple loop with fused multiply-adds in the
// order gemm promises, so it must agree with gemm bit for bit.
func naiveGemm(m, n, k int, a []float64, rsA, csA int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i := range m {
		for j := range n {
			sum := 0.0
			for l0 := 0; l0 < k; l0 += gemmKC {
				part := 0.0
				for l := l0; l < min(k, l0+gemmKC); l++ {
					part = math.FMA(a[i*rsA+l*csA], b[l*ldb+j], part)
				}
				if l0 == 0 {
					sum = part
					if beta == 1 {
						sum = c[i*ldc+j] + part
					}
				} else {
					sum += part
				}
			}
			if k == 0 && beta == 1 {
				sum = c[i*ldc+j]
			}
			c[i*ldc+j] = sum
		}
	}
}

// TestGemmExact checks gemm against the triple loop, bit for bit, over
// shapes with edge tiles, several passes of depth, transposed operands
// and padded strides, on the assembly kernel and on the portable one.
func TestGemmExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	fill := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	kernels := map[string]bool{"native": hasFMA, "portable": false}
	defer func(v bool) { hasFMA = v }(hasFMA)
	for name, fma := range kernels {
		hasFMA = fma
		for _, sh := range [][3]int{{1, 1, 1}, {4, 8, 1}, {5, 9, 3}, {32, 256, 64}, {32, 64, 256}, {256, 12, 1600}, {7, 13, 600}, {12, 3, 0}} {
			m, n, k := sh[0], sh[1], sh[2]
			for _, trans := range []bool{false, true} {
				for _, beta := range []float64{0, 1} {
					lda := k + 3
					rsA, csA := lda, 1
					if trans {
						lda = m + 2
						rsA, csA = 1, lda
					}
					a := fill(max(m, k) * (max(m, k) + 3))
					ldb, ldc := n+1, n+2
					b, c := fill(max(k, 1)*ldb), fill(m*ldc)
					want := append([]float64(nil), c...)
					c2 := append([]float64(nil), c...)
					gemm(m, n, k, a, rsA, csA, b, ldb, beta, c, ldc)
					naiveGemm(m, n, k, a, rsA, csA, b, ldb, beta, want, ldc)
					// The same product from b packed, read through its
					// transpose's strides.
					bt := make([]float64, n*max(k, 1))
					for l := range k {
						for j := range n {
							bt[j*k+l] = b[l*ldb+j]
						}
					}
					gemmPacked(m, n, k, a, rsA, csA, packB(make([]float64, packedLen(k, n)), bt, k, n, 1, k), beta, c2, ldc)
					for i := range c2 {
						if math.Float64bits(c2[i]) != math.Float64bits(want[i]) {
							t.Fatalf("%s packed %dx%dx%d trans=%v beta=%v: c[%d] = %v, want %v", name, m, n, k, trans, beta, i, c2[i], want[i])
						}
					}
					for i := range c {
						if math.Float64bits(c[i]) != math.Float64bits(want[i]) {
							t.Fatalf("%s %dx%dx%d trans=%v beta=%v: c[%d] = %v, want %v", name, m, n, k, trans, beta, i, c[i], want[i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkGemm measures the products of one training iteration (batch
// 32, H = 64, LSTM gates) and reports GFLOP/s.
func BenchmarkGemm(b *testing.B) {
	for _, sh := range [][3]int{{16, 256, 64}, {16, 64, 256}, {16, 64, 64}, {32, 256, 64}, {32, 64, 256}, {128, 64, 1600}, {1600, 256, 12}} {
		m, n, k := sh[0], sh[1], sh[2]
		b.Run(fmt.Sprintf("m=%d/n=%d/k=%d", m, n, k), func(b *testing.B) {
			x, y, z := make([]float64, m*k), make([]float64, packedLen(k, n)), make([]float64, m*n)
			for b.Loop() {
				gemmPacked(m, n, k, x, k, 1, y, 1, z, n)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	// The parameter gradients: gate gradients read transposed, states
	// row-major.
	for _, sh := range [][3]int{{256, 64, 1600}, {256, 12, 1600}} {
		m, n, k := sh[0], sh[1], sh[2]
		b.Run(fmt.Sprintf("grads/m=%d/n=%d/k=%d", m, n, k), func(b *testing.B) {
			x, y, z := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
			for b.Loop() {
				gemm(m, n, k, x, 1, m, y, n, 1, z, n)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("grads-packed/m=%d/n=%d/k=%d", m, n, k), func(b *testing.B) {
			x, y, z := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
			yp := make([]float64, packedLen(k, n))
			for b.Loop() {
				gemmPacked(m, n, k, x, 1, m, packB(yp, y, k, n, n, 1), 1, z, n)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
