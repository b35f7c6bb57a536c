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
	b := &builder{fig: fig, st: newStyle(fig), tr: phrasesFor(fig.Lang), labels: fig.runLabels()}
	return b.build(), nil
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

// runColors is the Okabe–Ito palette, which stays distinct under every
// common colour-vision deficiency. The current run takes blue; yellow,
// the palette's weakest colour on white, comes last.
var runColors = []color.NRGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0x00, 0x00, 0x00, 0xFF}, // black
	{0xC8, 0xB4, 0x00, 0xFF}, // yellow, darkened to read as a line
}

// Colours of the theory lines, which belong to no run.
var (
	boundColor     = color.NRGBA{0x55, 0x55, 0x55, 0xFF}
	thresholdColor = color.NRGBA{0x22, 0x22, 0x22, 0xFF}
	// Brown and dark red, which no run colour comes near.
	cellPathColor = color.NRGBA{0x8C, 0x56, 0x4B, 0xFF}
	stateColor    = color.NRGBA{0xB2, 0x22, 0x22, 0xFF}
	gridColor     = color.NRGBA{0xE4, 0xE4, 0xE4, 0xFF}
)

// style holds the fonts and line widths of one figure. Everything scales
// with the figure, so a 2400×1400 PNG looks like a 1200×700 one at twice
// the resolution.
type style struct {
	scale                      float64
	tick, axis, legend, marker text.Style
	heading, caption           text.Style
	main, other                vg.Length // line widths
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
	st.main = st.pt(2.2)
	st.other = st.pt(1.6)
	return st
}

// pt returns a length given in points at the default figure size.
func (st style) pt(v float64) vg.Length { return vg.Points(v * st.scale) }

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

