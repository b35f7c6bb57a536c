package render

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gradviz/internal/engine"
)

// The series table is the one description of every per-step series of a
// profile and of every line drawn with them: its name on the wire and in
// the CSV, its legend text in both languages, its colour, dash pattern and
// width, the runs it applies to and the chart that draws it. The PNG and
// SVG (plot.go), the CSV (write.go), the api's wire form of a profile and
// the page's plot (which receives the table in its bootstrap data) all
// read it, so a new series is one entry here and looks the same
// everywhere.
//
// It lives in render, not in the engine: the engine computes the numbers
// and names none of their colours or legends, and everything here but the
// names and the accessors is presentation. The api already imports render,
// so no package sits between them.

// Palette: the current run is blue; pins take Okabe–Ito hues, which stay
// distinct under every common colour-vision deficiency, darkened where
// needed so that every run's line has at least 3:1 contrast against the
// plot's white (WCAG's minimum for graphics): amber, vermillion, slate,
// olive. Those the cell state (green), the reverse chain (purple) and the
// cell path (black) use come last, so that they rarely meet.
const (
	// RunColor is the colour of the current run's own series.
	RunColor = "#0072B2"
	// OverflowColor marks where the current run stopped being finite.
	OverflowColor = "#C00000"
)

// PinColors are the pinned runs' colours, in pin order.
var PinColors = []string{"#B07800", "#D55E00", "#5A5A9E", "#8C7A00", "#000000", "#008A66", "#B8558F"}

// Text is a piece of text in every language of the figure and the page.
type Text struct {
	En string `json:"en"`
	Es string `json:"es,omitempty"`
}

// In returns the text in lang; an empty Spanish text is the English one
// (symbols such as ‖∂E/∂s_k‖ read the same).
func (t Text) In(lang Lang) string {
	if lang == Spanish && t.Es != "" {
		return t.Es
	}
	return t.En
}

// Axis says which chart draws a series.
type Axis string

// The charts. The per-step factor chart is the page's only; the PNG and
// SVG draw the main plot.
const (
	AxisMain   Axis = "main"   // ‖∂E/∂s_k‖ and its companions, log scale
	AxisFactor Axis = "factor" // the small chart of the per-step factor ‖J_k‖
	AxisNone   Axis = "none"   // drawn by neither: on the wire and in the CSV only
)

// When is the runs a series applies to: a run whose setting of each named
// field is one of the listed values. An empty list allows every value. The
// JSON names are the settings' names, so the page checks a run's config
// against them without knowing what they mean. Cell and Bidir name the
// models: a data series is in the profile of exactly those (a test holds
// the engine to it). Clip only limits where a series is drawn: every
// profile has dE_ds_raw, drawn when clipping acts per step.
type When struct {
	Cell  []engine.Cell     `json:"cell,omitempty"`
	Clip  []engine.ClipMode `json:"clip,omitempty"`
	Bidir []bool            `json:"bidir,omitempty"`
}

// Model returns w without its conditions on anything but the model.
func (w When) Model() When { return When{Cell: w.Cell, Bidir: w.Bidir} }

// Holds reports whether the run with settings s is one w applies to.
func (w When) Holds(s engine.Settings) bool {
	return (len(w.Cell) == 0 || slices.Contains(w.Cell, s.Cell)) &&
		(len(w.Clip) == 0 || slices.Contains(w.Clip, s.Clip)) &&
		(len(w.Bidir) == 0 || slices.Contains(w.Bidir, s.Bidir))
}

// Show says when a series that applies to a run is drawn.
type Show string

const (
	// ShowAlways draws the series whenever it applies and has values.
	ShowAlways Show = ""
	// ShowOverflow draws it when the run's forward pass overflowed, and on
	// the page also when the reader asks for it.
	ShowOverflow Show = "overflow"
)

// Level names the height of a horizontal line that is not a profile
// series: it has no values of its own.
type Level string

const (
	LevelNone      Level = ""
	LevelThreshold Level = "threshold"     // the run's clipping threshold θ
	LevelOne       Level = "one"           // 1, a factor that neither grows nor shrinks
	LevelGammaSig  Level = "gammaSigmaMax" // γ·σ_max(Wh), the bound on every ‖J_k‖
)

// Variant is a legend text for the runs When holds for. The first variant
// that holds replaces the series' Label and Of.
type Variant struct {
	When  When `json:"when"`
	Label Text `json:"label"`
	Of    Text `json:"of"`
}

