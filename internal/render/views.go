package render

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"gradviz/internal/engine"
)

// The analysis views' exports: the bidirectional view (‖∂E_t/∂x_k‖ of a
// model and of its bidirectional version), the gradient map
// (‖∂E_t/∂s_k‖ for every output step t and state k) and the spectrum
// (the eigenvalues of Wh on the complex plane). Each is drawn with the
// profile's style, caption and series colours, and written as CSV.

// View names an analysis view.
type View string

// The analysis views with an export.
const (
	ViewBidir    View = "bidir"
	ViewMap      View = "map"
	ViewSpectrum View = "spectrum"
)

// Views lists every View.
var Views = []View{ViewBidir, ViewMap, ViewSpectrum}

// ViewFigure is one analysis view's figure: its data, the settings it
// was computed for and how to draw it. Zero Width, Height and Lang mean
// the defaults.
type ViewFigure struct {
	View     View
	Settings engine.Settings
	Width    int
	Height   int
	Lang     Lang
	// Link, when not empty, is the address of the page showing the view.
	Link string

	// The bidirectional view: the scored step t and ‖∂E_t/∂x_k‖ for
	// k = 1..T of the unidirectional and the bidirectional model.
	OutputStep int
	Uni, Bi    []float64
	// The gradient map: the output steps t of the rows, and for each
	// ‖∂E_t/∂s_k‖ for k = 1..T.
	Steps []int
	Map   [][]float64
	// The spectrum of Wh.
	Spectrum *engine.Spectrum
}

// Bidirectional view colours: the unidirectional model is the current
// run's colour, the bidirectional one the third pin colour, as the page.
func bidirColors() (uni, bi color.NRGBA) { return mustHex(RunColor), mustHex(PinColors[2]) }

func (f ViewFigure) withDefaults() (ViewFigure, error) {
	defaultSize(&f.Width, &f.Height)
	if f.Lang == "" {
		f.Lang = English
	}
	T := f.Settings.T
	switch {
	case !isOneOf(f.View, Views):
		return f, fmt.Errorf("render: unknown view %q", f.View)
	case !isOneOf(f.Lang, Langs):
		return f, fmt.Errorf("render: language must be en or es, got %q", f.Lang)
	case !sizeOK(f.Width, f.Height):
		return f, sizeError(f.Width, f.Height)
	case f.View == ViewBidir && (len(f.Uni) != T || len(f.Bi) != T || f.OutputStep < 1 || f.OutputStep > T):
		return f, fmt.Errorf("render: bidirectional view needs T=%d values of each model and t in 1..T", T)
	case f.View == ViewMap && (len(f.Map) == 0 || len(f.Map) != len(f.Steps)):
		return f, fmt.Errorf("render: gradient map needs one step per row, got %d rows and %d steps", len(f.Map), len(f.Steps))
	case f.View == ViewSpectrum && (f.Spectrum == nil || len(f.Spectrum.Eigenvalues) == 0):
		return f, fmt.Errorf("render: spectrum view needs the eigenvalues of Wh")
	}
	for _, row := range f.Map {
		if len(row) != T {
			return f, fmt.Errorf("render: a gradient map row has %d values for T=%d", len(row), T)
		}
	}
	return f, nil
}

// FileName names the export: the view, the model, the extension.
func (f ViewFigure) FileName(ext string) string {
	s := f.Settings
	name := "gradviz-" + string(f.View) + "-" + string(s.Cell)
	if s.Cell.Info().Activation {
		name += "-" + string(s.Act)
	}
	return fmt.Sprintf("%s-T%d.%s", name, s.T, ext)
}

// viewPhrases is a view's figure text in one language.
type viewPhrases struct {
	heading        map[View]string
	xStep, yBidir  string
	uni, bi, tLine string // legend; tLine: format: t
	mapX, mapY     string
	mapScale       string
	zero, nonFin   string
	blank          string
	re, im         string
	eig, eigOut    string
	unit, invGamma string // invGamma: format: 1/γ
	future         string // bidir takeaway: format: t, later inputs, share
	outside        string // spectrum takeaway: format: ρ, outside, H
}

