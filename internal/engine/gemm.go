package engine

import "math"

// The engine's own matrix product. gonum's Dgemm runs at a third of what
// one core can do on the shapes of a training iteration (products of a
// batch of 32 rows by 64 to 256 columns, once per step) and splits them
// over goroutines below the size where that pays. gemm below runs a 4×8
// register tile with fused multiply-adds (in assembly where the CPU has
// AVX2 and FMA), reads A through any pair of strides so that transposed
// operands need no copy, and computes every element of C as the same
// sequence of fused multiply-adds over l = 0..k−1, whichever tile, block
// or goroutine it falls in. The result is therefore the same bits however
// a product is split, and the same on every machine.

const (
	gemmMR = 4   // rows of the register tile
	gemmNR = 8   // columns of the register tile
	gemmKC = 256 // depth of one pass: a B panel of 256×8 fits in L1
)

// gemm sets c = a·b + beta·c, where element (i, l) of the m×k matrix a is
// a[i·rsA + l·csA], b is k×n with row stride ldb, and c is m×n with row
// stride ldc. beta is 0 or 1; with 0, c need not be initialised.
func gemm(m, n, k int, a []float64, rsA, csA int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if k > 0 && n > 0 && (k-1)*ldb+n > len(b) {
		panic("engine: gemm operand b too short")
	}
	gemmPanels(m, n, k, a, rsA, csA, b, ldb, gemmNR, false, beta, c, ldc)
}

// packedLen returns the length of a k×n matrix packed by packB.
func packedLen(k, n int) int { return (n + gemmNR - 1) / gemmNR * gemmNR * k }

// packB stores the k×n matrix whose element (l, j) is src[l·rs + j·cs]
// into dst as gemmPacked reads it: panels of eight columns, each k rows
// of eight, the last panel padded with zeros. A matrix read many times,
// such as the recurrent weights at every step, is packed once so that
// each step reads contiguous memory whatever the original layout.
func packB(dst, src []float64, k, n, rs, cs int) []float64 {
	dst = dst[:packedLen(k, n)]
	for j0 := 0; j0 < n; j0 += gemmNR {
		panel := dst[j0*k:]
		for l := range k {
			row := panel[l*gemmNR : (l+1)*gemmNR]
			for j := range row {
				v := 0.0
				if j0+j < n {
					v = src[l*rs+(j0+j)*cs]
				}
				row[j] = v
			}
		}
	}
	return dst
}

// gemmPacked is gemm with b packed by packB.
func gemmPacked(m, n, k int, a []float64, rsA, csA int, b []float64, beta float64, c []float64, ldc int) {
	if len(b) < packedLen(k, n) {
		panic("engine: gemm packed operand b too short")
	}
	gemmPanels(m, n, k, a, rsA, csA, b, gemmNR, k*gemmNR, true, beta, c, ldc)
}

// gemmPanels is gemm with element (l, j) of b at b[(j/8)·ps + l·ldb +
// j%8]; padded says that the last panel may be read in full.
func gemmPanels(m, n, k int, a []float64, rsA, csA int, b []float64, ldb, ps int, padded bool, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	// The kernel reads through pointers: check the extents once here.
	if (m-1)*ldc+n > len(c) || k > 0 && (m-1)*rsA+(k-1)*csA >= len(a) {
		panic("engine: gemm operand too short")
	}
	switch beta {
	case 0:
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
	case 1:
	default:
		panic("engine: gemm supports beta 0 or 1")
	}
	var apack [gemmMR * gemmKC]float64
	var bpack [gemmKC * gemmNR]float64
	var tile [gemmMR * gemmNR]float64
	nFull := n / gemmNR * gemmNR // columns in whole panels
	if padded {
		nFull = n
	}
	for l0 := 0; l0 < k; l0 += gemmKC {
		kb := min(gemmKC, k-l0)
		if nFull < n {
			// A partial panel is copied, zero-padded, so the kernel never
			// reads past b.
			off := nFull/gemmNR*ps + l0*ldb
			for l := range kb {
				row := bpack[l*gemmNR : (l+1)*gemmNR]
				copy(row, b[off+l*ldb:off+l*ldb+n-nFull])
				clear(row[n-nFull:])
			}
		}
		for i0 := 0; i0 < m; i0 += gemmMR {
			mb := min(gemmMR, m-i0)
			ap, ars, acs := a[i0*rsA+l0*csA:], rsA, csA
			switch {
			case mb == gemmMR && rsA == 1 && csA != 1:
				// A transposed: four adjacent values a step.
				for l := range kb {
					q := a[i0+(l0+l)*csA:][:gemmMR]
					p := apack[l*gemmMR:][:gemmMR]
					p[0], p[1], p[2], p[3] = q[0], q[1], q[2], q[3]
				}
				ap, ars, acs = apack[:], 1, gemmMR
			case mb < gemmMR || csA != 1:
				// A panel read down its columns, or a partial one, is
				// copied into four contiguous rows per step (zero-padded),
				// which every panel of b then reads from L1: strided
				// reads of a transposed operand would miss it.
				for l := range kb {
					for r := range gemmMR {
						v := 0.0
						if r < mb {
							v = a[(i0+r)*rsA+(l0+l)*csA]
						}
						apack[l*gemmMR+r] = v
					}
				}
				ap, ars, acs = apack[:], 1, gemmMR
			}
			for j0 := 0; j0 < n; j0 += gemmNR {
				nb := min(gemmNR, n-j0)
				bp, bld := b[j0/gemmNR*ps+l0*ldb:], ldb
				if j0 >= nFull {
					bp, bld = bpack[:], gemmNR
				}
				if mb == gemmMR && nb == gemmNR {
					gemmKernel(kb, ap, ars, acs, bp, bld, c[i0*ldc+j0:], ldc)
					continue
				}
				// An edge tile goes through a zeroed scratch tile: 0 + Σ is
				// exact, so c gains the very sum a full tile would add.
				clear(tile[:])
				gemmKernel(kb, ap, ars, acs, bp, bld, tile[:], gemmNR)
				for r := range mb {
					dst := c[(i0+r)*ldc+j0 : (i0+r)*ldc+j0+nb]
					for j := range dst {
						dst[j] += tile[r*gemmNR+j]
					}
				}
			}
		}
	}
}

// gemmKernelGo adds to the 4×8 tile c (row stride ldc) the product of
// four rows of a (element (r, l) at a[r·rsA + l·csA]) and eight columns
// of b (row stride ldb) over k steps. It is the portable twin of the
// assembly kernel: the same fused multiply-adds in the same order.
func gemmKernelGo(k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int) {
	var acc [gemmMR][gemmNR]float64
	for l := range k {
		brow := b[l*ldb : l*ldb+gemmNR]
		for r := range gemmMR {
			x := a[r*rsA+l*csA]
			for j, y := range brow {
				acc[r][j] = math.FMA(x, y, acc[r][j])
			}
		}
	}
	for r := range gemmMR {
		dst := c[r*ldc : r*ldc+gemmNR]
		for j := range dst {
			dst[j] += acc[r][j]
		}
	}
}