// Series describes one line of the profile figure.
type Series struct {
	// ID is the series' name: its field in the wire's "profile" object and
	// its CSV column when Data is set, and the key of its line on the page.
	ID string `json:"id"`
	// Label names the series in a legend. "{threshold}" stands for the
	// run's clipping threshold.
	Label Text `json:"label"`
	// Of is how the series is named after its run, for a series of every
	// run (Run): the legend reads the run's name, then Of ("tanh clipped").
	Of       Text      `json:"of"`
	Variants []Variant `json:"variants,omitempty"`
	// Color is "#RRGGBB". A series of every run (Run) is drawn in its
	// run's colour (RunColor, or the pin's PinColors entry) at opacity
	// 1 − Tint: on white it reads as that colour mixed with Tint of white,
	// which for the current run is Color, and a curve under it still
	// shows (the unclipped profile often lies under the clipped one).
	Color string  `json:"color"`
	Tint  float64 `json:"tint,omitempty"`
	// Width is the line width, Dash the on and off lengths of its dashes
	// (none: solid), in CSS pixels at the default figure size.
	Width float64   `json:"width"`
	Dash  []float64 `json:"dash,omitempty"`
	// Run marks a series drawn for each run in the run's colour, pins at
	// PinWidth; the others belong to the current run alone.
	Run      bool    `json:"run,omitempty"`
	PinWidth float64 `json:"pinWidth,omitempty"`
	Axis     Axis    `json:"axis"`
	When     When    `json:"when"`
	Show     Show    `json:"show,omitempty"`
	// Guide marks theory rather than measurement (Pascanu's bound): it may
	// leave the y range rather than squash the measured series.
	Guide bool `json:"guide,omitempty"`
	// Backward marks a series of the backward pass, which an animation
	// reveals from step T back.
	Backward bool `json:"backward,omitempty"`
	// Level makes the series a horizontal line at that height.
	Level Level `json:"level,omitempty"`
	// Data marks a series of engine.Profile, on the wire and in the CSV;
	// Always one that every profile has.
	Data   bool `json:"data,omitempty"`
	Always bool `json:"always,omitempty"`
	// NoteZeros has the figure's legend say at how many steps a drawn
	// series is 0: the reverse chain under loss=last is 0 but at k = T,
	// and its single dot would look like a missing curve.
	NoteZeros bool `json:"noteZeros,omitempty"`

	values func(*engine.Profile) []float64
	rgb    color.NRGBA
}

// Values returns the series of p, nil when p has none or s is no data
// series.
func (s *Series) Values(p *engine.Profile) []float64 {
	if s.values == nil {
		return nil
	}
	return s.values(p)
}

// Text returns the legend label and the after-the-run's-name text of s
// for a run with settings set, in lang, with the threshold filled in.
func (s *Series) Text(set engine.Settings, lang Lang) (label, of string) {
	l, o := s.Label, s.Of
	for _, v := range s.Variants {
		if v.When.Holds(set) {
			l, o = v.Label, v.Of
			break
		}
	}
	fill := strings.NewReplacer("{threshold}", decimal(formatSetting(set.Threshold), lang))
	return fill.Replace(l.In(lang)), fill.Replace(o.In(lang))
}

// Applies reports whether s is drawn for a run with settings set whose
// forward pass did or did not overflow.
func (s *Series) Applies(set engine.Settings, overflowed bool) bool {
	return s.Axis != AxisNone && s.When.Holds(set) && (s.Show != ShowOverflow || overflowed)
}

// SeriesTable is the table as the page receives it.
type SeriesTable struct {
	Run      string   `json:"run"`
	Pins     []string `json:"pins"`
	Overflow string   `json:"overflow"`
	Series   []Series `json:"series"`
}

// Table returns the series table: every series in legend order, which is
// also the order of the wire's profile fields and of a run's CSV columns.
func Table() SeriesTable {
	return SeriesTable{Run: RunColor, Pins: slices.Clone(PinColors), Overflow: OverflowColor, Series: slices.Clone(table)}
}

// DataSeries returns the series of engine.Profile, in table order.
func DataSeries() []*Series { return dataSeries }

// The models a series belongs to, from what each model has.
var (
	stepModes = []engine.ClipMode{engine.ClipStepNorm, engine.ClipStepValue}
	lstmOnly  = cellsWith(func(m engine.ModelInfo) bool { return m.CellState })
	rnnOnly   = cellsWith(func(m engine.ModelInfo) bool { return m.Spectrum })
	reversed  = cellsWith(func(m engine.ModelInfo) bool { return m.BidirReversed })
)

