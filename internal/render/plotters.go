package render

import (
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The figure is built from small plotters rather than plotter.Line,
// which rejects NaN and Inf outright: a curve here is a list of finite,
// positive segments, and the caption and legend are plotters that claim
// room outside the data area through GlyphBoxes, so gonum/plot's own
// layout keeps them off the curves.

// point is one value of a series in data coordinates.
type point struct{ x, y float64 }

// curve is a series drawn as separate segments wherever a value was 0 or
// not finite. A segment of one point is drawn as a dot three line widths
// across, as the page draws it, so an isolated finite value still shows.
type curve struct {
	segments [][]point
	style    draw.LineStyle
	// theory marks a curve that is not a measurement (Pascanu's bound),
	// which may leave the y range rather than squash the data.
	theory bool
	// backward marks a series of the backward pass of a run of T steps,
	// which an animation reveals from step T back.
	backward bool
	T        int
}

// reveal keeps the points of cv at most back steps before its run's
// last step; step(x) is the step k at abscissa x.
func (cv *curve) reveal(back float64, step func(x float64, T int) int) {
	var out [][]point
	for _, seg := range cv.segments {
		var kept []point
		for _, pt := range seg {
			if float64(cv.T-step(pt.x, cv.T)) <= back {
				kept = append(kept, pt)
			}
		}
		if len(kept) > 0 {
			out = append(out, kept)
		}
	}
	cv.segments = out
}

// Plot implements plot.Plotter.
func (cv *curve) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	dot := draw.GlyphStyle{Color: cv.style.Color, Radius: cv.style.Width * 1.5, Shape: draw.CircleGlyph{}}
	for _, seg := range cv.segments {
		if len(seg) == 1 {
			c.DrawGlyph(dot, vg.Point{X: trX(seg[0].x), Y: trY(seg[0].y)})
			continue
		}
		pts := make([]vg.Point, len(seg))
		for i, pt := range seg {
			pts[i] = vg.Point{X: trX(pt.x), Y: trY(pt.y)}
		}
		lines := c.ClipLinesXY(pts)
		sty := boundedDashes(cv.style, lines)
		for _, l := range lines {
			for len(l) > 1 {
				n := min(len(l), strokeChunk)
				c.StrokeLines(sty, l[:n])
				l = l[n-1:]
			}
		}
	}
}

// strokeChunk is the most points stroked as one path. The rasteriser
// keeps a list of the cells a path covers in each pixel row and searches
// it for every new cell, so a path's cost grows with the square of its
// crossings of a row: a curve that zig-zags over the plot at every one
// of 2000 steps took tens of seconds as one path and takes milliseconds
// in chunks. Consecutive chunks share a point, so the curve is unbroken.
const strokeChunk = 32

// maxDashes bounds the dashes of one drawn curve. Each dash is a path of
// its own for the rasteriser, and a curve that zig-zags over the whole
// height at every step of T=2000 is millions of points long: at the
// plain pattern it took minutes to draw. Past the bound the pattern is
// stretched, which a curve that dense does not show anyway.
const maxDashes = 4000

// boundedDashes returns sty with its dash pattern stretched so that the
// lines take at most maxDashes dashes.
func boundedDashes(sty draw.LineStyle, lines [][]vg.Point) draw.LineStyle {
	if len(sty.Dashes) == 0 {
		return sty
	}
	var period, length vg.Length
	for _, d := range sty.Dashes {
		period += d
	}
	for _, l := range lines {
		for i := 1; i < len(l); i++ {
			length += vg.Length(math.Hypot(float64(l[i].X-l[i-1].X), float64(l[i].Y-l[i-1].Y)))
		}
	}
	if period <= 0 || length/period <= maxDashes {
		return sty
	}
	stretch := length / period / maxDashes
	dashes := make([]vg.Length, len(sty.Dashes))
	for i, d := range sty.Dashes {
		dashes[i] = d * stretch
	}
	sty.Dashes = dashes
	return sty
}

// Thumbnail implements plot.Thumbnailer.
func (cv *curve) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(cv.style, c.Min.X, y, c.Max.X, y)
}

