package render

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"gradviz/internal/engine"
)

// PhaseFigure is a phase diagram (engine.Phase) as a heatmap of
// log10(‖∂E/∂s_1‖/‖∂E/∂s_T‖): blue where the signal vanishes, orange
// where it explodes, white where it keeps its size, on the page's scale
// (PhaseScale, PhaseColor; web/static/phase.js has the same), with the
// edge of chaos and the current settings marked. The zero values of
// Width, Height and Lang mean DefaultWidth, DefaultHeight and English.
type PhaseFigure struct {
	// Base is the current settings: the axes' settings in it are where
	// the dot is drawn.
	Base   engine.Settings
	X, Y   engine.PhaseAxis
	Xs, Ys []float64
	// Values[r][c] is the decades at Ys[r], Xs[c]; First and Last, if
	// set, the norms they come from, for the CSV.
	Values      [][]float64
	First, Last [][]float64
	// EdgeGains[i], if set, is the gain of the edge of chaos at the i-th
	// value of the axis EdgeAlong.
	EdgeAlong engine.PhaseAxis
	EdgeGains []float64
	Width     int
	Height    int
	Lang      Lang
	// Link, when not empty, is the address of the page showing the view.
	Link string
}

// The diverging scale: from white at 0 through five steps to dark blue
// at the lowest value and to dark brown, through orange, at the highest,
// so that neither end meets the red of Inf/NaN. −Inf, a ‖∂E/∂s_1‖ that
// underflowed to 0, is black.
var (
	phaseVanishing = []color.NRGBA{{0xf7, 0xf7, 0xf7, 0xff}, {0xd1, 0xe5, 0xf0, 0xff}, {0x92, 0xc5, 0xde, 0xff}, {0x43, 0x93, 0xc3, 0xff}, {0x21, 0x66, 0xac, 0xff}, {0x05, 0x30, 0x61, 0xff}}
	phaseExploding = []color.NRGBA{{0xf7, 0xf7, 0xf7, 0xff}, {0xfe, 0xe0, 0xb6, 0xff}, {0xfd, 0xb8, 0x63, 0xff}, {0xe0, 0x82, 0x14, 0xff}, {0xb3, 0x58, 0x06, 0xff}, {0x7f, 0x3b, 0x08, 0xff}}
	// PhaseUnderflow and PhaseNonFinite are the colours of −Inf and of
	// NaN or +Inf, those of the page's heatmaps (web/static/heatmap.js).
	PhaseUnderflow = color.NRGBA{0, 0, 0, 0xff}
	PhaseNonFinite = color.NRGBA{192, 0, 0, 0xff}
)

// PhaseCap is how many decades either end of the scale reaches at most:
// a signal that has lost 40 decades (10^−40) teaches as little as one
// that has lost 300, and a scale out to −300 would leave the region
// near the edge of chaos, where the picture changes, all but white.
const PhaseCap = 40

// PhaseScale returns the scale's ends in decades: the lowest and highest
// finite values out to whole decades, at least one on each side of 0
// and at most PhaseCap.
func PhaseScale(values [][]float64) (lo, hi float64) {
	lo, hi = -1, 1
	for _, row := range values {
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			lo, hi = math.Min(lo, math.Floor(v)), math.Max(hi, math.Ceil(v))
		}
	}
	return math.Max(lo, -PhaseCap), math.Min(hi, PhaseCap)
}

// PhaseColor returns the colour of v decades on the scale lo..hi: each
// side of 0 runs from white to its darkest at its end, clamped beyond.
func PhaseColor(v, lo, hi float64) color.NRGBA {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 1):
		return PhaseNonFinite
	case math.IsInf(v, -1):
		return PhaseUnderflow
	}
	stops, t := phaseExploding, v/hi
	if v < 0 {
		stops, t = phaseVanishing, v/lo
	}
	t = math.Min(t, 1)
	seg := t * float64(len(stops)-1)
	i := min(int(math.Floor(seg)), len(stops)-2)
	f := seg - float64(i)
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*f)) }
	a, b := stops[i], stops[i+1]
	return color.NRGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// phasePhrases is the figure's text that depends on the language.
