package render

import (
	"math"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"
)

// TestZigzagCurveIsStrokedInChunks draws a dashed curve that crosses the
// whole plot at every one of 2000 steps, the shape that took the
// rasteriser minutes as one path: it is stroked in paths of at most
// strokeChunk points that share their ends, so the curve is unbroken,
// and its dashes are stretched to at most maxDashes.
func TestZigzagCurveIsStrokedInChunks(t *testing.T) {
	const T = 2000
	seg := make([]point, T)
	for k := range seg {
		seg[k] = point{float64(k + 1), math.Pow(10, float64(k%2)*6-3)}
	}
	sty := draw.LineStyle{Width: 1, Dashes: []vg.Length{6, 3}}
	cv := &curve{segments: [][]point{seg}, style: sty}
	p := plot.New()
	p.Y.Scale = plot.LogScale{}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 1, T, 1e-3, 1e3
	rec := &recorder.Canvas{}
	cv.Plot(draw.Canvas{Canvas: rec, Rectangle: vg.Rectangle{Max: vg.Point{X: 4000, Y: 3000}}}, p)

	var strokes [][]vg.PathComp
	var dashes []vg.Length
	for _, a := range rec.Actions {
		switch a := a.(type) {
		case *recorder.Stroke:
			strokes = append(strokes, a.Path)
		case *recorder.SetLineDash:
			dashes = a.Dashes
		}
	}
	points := 0
	for i, path := range strokes {
		if len(path) > strokeChunk {
			t.Fatalf("stroke %d has %d points, want at most %d", i, len(path), strokeChunk)
		}
		if i > 0 {
			prev := strokes[i-1]
			if end, start := prev[len(prev)-1].Pos, path[0].Pos; end != start {
				t.Fatalf("stroke %d starts at %v, the one before ends at %v: the curve is broken", i, start, end)
			}
		}
		points += len(path) - 1
	}
	if points != T-1 {
		t.Errorf("strokes cover %d segments, want %d", points, T-1)
	}
	if len(dashes) != 2 || dashes[0] <= sty.Dashes[0] {
		t.Fatalf("dashes %v, want the pattern %v stretched", dashes, sty.Dashes)
	}
	// The curve is about 2000 crossings of 3000 points each.
	if n := 2000 * 3000 / float64(dashes[0]+dashes[1]); n > maxDashes*1.01 {
		t.Errorf("about %.0f dashes, want at most %d", n, maxDashes)
	}

	// A curve of ordinary length keeps its pattern.
	short := boundedDashes(sty, [][]vg.Point{{{X: 0, Y: 0}, {X: 1000, Y: 500}}})
	if short.Dashes[0] != 6 || short.Dashes[1] != 3 {
		t.Errorf("a short curve's dashes: got %v, want 6 3", short.Dashes)
	}
}
