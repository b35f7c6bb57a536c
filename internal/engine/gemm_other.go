//go:build !amd64

package engine

// gemmKernel adds a 4×8 tile of a·b to c; see gemmKernelGo.
func gemmKernel(k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int) {
	gemmKernelGo(k, a, rsA, csA, b, ldb, c, ldc)
}
