package engine

import "golang.org/x/sys/cpu"

// hasFMA reports whether the CPU and the OS support AVX2 and FMA3, which
// the assembly kernels need.
var hasFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func gemmKernelFMA(k int, a *float64, rsA, csA int, b *float64, ldb int, c *float64, ldc int)

// gemmKernel adds a 4×8 tile of a·b to c; see gemmKernelGo. The callers
// have checked that every element it touches lies inside the slices.
func gemmKernel(k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int) {
	if !hasFMA {
		gemmKernelGo(k, a, rsA, csA, b, ldb, c, ldc)
		return
	}
	if k == 0 {
		return
	}
	gemmKernelFMA(k, &a[0], rsA, csA, &b[0], ldb, &c[0], ldc)
}

//go:noescape
func sigmoidFMA(dst, src *float64, n int)

//go:noescape
func tanhFMA(dst, src *float64, n int)
