package render

import (
	"bytes"
	"context"
	"encoding/csv"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"gradviz/internal/engine"
)

// profile runs the default settings changed by change.
func profile(t *testing.T, change func(*engine.Settings)) *engine.Result {
	t.Helper()
	s := engine.Defaults()
	if change != nil {
		change(&s)
	}
	r, err := engine.BackpropProfile(context.Background(), s)
	if err != nil {
		t.Fatalf("profile %+v: %v", s, err)
	}
	return r
}

// overflowing is the run whose forward pass overflows to Inf and then
// NaN: a linear RNN with γ·σ_max ≈ 11.
func overflowing(s *engine.Settings) {
	s.Act, s.Gain, s.T, s.H, s.Seed = engine.ActLinear, 6, 2000, 8, 1
}

func sigmoid(s *engine.Settings) { s.Act = engine.ActSigmoid }
func lstm(s *engine.Settings)    { s.Cell = engine.CellLSTM }

// vanishing underflows: with γ = 1/4 the profile falls below the
// smallest float64 some 550 steps back from T.
func vanishing(s *engine.Settings) { s.Act, s.T = engine.ActSigmoid, 2000 }

// box is a region of an image as fractions of its size.
type box struct{ x0, y0, x1, y1 float64 }

// dataBox lies inside the data area of every figure: right of the y
// axis, below the caption, above the x axis and left of the legend.
var dataBox = box{0.15, 0.3, 0.65, 0.85}

// countNear counts the pixels in b within tol of c in every channel.
// Antialiasing blends a line's edges with the background, but a line two
// or more pixels wide has a core in its own colour.
func countNear(img image.Image, b box, c color.NRGBA, tol int) int {
	r := img.Bounds()
	x0, x1 := r.Min.X+int(b.x0*float64(r.Dx())), r.Min.X+int(b.x1*float64(r.Dx()))
	y0, y1 := r.Min.Y+int(b.y0*float64(r.Dy())), r.Min.Y+int(b.y1*float64(r.Dy()))
	n := 0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			p := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if abs(int(p.R)-int(c.R)) <= tol && abs(int(p.G)-int(c.G)) <= tol && abs(int(p.B)-int(c.B)) <= tol {
				n++
			}
		}
	}
	return n
}

func abs(v int) int { return max(v, -v) }

// inkStats returns the number of distinct colours and the fraction of
// pixels that are not white.
func inkStats(img image.Image) (colours int, ink float64) {
	seen := map[color.NRGBA]bool{}
	r := img.Bounds()
	nonWhite := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			seen[p] = true
			if p != (color.NRGBA{255, 255, 255, 255}) {
				nonWhite++
			}
		}
	}
	return len(seen), float64(nonWhite) / float64(r.Dx()*r.Dy())
}

func renderPNG(t *testing.T, fig Figure) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteImage(&buf, fig, PNG); err != nil {
		t.Fatalf("WriteImage png: %v", err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("decode png: %v", err)
	}
	return img
}

func renderSVG(t *testing.T, fig Figure) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteImage(&buf, fig, SVG); err != nil {
		t.Fatalf("WriteImage svg: %v", err)
	}
	svg := buf.String()
	if !strings.Contains(svg, "<svg") || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>") {
		t.Fatalf("svg output is not a whole SVG document (%d bytes)", len(svg))
	}
	return svg
}

// synthetic returns a result whose every series is f(k), for values no
// engine run produces on demand.
func synthetic(T int, f func(k int) float64) *engine.Result {
	s := engine.Defaults()
	s.T = T
	values := make([]float64, T)
	for k := 1; k <= T; k++ {
		values[k-1] = f(k)
	}
	return &engine.Result{Settings: s, Profile: engine.Profile{DEds: values, DEdsRaw: values, StateNorm: values}}
}

