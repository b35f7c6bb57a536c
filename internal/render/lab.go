package render

import (
	"context"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"gradviz/internal/engine"
)

// The training lab's exports: the loss or the accuracy of every run over
// the iterations, or the probe profile ‖∂E/∂s_k‖ of every run at the
// last checkpoint; as CSV every window of every run; as an animated GIF
// the probe profile at each checkpoint.

// LabChart is what a lab figure draws.
type LabChart string

// The lab's charts.
const (
	LabLoss     LabChart = "loss"
	LabAccuracy LabChart = "accuracy"
	LabProfile  LabChart = "profile"
	LabHeat     LabChart = "heat"
)

// LabCharts lists every LabChart.
var LabCharts = []LabChart{LabLoss, LabAccuracy, LabProfile, LabHeat}

// MaxHeatColumns bounds the columns of a run's heatmap; the page asks
// for about 200 windows.
const MaxHeatColumns = 250

// The heatmap's scale, the page's: ‖∂E/∂s_k‖/‖∂E/∂s_T‖ from 10^−10 to
// 10^2, fixed so that runs side by side share it.
const (
	heatLo = -10.0
	heatHi = 2.0
)

// LabWindow is the means over one window of iterations of a run, as a
// "progress" message carries them.
type LabWindow struct {
	Iteration                                           int
	Loss, Accuracy, GradNorm, GradNormClipped, ClipRate float64
	NonFinite                                           int
	// Horizon is engine.Horizon of the probe profile at the window's
	// end; Profile is that profile, kept for at most MaxHeatColumns
	// windows of a run (nil for the others).
	Horizon int
	Profile []float64
}

// LabCheckpoint is the probe profile ‖∂E/∂s_k‖ of a run at an iteration.
type LabCheckpoint struct {
	Iteration int
	Profile   []float64
}

// LabRun is one trained model: its windows, its checkpoints and how it
// ended ("finished", "diverged", "limit") at which iteration.
type LabRun struct {
	Cell         engine.Cell
	Windows      []LabWindow
	Checkpoints  []LabCheckpoint
	End          string
	EndIteration int
}

// LabFigure is a training lab's figure.
type LabFigure struct {
	Model      engine.Settings // run 0's model, as the task shapes it
	Task       engine.Task
	Optimizer  engine.OptimizerKind
	Iterations int
	Baseline   float64
	Chance     float64
	Runs       []LabRun
	Chart      LabChart
	Width      int
	Height     int
	Lang       Lang
	Link       string
}

// labColor is a run's colour, as the page's lab: the cell's colour from
// the series table's palette.
func labColor(c engine.Cell) color.NRGBA {
	switch c {
	case engine.CellLSTM:
		return mustHex(PinColors[5])
	case engine.CellGRU:
		return mustHex(PinColors[0])
	case engine.CellAttn:
		return mustHex(PinColors[6])
	}
	return mustHex(RunColor)
}

func (f LabFigure) withDefaults() (LabFigure, error) {
	defaultSize(&f.Width, &f.Height)
	if f.Lang == "" {
		f.Lang = English
	}
	if f.Chart == "" {
		f.Chart = LabLoss
	}
	switch {
	case !isOneOf(f.Lang, Langs):
		return f, fmt.Errorf("render: language must be en or es, got %q", f.Lang)
	case !isOneOf(f.Chart, LabCharts):
		return f, fmt.Errorf("render: unknown lab chart %q", f.Chart)
	case !sizeOK(f.Width, f.Height):
		return f, sizeError(f.Width, f.Height)
	case len(f.Runs) == 0:
		return f, fmt.Errorf("render: a lab figure needs a run")
	}
	for _, r := range f.Runs {
		if len(r.Checkpoints) == 0 {
			return f, fmt.Errorf("render: run %s has no checkpoint", r.Cell)
		}
	}
	return f, nil
}