// empty reports whether the curve draws nothing.
func (cv *curve) empty() bool { return len(cv.segments) == 0 }

// marker is a labelled vertical line at one x: an overflow, drawn the
// full height of the data area with its label on a filled badge, or an
// underflow, drawn as a short tick at the bottom. Labels of markers at
// the same edge stack in rows.
type marker struct {
	x      float64
	label  string
	line   draw.LineStyle
	text   text.Style
	badge  color.Color // fill behind the label; nil for a quiet marker
	row    int
	bottom bool
}

// Plot implements plot.Plotter.
func (m *marker) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(m.x)
	height := c.Max.Y - c.Min.Y
	y0, y1 := c.Min.Y, c.Max.Y
	if m.bottom {
		y1 = c.Min.Y + 0.12*height
	}
	c.StrokeLine2(m.line, x, y0, x, y1)

	sty := m.text
	pad := sty.Font.Size * 0.3
	lineH := sty.FontExtents().Height + 3*pad
	gap := sty.Width("n")
	sty.YAlign = draw.YTop
	y := c.Max.Y - pad - vg.Length(m.row)*lineH
	if m.bottom {
		sty.YAlign = draw.YBottom
		y = c.Min.Y + 0.12*height + pad + vg.Length(m.row)*lineH
	}
	// The label goes beside the line, on the side where it fits, and
	// never leaves the data area (the legend is right of it).
	label := fitWidth(sty, m.label, c.Max.X-c.Min.X-2*pad)
	w := sty.Width(label)
	tx := x + gap
	if tx+w+pad > c.Max.X {
		tx = x - gap - w
	}
	tx = max(c.Min.X+pad, min(tx, c.Max.X-pad-w))
	sty.XAlign = draw.XLeft
	at := vg.Point{X: tx, Y: y}
	fill := m.badge
	if fill == nil {
		fill = color.NRGBA{R: 255, G: 255, B: 255, A: 220}
	}
	fillBehind(c, sty, at, label, fill)
	c.FillText(sty, at, label)
}

// fillBehind paints a box under a label so it stays readable where it
// crosses a curve or a grid line.
func fillBehind(c draw.Canvas, sty text.Style, at vg.Point, label string, fill color.Color) {
	r := sty.Rectangle(label).Add(at)
	pad := sty.Font.Size * 0.3
	c.FillPolygon(fill, []vg.Point{
		{X: r.Min.X - pad, Y: r.Min.Y - pad}, {X: r.Max.X + pad, Y: r.Min.Y - pad},
		{X: r.Max.X + pad, Y: r.Max.Y + pad}, {X: r.Min.X - pad, Y: r.Max.Y + pad},
	})
}

// note is a message in the middle of the data area, for a run with
// nothing a log axis can show.
type note struct {
	lines string
	text  text.Style
}

// Plot implements plot.Plotter.
func (n *note) Plot(c draw.Canvas, _ *plot.Plot) {
	sty := n.text
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	fillBehind(c, sty, c.Center(), n.lines, color.NRGBA{R: 255, G: 255, B: 255, A: 230})
	c.FillText(sty, c.Center(), n.lines)
}

// grid draws light lines at the major ticks, which on a log axis makes
// the decades countable.
type grid struct {
	style draw.LineStyle
}

// Plot implements plot.Plotter.
func (g *grid) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, t := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
		if x := trX(t.Value); !t.IsMinor() && c.ContainsX(x) {
			c.StrokeLine2(g.style, x, c.Min.Y, x, c.Max.Y)
		}
	}
	for _, t := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
		if y := trY(t.Value); !t.IsMinor() && c.ContainsY(y) {
			c.StrokeLine2(g.style, c.Min.X, y, c.Max.X, y)
		}
	}
}

// captionLine is one line of the caption with its own style.
type captionLine struct {
	text  string
	style text.Style
	space vg.Length // extra room above the line
}

// caption draws lines of text above the data area, left-aligned with it.
// It claims their height through GlyphBoxes, which gonum/plot honours by
// lowering the top of the data area and of the y axis.
type caption struct {
	lines []captionLine
	gap   vg.Length // between the last line and the data area
}