func TestWriteImagePNG(t *testing.T) {
	tanh := profile(t, nil)
	blue, amber, skyBlue := runColor(0), runColor(1), runColor(2)
	tests := []struct {
		name          string
		fig           Figure
		width, height int
		curves        []color.NRGBA // colours that must appear in the data area
		noCurve       color.NRGBA   // a colour that must not, when set
	}{
		{
			name: "default size with sigmoid and lstm pins",
			fig: Figure{Current: Run{Result: tanh}, Pins: []Run{
				{Result: profile(t, sigmoid)}, {Result: profile(t, lstm)},
			}},
			width: DefaultWidth, height: DefaultHeight,
			curves: []color.NRGBA{blue, amber, skyBlue},
		},
		{
			name:  "minimum size",
			fig:   Figure{Current: Run{Result: tanh}, Width: MinWidth, Height: MinHeight},
			width: MinWidth, height: MinHeight,
			curves: []color.NRGBA{blue},
		},
		{
			name:  "steps back in Spanish",
			fig:   Figure{Current: Run{Result: tanh}, X: XBack, Lang: Spanish, Width: 1600, Height: 900},
			width: 1600, height: 900,
			curves: []color.NRGBA{blue},
		},
		{
			name:  "vanishing to zero",
			fig:   Figure{Current: Run{Result: profile(t, vanishing)}},
			width: DefaultWidth, height: DefaultHeight,
			curves: []color.NRGBA{blue},
		},
		{
			name: "overflow",
			fig:  Figure{Current: Run{Result: profile(t, overflowing)}},
			// No curve, but the overflow lines and the forward states.
			width: DefaultWidth, height: DefaultHeight,
			curves: []color.NRGBA{mustHex(OverflowColor), seriesByID("stateNorm").rgb},
		},
		{
			name:  "all NaN without overflow steps",
			fig:   Figure{Current: Run{Result: synthetic(50, func(int) float64 { return math.NaN() })}},
			width: DefaultWidth, height: DefaultHeight,
			noCurve: blue,
		},
		{
			name:  "all zero",
			fig:   Figure{Current: Run{Result: synthetic(50, func(int) float64 { return 0 })}},
			width: DefaultWidth, height: DefaultHeight,
			noCurve: blue,
		},
		{
			name: "from 1e-300 to 1e300 with holes",
			fig: Figure{Current: Run{Result: synthetic(200, func(k int) float64 {
				switch k {
				case 50:
					return math.NaN()
				case 90:
					return 0
				case 120:
					return math.Inf(1)
				}
				return math.Pow(10, -300+3*float64(k))
			})}},
			width: DefaultWidth, height: DefaultHeight,
			curves: []color.NRGBA{blue},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := renderPNG(t, tt.fig)
			if got := img.Bounds().Size(); got != (image.Point{tt.width, tt.height}) {
				t.Errorf("got size %v, want %dx%d", got, tt.width, tt.height)
			}
			// Text alone gives dozens of antialiasing shades; a blank or
			// one-colour image has one or two.
			colours, ink := inkStats(img)
			if colours < 20 {
				t.Errorf("got %d distinct colours, want at least 20", colours)
			}
			if ink < 0.01 || ink > 0.5 {
				t.Errorf("got %.3f of the pixels inked, want 0.01..0.5", ink)
			}
			for _, c := range tt.curves {
				if n := countNear(img, dataBox, c, 24); n < 30 {
					t.Errorf("got %d pixels of colour %v in the data area, want at least 30", n, c)
				}
			}
			if tt.noCurve != (color.NRGBA{}) {
				if n := countNear(img, dataBox, tt.noCurve, 24); n != 0 {
					t.Errorf("got %d pixels of colour %v in the data area, want 0 (nothing is drawable)", n, tt.noCurve)
				}
			}
		})
	}
}