// FileName names the export: the task, the cells, the extension.
func (f LabFigure) FileName(ext string) string {
	cells := make([]string, len(f.Runs))
	for i, r := range f.Runs {
		cells[i] = string(r.Cell)
	}
	return fmt.Sprintf("gradviz-lab-%s-%s-T%d.%s", f.Task, strings.Join(cells, "-"), f.Model.T, ext)
}

type labPhrases struct {
	heading                 map[LabChart]string
	heatScale, zero, nonFin string
	horizon                 string
	frame                   string // format: iteration, iterations
	iteration, loss, acc, k string
	yProfile                string
	baseline, chance        string
	task, optimizer, lr     string
	batch, iterations       string
	end                     map[string]string // format: iteration
	final                   string            // format: cell, accuracy %
	finalLoss               string            // format: cell, loss
}

func labPhrasesFor(lang Lang) labPhrases {
	if lang == Spanish {
		return labPhrases{
			heading: map[LabChart]string{
				LabLoss:     "Laboratorio de entrenamiento: la pérdida a lo largo de las iteraciones",
				LabAccuracy: "Laboratorio de entrenamiento: la exactitud a lo largo de las iteraciones",
				LabProfile:  "Laboratorio de entrenamiento: el perfil ‖∂E/∂s_k‖ del modelo entrenado",
				LabHeat:     "Laboratorio de entrenamiento: ‖∂E/∂s_k‖/‖∂E/∂s_T‖ de cada modelo a lo largo del entrenamiento, con el horizonte de memoria",
			},
			heatScale: "log10 ‖∂E/∂s_k‖/‖∂E/∂s_T‖", zero: "0 (subdesbordamiento)", nonFin: "Inf/NaN (desbordamiento)",
			horizon:   "horizonte de memoria (1e−3)",
			frame:     "El perfil ‖∂E/∂s_k‖ del modelo en entrenamiento, iteración %d de %d",
			iteration: "iteración", loss: "pérdida (media de la ventana)", acc: "exactitud (media de la ventana)", k: "paso k",
			yProfile: "‖∂E/∂s_k‖ en la secuencia de prueba (escala logarítmica)",
			baseline: "referencia sin memoria", chance: "azar",
			task: "Tarea", optimizer: "Optimizador", lr: "Tasa de aprendizaje", batch: "Lote", iterations: "Iteraciones",
			end: map[string]string{
				"diverged": "divergió en la iteración %d", "limit": "detenido por el límite de CPU del servidor en la iteración %d",
			},
			final:     "%s termina con una exactitud del %s %%",
			finalLoss: "%s termina con una pérdida de %s",
		}
	}
	return labPhrases{
		heading: map[LabChart]string{
			LabLoss:     "Training lab: the loss over the iterations",
			LabAccuracy: "Training lab: the accuracy over the iterations",
			LabProfile:  "Training lab: the profile ‖∂E/∂s_k‖ of the trained model",
			LabHeat:     "Training lab: ‖∂E/∂s_k‖/‖∂E/∂s_T‖ of each model over the training, with the memory horizon",
		},
		heatScale: "log10 ‖∂E/∂s_k‖/‖∂E/∂s_T‖", zero: "0 (underflow)", nonFin: "Inf/NaN (overflow)",
		horizon:   "memory horizon (1e−3)",
		frame:     "The profile ‖∂E/∂s_k‖ of the model being trained, iteration %d of %d",
		iteration: "iteration", loss: "loss (mean over the window)", acc: "accuracy (mean over the window)", k: "step k",
		yProfile: "‖∂E/∂s_k‖ on the probe sequence (log scale)",
		baseline: "memoryless baseline", chance: "chance",
		task: "Task", optimizer: "Optimizer", lr: "Learning rate", batch: "Batch", iterations: "Iterations",
		end: map[string]string{
			"diverged": "diverged at iteration %d", "limit": "stopped by the server's CPU limit at iteration %d",
		},
		final:     "%s ends at %s%% accuracy",
		finalLoss: "%s ends at a loss of %s",
	}
}

