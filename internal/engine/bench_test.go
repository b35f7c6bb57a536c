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

// BenchmarkProfileWarm measures a profile whose model the Runner has seen
// before, as when a user drags Sequence length back and forth or changes
// Clipping: the spectrum and the per-step Jacobian norms come from the
// cache, the passes are computed afresh.
func BenchmarkProfileWarm(b *testing.B) {
	for _, T := range []int{100, 1000} {
		for _, H := range []int{32, 128} {
			b.Run(fmt.Sprintf("cell=rnn/T=%d/H=%d", T, H), func(b *testing.B) {
				r := NewRunner(4)
				s := Defaults()
				s.T, s.H = T, H
				if _, err := r.Profile(context.Background(), s); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.Profile(context.Background(), s); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTrainStep measures one training iteration on recall: a fresh
// batch, forward, backward through time and an Adam update.
func BenchmarkTrainStep(b *testing.B) {
	for _, cell := range Cells {
		b.Run(fmt.Sprintf("cell=%s/T=50/H=64/batch=32", cell), func(b *testing.B) {
			ts := DefaultTrainSettings()
			ts.Model.Cell, ts.Model.T, ts.Model.H, ts.Batch = cell, 50, 64, 32
			tr := NewTrainer(ts)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.Step(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProfileStepClip measures a step-clipped profile, whose clipped
// backward pass runs beside the raw one when a core is lent (lent=yes)
// and after it otherwise (lent=no), as on a server with every core busy.
func BenchmarkProfileStepClip(b *testing.B) {
	for _, cell := range Cells {
		for _, lent := range []bool{true, false} {
			b.Run(fmt.Sprintf("cell=%s/T=1000/H=128/lent=%v", cell, map[bool]string{true: "yes", false: "no"}[lent]), func(b *testing.B) {
				r := NewRunner(4)
				s := Defaults()
				s.Cell, s.T, s.H, s.Clip, s.Threshold = cell, 1000, 128, ClipStepNorm, 0.01
				ctx := context.Background()
				if !lent {
					ctx = WithPacer(ctx, &refusingLender{})
				}
				if _, err := r.Profile(ctx, s); err != nil { // warm the spectrum and Jacobian caches
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.Profile(ctx, s); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
