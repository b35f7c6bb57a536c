package engine

import (
	"context"
	"testing"
)

// BenchmarkPhaseDiagram measures a whole 48×48 diagram, Gain 0.1..3 by
// Sequence length 4..200 at H = 32, as the page asks for it: every row on
// the calling goroutine and, with no Lender on the context, a helper.
// The target is under 2 s on two cores.
func BenchmarkPhaseDiagram(b *testing.B) {
	for _, cell := range []Cell{CellRNN, CellLSTM} {
		b.Run("cell="+string(cell), func(b *testing.B) {
			base := Defaults()
			base.Cell, base.H = cell, 32
			x, y := Axis{AxisGain, 48, 0.1, 3}, Axis{AxisT, 48, 4, 200}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := PhaseDiagram(context.Background(), base, x, y, func(*PhaseRow) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
