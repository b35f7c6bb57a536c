package render

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"gradviz/internal/engine"
)

// ProfilePlot returns the profile figure: ‖∂E/∂s_k‖ of every run on a log
// axis, with Pascanu et al.'s bound, ‖∂E/∂c_k‖ (LSTM), the reverse chain
// (bidirectional) and the clipping threshold of the current run, overflow
// and underflow markers, a caption with the settings and a legend beside
// the data. The plot is laid out for fig's size: draw it at fig.Size(),
// as WriteImage does.
func ProfilePlot(fig Figure) (*plot.Plot, error) {
	fig, err := fig.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &builder{fig: fig, st: newStyle(fig), tr: phrasesFor(fig.Lang), labels: fig.legendLabels()}
	p := b.build()
	localizeTicks(p, fig.Lang)
	return p, nil
}

// Size returns the figure's width and height on a vg canvas: one pixel
// is one dot at vgimg's default 96 dpi, so a PNG has exactly
// Width×Height pixels.
func (f Figure) Size() (w, h vg.Length) {
	f, _ = f.withDefaults()
	return pixels(float64(f.Width)), pixels(float64(f.Height))
}

// dpi is the resolution at which Width and Height are pixels.
const dpi = 96

func pixels(n float64) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// margin is the blank border around the figure, in pixels at the default
// size.
const margin = 14

// gridColor is the colour of the grid lines; the curves' colours are in
// the series table (series.go).
var gridColor = color.NRGBA{0xE4, 0xE4, 0xE4, 0xFF}

// style holds the fonts and line widths of one figure. Everything scales
// with the figure, so a 2400×1400 PNG looks like a 1200×700 one at twice
// the resolution.
type style struct {
	scale                      float64
	tick, axis, legend, marker text.Style
	heading, caption           text.Style
}

func newStyle(fig Figure) style {
	// Below the default size the text shrinks less than the figure, so it
	// stays readable on a projector.
	scale := math.Min(float64(fig.Width)/DefaultWidth, float64(fig.Height)/DefaultHeight)
	scale = math.Max(scale, 0.85)
	st := style{scale: scale}
	sans := font.Font{Typeface: "Liberation", Variant: "Sans"}
	bold := sans
	bold.Weight = xfont.WeightBold
	textStyle := func(f font.Font, size float64) text.Style {
		return text.Style{Color: color.Black, Font: font.From(f, st.pt(size)), Handler: plot.DefaultTextHandler}
	}
	st.tick = textStyle(sans, 12)
	st.axis = textStyle(sans, 14)
	st.legend = textStyle(sans, 12.5)
	st.marker = textStyle(bold, 11.5)
	st.heading = textStyle(bold, 15)
	st.caption = textStyle(sans, 12)
	st.caption.Color = color.NRGBA{0x33, 0x33, 0x33, 0xFF}
	return st
}

// pt returns a length given in points at the default figure size.
func (st style) pt(v float64) vg.Length { return vg.Points(v * st.scale) }

// styleAxis gives an axis the figure's fonts and line widths, keeping the
// alignment gonum/plot chose for its labels, with padding between the
// axis and the data.
func (st style) styleAxis(a *plot.Axis, padding vg.Length) {
	xa, ya := a.Tick.Label.XAlign, a.Tick.Label.YAlign
	a.Tick.Label = st.tick
	a.Tick.Label.XAlign, a.Tick.Label.YAlign = xa, ya
	xa, ya = a.Label.TextStyle.XAlign, a.Label.TextStyle.YAlign
	a.Label.TextStyle = st.axis
	a.Label.TextStyle.XAlign, a.Label.TextStyle.YAlign = xa, ya
	a.Label.Padding = st.pt(4)
	a.Padding = padding
	a.LineStyle.Width = st.pt(1)
	a.Tick.LineStyle.Width = st.pt(1)
	a.Tick.Length = st.pt(6)
}

// px returns a length given in pixels at the default figure size, the
// unit of the series table's widths and dashes: at the default size a
// PNG pixel is a CSS pixel of the page.
func (st style) px(v float64) vg.Length { return pixels(v * st.scale) }

