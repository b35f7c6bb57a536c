//go:build !amd64

package engine

// hasFMA is false off amd64: the Go twins run.
var hasFMA = false

func sigmoidFMA(dst, src *float64, n int) { panic("unreachable") }

func tanhFMA(dst, src *float64, n int) { panic("unreachable") }