type phasePhrases struct {
	heading   string
	axis      map[engine.PhaseAxis]string
	sign      string
	scale     string
	underflow string
	nonFinite string
	edge      string
	current   string
	gamma     string // format: γ
}

func phasePhrasesFor(lang Lang) phasePhrases {
	if lang == Spanish {
		return phasePhrases{
			heading: "Diagrama de fases de log10(‖∂E/∂s_1‖ / ‖∂E/∂s_T‖), las décadas que la señal de error gana o pierde en toda la secuencia",
			axis: map[engine.PhaseAxis]string{
				engine.AxisGain: "ganancia (factor de escala de Wh; atención: Wq, Wk, Wv)", engine.AxisT: "longitud de la secuencia T",
				engine.AxisH: "unidades ocultas H", engine.AxisForgetBias: "sesgo de olvido b_f",
			},
			sign:      "< 0 (azul): el gradiente se desvanece;  > 0 (naranja): explota;  0 (blanco): conserva su tamaño",
			scale:     "décadas",
			underflow: "‖∂E/∂s_1‖ = 0 (subdesbordamiento)",
			nonFinite: "Inf/NaN (desbordamiento)",
			edge:      "γ·σ_max(Wh) = 1 (borde del caos)",
			current:   "ajustes actuales",
			gamma:     "γ = %s;  a la izquierda de la línea discontinua γ·σ_max(Wh) < 1 y el gradiente tiene que desvanecerse",
		}
	}
	return phasePhrases{
		heading: "Phase diagram of log10(‖∂E/∂s_1‖ / ‖∂E/∂s_T‖), the decades the error signal gains or loses over the whole sequence",
		axis: map[engine.PhaseAxis]string{
			engine.AxisGain: "gain (scales Wh; attention: Wq, Wk, Wv)", engine.AxisT: "sequence length T",
			engine.AxisH: "hidden units H", engine.AxisForgetBias: "forget bias b_f",
		},
		sign:      "< 0 (blue): the gradient vanishes;  > 0 (orange): it explodes;  0 (white): it keeps its size",
		scale:     "decades",
		underflow: "‖∂E/∂s_1‖ = 0 (underflow)",
		nonFinite: "Inf/NaN (overflow)",
		edge:      "γ·σ_max(Wh) = 1 (edge of chaos)",
		current:   "current settings",
		gamma:     "γ = %s;  left of the dashed line γ·σ_max(Wh) < 1 and the gradient must vanish",
	}
}

func (f PhaseFigure) withDefaults() (PhaseFigure, error) {
	defaultSize(&f.Width, &f.Height)
	if f.Lang == "" {
		f.Lang = English
	}
	switch {
	case !isOneOf(f.Lang, Langs):
		return f, fmt.Errorf("render: language must be en or es, got %q", f.Lang)
	case !sizeOK(f.Width, f.Height):
		return f, sizeError(f.Width, f.Height)
	case len(f.Xs) < 2 || len(f.Ys) < 2:
		return f, fmt.Errorf("render: a phase diagram needs at least 2×2 points, got %d×%d", len(f.Xs), len(f.Ys))
	case len(f.Values) != len(f.Ys):
		return f, fmt.Errorf("render: %d rows of values for %d values of %s", len(f.Values), len(f.Ys), f.Y)
	}
	for r, row := range f.Values {
		if len(row) != len(f.Xs) {
			return f, fmt.Errorf("render: row %d has %d values for %d values of %s", r, len(row), len(f.Xs), f.X)
		}
	}
	return f, nil
}

// FileName names the export: the model, the axes, the extension.
func (f PhaseFigure) FileName(ext string) string {
	name := "gradviz-phase-" + string(f.Base.Cell)
	if f.Base.Cell.Info().Activation {
		name += "-" + string(f.Base.Act)
	}
	return fmt.Sprintf("%s-%s-%s.%s", name, f.X, f.Y, ext)
}

// axisValue returns the value of the setting a in s.
func axisValue(s engine.Settings, a engine.PhaseAxis) float64 {
	switch a {
	case engine.AxisGain:
		return s.Gain
	case engine.AxisT:
		return float64(s.T)
	case engine.AxisH:
		return float64(s.H)
	}
	return s.ForgetBias
}