func viewPhrasesFor(lang Lang) viewPhrases {
	if lang == Spanish {
		return viewPhrases{
			heading: map[View]string{
				ViewBidir:    "Sensibilidad de la salida en t a cada entrada, ‖∂E_t/∂x_k‖: unidireccional y bidireccional",
				ViewMap:      "Mapa del gradiente ‖∂E_t/∂s_k‖: cuánto llega del error en t a cada estado k",
				ViewSpectrum: "Valores propios de Wh en el plano complejo",
			},
			xStep: "paso k", yBidir: "‖∂E_t/∂x_k‖ (escala logarítmica)",
			uni: "un sentido", bi: "bidireccional", tLine: "paso de salida t = %d",
			mapX: "estado k", mapY: "paso de salida t", mapScale: "log10 ‖∂E_t/∂s_k‖",
			zero: "0 (subdesbordamiento)", nonFin: "Inf/NaN (desbordamiento)", blank: "k > t: sin camino",
			re: "parte real", im: "parte imaginaria",
			eig: "valor propio", eigOut: "valor propio fuera de la circunferencia unidad",
			unit: "circunferencia unidad |λ| = 1", invGamma: "circunferencia |λ| = 1/γ = %s",
			future:  "La salida en t = %d del modelo unidireccional no depende de ninguna de las %d entradas posteriores; el bidireccional recibe de ellas el %s %% de su sensibilidad.",
			outside: "Radio espectral ρ(Wh) = %s: %d de %d valores propios están fuera de la circunferencia unidad.",
		}
	}
	return viewPhrases{
		heading: map[View]string{
			ViewBidir:    "Sensitivity of the output at t to each input, ‖∂E_t/∂x_k‖: one-directional and bidirectional",
			ViewMap:      "Gradient map ‖∂E_t/∂s_k‖: how much of the error at t reaches each state k",
			ViewSpectrum: "Eigenvalues of Wh on the complex plane",
		},
		xStep: "step k", yBidir: "‖∂E_t/∂x_k‖ (log scale)",
		uni: "one direction", bi: "bidirectional", tLine: "output step t = %d",
		mapX: "state k", mapY: "output step t", mapScale: "log10 ‖∂E_t/∂s_k‖",
		zero: "0 (underflow)", nonFin: "Inf/NaN (overflow)", blank: "k > t: no path",
		re: "real part", im: "imaginary part",
		eig: "eigenvalue", eigOut: "eigenvalue outside the unit circle",
		unit: "unit circle |λ| = 1", invGamma: "circle |λ| = 1/γ = %s",
		future:  "The one-directional model's output at t = %d depends on none of the %d later inputs; the bidirectional one gets %s%% of its sensitivity from them.",
		outside: "Spectral radius ρ(Wh) = %s: %d of %d eigenvalues lie outside the unit circle.",
	}
}

// ViewPlot returns the view's plot, laid out for fig's size.
func ViewPlot(fig ViewFigure) (*plot.Plot, error) {
	fig, err := fig.withDefaults()
	if err != nil {
		return nil, err
	}
	st := newStyle(Figure{Width: fig.Width, Height: fig.Height})
	tr := viewPhrasesFor(fig.Lang)
	p := plot.New()
	var legendWidth vg.Length
	var takeawayText string
	switch fig.View {
	case ViewBidir:
		legendWidth, takeawayText = bidirPlot(p, fig, st, tr)
	case ViewMap:
		legendWidth, takeawayText = mapPlot(p, fig, st, tr)
	case ViewSpectrum:
		legendWidth, takeawayText = spectrumPlot(p, fig, st, tr)
	}

	// The caption, as the profile's: heading, settings by their labels,
	// the takeaway and the link.
	ptr := phrasesFor(fig.Lang)
	w := pixels(float64(fig.Width)) - 2*pixels(margin*st.scale) - legendWidth - st.pt(70)
	capt := &caption{gap: st.tick.Font.Size * 1.2}
	for _, line := range wrapWords(st.heading, tr.heading[fig.View], w) {
		capt.lines = append(capt.lines, captionLine{text: line, style: st.heading})
	}
	var skip []string
	if fig.View == ViewBidir {
		// The view compares both directions: the setting is not the run's.
		skip = append(skip, "bidir")
	}
	items := readableCaption(fig.Settings, fig.Lang, ptr, skip...)
	for _, line := range wrap(st.caption, items, w) {
		capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
	}
	if takeawayText != "" {
		strong := st.caption
		strong.Font = st.heading.Font
		strong.Font.Size = st.caption.Font.Size
		for _, line := range wrapWords(strong, takeawayText, w) {
			capt.lines = append(capt.lines, captionLine{text: line, style: strong})
		}
	}
	if fig.Link != "" {
		for _, line := range wrapLink(st.caption, ptr.link+fig.Link, w) {
			capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
		}
	}
	if fig.View == ViewBidir {
		capt.lines = append(capt.lines, captionLine{text: tr.yBidir, style: st.axis, space: st.pt(6)})
	}
	p.Add(capt)
	localizeTicks(p, fig.Lang)
	return p, nil
}