// builder assembles one figure.
type builder struct {
	fig    Figure
	st     style
	tr     phrases
	labels []string

	p       *plot.Plot
	curves  []*curve // everything that sets the y range
	entries []legendEntry
	markers []*marker
	notes   []string
	topRows int // overflow labels stacked so far
	lowRows int // underflow labels stacked so far
}

func (b *builder) build() *plot.Plot {
	b.p = plot.New()
	runs := b.fig.runs()
	for i, run := range runs {
		b.addRun(i, run.Result)
	}
	b.addTheory(runs[0].Result)

	b.setAxes()
	if f := b.fig.reveal; f > 0 && f < 1 {
		// After the axes: every frame of an animation has the whole
		// figure's ranges.
		for _, cv := range b.curves {
			if cv.backward {
				cv.reveal(f*float64(cv.T), b.step)
			}
		}
	}
	b.p.Add(&grid{style: draw.LineStyle{Color: gridColor, Width: b.st.pt(0.8)}})
	// In reverse: theory and pins first, so the current run's profile
	// is drawn on top of everything.
	for i := len(b.curves) - 1; i >= 0; i-- {
		b.p.Add(b.curves[i])
	}
	for _, m := range b.markers {
		b.p.Add(m)
	}
	if len(b.notes) > 0 {
		b.p.Add(&note{lines: strings.Join(b.notes, "\n"), text: b.st.axis})
	}
	b.addFrame()
	return b.p
}

// x returns the abscissa of step k of a run of T steps.
func (b *builder) x(k, T int) float64 {
	if b.fig.X == XBack {
		return float64(T - k)
	}
	return float64(k)
}

// step returns the step k at abscissa x of a run of T steps.
func (b *builder) step(x float64, T int) int {
	if b.fig.X == XBack {
		return T - int(x)
	}
	return int(x)
}

// series turns values (index k−1 for step k) into a curve cut at every
// value that a log axis cannot show.
func (b *builder) series(values []float64, T int, sty draw.LineStyle) *curve {
	pts := make([]point, len(values))
	for i, v := range values {
		pts[i] = point{b.x(i+1, T), v}
	}
	return &curve{style: sty, segments: segments(pts, onLogAxis)}
}

// onLogAxis reports whether a log axis can show v: positive and finite
// (NaN fails v > 0).
func onLogAxis(v float64) bool { return v > 0 && !math.IsInf(v, 1) }

// segments cuts pts into the runs of consecutive points whose y keep
// takes, dropping the others, so a curve has a gap where they were.
func segments(pts []point, keep func(y float64) bool) [][]point {
	var out [][]point
	var seg []point
	for _, p := range pts {
		if keep(p.y) {
			seg = append(seg, p)
			continue
		}
		if len(seg) > 0 {
			out = append(out, seg)
			seg = nil
		}
	}
	if len(seg) > 0 {
		out = append(out, seg)
	}
	return out
}

// addCurve adds a curve and its legend entry, name and suffix; a curve
// with nothing to draw is still listed, saying why it is missing.
func (b *builder) addCurve(cv *curve, name, suffix string, values []float64) {
	b.curves = append(b.curves, cv)
	if cv.empty() {
		suffix += fmt.Sprintf(b.tr.notDrawn, emptyKind(values))
	}
	b.entries = append(b.entries, legendEntry{text: name, suffix: suffix, thumb: cv})
}

// emptyKind says what a series with no drawable value holds.
func emptyKind(values []float64) string {
	nan, zero := false, false
	for _, v := range values {
		if v > 0 && !math.IsInf(v, 1) {
			continue
		}
		if v == 0 {
			zero = true
		} else {
			nan = true
		}
	}
	switch {
	case nan && zero:
		return "NaN/0"
	case zero:
		return "0"
	}
	return "NaN"
}

// lineStyle is the line of series s in colour col and width (pixels).
func (b *builder) lineStyle(s *Series, col color.NRGBA, width float64) draw.LineStyle {
	sty := draw.LineStyle{Color: col, Width: b.st.px(width)}
	for _, d := range s.Dash {
		sty.Dashes = append(sty.Dashes, b.st.px(d))
	}
	return sty
}

