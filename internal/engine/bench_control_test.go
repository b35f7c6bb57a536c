package engine

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkGainChange measures what the page waits for when Gain moves:
// a new model (every gain is one) profiled without its per-step Jacobian
// norms, by a Runner that knows the spectrum of the gain-1 matrix, as the
// server's does after the first request. The gain changes every
// iteration, so nothing else is cached.
func BenchmarkGainChange(b *testing.B) {
	for _, cell := range Cells {
		for _, size := range []struct{ T, H int }{{100, 32}, {1000, 128}} {
			b.Run(fmt.Sprintf("cell=%s/T=%d/H=%d", cell, size.T, size.H), func(b *testing.B) {
				r := NewRunner(4)
				s := Defaults()
				s.Cell, s.T, s.H = cell, size.T, size.H
				if _, err := r.ProfileWith(context.Background(), s, ProfileOptions{}); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					s.Gain = 0.5 + float64(i%1000)/1000
					if _, err := r.ProfileWith(context.Background(), s, ProfileOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPasses measures the bare forward and backward pass through
// time of one sequence, parameter gradients included: the floor that a
// profile adds only norms and theory to.
func BenchmarkPasses(b *testing.B) {
	for _, cell := range Cells {
		for _, size := range []struct{ T, H int }{{100, 32}, {1000, 128}} {
			b.Run(fmt.Sprintf("cell=%s/T=%d/H=%d", cell, size.T, size.H), func(b *testing.B) {
				s := Defaults()
				s.Cell, s.T, s.H = cell, size.T, size.H
				p := InitParams(s)
				inputs, targets := sequence(s)
				bt := &batch{T: s.T, B: 1, D: s.D, X: inputs, classes: targets, mask: make([]bool, s.T), weight: 1}
				bt.mask[s.T-1] = true
				grads := NewParams(p.Cell, p.H, p.D, p.K, p.Dirs)
				b.ReportAllocs()
				for b.Loop() {
					tp, err := forward(context.Background(), p, s.Act, bt, nil)
					if err != nil {
						b.Fatal(err)
					}
					clear(grads.Data)
					if err := backward(context.Background(), tp, grads, &backwardOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkJacobianNorms measures the per-step factors ‖J_k‖ of a new
// RNN model, which the page asks for only while it draws them.
func BenchmarkJacobianNorms(b *testing.B) {
	for _, size := range []struct{ T, H int }{{100, 32}, {1000, 128}} {
		b.Run(fmt.Sprintf("cell=rnn/T=%d/H=%d", size.T, size.H), func(b *testing.B) {
			r := NewRunner(0) // keeps nothing: every solve is done again
			s := Defaults()
			s.T, s.H = size.T, size.H
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				res, err := r.ProfileWith(context.Background(), s, ProfileOptions{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := r.JacobianNorms(context.Background(), res); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
