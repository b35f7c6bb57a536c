package render

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gradviz/internal/engine"
)

func seriesByID(id string) *Series {
	for i := range table {
		if table[i].ID == id {
			return &table[i]
		}
	}
	panic("no series " + id)
}

// models is one run of every model the series table distinguishes: each
// cell, one and two directions.
func models(t *testing.T) []*engine.Result {
	t.Helper()
	var out []*engine.Result
	for _, cell := range engine.Cells {
		for _, bidir := range []bool{false, true} {
			out = append(out, profile(t, func(s *engine.Settings) { s.Cell, s.Bidir, s.T, s.H = cell, bidir, 30, 8 }))
		}
	}
	return out
}

func modelName(s engine.Settings) string { return fmt.Sprintf("%s bidir=%t", s.Cell, s.Bidir) }

// TestSeriesTableIsWellFormed: every entry can be drawn and named, in
// both languages, and names the page can use.
func TestSeriesTableIsWellFormed(t *testing.T) {
	if len(PinColors) < MaxPins {
		t.Errorf("%d pin colours for up to %d pins", len(PinColors), MaxPins)
	}
	for _, c := range append([]string{RunColor, OverflowColor}, PinColors...) {
		mustHex(c)
	}
	seen := map[string]bool{}
	for _, s := range table {
		if seen[s.ID] || s.ID == "" {
			t.Errorf("series id %q is empty or repeated", s.ID)
		}
		seen[s.ID] = true
		if s.Label.En == "" {
			t.Errorf("%s: no English label", s.ID)
		}
		for _, v := range s.Variants {
			if v.Label.En == "" {
				t.Errorf("%s: a variant without an English label", s.ID)
			}
		}
		if s.Data != (s.values != nil) {
			t.Errorf("%s: Data is %t but the accessor is set: %t", s.ID, s.Data, s.values != nil)
		}
		if (s.Level != LevelNone) == s.Data {
			t.Errorf("%s: a series is either data or a level line", s.ID)
		}
		if !slices.Contains([]Axis{AxisMain, AxisFactor, AxisNone}, s.Axis) {
			t.Errorf("%s: axis %q", s.ID, s.Axis)
		}
		if s.Axis == AxisNone {
			continue
		}
		if hexColor(s.rgb) != s.Color || s.Width <= 0 {
			t.Errorf("%s: drawn with colour %q (parsed %s) and width %g", s.ID, s.Color, hexColor(s.rgb), s.Width)
		}
		if s.Run && s.Axis != AxisMain {
			t.Errorf("%s: a series of every run must be on the main plot", s.ID)
		}
	}
	// The page reads When's JSON names as settings names.
	var settings map[string]any
	b, _ := json.Marshal(engine.Defaults())
	if err := json.Unmarshal(b, &settings); err != nil {
		t.Fatal(err)
	}
	w := reflect.TypeFor[When]()
	for i := range w.NumField() {
		name, _, _ := strings.Cut(w.Field(i).Tag.Get("json"), ",")
		if _, ok := settings[name]; !ok {
			t.Errorf("When.%s is %q in JSON, which is no setting", w.Field(i).Name, name)
		}
	}
}

// TestSeriesTableMatchesTheEngine: a model's profile has exactly the data
// series whose model condition holds for it.
func TestSeriesTableMatchesTheEngine(t *testing.T) {
	for _, r := range models(t) {
		for _, s := range dataSeries {
			want := s.When.Model().Holds(r.Settings)
			if got := s.Values(&r.Profile) != nil; got != want {
				t.Errorf("%s: has %s %t, the table says %t", modelName(r.Settings), s.ID, got, want)
			}
		}
	}
}

