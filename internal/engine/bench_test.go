package engine

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkProfile measures one full BackpropProfile: forward pass, the
// backward pass with parameter gradients, and for the RNN the spectrum
// and per-step Jacobian norms.
func BenchmarkProfile(b *testing.B) {
	for _, cell := range Cells {
		for _, T := range []int{100, 1000} {
			for _, H := range []int{32, 128} {
				b.Run(fmt.Sprintf("cell=%s/T=%d/H=%d", cell, T, H), func(b *testing.B) {
					s := Defaults()
					s.Cell, s.T, s.H = cell, T, H
					b.ReportAllocs()
					for b.Loop() {
						if _, err := BackpropProfile(context.Background(), s); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