// lineHeight is the advance of one caption line.
func (l captionLine) lineHeight() vg.Length { return l.style.FontExtents().Height*1.15 + l.space }

func (cp *caption) height() vg.Length {
	h := cp.gap
	for _, l := range cp.lines {
		h += l.lineHeight()
	}
	return h
}

// Plot implements plot.Plotter.
func (cp *caption) Plot(c draw.Canvas, _ *plot.Plot) {
	y := c.Max.Y + cp.height()
	for _, l := range cp.lines {
		sty := l.style
		sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
		c.FillText(sty, vg.Point{X: c.Min.X, Y: y - l.space}, l.text)
		y -= l.lineHeight()
	}
}

// GlyphBoxes implements plot.GlyphBoxer.
func (cp *caption) GlyphBoxes(*plot.Plot) []plot.GlyphBox {
	return []plot.GlyphBox{{X: 0, Y: 1, Rectangle: vg.Rectangle{Max: vg.Point{Y: cp.height()}}}}
}

// legendEntry is one named curve of the side legend.
type legendEntry struct {
	text string
	// suffix qualifies the curve (clipped, not drawn, mostly 0). It is
	// never cut: when text and suffix do not fit on one line the suffix
	// moves to a second.
	suffix string
	thumb  plot.Thumbnailer
}

// sideLegend is a legend in a column right of the data area, so it never
// covers a curve. Its GlyphBoxes claim the column's width.
type sideLegend struct {
	entries    []legendEntry
	text       text.Style
	thumbWidth vg.Length
	gap        vg.Length // between the data area and the column
	maxText    vg.Length // widest text line; longer text is cut
}

// lines returns the text lines of one entry.
func (l *sideLegend) lines(e legendEntry) []string {
	if full := e.text + e.suffix; l.text.Width(full) <= l.maxText {
		return []string{full}
	}
	first := fitWidth(l.text, e.text, l.maxText)
	if e.suffix == "" {
		return []string{first}
	}
	return []string{first, fitWidth(l.text, strings.TrimSpace(e.suffix), l.maxText)}
}

// rowHeight is the height of an entry's first line, lineHeight that of
// each further line.
func (l *sideLegend) rowHeight() vg.Length  { return l.text.FontExtents().Height * 1.35 }
func (l *sideLegend) lineHeight() vg.Length { return l.text.FontExtents().Height * 1.05 }

// textOffset is the room between a thumbnail and its text.
func (l *sideLegend) textOffset() vg.Length { return l.thumbWidth + l.text.Width("n") }

// width returns the width of the column, gap included.
func (l *sideLegend) width() vg.Length {
	w := vg.Length(0)
	for _, e := range l.entries {
		for _, line := range l.lines(e) {
			w = max(w, l.text.Width(line))
		}
	}
	return l.gap + l.textOffset() + w
}

// height returns the height of the entries.
func (l *sideLegend) height() vg.Length {
	h := vg.Length(0)
	for _, e := range l.entries {
		h += l.rowHeight() + vg.Length(len(l.lines(e))-1)*l.lineHeight()
	}
	return h
}

// Plot implements plot.Plotter.
func (l *sideLegend) Plot(c draw.Canvas, _ *plot.Plot) {
	x := c.Max.X + l.gap
	y := c.Max.Y
	rowH, lineH := l.rowHeight(), l.lineHeight()
	sty := l.text
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	for _, e := range l.entries {
		icon := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: y - rowH},
			Max: vg.Point{X: x + l.thumbWidth, Y: y},
		}}
		e.thumb.Thumbnail(&icon)
		for i, line := range l.lines(e) {
			c.FillText(sty, vg.Point{X: x + l.textOffset(), Y: y - rowH/2 - vg.Length(i)*lineH}, line)
		}
		y -= rowH + vg.Length(len(l.lines(e))-1)*lineH
	}
}