// TestCSVFollowsTheTable: the CSV's columns are a run's data series, named
// and ordered as the table's, for every model, and hold their values.
func TestCSVFollowsTheTable(t *testing.T) {
	for _, r := range models(t) {
		t.Run(modelName(r.Settings), func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCSV(&buf, Figure{Current: Run{Result: r, Label: "m"}}); err != nil {
				t.Fatal(err)
			}
			rec, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"k", "steps_back"}
			var series []*Series
			for _, s := range dataSeries {
				if s.When.Model().Holds(r.Settings) {
					want = append(want, "m:"+s.ID)
					series = append(series, s)
				}
			}
			if !slices.Equal(rec[0], want) {
				t.Fatalf("got header %q, want %q", rec[0], want)
			}
			last := rec[len(rec)-1]
			for j, s := range series {
				v := s.Values(&r.Profile)
				if got := last[2+j]; got != formatCSV(v[len(v)-1]) {
					t.Errorf("%s at k=T: got %q, want %q", s.ID, got, formatCSV(v[len(v)-1]))
				}
			}
		})
	}
}

// reachable reports whether c is within tol of e mixed with some share of
// white, as antialiasing a line of colour e on white may paint.
func reachable(c, e color.NRGBA, tol int) bool {
	for f := 0.0; f <= 1; f += 0.01 {
		m := lighten(e, f)
		if abs(int(m.R)-int(c.R)) <= tol && abs(int(m.G)-int(c.G)) <= tol && abs(int(m.B)-int(c.B)) <= tol {
			return true
		}
	}
	return false
}

// TestPNGDrawsTheTableColours: every series the table says a figure shows
// has pixels of its table colour in the data area, every pin those of
// its pin colour, and a drawn series' colour that no expected line could
// paint is absent. The page draws from the same table, so a PNG shows a
// series in the colour it has on screen.
func TestPNGDrawsTheTableColours(t *testing.T) {
	clipped := func(s *engine.Settings) { s.Gain, s.Clip, s.Threshold = 3, engine.ClipStepNorm, 0.5 }
	tests := []struct {
		name string
		fig  Figure
	}{
		{"rnn clipped with two pins", Figure{Current: Run{Result: profile(t, clipped)}, Pins: []Run{
			{Result: profile(t, nil)}, {Result: profile(t, func(s *engine.Settings) { clipped(s); s.Act = engine.ActSigmoid })},
		}}},
		{"lstm", Figure{Current: Run{Result: profile(t, lstm)}}},
		{"bidirectional lstm, loss=sum", Figure{Current: Run{Result: profile(t, func(s *engine.Settings) {
			s.Cell, s.Bidir, s.Loss = engine.CellLSTM, true, engine.LossSum
		})}}},
		{"overflow", Figure{Current: Run{Result: profile(t, overflowing)}}},
	}
	const tol = 12
	// Inside the data area of every figure here, wider than dataBox, whose
	// middle a flat profile near 1 misses; below the caption, whose last
	// line (the y axis' title) reaches a fifth of the height, and a
	// quarter with the RNN's line of theory.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plotBox := box{0.08, 0.21, 0.75, 0.88}
			if tt.fig.Current.Result.Spectrum != nil {
				plotBox.y0 = 0.25
			}
			img := renderPNG(t, tt.fig)
			expected := map[string]color.NRGBA{}
			for i, run := range tt.fig.runs() {
				r := run.Result
				for k := range table {
					s := &table[k]
					if !s.Applies(r.Settings, r.Overflow.Forward > 0) || s.Axis != AxisMain ||
						(s.Data && !drawable(s.Values(&r.Profile))) {
						continue
					}
					switch {
					case i == 0:
						expected[s.ID] = s.rgb
					case s.Run:
						// Drawn translucent, it reads on white as the
						// pin's colour mixed with Tint of white.
						expected[fmt.Sprintf("pin %d %s", i, s.ID)] = lighten(runColor(i), s.Tint)
					}
				}
			}
			if tt.fig.Current.Result.Overflow.Forward > 0 {
				expected["overflow marker"] = mustHex(OverflowColor)
			}
			for what, c := range expected {
				if n := countNear(img, plotBox, c, tol); n < 20 {
					t.Errorf("%s: %d pixels of its colour %s in the data area, want at least 20", what, n, hexColor(c))
				}
			}
			if !drawable(tt.fig.Current.Result.Profile.DEds) {
				// The note in the middle of the data area is black text.
				expected["note"] = color.NRGBA{A: 0xFF}
			}
			for _, s := range table {
				if s.Axis != AxisMain || s.Run {
					continue
				}
				painted := false
				for _, e := range expected {
					painted = painted || reachable(s.rgb, e, tol)
				}
				if n := countNear(img, plotBox, s.rgb, tol/2); !painted && n > 0 {
					t.Errorf("%d pixels of %s's colour %s, which this figure does not draw", n, s.ID, s.Color)
				}
			}
		})
	}
}