// cellsWith lists the models for which has holds.
func cellsWith(has func(engine.ModelInfo) bool) []engine.Cell {
	var cells []engine.Cell
	for _, m := range engine.Models() {
		if has(m) {
			cells = append(cells, m.Cell)
		}
	}
	return cells
}

// rawTint lightens a run's colour for its unclipped profile: the run's
// colour at 70% opacity, light enough to read as the other curve, dark
// enough (3:1 on white for the current run) to be seen on a projector.
// A dash tells it from the clipped curve where they part.
const rawTint = 0.3

var table = fillColors([]Series{
	{
		ID: "dE_ds", Label: Text{En: "‖∂E/∂s_k‖"},
		Variants: []Variant{
			{When: When{Cell: lstmOnly, Clip: stepModes}, Label: Text{"‖∂E/∂h_k‖ clipped", "‖∂E/∂h_k‖ recortado"}, Of: Text{"clipped", "recortado"}},
			{When: When{Cell: lstmOnly}, Label: Text{En: "‖∂E/∂h_k‖"}},
			{When: When{Clip: stepModes}, Label: Text{"‖∂E/∂s_k‖ clipped", "‖∂E/∂s_k‖ recortado"}, Of: Text{"clipped", "recortado"}},
		},
		Width: 2.5, Run: true, PinWidth: 2, Axis: AxisMain, Backward: true, Data: true, Always: true,
		values: func(p *engine.Profile) []float64 { return p.DEds },
	},
	{
		ID: "dE_ds_raw", Label: Text{"‖∂E/∂s_k‖ without clipping", "‖∂E/∂s_k‖ sin recorte"}, Of: Text{"without clipping", "sin recorte"},
		Variants: []Variant{
			{When: When{Cell: lstmOnly}, Label: Text{"‖∂E/∂h_k‖ without clipping", "‖∂E/∂h_k‖ sin recorte"}, Of: Text{"without clipping", "sin recorte"}},
		},
		Tint: rawTint, Width: 2, Dash: []float64{6, 3}, Run: true, PinWidth: 1.5, Axis: AxisMain, When: When{Clip: stepModes},
		Backward: true, Data: true, Always: true,
		values: func(p *engine.Profile) []float64 { return p.DEdsRaw },
	},
	{
		ID: "dE_dc", Label: Text{"‖∂E/∂c_k‖ (cell state)", "‖∂E/∂c_k‖ (estado de la celda)"},
		Color: "#009E73", Width: 2, Dash: []float64{2, 4}, Axis: AxisMain, When: When{Cell: lstmOnly},
		Backward: true, Data: true,
		values: func(p *engine.Profile) []float64 { return p.DEdc },
	},
	{
		ID: "dE_dc_raw", Label: Text{"‖∂E/∂c_k‖ without clipping", "‖∂E/∂c_k‖ sin recorte"},
		Axis: AxisNone, When: When{Cell: lstmOnly}, Backward: true, Data: true,
		values: func(p *engine.Profile) []float64 { return p.DEdcRaw },
	},
	{
		ID: "dE_ds_rev", Label: Text{"‖∂E/∂s′_k‖ (reverse chain)", "‖∂E/∂s′_k‖ (cadena inversa)"},
		Color: "#CC79A7", Width: 2, Axis: AxisMain, When: When{Cell: reversed, Bidir: []bool{true}},
		Backward: true, Data: true, NoteZeros: true,
		values: func(p *engine.Profile) []float64 { return p.DEdsRev },
	},
	{
		ID: "dE_ds_rev_raw", Label: Text{"‖∂E/∂s′_k‖ without clipping", "‖∂E/∂s′_k‖ sin recorte"},
		Axis: AxisNone, When: When{Cell: reversed, Bidir: []bool{true}}, Backward: true, Data: true,
		values: func(p *engine.Profile) []float64 { return p.DEdsRevRaw },
	},
	{
		ID: "stateNorm", Label: Text{"‖s_k‖ forward states", "‖s_k‖ estados hacia adelante"},
		Color: "#888888", Width: 1.5, Axis: AxisMain, Show: ShowOverflow, Data: true, Always: true,
		values: func(p *engine.Profile) []float64 { return p.StateNorm },
	},
	{
		ID: "cellPath", Label: Text{"cell path Π f_j (measured)", "camino de la celda Π f_j (medido)"},
		Color: "#000000", Width: 2, Axis: AxisMain, When: When{Cell: lstmOnly}, Backward: true, Data: true,
		values: func(p *engine.Profile) []float64 { return p.CellPath },
	},
	{
		ID: "forgetPrediction", Label: Text{"prediction σ(b_f)^(T−k)", "predicción σ(b_f)^(T−k)"},
		Color: "#000000", Width: 2, Dash: []float64{1, 5}, Axis: AxisMain, When: When{Cell: lstmOnly},
		Guide: true, Data: true,
		values: func(p *engine.Profile) []float64 { return p.ForgetPrediction },
	},
	{
		ID: "jacobianNorm", Label: Text{"‖J_k‖ per-step factor", "‖J_k‖ factor por paso"},
		Color: "#56B4E9", Width: 1.5, Axis: AxisFactor, When: When{Cell: rnnOnly}, Data: true,
		values: func(p *engine.Profile) []float64 { return p.JacobianNorm },
	},
	{
		ID: "bound", Label: Text{"Pascanu bound", "cota de Pascanu"},
		Color: "#555555", Width: 1.5, Dash: []float64{8, 5}, Axis: AxisMain, When: When{Cell: rnnOnly},
		Guide: true, Data: true,
		values: func(p *engine.Profile) []float64 { return p.Bound },
	},
	{
		// Wider than the clipped curve, which runs along it wherever
		// clipping acts: its dashes stay visible on top.
		ID: "threshold", Label: Text{"threshold θ = {threshold} on ‖δ_k‖", "umbral θ = {threshold} sobre ‖δ_k‖"},
		Variants: []Variant{
			{When: When{Clip: []engine.ClipMode{engine.ClipStepValue}}, Label: Text{"threshold θ = {threshold} on each component of δ_k", "umbral θ = {threshold} sobre cada componente de δ_k"}},
		},
		Color: "#D55E00", Width: 3.5, Dash: []float64{8, 6}, Axis: AxisMain, When: When{Clip: stepModes},
		Level: LevelThreshold,
	},
	{
		ID: "one", Label: Text{"1 (neither grows nor shrinks)", "1 (ni crece ni decrece)"},
		Color: "#999999", Width: 1, Dash: []float64{4, 4}, Axis: AxisFactor, When: When{Cell: rnnOnly},
		Level: LevelOne,
	},
	{
		ID: "gammaSigmaMax", Label: Text{En: "γ·σ_max"},
		Color: "#555555", Width: 1, Dash: []float64{8, 5}, Axis: AxisFactor, When: When{Cell: rnnOnly},
		Level: LevelGammaSig,
	},
})