func TestWriteImageSVG(t *testing.T) {
	tanh := profile(t, nil)
	over := profile(t, overflowing)
	if over.Overflow.Forward == 0 || over.Overflow.Backward == 0 {
		t.Fatalf("got overflow %+v, want the linear gain-6 run to overflow both ways", over.Overflow)
	}
	tests := []struct {
		name string
		fig  Figure
		want []string
	}{
		{
			name: "pins named by the setting that differs",
			fig: Figure{Current: Run{Result: tanh}, Pins: []Run{
				{Result: profile(t, sigmoid)}, {Result: profile(t, lstm)}, {Result: tanh, Label: "Jane & Kerala"},
			}},
			want: []string{">sigmoid<", ">LSTM<", ">RNN · tanh<", "Jane &amp; Kerala", "Cell: RNN", "σ_max(Wh) = "},
		},
		{
			name: "overflow marked at its steps",
			fig:  Figure{Current: Run{Result: over}},
			want: []string{
				"overflows (Inf) at step " + strconv.Itoa(over.Overflow.Forward),
				"overflows (NaN) at step " + strconv.Itoa(over.Overflow.Backward),
				"every ‖∂E/∂s_k‖ is NaN",
				"all NaN, not drawn",
			},
		},
		{
			name: "underflow marked",
			fig:  Figure{Current: Run{Result: profile(t, vanishing)}},
			want: []string{"underflows to 0"},
		},
		{
			name: "step clipping shows both profiles and the threshold",
			fig: Figure{Current: Run{Result: profile(t, func(s *engine.Settings) {
				s.Gain, s.Clip, s.Threshold = 3, engine.ClipStepNorm, 0.5
			})}},
			want: []string{"‖∂E/∂s_k‖ clipped", "‖∂E/∂s_k‖ without clipping", "threshold θ = 0.5 on ‖δ_k‖", "Clipping: step norm, threshold 0.5"},
		},
		{
			name: "lstm cell state and Spanish text",
			fig:  Figure{Current: Run{Result: profile(t, lstm)}, Lang: Spanish, X: XBack},
			want: []string{"‖∂E/∂h_k‖", "‖∂E/∂c_k‖ (estado de la celda)", "camino de la celda", "pasos hacia atrás", "Sesgo de olvido: 0", "El primer paso recibe"},
		},
		{
			name: "bidirectional reverse chain",
			fig:  Figure{Current: Run{Result: profile(t, func(s *engine.Settings) { s.Bidir = true })}},
			want: []string{"reverse chain", "Bidirectional: yes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := renderSVG(t, tt.fig)
			for _, w := range tt.want {
				if !strings.Contains(svg, w) {
					t.Errorf("svg does not contain %q", w)
				}
			}
		})
	}
}

func TestProfilePlotYRange(t *testing.T) {
	tests := []struct {
		name   string
		values func(k int) float64
		lo, hi float64 // measured extremes the axis must include
	}{
		{"ordinary", func(k int) float64 { return math.Pow(10, -float64(k)/10) }, 1e-10, 0.9},
		{"1e-300 to 1e300", func(k int) float64 { return math.Pow(10, -300+6*float64(k-1)) }, 1e-300, 1e294},
		{"smallest subnormal", func(k int) float64 { return math.Max(5e-324, math.Pow(10, -4*float64(k))) }, 5e-324, 1e-4},
		{"largest float", func(k int) float64 { return math.MaxFloat64 / float64(k) }, math.MaxFloat64 / 100, math.MaxFloat64},
		{"flat", func(int) float64 { return 1 }, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ProfilePlot(Figure{Current: Run{Result: synthetic(100, tt.values)}})
			if err != nil {
				t.Fatal(err)
			}
			if !(p.Y.Min > 0 && p.Y.Min <= tt.lo) {
				t.Errorf("got y min %g, want in (0, %g]", p.Y.Min, tt.lo)
			}
			if !(p.Y.Max >= tt.hi && !math.IsInf(p.Y.Max, 0)) {
				t.Errorf("got y max %g, want finite and at least %g", p.Y.Max, tt.hi)
			}
			for _, tick := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
				if !(tick.Value > 0) {
					t.Errorf("got tick at %g, want positive ticks on a log axis", tick.Value)
				}
			}
		})
	}
}