// labLine is one run's curve of a lab chart.
func labLine(st style, c color.NRGBA, pts []point, logY bool) *curve {
	keep := func(y float64) bool { return !math.IsNaN(y) && !math.IsInf(y, 0) && (!logY || y > 0) }
	return &curve{style: draw.LineStyle{Color: c, Width: st.px(2.2)}, segments: segments(pts, keep)}
}

// labPlot builds the figure; frame ≥ 0 draws checkpoint frame of the
// profile chart, on the axes of every checkpoint.
func labPlot(fig LabFigure, frame int) *plot.Plot {
	st := newStyle(Figure{Width: fig.Width, Height: fig.Height})
	tr := labPhrasesFor(fig.Lang)
	p := plot.New()
	var curves []*curve
	var entries []legendEntry
	name := func(r LabRun) string {
		if e, ok := tr.end[r.End]; ok {
			return cellName(r.Cell, fig.Lang) + " (" + fmt.Sprintf(e, r.EndIteration) + ")"
		}
		return cellName(r.Cell, fig.Lang)
	}
	chart := fig.Chart
	if frame >= 0 {
		chart = LabProfile
	}
	heading := tr.heading[chart]
	switch chart {
	case LabLoss, LabAccuracy:
		for _, r := range fig.Runs {
			pts := make([]point, len(r.Windows))
			for i, w := range r.Windows {
				v := w.Loss
				if chart == LabAccuracy {
					v = w.Accuracy
				}
				pts[i] = point{float64(w.Iteration), v}
			}
			cv := labLine(st, labColor(r.Cell), pts, false)
			curves = append(curves, cv)
			entries = append(entries, legendEntry{text: name(r), thumb: cv})
		}
		level, label := fig.Baseline, tr.baseline
		p.Y.Label.Text = tr.loss
		if chart == LabAccuracy {
			level, label = fig.Chance, tr.chance
			p.Y.Label.Text = tr.acc
		}
		guide := &curve{style: draw.LineStyle{Color: color.NRGBA{0x55, 0x55, 0x55, 0xFF}, Width: st.px(1.5), Dashes: []vg.Length{st.px(8), st.px(5)}},
			segments: [][]point{{{1, level}, {float64(fig.Iterations), level}}}}
		curves = append(curves, guide)
		entries = append(entries, legendEntry{text: label + " = " + decimal(formatValue(level), fig.Lang), thumb: guide})
		p.X.Min, p.X.Max = 0, float64(fig.Iterations)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, cv := range curves {
			for _, seg := range cv.segments {
				for _, pt := range seg {
					lo, hi = math.Min(lo, pt.y), math.Max(hi, pt.y)
				}
			}
		}
		if chart == LabAccuracy {
			lo, hi = 0, 1
		}
		if !(lo < hi) {
			lo, hi = lo-1, lo+1
		}
		pad := 0.04 * (hi - lo)
		p.Y.Min, p.Y.Max = math.Max(0, lo-pad), hi+pad
		p.X.Label.Text = tr.iteration
	case LabHeat:
		// Drawn by labHeat below.
	case LabProfile:
		T := 0
		for _, r := range fig.Runs {
			for _, c := range r.Checkpoints {
				T = max(T, len(c.Profile))
			}
		}
		all := []*curve{}
		for _, r := range fig.Runs {
			for _, c := range r.Checkpoints {
				all = append(all, labLine(st, color.NRGBA{}, profilePoints(c.Profile), true))
			}
		}
		for _, r := range fig.Runs {
			cp := r.Checkpoints[len(r.Checkpoints)-1]
			if frame >= 0 {
				cp = r.Checkpoints[min(frame, len(r.Checkpoints)-1)]
			}
			cv := labLine(st, labColor(r.Cell), profilePoints(cp.Profile), true)
			curves = append(curves, cv)
			entries = append(entries, legendEntry{text: name(r), thumb: cv})
		}
		if frame >= 0 {
			it := fig.Runs[0].Checkpoints[min(frame, len(fig.Runs[0].Checkpoints)-1)].Iteration
			heading = fmt.Sprintf(tr.frame, it, fig.Iterations)
		}
		p.X.Min, p.X.Max = 1, float64(max(T, 2))
		p.Y.Min, p.Y.Max = yRange(all)
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{maxLabels: max(4, int(pixels(float64(fig.Height))*0.6/(3*st.tick.Font.Size)))}
		p.X.Tick.Marker = stepTicks{maxLabels: max(3, int(pixels(float64(fig.Width))*0.6/(6*st.tick.Font.Size)))}
		p.X.Label.Text = tr.k
		p.Y.Label.Text = ""
	}
	var legendWidth vg.Length
	if chart == LabHeat {
		p.HideAxes()
		p.Add(&labHeat{fig: fig, st: st, tr: tr, back: phrasesFor(fig.Lang).xBack})
		leg := &phaseLegend{text: st.legend, title: tr.heatScale, lo: heatLo, hi: heatHi, gap: st.pt(16), bar: st.pt(18), color: mapColor,
			entries: []legendEntry{
				{text: tr.horizon, thumb: &curve{style: draw.LineStyle{Color: color.NRGBA{0x44, 0x44, 0x44, 0xFF}, Width: st.px(2.5)}}},
				{text: tr.zero, thumb: swatch(mapZero)}, {text: tr.nonFin, thumb: swatch(PhaseNonFinite)},
			}}
		p.Add(leg)
		legendWidth = leg.width()
	} else {
		for _, a := range []*plot.Axis{&p.X, &p.Y} {
			st.styleAxis(a, st.pt(4))
		}
		p.Add(&grid{style: draw.LineStyle{Color: gridColor, Width: st.pt(0.8)}})
		for i := len(curves) - 1; i >= 0; i-- {
			p.Add(curves[i])
		}
		leg := &sideLegend{text: st.legend, thumbWidth: st.pt(34), gap: st.pt(14), entries: entries}
		leg.maxText = 0.3 * pixels(float64(fig.Width))
		p.Add(leg)
		legendWidth = leg.width()
	}

	ptr := phrasesFor(fig.Lang)
	w := pixels(float64(fig.Width)) - 2*pixels(margin*st.scale) - legendWidth - st.pt(70)
	capt := &caption{gap: st.tick.Font.Size * 1.2}
	for _, line := range wrapWords(st.heading, heading, w) {
		capt.lines = append(capt.lines, captionLine{text: line, style: st.heading})
	}
	items := []string{
		tr.task + ": " + in(engine.TaskLabels[fig.Task], fig.Lang), tr.optimizer + ": " + in(engine.OptimizerLabels[fig.Optimizer], fig.Lang),
		tr.iterations + ": " + strconv.Itoa(fig.Iterations),
	}
	items = append(items, readableCaption(fig.Model, fig.Lang, ptr, "cell", "D", "loss")...)
	for _, line := range wrap(st.caption, items, w) {
		capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
	}
	var finals []string
	for _, r := range fig.Runs {
		if len(r.Windows) == 0 {
			continue
		}
		last := r.Windows[len(r.Windows)-1]
		if fig.Task == engine.TaskAdding {
			finals = append(finals, fmt.Sprintf(tr.finalLoss, cellName(r.Cell, fig.Lang), decimal(formatValue(last.Loss), fig.Lang)))
		} else {
			finals = append(finals, fmt.Sprintf(tr.final, cellName(r.Cell, fig.Lang), decimal(strconv.FormatFloat(100*last.Accuracy, 'f', 0, 64), fig.Lang)))
		}
	}
	if len(finals) > 0 {
		strong := st.caption
		strong.Font = st.heading.Font
		strong.Font.Size = st.caption.Font.Size
		for _, line := range wrapWords(strong, strings.Join(finals, "; ")+".", w) {
			capt.lines = append(capt.lines, captionLine{text: line, style: strong})
		}
	}
	if fig.Link != "" {
		for _, line := range wrapLink(st.caption, ptr.link+fig.Link, w) {
			capt.lines = append(capt.lines, captionLine{text: line, style: st.caption})
		}
	}
	if chart == LabProfile {
		capt.lines = append(capt.lines, captionLine{text: tr.yProfile, style: st.axis, space: st.pt(6)})
	}
	p.Add(capt)
	localizeTicks(p, fig.Lang)
	return p
}