// cellEdges returns the boundaries of the cells around values: halfway
// between neighbours, and as far beyond the ends.
func cellEdges(values []float64) []float64 {
	n := len(values)
	out := make([]float64, n+1)
	for i := 1; i < n; i++ {
		out[i] = (values[i-1] + values[i]) / 2
	}
	out[0] = values[0] - (out[1] - values[0])
	out[n] = values[n-1] + (values[n-1] - out[n-1])
	return out
}

// PhasePlot returns the diagram's plot, laid out for fig's size.
func PhasePlot(fig PhaseFigure) (*plot.Plot, error) {
	fig, err := fig.withDefaults()
	if err != nil {
		return nil, err
	}
	st := newStyle(Figure{Width: fig.Width, Height: fig.Height})
	tr := phasePhrasesFor(fig.Lang)
	p := plot.New()
	xe, ye := cellEdges(fig.Xs), cellEdges(fig.Ys)
	p.X.Min, p.X.Max = xe[0], xe[len(xe)-1]
	p.Y.Min, p.Y.Max = ye[0], ye[len(ye)-1]
	p.X.Label.Text, p.Y.Label.Text = tr.axis[fig.X], tr.axis[fig.Y]
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		st.styleAxis(a, 0)
	}
	p.X.Tick.Marker = valueTicks{fig.Xs[0], fig.Xs[len(fig.Xs)-1]}
	p.Y.Tick.Marker = valueTicks{fig.Ys[0], fig.Ys[len(fig.Ys)-1]}
	lo, hi := PhaseScale(fig.Values)
	p.Add(&phaseCells{fig: fig, xe: xe, ye: ye, lo: lo, hi: hi})

	leg := &phaseLegend{text: st.legend, title: tr.scale, lo: lo, hi: hi, gap: st.pt(16), bar: st.pt(18)}
	if fig.EdgeGains != nil {
		line := &phaseLine{style: draw.LineStyle{Color: color.Black, Width: st.pt(2.2), Dashes: []vg.Length{st.pt(7), st.pt(4)}}}
		for i, g := range fig.EdgeGains {
			if math.IsNaN(g) || math.IsInf(g, 0) {
				continue
			}
			if fig.EdgeAlong == fig.Y {
				line.pts = append(line.pts, point{g, fig.Ys[i]})
			} else {
				line.pts = append(line.pts, point{fig.Xs[i], g})
			}
		}
		p.Add(line)
		leg.entries = append(leg.entries, legendEntry{text: tr.edge, thumb: line})
	}
	dot := &phaseDot{at: point{axisValue(fig.Base, fig.X), axisValue(fig.Base, fig.Y)}, radius: st.pt(6), line: st.pt(2)}
	p.Add(dot)
	leg.entries = append(leg.entries,
		legendEntry{text: tr.current, thumb: dot},
		legendEntry{text: tr.underflow, thumb: swatch(PhaseUnderflow)},
		legendEntry{text: tr.nonFinite, thumb: swatch(PhaseNonFinite)})
	p.Add(leg)

	capt := &caption{gap: st.tick.Font.Size * 1.2}
	w := pixels(float64(fig.Width)) - 2*pixels(margin*st.scale) - leg.width() - st.pt(60)
	for _, line := range wrapWords(st.heading, tr.heading, w) {
		capt.lines = append(capt.lines, captionLine{text: line, style: st.heading})
	}
	items := phaseCaption(fig)
	if g := fig.Base.Act.Gamma(); fig.Base.Cell.Info().Spectrum && fig.EdgeGains != nil {
		items = append(items, fmt.Sprintf(tr.gamma, decimal(formatValue(g), fig.Lang)))
	}
	for _, line := range wrap(st.caption, items, w) {
		capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
	}
	capt.lines = append(capt.lines, captionLine{text: fitWidth(st.caption, tr.sign, w), style: st.caption})
	if fig.Link != "" {
		for _, line := range wrapLink(st.caption, phrasesFor(fig.Lang).link+fig.Link, w) {
			capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
		}
	}
	p.Add(capt)
	localizeTicks(p, fig.Lang)
	return p, nil
}

// wrapWords breaks s at spaces into lines no wider than width.
func wrapWords(sty text.Style, s string, width vg.Length) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case sty.Width(line+" "+w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}