var dataSeries = func() []*Series {
	var out []*Series
	for i := range table {
		if table[i].Data {
			out = append(out, &table[i])
		}
	}
	return out
}()

// fillColors gives every series of every run the current run's colour
// (tinted) and parses every colour once.
func fillColors(ts []Series) []Series {
	run := mustHex(RunColor)
	for i := range ts {
		s := &ts[i]
		if s.Run {
			s.rgb = lighten(run, s.Tint)
			s.Color = hexColor(s.rgb)
		} else if s.Color != "" {
			s.rgb = mustHex(s.Color)
		}
	}
	return ts
}

// runColor returns the colour of run i of a figure, the current run first.
func runColor(i int) color.NRGBA {
	if i == 0 {
		return mustHex(RunColor)
	}
	return mustHex(PinColors[(i-1)%len(PinColors)])
}

// stroke returns the colour s is drawn in for run i (0 is the current
// run): a series of every run in the run's colour at opacity 1 − Tint,
// any other in its own.
func (s *Series) stroke(i int) color.NRGBA {
	if !s.Run {
		return s.rgb
	}
	c := runColor(i)
	c.A = uint8(math.Round((1 - s.Tint) * 0xFF))
	return c
}

// mustHex parses "#RRGGBB"; the table's colours are constants.
func mustHex(s string) color.NRGBA {
	if len(s) != 7 || s[0] != '#' {
		panic(fmt.Sprintf("render: colour %q is not #RRGGBB", s))
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		panic(fmt.Sprintf("render: colour %q is not #RRGGBB", s))
	}
	return color.NRGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xFF}
}

func hexColor(c color.NRGBA) string { return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B) }