func TestYRangeTheoryReach(t *testing.T) {
	// A profile from 1e-3 to 1 under a bound reaching 1e70: the
	// measurement sets the range, the bound leaves the frame.
	measured := &curve{segments: [][]point{{{1, 1e-3}, {2, 1}}}}
	bound := &curve{segments: [][]point{{{1, 1e70}, {2, 1}}}, theory: true}
	lo, hi := yRange([]*curve{measured, bound})
	if lo > 1e-3 {
		t.Errorf("got lo %g, want at most 1e-3", lo)
	}
	if want := 10.0; hi < 1 || hi > want {
		t.Errorf("got hi %g, want 1..%g", hi, want)
	}
	if lo, hi := yRange(nil); lo != 1e-2 || hi != 1e2 {
		t.Errorf("empty: got %g..%g, want 0.01..100", lo, hi)
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		min, max  float64
		maxLabels int
	}{
		{1e-3, 10, 10},
		{1e-62, 1e24, 10},
		{5e-324, math.MaxFloat64, 10},
		{1e-323, 1, 4},
		{0.5, 2, 10},
	}
	for _, tt := range tests {
		ticks := logTicks{maxLabels: tt.maxLabels}.Ticks(tt.min, tt.max)
		labels := 0
		for _, tick := range ticks {
			if !(tick.Value > 0) || tick.Value < tt.min*(1-1e-12) || tick.Value > tt.max*(1+1e-12) {
				t.Errorf("%g..%g: got tick %g outside the range", tt.min, tt.max, tick.Value)
			}
			if tick.Label != "" {
				labels++
			}
		}
		if labels > tt.maxLabels {
			t.Errorf("%g..%g: got %d labels, want at most %d", tt.min, tt.max, labels, tt.maxLabels)
		}
	}
	if got := decadeLabel(-5); got != "1e−5" {
		t.Errorf("got label %q for 1e-5, want %q", got, "1e−5")
	}
	if got := decadeLabel(-2); got != "0.01" {
		t.Errorf("got label %q for 1e-2, want %q", got, "0.01")
	}
}