// valueTicks are gonum's default ticks within the range of an axis'
// values: the cells reach half a cell beyond, where no value is.
type valueTicks struct{ lo, hi float64 }

// Ticks implements plot.Ticker.
func (t valueTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	eps := (t.hi - t.lo) * 1e-9
	for _, tick := range (plot.DefaultTicks{}).Ticks(min, max) {
		if tick.Value >= t.lo-eps && tick.Value <= t.hi+eps {
			out = append(out, tick)
		}
	}
	return out
}

// phaseCaption lists the settings by their labels in the figure's
// language, as the profile's caption does, the axes' as their ranges:
// "Gain: 0.1…3 (x, 48 points)".
func phaseCaption(fig PhaseFigure) []string {
	tr := phrasesFor(fig.Lang)
	points := "points"
	if fig.Lang == Spanish {
		points = "puntos"
	}
	label := func(name string) string {
		sp := settingSpec(name)
		if fig.Lang == Spanish {
			return sp.Label.Es
		}
		return sp.Label.En
	}
	rng := func(a engine.PhaseAxis, vs []float64, which string) string {
		return fmt.Sprintf("%s: %s…%s (%s, %d %s)", label(string(a)), decimal(formatSetting(vs[0]), fig.Lang),
			decimal(formatSetting(vs[len(vs)-1]), fig.Lang), which, len(vs), points)
	}
	var items []string
	for _, sp := range schema {
		if sp.IdleWhen != nil || !sp.Active(fig.Base) {
			continue
		}
		switch engine.PhaseAxis(sp.Name) {
		case fig.X:
			items = append(items, rng(fig.X, fig.Xs, "x"))
		case fig.Y:
			items = append(items, rng(fig.Y, fig.Ys, "y"))
		default:
			items = append(items, readableCaption(fig.Base, fig.Lang, tr, otherNames(sp.Name)...)...)
		}
	}
	// The forget bias is captioned only for the LSTM, where it can be an
	// axis; any other axis is always in the list above.
	return items
}

// otherNames returns every setting's name but keep.
func otherNames(keep string) []string {
	var out []string
	for _, sp := range schema {
		if sp.Name != keep {
			out = append(out, sp.Name)
		}
	}
	return out
}

// phaseCells fills every cell with its colour. Each rectangle reaches a
// hair into its neighbours, so antialiasing leaves no seams.
type phaseCells struct {
	fig    PhaseFigure
	xe, ye []float64
	lo, hi float64
}

// Plot implements plot.Plotter.
func (pc *phaseCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	hair := vg.Length(0.6)
	for r, row := range pc.fig.Values {
		y0, y1 := trY(pc.ye[r]), trY(pc.ye[r+1])
		for col, v := range row {
			x0, x1 := trX(pc.xe[col]), trX(pc.xe[col+1])
			c.FillPolygon(PhaseColor(v, pc.lo, pc.hi), []vg.Point{
				{X: x0, Y: y0}, {X: x1 + hair, Y: y0}, {X: x1 + hair, Y: y1 + hair}, {X: x0, Y: y1 + hair},
			})
		}
	}
}

// phaseLine is the edge of chaos, a dashed line through the data area.
type phaseLine struct {
	pts   []point
	style draw.LineStyle
}

// Plot implements plot.Plotter.
func (l *phaseLine) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	if len(l.pts) == 0 {
		return
	}
	pts := make([]vg.Point, len(l.pts))
	for i, pt := range l.pts {
		pts[i] = vg.Point{X: trX(pt.x), Y: trY(pt.y)}
	}
	if len(pts) == 1 {
		pts = append(pts, pts[0])
	}
	// Outlined in white, so it reads on dark cells too.
	halo := l.style
	halo.Color, halo.Width, halo.Dashes = color.White, l.style.Width*2.2, nil
	for _, line := range c.ClipLinesXY(pts) {
		c.StrokeLines(halo, line)
		c.StrokeLines(l.style, line)
	}
}

// Thumbnail implements plot.Thumbnailer.
func (l *phaseLine) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.style, c.Min.X, y, c.Max.X, y)
}

// phaseDot marks the current settings: white inside a black ring.
type phaseDot struct {
	at     point
	radius vg.Length
	line   vg.Length
}