// bidirPlot draws both models' ‖∂E_t/∂x_k‖ on a log axis with the line
// at t, and returns the legend's width and the takeaway.
func bidirPlot(p *plot.Plot, fig ViewFigure, st style, tr viewPhrases) (vg.Length, string) {
	T, t := fig.Settings.T, fig.OutputStep
	uniC, biC := bidirColors()
	line := func(values []float64, c color.NRGBA, width float64) *curve {
		pts := make([]point, len(values))
		for i, v := range values {
			pts[i] = point{float64(i + 1), v}
		}
		return &curve{style: draw.LineStyle{Color: c, Width: st.px(width)}, segments: segments(pts, onLogAxis)}
	}
	bi, uni := line(fig.Bi, biC, 2), line(fig.Uni, uniC, 2.5)
	p.X.Min, p.X.Max = 1, float64(max(T, 2))
	p.Y.Min, p.Y.Max = yRange([]*curve{bi, uni})
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{maxLabels: max(4, int(pixels(float64(fig.Height))*0.6/(3*st.tick.Font.Size)))}
	p.X.Tick.Marker = stepTicks{maxLabels: max(3, int(pixels(float64(fig.Width))*0.6/(6*st.tick.Font.Size)))}
	p.X.Label.Text = tr.xStep
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		st.styleAxis(a, st.pt(4))
	}
	p.Add(&grid{style: draw.LineStyle{Color: gridColor, Width: st.pt(0.8)}})
	tl := &curve{style: draw.LineStyle{Color: color.NRGBA{0x55, 0x55, 0x55, 0xFF}, Width: st.px(2)},
		segments: [][]point{{{float64(t), p.Y.Min}, {float64(t), p.Y.Max}}}}
	p.Add(tl, bi, uni)

	leg := &sideLegend{text: st.legend, thumbWidth: st.pt(34), gap: st.pt(14), entries: []legendEntry{
		{text: tr.uni, thumb: uni}, {text: tr.bi, thumb: bi}, {text: fmt.Sprintf(tr.tLine, t), thumb: tl},
	}}
	leg.maxText = 0.3 * pixels(float64(fig.Width))
	p.Add(leg)

	later, total := 0.0, 0.0
	for k, v := range fig.Bi {
		if v > 0 && !math.IsInf(v, 0) {
			total += v
			if k+1 > t {
				later += v
			}
		}
	}
	if t == T || total == 0 {
		return leg.width(), ""
	}
	share := decimal(strconv.FormatFloat(100*later/total, 'f', 0, 64), fig.Lang)
	return leg.width(), fmt.Sprintf(tr.future, t, T-t, share)
}

// mapPlot draws the gradient map as a heatmap on viridis over decades,
// and returns the legend's width and the takeaway: how much of the last
// output's signal reaches the first state.
func mapPlot(p *plot.Plot, fig ViewFigure, st style, tr viewPhrases) (vg.Length, string) {
	T := fig.Settings.T
	ks := make([]float64, T)
	for k := range ks {
		ks[k] = float64(k + 1)
	}
	// The rows go down as t grows, as on the page: row t is drawn at −t.
	ts := make([]float64, len(fig.Steps))
	for i, s := range fig.Steps {
		ts[i] = -float64(s)
	}
	xe := cellEdges(ks)
	var ye []float64
	if len(ts) == 1 {
		ye = []float64{ts[0] - 0.5, ts[0] + 0.5}
	} else {
		ye = cellEdges(ts)
	}
	if len(ks) == 1 {
		xe = []float64{0.5, 1.5}
	}
	lo, hi := mapScale(fig.Map)
	p.X.Min, p.X.Max = xe[0], xe[len(xe)-1]
	p.Y.Min, p.Y.Max = math.Min(ye[0], ye[len(ye)-1]), math.Max(ye[0], ye[len(ye)-1])
	p.X.Label.Text, p.Y.Label.Text = tr.mapX, tr.mapY
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		st.styleAxis(a, 0)
	}
	p.X.Tick.Marker = stepsOnly{stepTicks{maxLabels: max(3, int(pixels(float64(fig.Width))*0.6/(6*st.tick.Font.Size)))}}
	p.Y.Tick.Marker = downward{stepsOnly{stepTicks{maxLabels: max(3, int(pixels(float64(fig.Height))*0.5/(3*st.tick.Font.Size)))}}}
	p.Add(&mapCells{values: fig.Map, steps: fig.Steps, xe: xe, ye: ye, lo: lo, hi: hi})
	leg := &phaseLegend{text: st.legend, title: tr.mapScale, lo: lo, hi: hi, gap: st.pt(16), bar: st.pt(18), color: mapColor,
		entries: []legendEntry{{text: tr.zero, thumb: swatch(mapZero)}, {text: tr.nonFin, thumb: swatch(PhaseNonFinite)},
			{text: tr.blank, thumb: swatch(color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF})}}}
	p.Add(leg)

	last := fig.Map[len(fig.Map)-1]
	r := &engine.Result{Profile: engine.Profile{DEds: last}}
	return leg.width(), takeaway(r, fig.Lang, phrasesFor(fig.Lang))
}