// addRun adds run i's series of every run (its profiles, Series.Run) and
// its markers. Run 0 is the current run.
func (b *builder) addRun(i int, r *engine.Result) {
	T := r.Settings.T
	prof := &r.Profile
	for k := range table {
		s := &table[k]
		if !s.Run || !s.Applies(r.Settings, r.Overflow.Forward > 0) || (i > 0 && s.PinWidth == 0) {
			continue
		}
		values := s.Values(prof)
		if values == nil {
			continue
		}
		width := s.Width
		if i > 0 {
			width = s.PinWidth
		}
		label, of := s.Text(r.Settings, b.fig.Lang)
		// With pins a curve is named by its run; the series' own name is
		// then the y axis' and the qualifier's (clipped).
		name, suffix := label, ""
		switch {
		case b.fig.hasPins():
			name = b.labels[i]
			if of != "" {
				suffix = " " + of
			}
		case b.labels[i] != "":
			name = b.labels[i] + ": " + label
		}
		cv := b.series(values, T, b.lineStyle(s, s.stroke(i), width))
		cv.backward, cv.T = s.Backward, T
		b.addCurve(cv, name, suffix, values)
	}
	if i == 0 && !drawable(prof.DEds) {
		switch {
		case emptyKind(prof.DEds) == "0":
			b.notes = append(b.notes, b.tr.allZero)
		case r.Overflow.Forward > 0:
			// The usual reason, and the lesson: the states blew up, so
			// the loss and every gradient after it are NaN.
			b.notes = append(b.notes, b.tr.allNaN, fmt.Sprintf(b.tr.becauseForward, r.Overflow.Forward))
		default:
			b.notes = append(b.notes, b.tr.allNaN)
		}
	}
	b.addMarkers(i, r, r.Settings.Clip.IsStep())
}

// drawable reports whether a log axis can show any of values.
func drawable(values []float64) bool {
	for _, v := range values {
		if v > 0 && !math.IsInf(v, 1) {
			return true
		}
	}
	return false
}

// addTheory adds the current run's series that belong to it alone: the
// main plot's entries of the series table that are not drawn per run.
func (b *builder) addTheory(r *engine.Result) {
	T := r.Settings.T
	for k := range table {
		s := &table[k]
		if s.Run || s.Axis != AxisMain || !s.Applies(r.Settings, r.Overflow.Forward > 0) {
			continue
		}
		// These curves belong to the current run only, which their colour
		// says; a run name in front would make the legend twice as wide.
		label, _ := s.Text(r.Settings, b.fig.Lang)
		sty := b.lineStyle(s, s.stroke(0), s.Width)
		var cv *curve
		var values []float64
		if s.Level != LevelNone {
			// A horizontal line over the run's steps. It is a curve like
			// any other, so the y range includes it.
			y := level(s.Level, r)
			if !(y > 0 && !math.IsInf(y, 1)) {
				continue
			}
			cv = &curve{segments: [][]point{{{b.x(1, T), y}, {b.x(T, T), y}}}, style: sty}
		} else {
			if values = s.Values(&r.Profile); values == nil {
				continue
			}
			cv = b.series(values, T, sty)
		}
		cv.theory = s.Guide
		cv.backward, cv.T = s.Backward, T
		suffix := ""
		if zeros := countZeros(values); s.NoteZeros && zeros > 0 && !cv.empty() {
			suffix = fmt.Sprintf(b.tr.zeroAt, zeros, T)
		}
		b.addCurve(cv, label, suffix, values)
	}
}

// level returns the height of a Level line for run r, NaN when r has none.
func level(l Level, r *engine.Result) float64 {
	switch l {
	case LevelThreshold:
		return r.Settings.Threshold
	case LevelOne:
		return 1
	case LevelGammaSig:
		if sp := r.Spectrum; sp != nil {
			return sp.Gamma * sp.SigmaMax
		}
	}
	return math.NaN()
}

