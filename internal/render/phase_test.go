package render

import (
	"bytes"
	"encoding/csv"
	"image/color"
	"math"
	"strings"
	"testing"

	"gradviz/internal/engine"
)

// TestPhaseScale: whole decades, at least one each side of 0, at most
// PhaseCap, non-finite values ignored.
func TestPhaseScale(t *testing.T) {
	for _, tc := range []struct {
		values [][]float64
		lo, hi float64
	}{
		{[][]float64{{-0.2, 0.3}}, -1, 1},
		{[][]float64{{-12.5, 2.1}, {math.NaN(), math.Inf(-1)}}, -13, 3},
		{[][]float64{{-300, 500}}, -PhaseCap, PhaseCap},
		{[][]float64{{math.Inf(1)}}, -1, 1},
	} {
		if lo, hi := PhaseScale(tc.values); lo != tc.lo || hi != tc.hi {
			t.Errorf("%v: scale %v..%v, want %v..%v", tc.values, lo, hi, tc.lo, tc.hi)
		}
	}
}

// TestPhaseColor: white at 0, the darkest stop at either end and beyond,
// the special colours for what is not finite.
func TestPhaseColor(t *testing.T) {
	white := color.NRGBA{0xf7, 0xf7, 0xf7, 0xff}
	for _, tc := range []struct {
		v    float64
		want color.NRGBA
	}{
		{0, white},
		{-10, phaseVanishing[5]},
		{-50, phaseVanishing[5]},
		{5, phaseExploding[5]},
		{-2, phaseVanishing[1]},
		{math.Inf(-1), PhaseUnderflow},
		{math.Inf(1), PhaseNonFinite},
		{math.NaN(), PhaseNonFinite},
	} {
		if got := PhaseColor(tc.v, -10, 5); got != tc.want {
			t.Errorf("%v decades: %v, want %v", tc.v, got, tc.want)
		}
	}
}

// TestPhaseCSV: one line per point, rows in order, non-finite values
// written as NumPy reads them.
func TestPhaseCSV(t *testing.T) {
	fig := PhaseFigure{
		Base: engine.Defaults(), X: engine.AxisGain, Y: engine.AxisT,
		Xs: []float64{0, 1, 2}, Ys: []float64{10, 20},
		Values:    [][]float64{{math.Inf(-1), -3.5, 0.25}, {math.Inf(-1), -7, math.NaN()}},
		EdgeAlong: engine.AxisT, EdgeGains: []float64{0.5, 0.5},
	}
	var buf bytes.Buffer
	if err := WritePhaseCSV(&buf, fig); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"gain,T,log10_ratio,edge_gain", "0,10,-Inf,0.5", "1,10,-3.5,0.5", "2,10,0.25,0.5", "0,20,-Inf,0.5", "1,20,-7,0.5", "2,20,NaN,0.5"}
	if len(rows) != len(want) {
		t.Fatalf("%d lines, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		if got := strings.Join(r, ","); got != want[i] {
			t.Errorf("line %d: %s, want %s", i, got, want[i])
		}
	}
	fig.Values = fig.Values[:1]
	if err := WritePhaseCSV(&buf, fig); err == nil {
		t.Errorf("a figure with a row missing was written")
	}
}