// labHeat draws each run's heatmap side by side: a column per window
// (iteration to the right), a row per step back T−k (0 at the bottom),
// coloured by ‖∂E/∂s_k‖/‖∂E/∂s_T‖ on the page's fixed scale, with the
// memory horizon as a white line over a dark one, as on the page.
type labHeat struct {
	fig  LabFigure
	st   style
	tr   labPhrases
	back string
}

// Plot implements plot.Plotter.
func (h *labHeat) Plot(c draw.Canvas, _ *plot.Plot) {
	st := h.st
	n := len(h.fig.Runs)
	gap := st.pt(28)
	tickW := st.tick.Width("0000")
	rowH := st.axis.Height("Xg")
	left, right := c.Min.X+tickW+rowH, c.Max.X
	top, bottom := c.Max.Y-rowH*1.3, c.Min.Y+st.tick.Height("0")*2.6
	pw := (right - left - gap*vg.Length(n-1)) / vg.Length(n)
	ph := top - bottom
	// The y axis' title, once, rotated along the left edge.
	ytitle := st.axis
	ytitle.Rotation, ytitle.XAlign, ytitle.YAlign = math.Pi/2, draw.XCenter, draw.YTop
	c.FillText(ytitle, vg.Point{X: c.Min.X, Y: (top + bottom) / 2}, h.back)
	tick := st.tick
	for i, r := range h.fig.Runs {
		x0 := left + vg.Length(i)*(pw+gap)
		var cols []LabWindow
		for _, w := range r.Windows {
			if w.Profile != nil {
				cols = append(cols, w)
			}
		}
		T := 1
		for _, w := range cols {
			T = max(T, len(w.Profile))
		}
		cw, rh := pw/vg.Length(max(len(cols), 1)), ph/vg.Length(T)
		for j, w := range cols {
			p := w.Profile
			last := p[len(p)-1]
			for k := 1; k <= len(p); k++ {
				v := p[k-1]
				var fill color.NRGBA
				switch {
				case w.NonFinite > 0 || math.IsNaN(v) || math.IsInf(v, 0) || math.IsNaN(last) || math.IsInf(last, 0):
					fill = PhaseNonFinite
				case last == 0:
					if v == 0 {
						fill = mapZero
					} else {
						fill = color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
					}
				case v == 0:
					fill = mapZero
				default:
					fill = mapColor(math.Log10(v/last), heatLo, heatHi)
				}
				y := bottom + vg.Length(len(p)-k)*rh
				x := x0 + vg.Length(j)*cw
				c.FillPolygon(fill, []vg.Point{{X: x, Y: y}, {X: x + cw + 0.4, Y: y}, {X: x + cw + 0.4, Y: y + rh + 0.4}, {X: x, Y: y + rh + 0.4}})
			}
		}
		// The memory horizon.
		var pts []vg.Point
		for j, w := range cols {
			pts = append(pts, vg.Point{X: x0 + (vg.Length(j)+0.5)*cw, Y: bottom + (vg.Length(w.Horizon)+0.5)*rh})
		}
		if len(pts) > 1 {
			c.StrokeLines(draw.LineStyle{Color: color.NRGBA{0, 0, 0, 0x99}, Width: st.px(3)}, pts)
			c.StrokeLines(draw.LineStyle{Color: color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}, Width: st.px(1.5)}, pts)
		}
		frame := draw.LineStyle{Color: color.NRGBA{0x88, 0x88, 0x88, 0xFF}, Width: st.pt(0.8)}
		c.StrokeLines(frame, []vg.Point{{X: x0, Y: bottom}, {X: x0 + pw, Y: bottom}, {X: x0 + pw, Y: top}, {X: x0, Y: top}, {X: x0, Y: bottom}})
		name := st.axis
		name.XAlign, name.YAlign = draw.XLeft, draw.YBottom
		c.FillText(name, vg.Point{X: x0, Y: top + st.pt(3)}, cellName(r.Cell, h.fig.Lang))
		tick.XAlign, tick.YAlign = draw.XRight, draw.YCenter
		c.FillText(tick, vg.Point{X: x0 - st.pt(3), Y: bottom + rh/2}, "0")
		c.FillText(tick, vg.Point{X: x0 - st.pt(3), Y: top - rh/2}, strconv.Itoa(T-1))
		tick.XAlign, tick.YAlign = draw.XLeft, draw.YTop
		c.FillText(tick, vg.Point{X: x0, Y: bottom - st.pt(3)}, h.tr.iteration)
		tick.XAlign = draw.XRight
		last := 0
		if len(cols) > 0 {
			last = cols[len(cols)-1].Iteration
		}
		c.FillText(tick, vg.Point{X: x0 + pw, Y: bottom - st.pt(3)}, strconv.Itoa(last))
	}
}