// stepsOnly keeps the ticks at steps, 1 and up: the cells reach half a
// step beyond the first, where a tick would read 0.
type stepsOnly struct{ plot.Ticker }

// Ticks implements plot.Ticker.
func (s stepsOnly) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range s.Ticker.Ticks(lo, hi) {
		if t.Value >= 1 {
			out = append(out, t)
		}
	}
	return out
}

// downward labels an axis whose value v is drawn at −v.
type downward struct{ plot.Ticker }

// Ticks implements plot.Ticker.
func (d downward) Ticks(lo, hi float64) []plot.Tick {
	ticks := d.Ticker.Ticks(-hi, -lo)
	for i := range ticks {
		ticks[i].Value = -ticks[i].Value
	}
	return ticks
}

// mapZero is the colour of an exact 0 on the gradient map, as the page's.
var mapZero = color.NRGBA{0, 0, 0, 0xFF}

// mapScale returns the map's colour range in whole decades: up to the
// largest value, at most 40 decades down, as the page's heatmaps.
func mapScale(rows [][]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, row := range rows {
		for _, v := range row {
			if v > 0 && !math.IsInf(v, 1) {
				e := math.Log10(v)
				lo, hi = math.Min(lo, e), math.Max(hi, e)
			}
		}
	}
	if lo > hi {
		return -1, 1
	}
	hi = math.Ceil(hi)
	lo = math.Max(math.Floor(lo), hi-40)
	if hi-lo < 1 {
		lo = hi - 1
	}
	return lo, hi
}

// mapColor is viridis at decade e of lo..hi (clamped).
func mapColor(e, lo, hi float64) color.NRGBA {
	t := math.Max(0, math.Min(1, (e-lo)/(hi-lo)))
	return viridis(t)
}

// viridis approximates matplotlib's viridis with the page's polynomial
// per channel (web/static/heatmap.js).
func viridis(t float64) color.NRGBA {
	c := [7][3]float64{
		{0.2777273272234177, 0.005407344544966578, 0.3340998053353061},
		{0.1050930431085774, 1.404613529898575, 1.384590162594685},
		{-0.3308618287255563, 0.214847559468213, 0.09509516302823659},
		{-4.634230498983486, -5.799100973351585, -19.33244095627987},
		{6.228269936347081, 14.17993336680509, 56.69055260068105},
		{4.776384997670288, -13.74514537774601, -65.35303263337234},
		{-5.435455855934631, 4.645852612178535, 26.3124352495832},
	}
	// The page's lookup table has 256 entries.
	t = math.Round(t*255) / 255
	var out [3]uint8
	for ch := range 3 {
		v := c[6][ch]
		for j := 5; j >= 0; j-- {
			v = c[j][ch] + t*v
		}
		out[ch] = uint8(math.Round(math.Max(0, math.Min(1, v)) * 255))
	}
	return color.NRGBA{out[0], out[1], out[2], 0xFF}
}

// mapCells fills the gradient map's cells.
type mapCells struct {
	values [][]float64
	steps  []int
	xe, ye []float64
	lo, hi float64
}