// GlyphBoxes implements plot.GlyphBoxer.
func (l *sideLegend) GlyphBoxes(*plot.Plot) []plot.GlyphBox {
	if len(l.entries) == 0 {
		return nil
	}
	return []plot.GlyphBox{{X: 1, Y: 0, Rectangle: vg.Rectangle{Max: vg.Point{X: l.width()}}}}
}

// stepTicks marks whole steps on the x axis with round spacings (1, 2
// or 5 times a power of ten) and about as many labels as fit.
type stepTicks struct {
	maxLabels int
}

// Ticks implements plot.Ticker.
func (t stepTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	span := hi - lo
	labels := max(t.maxLabels, 2)
	step := 1.0
	for mag := 1.0; ; mag *= 10 {
		if n := nextNice(span, mag, labels); n > 0 {
			step = n
			break
		}
	}
	minor := step / 5
	if step == 2*math.Pow10(int(math.Floor(math.Log10(step)))) {
		minor = step / 2
	}
	minor = math.Max(minor, 1)
	var ticks []plot.Tick
	for v := math.Ceil(lo/minor) * minor; v <= hi; v += minor {
		tick := plot.Tick{Value: v}
		if math.Mod(v, step) == 0 {
			tick.Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
		ticks = append(ticks, tick)
	}
	return ticks
}

// nextNice returns the smallest of 1, 2 and 5 times mag that splits span
// into at most maxLabels−1 intervals, or 0 if none does.
func nextNice(span, mag float64, maxLabels int) float64 {
	for _, m := range []float64{1, 2, 5} {
		if span/(m*mag) <= float64(maxLabels-1) {
			return m * mag
		}
	}
	return 0
}

// logTicks marks decades on a log axis. Unlike plot.LogTicks it labels
// every n-th decade when the range spans many (a run that underflows
// reaches 1e−323, one that explodes 1e+308), so labels never overlap.
type logTicks struct {
	// maxLabels is how many labelled ticks the axis has room for.
	maxLabels int
}

// decadeSteps are the spacings, in decades, between labelled ticks.
var decadeSteps = []int{1, 2, 5, 10, 20, 25, 50, 100}

// Ticks implements plot.Ticker.
func (t logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max > min) {
		return nil
	}
	lo := int(math.Ceil(math.Log10(min) - 1e-9))
	hi := int(math.Floor(math.Log10(max) + 1e-9))
	lo = clampDecade(lo)
	hi = clampDecade(hi)
	span := hi - lo
	step := decadeSteps[len(decadeSteps)-1]
	for _, s := range decadeSteps {
		if span/s+1 <= t.maxLabels {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	if step == 1 && span <= 6 {
		// Few decades: minor ticks at 2…9 times each power of ten.
		for e := lo - 1; e <= hi; e++ {
			base := math.Pow10(e)
			for m := 2; m <= 9; m++ {
				if v := base * float64(m); v >= min && v <= max {
					ticks = append(ticks, plot.Tick{Value: v})
				}
			}
		}
	}
	minor := 1
	switch {
	case step%5 == 0:
		minor = step / 5
	case step%2 == 0:
		minor = step / 2
	}
	for e := floorMultiple(lo, minor); e <= hi; e += minor {
		if e < lo {
			continue
		}
		tick := plot.Tick{Value: math.Pow10(e)}
		if e%step == 0 {
			tick.Label = decadeLabel(e)
		}
		ticks = append(ticks, tick)
	}
	return ticks
}

// The exponents of the powers of ten that are positive, finite float64s.
const (
	minDecade = -323
	maxDecade = 308
)

func clampDecade(e int) int { return min(max(e, minDecade), maxDecade) }

// floorMultiple returns the largest multiple of m at most e.
func floorMultiple(e, m int) int {
	q := e / m
	if e%m != 0 && e < 0 {
		q--
	}
	return q * m
}

// decadeLabel prints 10^e as 0.01, 0.1, 1, 10, 100 near 1 and as
// 1e−5, 1e5 beyond, with a true minus sign.
func decadeLabel(e int) string {
	if e >= -2 && e <= 2 {
		return strconv.FormatFloat(math.Pow10(e), 'f', -1, 64)
	}
	return strings.Replace("1e"+strconv.Itoa(e), "-", "−", 1)
}
