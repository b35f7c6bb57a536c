#include "textflag.h"

// func gemmKernelFMA(k int, a *float64, rsA, csA int, b *float64, ldb int, c *float64, ldc int)
//
// Y0..Y7 hold the 4×8 tile, two registers a row. Each step l loads eight
// b values, broadcasts four a values and does eight fused multiply-adds:
// acc[r][j] = a[r][l]·b[l][j] + acc[r][j], as math.FMA does.
TEXT ·gemmKernelFMA(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ rsA+16(FP), R8
	MOVQ csA+24(FP), R9
	MOVQ b+32(FP), BX
	MOVQ ldb+40(FP), R10
	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), R11
	SHLQ $3, R8
	SHLQ $3, R9
	SHLQ $3, R10
	SHLQ $3, R11
	LEAQ (R8)(R8*2), R12

	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7

loop:
	VMOVUPD (BX), Y8
	VMOVUPD 32(BX), Y9
	VBROADCASTSD (AX), Y10
	VBROADCASTSD (AX)(R8*1), Y11
	VBROADCASTSD (AX)(R8*2), Y12
	VBROADCASTSD (AX)(R12*1), Y13
	VFMADD231PD Y8, Y10, Y0
	VFMADD231PD Y9, Y10, Y1
	VFMADD231PD Y8, Y11, Y2
	VFMADD231PD Y9, Y11, Y3
	VFMADD231PD Y8, Y12, Y4
	VFMADD231PD Y9, Y12, Y5
	VFMADD231PD Y8, Y13, Y6
	VFMADD231PD Y9, Y13, Y7
	ADDQ R9, AX
	ADDQ R10, BX
	DECQ CX
	JNZ  loop

	VADDPD (DI), Y0, Y0
	VMOVUPD Y0, (DI)
	VADDPD 32(DI), Y1, Y1
	VMOVUPD Y1, 32(DI)
	ADDQ R11, DI
	VADDPD (DI), Y2, Y2
	VMOVUPD Y2, (DI)
	VADDPD 32(DI), Y3, Y3
	VMOVUPD Y3, 32(DI)
	ADDQ R11, DI
	VADDPD (DI), Y4, Y4
	VMOVUPD Y4, (DI)
	VADDPD 32(DI), Y5, Y5
	VMOVUPD Y5, 32(DI)
	ADDQ R11, DI
	VADDPD (DI), Y6, Y6
	VMOVUPD Y6, (DI)
	VADDPD 32(DI), Y7, Y7
	VMOVUPD Y7, 32(DI)
	VZEROUPPER
	RET