// profilePoints turns a profile into points at k = 1..T.
func profilePoints(values []float64) []point {
	pts := make([]point, len(values))
	for i, v := range values {
		pts[i] = point{float64(i + 1), v}
	}
	return pts
}

// WriteLabImage draws the lab's chart in format to w.
func WriteLabImage(w io.Writer, fig LabFigure, format Format) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	return writeView(w, labPlot(fig, -1), fig.Width, fig.Height, format)
}

// WriteLabGIF writes the probe profile of every run at each checkpoint
// (iteration 0, n/10, …, n) as an animated GIF, one frame a checkpoint,
// on the axes of all of them. It stops between frames once ctx is done.
func WriteLabGIF(ctx context.Context, w io.Writer, fig LabFigure) error {
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	n := 0
	for _, r := range fig.Runs {
		n = max(n, len(r.Checkpoints))
	}
	frames := make([]*image.Paletted, 0, n)
	m := viewMargin(fig.Width, fig.Height)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		c := vgimg.New(pixels(float64(fig.Width)), pixels(float64(fig.Height)))
		drawOn(c, labPlot(fig, i), m)
		frames = append(frames, toPalette(c.Image()))
	}
	return encodeGIF(ctx, w, frames)
}

// WriteLabCSV writes one row per window of every run: the run, its cell,
// the window's last iteration and its means, as the lab's progress
// messages; then, per run, its end.
func WriteLabCSV(w io.Writer, fig LabFigure) error {
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"run", "cell", "iter", "loss", "accuracy", "gradNorm", "gradNormClipped", "clipRate", "nonFinite", "horizon", "end"})
	for i, r := range fig.Runs {
		for j, win := range r.Windows {
			end := ""
			if j == len(r.Windows)-1 {
				end = r.End
			}
			_ = cw.Write([]string{strconv.Itoa(i), string(r.Cell), strconv.Itoa(win.Iteration), formatCSV(win.Loss), formatCSV(win.Accuracy),
				formatCSV(win.GradNorm), formatCSV(win.GradNormClipped), formatCSV(win.ClipRate), strconv.Itoa(win.NonFinite), strconv.Itoa(win.Horizon), end})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("render: write csv: %w", err)
	}
	return nil
}
