package engine

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// The helpers below wrap BLAS calls on row-major slices. A single row
// (one sequence) goes through Gemv, which is several times faster than a
// 1×n Gemm.

// mulABt sets c = a·bᵀ + beta·c, where a is m×k, b is n×k and c is m×n.
func mulABt(c, a, b []float64, m, k, n int, beta float64) {
	if m == 1 {
		blas64.Gemv(blas.NoTrans, 1, general(b, n, k, k), vector(a), beta, vector(c))
		return
	}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, general(a, m, k, k), general(b, n, k, k), beta, general(c, m, n, n))
}

// mulAB sets c = a·b + beta·c, where a is m×k, b is k×n and c is m×n.
func mulAB(c, a, b []float64, m, k, n int, beta float64) {
	if m == 1 {
		blas64.Gemv(blas.Trans, 1, general(b, k, n, n), vector(a), beta, vector(c))
		return
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, general(a, m, k, k), general(b, k, n, n), beta, general(c, m, n, n))
}

func general(data []float64, rows, cols, stride int) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: stride, Data: data}
}

func vector(data []float64) blas64.Vector {
	return blas64.Vector{N: len(data), Inc: 1, Data: data}
}

// addColumnSums adds the column sums of the rows×cols matrix a to dst.
func addColumnSums(dst, a []float64, rows, cols int) {
	for r := range rows {
		row := a[r*cols : (r+1)*cols]
		for j, v := range row {
			dst[j] += v
		}
	}
}

func dot(a, b []float64) float64 { return blas64.Dot(vector(a), vector(b)) }

// norm2 returns the Euclidean norm of a. The plain sum of squares is
// several times faster than Nrm2's scaled one and exact enough whenever
// it neither overflows nor underflows; otherwise Nrm2 takes over, so
// 1e200 and 1e-200 components still give the right norm.
func norm2(a []float64) float64 {
	ss := dot(a, a)
	if ss > 1e-280 && ss < 1e280 {
		return math.Sqrt(ss)
	}
	return blas64.Nrm2(vector(a))
}
