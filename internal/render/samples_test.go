package render

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"gradviz/internal/engine"
)

// TestWriteSamples writes the figures a person should look at after a
// change to the drawing code:
//
//	GRADVIZ_RENDER_SAMPLES=/tmp/render-samples go test -run WriteSamples ./internal/render
//
// It is skipped otherwise, because whether a slide reads well is not
// something a test can judge.
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("GRADVIZ_RENDER_SAMPLES")
	if dir == "" {
		t.Skip("set GRADVIZ_RENDER_SAMPLES=<dir> to write sample figures")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tanh := profile(t, nil)
	samples := map[string]Figure{
		"tanh-with-pins": {Current: Run{Result: tanh}, Pins: []Run{
			{Result: profile(t, sigmoid)}, {Result: profile(t, lstm)},
		}},
		"overflow": {Current: Run{Result: profile(t, overflowing)}},
		"step-norm-clipped": {Current: Run{Result: profile(t, func(s *engine.Settings) {
			s.Gain, s.Clip = 3, engine.ClipStepNorm
		})}},
		"step-norm-raw-overflow": {Current: Run{Result: profile(t, func(s *engine.Settings) {
			s.T, s.Gain, s.Clip = 2000, 10, engine.ClipStepNorm
		})}},
		"sigmoid-underflow": {Current: Run{Result: profile(t, vanishing)}},
		"lstm-bidir-es-back": {
			Current: Run{Result: profile(t, func(s *engine.Settings) { s.Cell, s.Bidir = engine.CellLSTM, true })},
			X:       XBack, Lang: Spanish,
		},
		"rnn-bidir-sum-2400x1400": {Width: 2400, Height: 1400, Current: Run{Result: profile(t, func(s *engine.Settings) {
			s.Bidir, s.Loss, s.Clip, s.Threshold, s.Gain = true, engine.LossSum, engine.ClipStepValue, 0.05, 2
		})}},
		"small-800x500-seven-pins": {Current: Run{Result: tanh}, Width: MinWidth, Height: MinHeight, Pins: []Run{
			{Result: profile(t, sigmoid)},
			{Result: profile(t, lstm)},
			{Result: profile(t, func(s *engine.Settings) { s.Gain = 2 })},
			{Result: profile(t, func(s *engine.Settings) { s.Act, s.Init = engine.ActReLU, engine.InitIdentity })},
			{Result: profile(t, func(s *engine.Settings) { s.Cell, s.T = engine.CellGRU, 300 })},
			{Result: profile(t, overflowing)},
			{Result: profile(t, func(s *engine.Settings) {
				s.Clip, s.Threshold, s.Gain = engine.ClipStepValue, 0.1, 3
			}), Label: "my very long label that goes on and on"},
		}},
		"extreme-range-synthetic": {Current: Run{Result: synthetic(200, func(k int) float64 {
			switch {
			case k == 50:
				return math.NaN()
			case k > 120 && k < 130:
				return math.Inf(1)
			case k == 90:
				return 0
			}
			return math.Pow(10, -300+3*float64(k))
		})}},
	}
	for name, fig := range samples {
		for _, format := range []Format{PNG, SVG} {
			path := filepath.Join(dir, name+"."+string(format))
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteImage(f, fig, format); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