// series turns values (index k−1 for step k) into a curve cut at every
// value that a log axis cannot show.
func (b *builder) series(values []float64, T int, sty draw.LineStyle) *curve {
	cv := &curve{style: sty}
	var seg []point
	for i, v := range values {
		if v > 0 && !math.IsInf(v, 1) {
			seg = append(seg, point{b.x(i+1, T), v})
			continue
		}
		if len(seg) > 0 {
			cv.segments = append(cv.segments, seg)
			seg = nil
		}
	}
	if len(seg) > 0 {
		cv.segments = append(cv.segments, seg)
	}
	return cv
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

// addRun adds a run's measured profiles and markers.
func (b *builder) addRun(i int, r *engine.Result) {
	T := r.Settings.T
	col := runColors[i%len(runColors)]
	name := b.tr.profile
	if b.fig.hasPins() {
		name = b.labels[i]
	} else if b.labels[i] != "" {
		name = b.labels[i] + ": " + name
	}

	prof := r.Profile
	showRaw := r.Settings.Clip.IsStep() || !sameSeries(prof.DEds, prof.DEdsRaw)
	main := b.series(prof.DEds, T, draw.LineStyle{Color: col, Width: b.st.main})
	if !showRaw {
		b.addCurve(main, name, "", prof.DEds)
	} else {
		b.addCurve(main, name, " "+b.tr.clipped, prof.DEds)
		raw := b.series(prof.DEdsRaw, T, draw.LineStyle{
			Color: lighten(col, 0.35), Width: b.st.other,
			Dashes: []vg.Length{b.st.pt(6), b.st.pt(3)},
		})
		b.addCurve(raw, name, " "+b.tr.unclipped, prof.DEdsRaw)
	}
	if i == 0 && main.empty() {
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
	b.addMarkers(i, r, col, showRaw)
}

// addTheory adds the current run's curves that are not ‖∂E/∂s_k‖ itself.
func (b *builder) addTheory(r *engine.Result) {
	T := r.Settings.T
	// These curves belong to the current run only, which their colour
	// says; a run name in front would make the legend twice as wide.
	col := runColors[0]
	prof := r.Profile
	if prof.DEdc != nil {
		cv := b.series(prof.DEdc, T, draw.LineStyle{
			Color: col, Width: b.st.other,
			Dashes: []vg.Length{b.st.pt(1.5), b.st.pt(3)},
		})
		b.addCurve(cv, b.tr.cellState, "", prof.DEdc)
	}
	if prof.CellPath != nil {
		// The LSTM's second path: how much of c_k survives to c_T through
		// the forget gates, beside what σ(b_f) alone predicts.
		cv := b.series(prof.CellPath, T, draw.LineStyle{Color: cellPathColor, Width: b.st.other})
		b.addCurve(cv, b.tr.cellPath, "", prof.CellPath)
		pred := b.series(prof.ForgetPrediction, T, draw.LineStyle{
			Color: cellPathColor, Width: b.st.other,
			Dashes: []vg.Length{b.st.pt(2), b.st.pt(2)},
		})
		pred.theory = true
		b.addCurve(pred, b.tr.forgetPredict, "", prof.ForgetPrediction)
	}
	if r.Overflow.Forward > 0 && prof.StateNorm != nil {
		// Where the forward pass overflowed, every gradient is NaN; the
		// states show how it came to that.
		cv := b.series(prof.StateNorm, T, draw.LineStyle{Color: stateColor, Width: b.st.other})
		b.addCurve(cv, b.tr.stateNorm, "", prof.StateNorm)
	}
	if prof.DEdsRev != nil {
		cv := b.series(prof.DEdsRev, T, draw.LineStyle{
			Color: lighten(col, 0.2), Width: b.st.other,
			Dashes: []vg.Length{b.st.pt(9), b.st.pt(3), b.st.pt(2), b.st.pt(3)},
		})
		suffix := ""
		if zeros := countZeros(prof.DEdsRev); zeros > 0 && !cv.empty() {
			// With loss=last only s′_T reaches the scored output, so the
			// reverse chain's profile is 0 everywhere else: say so, or
			// the single dot at k = T looks like a missing curve.
			suffix = fmt.Sprintf(b.tr.zeroAt, zeros, T)
		}
		b.addCurve(cv, b.tr.reverse, suffix, prof.DEdsRev)
	}
	if prof.Bound != nil {
		cv := b.series(prof.Bound, T, draw.LineStyle{
			Color: boundColor, Width: b.st.other,
			Dashes: []vg.Length{b.st.pt(8), b.st.pt(4)},
		})
		cv.theory = true
		b.addCurve(cv, b.tr.bound, "", prof.Bound)
	}
	if s := r.Settings; s.Clip.IsStep() {
		// A horizontal line over the run's steps. It is a curve like any
		// other, so the y range includes it.
		what := b.tr.thresholdNorm
		if s.Clip == engine.ClipStepValue {
			what = b.tr.thresholdValue
		}
		cv := &curve{
			segments: [][]point{{{b.x(1, T), s.Threshold}, {b.x(T, T), s.Threshold}}},
			style: draw.LineStyle{
				Color: thresholdColor, Width: b.st.pt(1.2),
				Dashes: []vg.Length{b.st.pt(10), b.st.pt(3), b.st.pt(2), b.st.pt(3)},
			},
		}
		b.addCurve(cv, fmt.Sprintf(b.tr.threshold, formatSetting(s.Threshold)), what, nil)
	}
}

// addMarkers marks where run i stopped being finite, forward and
// backward, and where its ‖δ_k‖ fell to exactly 0.
func (b *builder) addMarkers(i int, r *engine.Result, col color.NRGBA, showRaw bool) {
	T := r.Settings.T
	prof := r.Profile
	prefix := ""
	if b.fig.hasPins() {
		prefix = b.labels[i] + ": "
	}
	line := draw.LineStyle{Color: col, Width: b.st.pt(2.2), Dashes: []vg.Length{b.st.pt(7), b.st.pt(3)}}
	badge := b.st.marker
	badge.Color = color.White
	top := func(k int, label string, lineColor color.NRGBA) {
		line := line
		line.Color = lineColor
		b.markers = append(b.markers, &marker{
			x: b.x(k, T), label: prefix + label, line: line,
			text: badge, badge: darken(col, 0.1), row: b.topRows,
		})
		b.topRows++
	}
	if t := r.Overflow.Forward; t > 0 {
		top(t, fmt.Sprintf(b.tr.stateOverflow, nonFiniteKind(prof.StateNorm[t-1]), t), col)
	}
	if k := r.Overflow.Backward; k > 0 {
		top(k, fmt.Sprintf(b.tr.deltaOverflow, nonFiniteKind(prof.DEds[k-1]), k), col)
	}
	if showRaw {
		// Step clipping can keep δ_k finite where the unclipped run
		// overflows; that contrast is the point of clipping.
		if k := firstNonFiniteBack(prof.DEdsRaw); k > 0 && k != r.Overflow.Backward {
			top(k, fmt.Sprintf(b.tr.rawOverflow, nonFiniteKind(prof.DEdsRaw[k-1]), k), lighten(col, 0.35))
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

// sameSeries reports whether two series are equal, NaN equal to NaN.
func sameSeries(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
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
		xa, ya := a.Tick.Label.XAlign, a.Tick.Label.YAlign
		a.Tick.Label = st.tick
		a.Tick.Label.XAlign, a.Tick.Label.YAlign = xa, ya
		xa, ya = a.Label.TextStyle.XAlign, a.Label.TextStyle.YAlign
		a.Label.TextStyle = st.axis
		a.Label.TextStyle.XAlign, a.Label.TextStyle.YAlign = xa, ya
		a.Label.Padding = st.pt(4)
		a.Padding = st.pt(4)
		a.LineStyle.Width = st.pt(1)
		a.Tick.LineStyle.Width = st.pt(1)
		a.Tick.Length = st.pt(6)
	}
}

// yRange returns a log-axis range that covers every measured value,
// widened to whole decades. Theory curves may widen it by as many decades
// as the measurements span (at least theoryReach) and leave the frame
// beyond: Pascanu's bound is often 1e70 above a profile that stays near
// 1, and showing all of it would squash the measurement into a line.
// With nothing to draw the range is 0.01..100, so the axes of an all-NaN
// run still make sense.
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
	tlo, thi := extent(true)
	switch {
	case lo > hi && tlo > thi:
		return 1e-2, 1e2
	case lo > hi:
		lo, hi = tlo, thi
	case tlo <= thi:
		reach := math.Pow(10, math.Max(theoryReach, math.Log10(hi/lo)))
		lo = math.Max(math.Min(lo, tlo), lo/reach)
		hi = math.Min(math.Max(hi, thi), hi*reach)
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

// theoryReach is how many decades beyond the measurements a theory curve
// may always widen the y range.
const theoryReach = 10

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
	capt.lines = append(capt.lines, captionLine{text: b.tr.heading, style: st.heading})
	avail := w - b.yAxisWidth()
	r := b.fig.Current.Result
	for _, line := range wrap(st.caption, settingsCaption(r.Settings), avail) {
		capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
	}
	if r.Spectrum != nil {
		for _, line := range wrap(st.caption, theoryCaption(r.Spectrum, r.Settings.Loss, b.tr), avail) {
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