// addMarkers marks where run i stopped being finite, forward and
// backward, and where its ‖δ_k‖ fell to exactly 0.
func (b *builder) addMarkers(i int, r *engine.Result, showRaw bool) {
	T := r.Settings.T
	// The current run's overflow is marked in the page's overflow colour,
	// a pin's in its own.
	col := runColor(i)
	top := col
	if i == 0 {
		top = mustHex(OverflowColor)
	}
	prof := r.Profile
	prefix := ""
	if b.fig.hasPins() {
		prefix = b.labels[i] + ": "
	}
	line := draw.LineStyle{Color: top, Width: b.st.pt(2.2), Dashes: []vg.Length{b.st.pt(7), b.st.pt(3)}}
	badge := b.st.marker
	badge.Color = color.White
	mark := func(k int, label string, lineColor color.NRGBA) {
		line := line
		line.Color = lineColor
		b.markers = append(b.markers, &marker{
			x: b.x(k, T), label: prefix + label, line: line,
			text: badge, badge: darken(top, 0.1), row: b.topRows,
		})
		b.topRows++
	}
	if t := r.Overflow.Forward; t > 0 {
		mark(t, fmt.Sprintf(b.tr.stateOverflow, nonFiniteKind(prof.StateNorm[t-1]), t), top)
	}
	if k := r.Overflow.Backward; k > 0 {
		mark(k, fmt.Sprintf(b.tr.deltaOverflow, nonFiniteKind(prof.DEds[k-1]), k), top)
	}
	if showRaw {
		// Step clipping can keep δ_k finite where the unclipped run
		// overflows; that contrast is the point of clipping.
		if k := firstNonFiniteBack(prof.DEdsRaw); k > 0 && k != r.Overflow.Backward {
			mark(k, fmt.Sprintf(b.tr.rawOverflow, nonFiniteKind(prof.DEdsRaw[k-1]), k), lighten(top, 0.35))
		}
	}
	if k, tiny := firstZeroBack(prof.DEds); k > 0 {
		format := b.tr.exactZero
		if tiny {
			format = b.tr.underflow
		}
		low := draw.LineStyle{Color: col, Width: b.st.pt(1.5), Dashes: []vg.Length{b.st.pt(2), b.st.pt(2)}}
		quiet := b.st.marker
		quiet.Color = darken(col, 0.15)
		b.markers = append(b.markers, &marker{
			x: b.x(k, T), label: prefix + fmt.Sprintf(format, k),
			line: low, text: quiet, row: b.lowRows, bottom: true,
		})
		b.lowRows++
	}
}

// firstNonFiniteBack returns the first step k, going back from T, whose
// value is NaN or ±Inf, or 0 if there is none.
func firstNonFiniteBack(values []float64) int {
	for k := len(values); k >= 1; k-- {
		if v := values[k-1]; math.IsNaN(v) || math.IsInf(v, 0) {
			return k
		}
	}
	return 0
}

// firstZeroBack returns the first step k, going back from T, at which a
// profile that was positive becomes exactly 0, and whether the value
// before it was already below 1e−300: an underflow rather than a gradient
// that is 0 by structure (every ReLU unit off).
func firstZeroBack(values []float64) (k int, tiny bool) {
	prev := math.NaN()
	for k := len(values); k >= 1; k-- {
		v := values[k-1]
		if v == 0 && prev > 0 {
			return k, prev < 1e-300
		}
		prev = v
	}
	return 0, false
}

// countZeros returns how many values are exactly 0.
func countZeros(values []float64) int {
	n := 0
	for _, v := range values {
		if v == 0 {
			n++
		}
	}
	return n
}