// Plot implements plot.Plotter.
func (mc *mapCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	hair := vg.Length(0.6)
	for r, row := range mc.values {
		y0, y1 := trY(mc.ye[r]), trY(mc.ye[r+1])
		if y0 > y1 {
			// Rows drawn downwards: the hair still reaches the next row.
			y0, y1 = y1, y0
		}
		for col, v := range row {
			if col+1 > mc.steps[r] {
				// No path from a later state to an earlier output: blank,
				// as the page draws it.
				continue
			}
			var fill color.NRGBA
			switch {
			case math.IsNaN(v) || math.IsInf(v, 0):
				fill = PhaseNonFinite
			case v <= 0:
				fill = mapZero
			default:
				fill = mapColor(math.Log10(v), mc.lo, mc.hi)
			}
			x0, x1 := trX(mc.xe[col]), trX(mc.xe[col+1])
			c.FillPolygon(fill, []vg.Point{{X: x0, Y: y0}, {X: x1 + hair, Y: y0}, {X: x1 + hair, Y: y1 + hair}, {X: x0, Y: y1 + hair}})
		}
	}
}

// spectrumPlot draws the eigenvalues of Wh, the unit circle and the 1/γ
// circle on a square plane, and returns the legend's width and the
// takeaway.
func spectrumPlot(p *plot.Plot, fig ViewFigure, st style, tr viewPhrases) (vg.Length, string) {
	sp := fig.Spectrum
	inv := 0.0
	if sp.Gamma > 0 {
		inv = 1 / sp.Gamma
	}
	reach := math.Max(1, inv)
	outside := 0
	for _, z := range sp.Eigenvalues {
		if m := math.Hypot(real(z), imag(z)); !math.IsNaN(m) && !math.IsInf(m, 0) {
			reach = math.Max(reach, m)
			if m > 1 {
				outside++
			}
		}
	}
	reach *= 1.12
	plane := &complexPlane{eig: sp.Eigenvalues, reach: reach, inv: inv, st: st, re: tr.re, im: tr.im,
		point: mustHex(RunColor), out: mustHex(PinColors[2]), circle: color.NRGBA{0x55, 0x55, 0x55, 0xFF}}
	p.HideAxes()
	p.Add(plane)
	entries := []legendEntry{
		{text: tr.eig, thumb: dotThumb{plane.point, st.pt(4)}},
		{text: tr.eigOut, thumb: dotThumb{plane.out, st.pt(4)}},
		{text: tr.unit, thumb: &curve{style: draw.LineStyle{Color: plane.circle, Width: st.px(1.5)}}},
	}
	if inv > 0 && inv != 1 {
		entries = append(entries, legendEntry{text: fmt.Sprintf(tr.invGamma, decimal(formatValue(inv), fig.Lang)),
			thumb: &curve{style: draw.LineStyle{Color: plane.circle, Width: st.px(1.5), Dashes: []vg.Length{st.px(6), st.px(4)}}}})
	}
	leg := &sideLegend{text: st.legend, thumbWidth: st.pt(34), gap: st.pt(14), entries: entries}
	leg.maxText = 0.3 * pixels(float64(fig.Width))
	p.Add(leg)
	rho := decimal(formatValue(sp.SpectralRadius), fig.Lang)
	return leg.width(), fmt.Sprintf(tr.outside, rho, outside, len(sp.Eigenvalues))
}

// dotThumb is a legend's dot.
type dotThumb struct {
	color  color.NRGBA
	radius vg.Length
}

// Thumbnail implements plot.Thumbnailer.
func (d dotThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(draw.GlyphStyle{Color: d.color, Radius: d.radius, Shape: draw.CircleGlyph{}}, c.Center())
}

// complexPlane draws points of the complex plane on a square centred in
// the data area, with axes through 0, ticks at whole numbers and circles
// round 0, so circles stay round whatever the figure's shape.
type complexPlane struct {
	eig                []complex128
	reach, inv         float64
	st                 style
	re, im             string
	point, out, circle color.NRGBA
}

