package engine

// hasFMA reports whether the CPU and the OS support AVX2 and FMA3, which
// the assembly kernels need.
var hasFMA = detectFMA()

func detectFMA() bool {
	maxLeaf, _, ecx, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx, _ = cpuid(1, 0)
	const osxsave, avx, fma = 1 << 27, 1 << 28, 1 << 12
	if ecx&osxsave == 0 || ecx&avx == 0 || ecx&fma == 0 {
		return false
	}
	const avx2 = 1 << 5
	if _, ebx, _, _ := cpuid(7, 0); ebx&avx2 == 0 {
		return false
	}
	// The OS must save the SSE and AVX registers on a context switch.
	xcr0, _ := xgetbv()
	return xcr0&6 == 6
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

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