// TestSeriesText: variants pick the LSTM's h and the clipped profile's
// name, in both languages, with the threshold filled in.
func TestSeriesText(t *testing.T) {
	s := engine.Defaults()
	s.Cell, s.Clip, s.Threshold = engine.CellLSTM, engine.ClipStepValue, 0.25
	for _, tt := range []struct {
		id, label, of string
		lang          Lang
	}{
		{"dE_ds", "‖∂E/∂h_k‖ clipped", "clipped", English},
		{"dE_ds", "‖∂E/∂h_k‖ recortado", "recortado", Spanish},
		{"dE_ds_raw", "‖∂E/∂h_k‖ without clipping", "without clipping", English},
		{"threshold", "threshold θ = 0.25 on each component of δ_k", "", English},
		{"cellPath", "camino de la celda Π f_j (medido)", "", Spanish},
		{"gammaSigmaMax", "γ·σ_max", "", Spanish},
	} {
		label, of := seriesByID(tt.id).Text(s, tt.lang)
		if label != tt.label || of != tt.of {
			t.Errorf("%s in %s: got %q, %q, want %q, %q", tt.id, tt.lang, label, of, tt.label, tt.of)
		}
	}
}

// contrast is WCAG's contrast ratio of two colours.
func contrast(a, b color.NRGBA) float64 {
	lum := func(c color.NRGBA) float64 {
		ch := func(v uint8) float64 {
			x := float64(v) / 255
			if x <= 0.03928 {
				return x / 12.92
			}
			return math.Pow((x+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
	}
	x, y := lum(a), lum(b)
	if x < y {
		x, y = y, x
	}
	return (x + 0.05) / (y + 0.05)
}

// TestRunColorsContrast: every run's line, and the current run's
// unclipped curve, keep 3:1 against the plot's white, WCAG's minimum for
// the parts of a graphic one must see; the first pin stands apart from
// the current run.
func TestRunColorsContrast(t *testing.T) {
	white := color.NRGBA{255, 255, 255, 255}
	for i, c := range append([]string{RunColor}, PinColors...) {
		if r := contrast(mustHex(c), white); r < 3 {
			t.Errorf("run %d colour %s: contrast %.2f:1 on white, want at least 3:1", i, c, r)
		}
	}
	for _, s := range table {
		if s.Run && s.Tint > 0 {
			if r := contrast(lighten(mustHex(RunColor), s.Tint), white); r < 3 {
				t.Errorf("%s of the current run: contrast %.2f:1 on white, want at least 3:1", s.ID, r)
			}
			if len(s.Dash) == 0 {
				t.Errorf("%s is a tint of the run's colour with no dash to tell it from the run's own curve", s.ID)
			}
		}
	}
	// The first pin is another hue: far from the run's blue in RGB.
	a, b := mustHex(RunColor), mustHex(PinColors[0])
	d := math.Abs(float64(a.R)-float64(b.R)) + math.Abs(float64(a.G)-float64(b.G)) + math.Abs(float64(a.B)-float64(b.B))
	if d < 200 {
		t.Errorf("the first pin %s is too close to the run's %s (RGB distance %.0f)", PinColors[0], RunColor, d)
	}
}