// Plot implements plot.Plotter.
func (d *phaseDot) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	at := vg.Point{X: trX(d.at.x), Y: trY(d.at.y)}
	if !c.Contains(at) {
		return
	}
	d.draw(c, at)
}

func (d *phaseDot) draw(c draw.Canvas, at vg.Point) {
	c.DrawGlyph(draw.GlyphStyle{Color: color.Black, Radius: d.radius + d.line, Shape: draw.CircleGlyph{}}, at)
	c.DrawGlyph(draw.GlyphStyle{Color: color.White, Radius: d.radius, Shape: draw.CircleGlyph{}}, at)
}

// Thumbnail implements plot.Thumbnailer.
func (d *phaseDot) Thumbnail(c *draw.Canvas) { d.draw(*c, c.Center()) }

// swatch is a legend thumbnail filled with one colour.
type swatch color.NRGBA

// Thumbnail implements plot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	h := (c.Max.Y - c.Min.Y) * 0.7
	x0, y0 := c.Min.X+(c.Max.X-c.Min.X)/2-h, c.Center().Y-h/2
	box := []vg.Point{{X: x0, Y: y0}, {X: x0 + 2*h, Y: y0}, {X: x0 + 2*h, Y: y0 + h}, {X: x0, Y: y0 + h}}
	c.FillPolygon(color.NRGBA(s), box)
	if s == (swatch{0xFF, 0xFF, 0xFF, 0xFF}) {
		// White needs an outline to be seen.
		c.StrokeLines(draw.LineStyle{Color: color.NRGBA{0x99, 0x99, 0x99, 0xFF}, Width: vg.Points(0.8)}, append(box, box[0]))
	}
}

// phaseLegend is a column right of the data area: the colour bar from
// lo (bottom) to hi (top) labelled in decades, then the marks.
type phaseLegend struct {
	text    text.Style
	title   string
	lo, hi  float64
	gap     vg.Length // between the data area and the bar
	bar     vg.Length // the bar's width
	entries []legendEntry
	// color is the bar's scale; nil is the phase diagram's (PhaseColor).
	color func(v, lo, hi float64) color.NRGBA
}

func (l *phaseLegend) labelWidth() vg.Length {
	return l.text.Width("≤−40")
}

func (l *phaseLegend) width() vg.Length {
	w := l.bar + l.text.Width(" ") + l.labelWidth()
	w = max(w, l.text.Width(l.title))
	thumb := l.text.Width("n") * 4
	for _, e := range l.entries {
		w = max(w, thumb+l.text.Width(e.text))
	}
	return l.gap + w
}