func TestRunLabels(t *testing.T) {
	tanh := profile(t, nil).Settings
	with := func(change func(*engine.Settings)) *engine.Result {
		s := tanh
		change(&s)
		return &engine.Result{Settings: s}
	}
	cur := &engine.Result{Settings: tanh}
	tests := []struct {
		name string
		pins []Run
		want []string
	}{
		{"no pins", nil, []string{""}},
		{"activation", []Run{{Result: with(sigmoid)}}, []string{"tanh", "sigmoid"}},
		{"cell ignores the activation it does not use", []Run{{Result: with(func(s *engine.Settings) {
			s.Cell, s.Act = engine.CellLSTM, engine.ActReLU
		})}}, []string{"rnn", "lstm"}},
		{"numbers carry their names", []Run{{Result: with(func(s *engine.Settings) { s.Gain, s.T = 2, 500 })}}, []string{"T=100, gain=1", "T=500, gain=2"}},
		{"explicit label wins", []Run{{Result: with(sigmoid), Label: "σ"}}, []string{"tanh", "σ"}},
		{"identical pin", []Run{{Result: cur}}, []string{"current", "pin 1"}},
		{"label kept on one line", []Run{{Result: cur, Label: "two\nlines"}}, []string{"current", "two lines"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Figure{Current: Run{Result: cur}, Pins: tt.pins}.runLabels()
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got labels %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteCSV(t *testing.T) {
	tanh := profile(t, nil)
	over := profile(t, overflowing)
	long := profile(t, func(s *engine.Settings) { s.Act, s.T = engine.ActSigmoid, 150 })
	tests := []struct {
		name   string
		fig    Figure
		rows   int
		header []string
		check  func(t *testing.T, records [][]string)
	}{
		{
			name:   "rnn",
			fig:    Figure{Current: Run{Result: tanh}},
			rows:   100,
			header: []string{"k", "steps_back", "run:dE_ds", "run:dE_ds_raw", "run:stateNorm", "run:jacobianNorm", "run:bound"},
			check: func(t *testing.T, rec [][]string) {
				// The text must give back the float64 exactly.
				if got, err := strconv.ParseFloat(rec[100][2], 64); err != nil || got != tanh.Profile.DEds[99] {
					t.Errorf("got dE_ds at k=100 %q, want %v", rec[100][2], tanh.Profile.DEds[99])
				}
				if rec[1][0] != "1" || rec[1][1] != "99" {
					t.Errorf("got k, steps_back %q, %q in the first row, want 1, 99", rec[1][0], rec[1][1])
				}
			},
		},
		{
			name: "lstm pin and a longer sigmoid pin",
			fig:  Figure{Current: Run{Result: tanh}, Pins: []Run{{Result: profile(t, lstm)}, {Result: long}}},
			rows: 150,
			header: []string{
				"k", "steps_back",
				"rnn, tanh, T=100:dE_ds", "rnn, tanh, T=100:dE_ds_raw", "rnn, tanh, T=100:stateNorm", "rnn, tanh, T=100:jacobianNorm", "rnn, tanh, T=100:bound",
				"lstm:dE_ds", "lstm:dE_ds_raw", "lstm:dE_dc", "lstm:dE_dc_raw", "lstm:stateNorm", "lstm:cellPath", "lstm:forgetPrediction",
				"sigmoid, T=150:dE_ds", "sigmoid, T=150:dE_ds_raw", "sigmoid, T=150:stateNorm", "sigmoid, T=150:jacobianNorm", "sigmoid, T=150:bound",
			},
			check: func(t *testing.T, rec [][]string) {
				// Rows past the current run's T have no k and no values
				// for the shorter runs.
				if row := rec[150]; row[0] != "" || row[2] != "" || row[14] == "" {
					t.Errorf("got row 150 %q, want blanks for the 100-step runs and a value for the 150-step one", row)
				}
			},
		},
		{
			name:   "overflow written as NaN and Inf",
			fig:    Figure{Current: Run{Result: over}},
			rows:   2000,
			header: []string{"k", "steps_back", "run:dE_ds", "run:dE_ds_raw", "run:stateNorm", "run:jacobianNorm", "run:bound"},
			check: func(t *testing.T, rec [][]string) {
				if got := rec[2000][2]; got != "NaN" {
					t.Errorf("got dE_ds %q at k=T, want NaN", got)
				}
				k := over.Overflow.Forward
				if got, want := rec[k][4], formatCSV(over.Profile.StateNorm[k-1]); got != want || (got != "Inf" && got != "NaN") {
					t.Errorf("got stateNorm %q at the overflow step, want %q (Inf or NaN)", got, want)
				}
			},
		},
		{
			name:   "steps back",
			fig:    Figure{Current: Run{Result: tanh}, X: XBack},
			rows:   100,
			header: []string{"k", "steps_back", "run:dE_ds", "run:dE_ds_raw", "run:stateNorm", "run:jacobianNorm", "run:bound"},
			check: func(t *testing.T, rec [][]string) {
				if rec[1][0] != "100" || rec[1][1] != "0" {
					t.Errorf("got k, steps_back %q, %q in the first row, want 100, 0", rec[1][0], rec[1][1])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCSV(&buf, tt.fig); err != nil {
				t.Fatal(err)
			}
			records, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatalf("read back csv: %v", err)
			}
			if got := len(records); got != tt.rows+1 {
				t.Fatalf("got %d records, want %d rows plus the header", got, tt.rows)
			}
			if got := strings.Join(records[0], "|"); got != strings.Join(tt.header, "|") {
				t.Errorf("got header\n%q\nwant\n%q", records[0], tt.header)
			}
			tt.check(t, records)
		})
	}
}

func TestFigureErrors(t *testing.T) {
	tanh := profile(t, nil)
	short := profile(t, nil)
	short.Profile.DEds = short.Profile.DEds[:10]
	tests := []struct {
		name string
		fig  Figure
		want string
	}{
		{"no result", Figure{}, "current run: no result"},
		{"too narrow", Figure{Current: Run{Result: tanh}, Width: 100}, "width must be 800..3840"},
		{"too tall", Figure{Current: Run{Result: tanh}, Height: 5000}, "height must be 500..2160"},
		{"bad axis", Figure{Current: Run{Result: tanh}, X: "time"}, "x axis must be step or back"},
		{"bad language", Figure{Current: Run{Result: tanh}, Lang: "fr"}, "language must be en or es"},
		{"too many pins", Figure{Current: Run{Result: tanh}, Pins: make([]Run, MaxPins+1)}, "at most 7 pinned runs"},
		{"pin without result", Figure{Current: Run{Result: tanh}, Pins: []Run{{}}}, "pin 1: no result"},
		{"short series", Figure{Current: Run{Result: short}}, "dE_ds has 10 values for T=100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ProfilePlot(tt.fig)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
			if err := WriteImage(new(bytes.Buffer), tt.fig, PNG); err == nil {
				t.Errorf("WriteImage: got no error, want one")
			}
			if err := WriteCSV(new(bytes.Buffer), tt.fig); err == nil {
				t.Errorf("WriteCSV: got no error, want one")
			}
		})
	}
}

func TestFileName(t *testing.T) {
	tests := []struct {
		change func(*engine.Settings)
		want   string
	}{
		{nil, "gradviz-rnn-tanh-T100.png"},
		{func(s *engine.Settings) { s.Cell, s.T = engine.CellLSTM, 500 }, "gradviz-lstm-T500.png"},
	}
	for _, tt := range tests {
		s := engine.Defaults()
		if tt.change != nil {
			tt.change(&s)
		}
		fig := Figure{Current: Run{Result: &engine.Result{Settings: s}}}
		if got := fig.FileName("png"); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestStepTicks(t *testing.T) {
	tests := []struct {
		lo, hi    float64
		maxLabels int
		want      string // the labels
	}{
		{1, 100, 8, "20 40 60 80 100"},
		{0, 99, 8, "0 20 40 60 80"},
		{1, 2000, 8, "500 1000 1500 2000"},
		{1, 5, 8, "1 2 3 4 5"},
		// Room for fewer than two labels must still end (step 2).
		{-1, 1, 1, "0"},
	}
	for _, tt := range tests {
		var labels []string
		for _, tick := range (stepTicks{maxLabels: tt.maxLabels}).Ticks(tt.lo, tt.hi) {
			if tick.Label != "" {
				labels = append(labels, tick.Label)
			}
		}
		if got := strings.Join(labels, " "); got != tt.want {
			t.Errorf("%g..%g: got labels %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestCSVTextCells(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1":        "'=1+1",
		"+1":          "'+1",
		"-1":          "'-1",
		"@A1":         "'@A1",
		"\t=1":        "'\t=1",
		"\r=1":        "'\r=1",
		"  =1":        "'  =1",
		"k":           "k",
		"sigmoid":     "sigmoid",
		"a=1":         "a=1",
		"":            "",
		"   ":         "   ",
		"lstm, T=500": "lstm, T=500",
	} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckLabel(t *testing.T) {
	for _, ok := range []string{"", "baseline", "long memory", "σ(b_f) = 0.73", "日本語のラベル", strings.Repeat("é", MaxLabelLen)} {
		if err := CheckLabel(ok); err != nil {
			t.Errorf("CheckLabel(%q): %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"a\x00", "a\tb", "a\nb", "a\rb", "\x7f", "\u0085", "\u202e", "\u2066", "\u2028", "\ufffe", "\xff", strings.Repeat("a", MaxLabelLen+1)} {
		if err := CheckLabel(bad); err == nil {
			t.Errorf("CheckLabel(%q): nil, want an error", bad)
		}
	}
	// Whatever reaches a figure is cleaned: one line, bounded.
	if got := cleanLabel("a\x00b\u202ec" + strings.Repeat("x", 100)); strings.ContainsAny(got, "\x00\u202e") || utf8.RuneCountInString(got) > MaxLabelLen {
		t.Errorf("cleanLabel: got %q", got)
	}
}