// setAxes sets the ranges to cover every drawn value and styles the axes.
func (b *builder) setAxes() {
	p, st := b.p, b.st
	maxT := 1
	for _, run := range b.fig.runs() {
		maxT = max(maxT, run.Result.Settings.T)
	}
	p.X.Min, p.X.Max = b.x(1, maxT), b.x(maxT, maxT)
	if p.X.Min > p.X.Max {
		p.X.Min, p.X.Max = p.X.Max, p.X.Min
	}
	if maxT == 1 {
		p.X.Min, p.X.Max = p.X.Min-1, p.X.Max+1
	}
	p.Y.Min, p.Y.Max = yRange(b.curves)
	p.Y.Scale = plot.LogScale{}

	// Room for one labelled tick per three lines of tick text, and per
	// six digits' width on the x axis.
	dataHeight := pixels(float64(b.fig.Height)) * 0.65
	dataWidth := pixels(float64(b.fig.Width)) * 0.6
	p.Y.Tick.Marker = logTicks{maxLabels: max(4, int(dataHeight/(3*st.tick.Font.Size)))}
	p.X.Tick.Marker = stepTicks{maxLabels: max(3, int(dataWidth/(6*st.tick.Font.Size)))}

	p.X.Label.Text = b.tr.xStep
	if b.fig.X == XBack {
		p.X.Label.Text = b.tr.xBack
	}
	// The y axis title is written horizontally above the axis, as the
	// caption's last line: gonum/plot places the glyph box of a rotated
	// title at the arithmetic middle of the range, which on a log axis is
	// near the top and pushes the data area down by half the title.
	p.Y.Label.Text = ""
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		st.styleAxis(a, st.pt(4))
	}
}

// yRange returns a log-axis range that covers every measured value,
// widened to whole decades. The measurements alone set it; theory curves
// leave the frame where they pass it: Pascanu's bound is often many
// decades above a profile that vanishes, and a range stretched to it
// would show the bound as the picture and squash the measurement. Only
// with no measurement does a theory curve set the range. With nothing to
// draw the range is 0.01..100, so the axes of an all-NaN run still make
// sense.
func yRange(curves []*curve) (lo, hi float64) {
	extent := func(theory bool) (lo, hi float64) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, cv := range curves {
			if cv.theory != theory {
				continue
			}
			for _, seg := range cv.segments {
				for _, pt := range seg {
					lo, hi = math.Min(lo, pt.y), math.Max(hi, pt.y)
				}
			}
		}
		return lo, hi
	}
	lo, hi = extent(false)
	if lo > hi {
		lo, hi = extent(true)
	}
	if lo > hi {
		return 1e-2, 1e2
	}
	logLo, logHi := math.Log10(lo), math.Log10(hi)
	// A little air above and below, then out to whole decades; a flat
	// profile (clipped at θ everywhere) gets a decade on each side.
	pad := math.Max(0.02*(logHi-logLo), 0.05)
	if logHi-logLo < 0.5 {
		pad = 1
	}
	eLo := clampDecade(int(math.Floor(logLo - pad)))
	eHi := clampDecade(int(math.Ceil(logHi + pad)))
	// Pow10 of the clamped exponents may still miss the extreme values
	// (5e−324 lies below 1e−323), so the data itself bounds the range.
	return math.Min(math.Pow10(eLo), lo), math.Max(math.Pow10(eHi), hi)
}

// addFrame adds the caption above the data and the legend beside it,
// sized so that both fit the figure.
func (b *builder) addFrame() {
	st := b.st
	w, h := b.fig.Size()
	w -= 2 * pixels(margin*st.scale)
	h -= 2 * pixels(margin*st.scale)

	leg := &sideLegend{entries: b.entries, text: st.legend, thumbWidth: st.pt(34), gap: st.pt(14)}
	// The legend may take at most 30% of the width; long labels are cut
	// rather than squeezing the data.
	leg.maxText = 0.3*w - leg.gap - leg.textOffset()
	b.p.Add(leg)

	capt := &caption{gap: st.tick.Font.Size * 1.2}
	heading := b.tr.heading
	if f := b.fig.reveal; f > 0 {
		heading = fmt.Sprintf(b.tr.revealed, int(math.Round(f*100)))
	}
	capt.lines = append(capt.lines, captionLine{text: heading, style: st.heading})
	avail := w - b.yAxisWidth()
	r := b.fig.Current.Result
	for _, line := range wrap(st.caption, readableCaption(r.Settings, b.fig.Lang, b.tr), avail) {
		capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
	}
	if r.Spectrum != nil {
		for _, line := range wrap(st.caption, theoryCaption(r.Spectrum, r.Settings.Loss, b.fig.Lang, b.tr), avail) {
			capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
		}
	}
	if t := takeaway(r, b.fig.Lang, b.tr); t != "" {
		strong := st.caption
		strong.Font = st.heading.Font
		strong.Font.Size = st.caption.Font.Size
		for _, line := range wrapWords(strong, t, avail) {
			capt.lines = append(capt.lines, captionLine{text: line, style: strong})
		}
	}
	if b.fig.Link != "" {
		for _, line := range wrapLink(st.caption, b.tr.link+b.fig.Link, avail) {
			capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
		}
	}
	yTitle := st.axis
	capt.lines = append(capt.lines, captionLine{text: b.tr.yAxis, style: yTitle, space: st.pt(6)})
	b.p.Add(capt)

	// If the legend is taller than the data area, shrink its text.
	dataHeight := h - capt.height() - b.xAxisHeight()
	if lh := leg.height(); lh > dataHeight && lh > 0 {
		leg.text.Font.Size = vg.Length(math.Max(float64(leg.text.Font.Size)*float64(dataHeight/lh), float64(st.pt(7))))
	}
}