// Plot implements plot.Plotter.
func (l *phaseLegend) Plot(c draw.Canvas, _ *plot.Plot) {
	x := c.Max.X + l.gap
	rowH := l.text.FontExtents().Height * 1.4
	top := c.Max.Y - rowH
	bottom := c.Min.Y + rowH*vg.Length(len(l.entries)) + rowH*0.8
	sty := l.text
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	c.FillText(sty, vg.Point{X: x, Y: c.Max.Y - rowH/2}, l.title)
	// The bar, one band per pixel row.
	colorOf := l.color
	if colorOf == nil {
		colorOf = PhaseColor
	}
	step := vg.Length(1)
	for y := bottom; y < top; y += step {
		v := l.lo + (l.hi-l.lo)*float64((y+step/2-bottom)/(top-bottom))
		c.FillPolygon(colorOf(v, l.lo, l.hi), []vg.Point{{X: x, Y: y}, {X: x + l.bar, Y: y}, {X: x + l.bar, Y: y + step + 0.3}, {X: x, Y: y + step + 0.3}})
	}
	frame := draw.LineStyle{Color: color.NRGBA{0x66, 0x66, 0x66, 0xff}, Width: vg.Points(0.8)}
	c.StrokeLines(frame, []vg.Point{{X: x, Y: bottom}, {X: x + l.bar, Y: bottom}, {X: x + l.bar, Y: top}, {X: x, Y: top}, {X: x, Y: bottom}})
	// Ticks at whole decades, as many as fit, always 0.
	span := l.hi - l.lo
	room := int((top - bottom) / (l.text.FontExtents().Height * 1.6))
	stride := 100.0
	for _, s := range []float64{1, 2, 5, 10, 20, 25, 50, 100} {
		if span/s <= float64(max(room, 2)) {
			stride = s
			break
		}
	}
	ticks := []float64{}
	for e := math.Ceil(l.lo/stride) * stride; e <= l.hi; e += stride {
		ticks = append(ticks, e)
	}
	// A clamped end is labelled ≤ or ≥, when there is room for it.
	gap := stride * 0.6
	if l.lo == -PhaseCap && ticks[0] != l.lo && ticks[0]-l.lo >= gap {
		ticks = append([]float64{l.lo}, ticks...)
	}
	if l.hi == PhaseCap && ticks[len(ticks)-1] != l.hi && l.hi-ticks[len(ticks)-1] >= gap {
		ticks = append(ticks, l.hi)
	}
	for _, e := range ticks {
		y := bottom + (top-bottom)*vg.Length((e-l.lo)/span)
		label := decadesLabel(e)
		switch {
		case e == -PhaseCap:
			label = "≤" + label
		case e == PhaseCap:
			label = "≥" + label
		}
		c.StrokeLine2(frame, x+l.bar, y, x+l.bar+l.text.Width(" ")*0.6, y)
		c.FillText(sty, vg.Point{X: x + l.bar + l.text.Width(" "), Y: y}, label)
	}
	y := c.Min.Y + rowH*vg.Length(len(l.entries))
	thumb := l.text.Width("n") * 3
	for _, e := range l.entries {
		icon := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: y - rowH}, Max: vg.Point{X: x + thumb, Y: y},
		}}
		e.thumb.Thumbnail(&icon)
		c.FillText(sty, vg.Point{X: x + thumb + l.text.Width("n"), Y: y - rowH/2}, e.text)
		y -= rowH
	}
}

// GlyphBoxes implements plot.GlyphBoxer: the column's width.
func (l *phaseLegend) GlyphBoxes(*plot.Plot) []plot.GlyphBox {
	return []plot.GlyphBox{{X: 1, Y: 0, Rectangle: vg.Rectangle{Max: vg.Point{X: l.width()}}}}
}

// decadesLabel writes a whole number of decades with its sign.
func decadesLabel(e float64) string {
	switch {
	case e > 0:
		return "+" + strconv.FormatFloat(e, 'f', -1, 64)
	case e < 0:
		return "−" + strconv.FormatFloat(-e, 'f', -1, 64)
	}
	return "0"
}

// WritePhaseImage draws the diagram in format to w, like WriteImage.
func WritePhaseImage(w io.Writer, fig PhaseFigure, format Format) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	p, err := PhasePlot(fig)
	if err != nil {
		return err
	}
	return writeView(w, p, fig.Width, fig.Height, format)
}

// WritePhaseCSV writes one line per point, rows of the diagram in order:
// the x and y settings' values, ‖∂E/∂s_1‖ and ‖∂E/∂s_T‖ (when known),
// the decades, and the edge of chaos' gain at that point's value of the
// edge's axis (when there is one). Non-finite values are NaN, Inf, -Inf.
func WritePhaseCSV(w io.Writer, fig PhaseFigure) error {
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	norms := len(fig.First) == len(fig.Ys) && len(fig.Last) == len(fig.Ys)
	header := []string{string(fig.X), string(fig.Y)}
	if norms {
		header = append(header, "dE_ds_1", "dE_ds_T")
	}
	header = append(header, "log10_ratio")
	if fig.EdgeGains != nil {
		header = append(header, "edge_gain")
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("render: write csv: %w", err)
	}
	for r, row := range fig.Values {
		for c, v := range row {
			rec := []string{formatCSV(fig.Xs[c]), formatCSV(fig.Ys[r])}
			if norms {
				rec = append(rec, formatCSV(fig.First[r][c]), formatCSV(fig.Last[r][c]))
			}
			rec = append(rec, formatCSV(v))
			if fig.EdgeGains != nil {
				i := c
				if fig.EdgeAlong == fig.Y {
					i = r
				}
				rec = append(rec, formatCSV(fig.EdgeGains[i]))
			}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("render: write csv: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("render: write csv: %w", err)
	}
	return nil
}