// Plot implements plot.Plotter.
func (cp *complexPlane) Plot(c draw.Canvas, _ *plot.Plot) {
	st := cp.st
	side := min(c.Max.X-c.Min.X, c.Max.Y-c.Min.Y) - 2*st.tick.Font.Size
	cx, cy := (c.Min.X+c.Max.X)/2, (c.Min.Y+c.Max.Y)/2
	scale := side / 2 / vg.Length(cp.reach)
	at := func(re, im float64) vg.Point {
		return vg.Point{X: cx + vg.Length(re)*scale, Y: cy + vg.Length(im)*scale}
	}
	axis := draw.LineStyle{Color: color.NRGBA{0x99, 0x99, 0x99, 0xFF}, Width: st.pt(1)}
	c.StrokeLine2(axis, cx-side/2, cy, cx+side/2, cy)
	c.StrokeLine2(axis, cx, cy-side/2, cx, cy+side/2)
	tick := st.tick
	tick.XAlign, tick.YAlign = draw.XCenter, draw.YTop
	step := math.Max(1, math.Ceil(cp.reach/4))
	for v := step; v < cp.reach; v += step {
		for _, s := range []float64{-v, v} {
			pt := at(s, 0)
			c.StrokeLine2(axis, pt.X, cy-st.pt(3), pt.X, cy+st.pt(3))
			c.FillText(tick, vg.Point{X: pt.X, Y: cy - st.pt(4)}, formatSetting(s))
		}
	}
	lab := st.axis
	lab.XAlign, lab.YAlign = draw.XRight, draw.YBottom
	c.FillText(lab, vg.Point{X: cx + side/2, Y: cy + st.pt(4)}, cp.re)
	lab.XAlign, lab.YAlign = draw.XLeft, draw.YTop
	c.FillText(lab, vg.Point{X: cx + st.pt(6), Y: cy + side/2}, cp.im)

	circle := func(r float64, sty draw.LineStyle) {
		const n = 180
		pts := make([]vg.Point, n+1)
		for i := range pts {
			a := 2 * math.Pi * float64(i) / n
			pts[i] = at(r*math.Cos(a), r*math.Sin(a))
		}
		c.StrokeLines(sty, pts)
	}
	circle(1, draw.LineStyle{Color: cp.circle, Width: st.px(1.5)})
	if cp.inv > 0 && cp.inv != 1 {
		circle(cp.inv, draw.LineStyle{Color: cp.circle, Width: st.px(1.5), Dashes: []vg.Length{st.px(6), st.px(4)}})
	}
	for _, z := range cp.eig {
		re, im := real(z), imag(z)
		if math.IsNaN(re) || math.IsNaN(im) || math.IsInf(re, 0) || math.IsInf(im, 0) {
			continue
		}
		col := cp.point
		if math.Hypot(re, im) > 1 {
			col = cp.out
		}
		c.DrawGlyph(draw.GlyphStyle{Color: col, Radius: st.pt(3.5), Shape: draw.CircleGlyph{}}, at(re, im))
	}
}

// WriteViewImage draws the view in format to w, like WriteImage.
func WriteViewImage(w io.Writer, fig ViewFigure, format Format) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	p, err := ViewPlot(fig)
	if err != nil {
		return err
	}
	return writeView(w, p, fig.Width, fig.Height, format)
}

// WriteViewCSV writes the view's numbers: for the bidirectional view a
// row per input step k (k, unidirectional, bidirectional); for the
// gradient map a row per output step t, one column per state k; for the
// spectrum a row per eigenvalue (re, im, modulus) beside the singular
// values in decreasing order. Non-finite values are NaN, Inf and -Inf.
func WriteViewCSV(w io.Writer, fig ViewFigure) error {
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	write := func(rec ...string) { _ = cw.Write(rec) }
	switch fig.View {
	case ViewBidir:
		write("k", "t", "unidirectional", "bidirectional")
		for k := range fig.Uni {
			write(strconv.Itoa(k+1), strconv.Itoa(fig.OutputStep), formatCSV(fig.Uni[k]), formatCSV(fig.Bi[k]))
		}
	case ViewMap:
		header := []string{"t"}
		for k := 1; k <= fig.Settings.T; k++ {
			header = append(header, "k"+strconv.Itoa(k))
		}
		write(header...)
		for i, row := range fig.Map {
			rec := []string{strconv.Itoa(fig.Steps[i])}
			for _, v := range row {
				rec = append(rec, formatCSV(v))
			}
			write(rec...)
		}
	case ViewSpectrum:
		write("i", "re", "im", "modulus", "singular_value")
		sp := fig.Spectrum
		for i, z := range sp.Eigenvalues {
			sv := ""
			if i < len(sp.SingularValues) {
				sv = formatCSV(sp.SingularValues[i])
			}
			write(strconv.Itoa(i+1), formatCSV(real(z)), formatCSV(imag(z)), formatCSV(math.Hypot(real(z), imag(z))), sv)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("render: write csv: %w", err)
	}
	return nil
}