// yAxisWidth estimates the width gonum/plot gives the y axis, to wrap the
// caption that starts at the axis' right edge.
func (b *builder) yAxisWidth() vg.Length {
	a := b.p.Y
	w := a.Label.TextStyle.Height(a.Label.Text) + a.Label.Padding + a.Label.TextStyle.FontExtents().Descent
	for _, t := range a.Tick.Marker.Ticks(a.Min, a.Max) {
		if !t.IsMinor() {
			w = max(w, a.Label.TextStyle.Height(a.Label.Text)+a.Label.Padding+a.Tick.Label.Width(t.Label))
		}
	}
	return w + a.Label.TextStyle.Width(" ") + a.Tick.Length + a.Padding
}

// xAxisHeight estimates the height of the x axis.
func (b *builder) xAxisHeight() vg.Length {
	a := b.p.X
	return a.Label.TextStyle.Height(a.Label.Text) + a.Label.Padding + a.Tick.Label.Height("0") + a.Tick.Length + a.Padding
}

// wrap joins items with wide spaces into lines no wider than width. The
// spaces are no-break spaces: SVG viewers collapse runs of ordinary ones
// and the items would run together.
func wrap(sty text.Style, items []string, width vg.Length) []string {
	const sep = "\u00a0\u00a0\u00a0\u00a0"
	var lines []string
	line := ""
	for _, it := range items {
		switch {
		case line == "":
			line = it
		case sty.Width(line+sep+it) <= width:
			line += sep + it
		default:
			lines = append(lines, line)
			line = it
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// wrapLink breaks a URL into lines no wider than width, after a '?' or
// before an '&', so that every line is whole parameters.
func wrapLink(sty text.Style, link string, width vg.Length) []string {
	var parts []string
	for rest := link; rest != ""; {
		i := strings.IndexAny(rest[1:], "?&")
		if i < 0 {
			parts = append(parts, rest)
			break
		}
		cut := i + 1
		if rest[cut] == '?' {
			cut++
		}
		parts = append(parts, rest[:cut])
		rest = rest[cut:]
	}
	var lines []string
	line := ""
	for _, p := range parts {
		if line != "" && sty.Width(line+p) > width {
			lines = append(lines, line)
			line = ""
		}
		line += p
	}
	return append(lines, line)
}

// fitWidth cuts s with an ellipsis until it is at most width wide.
func fitWidth(sty text.Style, s string, width vg.Length) string {
	if sty.Width(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && sty.Width(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// lighten mixes c with white; f = 0 leaves it, f = 1 gives white.
func lighten(c color.NRGBA, f float64) color.NRGBA {
	mix := func(v uint8) uint8 { return uint8(float64(v) + f*(255-float64(v)) + 0.5) }
	return color.NRGBA{mix(c.R), mix(c.G), mix(c.B), c.A}
}

// darken mixes c with black, for text in a run's colour.
func darken(c color.NRGBA, f float64) color.NRGBA {
	mix := func(v uint8) uint8 { return uint8(float64(v)*(1-f) + 0.5) }
	return color.NRGBA{mix(c.R), mix(c.G), mix(c.B), c.A}
}
