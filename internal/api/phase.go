package api

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gradviz/internal/engine"
	"gradviz/internal/render"
)

// The phase diagram: log10(‖∂E/∂s_1‖/‖∂E/∂s_T‖) over a grid of two
// settings (engine.Phase), streamed row by row over the websocket and
// exported as PNG, SVG, PDF or CSV by GET /api/phase.{png,svg,pdf,csv}.

// kindPhase is a phase diagram's runs, for the metrics: the edge of
// chaos, then one row at a time, each in a slot of its own.
const kindPhase runKind = "phase"

// phaseParams are a phase request's names besides the settings.
var phaseParams = []string{"x", "y", "nx", "ny", "xmin", "xmax", "ymin", "ymax"}

// phaseWorkBudget bounds a diagram, one forward and one backward pass per
// point, to the work of this many runs at -max-work (summed over the
// points). Each row takes a slot of its own, so the diagram is sliced
// among everybody's requests like a training; the budget bounds what one
// request costs the class in all. The page sizes its grid by it
// (web/static/phase.js).
const phaseWorkBudget = 8

// phaseDefaultPoints is the points on an axis a request leaves out.
const phaseDefaultPoints = 48

// phaseRanges are each axis' range when a request gives none; T and H
// are cut to the server's limits.
var phaseRanges = map[engine.PhaseAxis][2]float64{
	engine.AxisGain:       {0, 3},
	engine.AxisT:          {2, 200},
	engine.AxisH:          {2, 64},
	engine.AxisForgetBias: {-2, 4},
}

// phaseSource reads a phase request's own fields from a websocket
// message or a query string.
type phaseSource interface {
	// text returns a name field, if present.
	text(name string) (string, bool, error)
	// number returns a numeric field, if present.
	number(name string) (float64, bool, error)
}

type jsonPhaseSource map[string]json.RawMessage

func (src jsonPhaseSource) text(name string) (string, bool, error) {
	raw, ok := src[name]
	if !ok {
		return "", false, nil
	}
	var v string
	if err := stringField(raw, &v); err != nil {
		return "", true, fieldErrorf(name, "%s must be a string, got %s", name, shorten(string(raw)))
	}
	return v, true, nil
}

func (src jsonPhaseSource) number(name string) (float64, bool, error) {
	raw, ok := src[name]
	if !ok {
		return 0, false, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil || !isJSONNumber(raw) {
		return 0, true, fieldErrorf(name, "%s must be a number, got %s", name, shorten(string(raw)))
	}
	return v, true, nil
}

type queryPhaseSource url.Values

func (src queryPhaseSource) one(name string) (string, bool, error) {
	vs, ok := src[name]
	if !ok {
		return "", false, nil
	}
	if len(vs) > 1 {
		return "", true, fieldErrorf(name, "%s is given %d times", name, len(vs))
	}
	return vs[0], true, nil
}

func (src queryPhaseSource) text(name string) (string, bool, error) { return src.one(name) }

func (src queryPhaseSource) number(name string) (float64, bool, error) {
	text, ok, err := src.one(name)
	if !ok || err != nil {
		return 0, ok, err
	}
	if !isDecimal(text, true, true) {
		return 0, true, fieldErrorf(name, "%s must be a number, got %q", name, shorten(text))
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, true, fieldErrorf(name, "%s is far out of range, got %q", name, shorten(text))
	}
	return v, true, nil
}

// phaseFrom reads and validates a phase request over settings s: the
// axes x and y (default gain and T), their points nx and ny (default 48,
// fewer for a short whole-number range) and their ranges. Every error
// is a *FieldError naming the field; the grid's largest point must be
// within lim, and the whole grid within phaseWorkBudget runs' worth.
func phaseFrom(src phaseSource, s engine.Settings, lim engine.Limits) (*engine.Phase, error) {
	var axes [2]engine.Axis
	for i, f := range []string{"x", "y"} {
		a := &axes[i]
		a.Name = []engine.PhaseAxis{engine.AxisGain, engine.AxisT}[i]
		name, ok, err := src.text(f)
		if err != nil {
			return nil, err
		}
		if ok {
			a.Name = engine.PhaseAxis(shorten(name))
			if _, known := phaseRanges[a.Name]; !known {
				return nil, fieldErrorf(f, "%s must be one of gain, T, H, forgetBias, got %q", f, shorten(name))
			}
		}
		r := phaseRanges[a.Name]
		switch a.Name {
		case engine.AxisT:
			r[1] = math.Min(r[1], float64(lim.MaxT))
		case engine.AxisH:
			r[1] = math.Min(r[1], float64(lim.MaxH))
		}
		for j, suffix := range []string{"min", "max"} {
			v, ok, err := src.number(f + suffix)
			if err != nil {
				return nil, err
			}
			if ok {
				r[j] = v
			}
		}
		a.Min, a.Max = r[0], r[1]
		a.N = phaseDefaultPoints
		if a.Integer() && a.Max-a.Min >= 0 && a.Max-a.Min < phaseDefaultPoints-1 {
			a.N = int(a.Max-a.Min) + 1
		}
		n, ok, err := src.number("n" + f)
		if err != nil {
			return nil, err
		}
		if ok {
			if n != math.Trunc(n) || n < 2 || n > engine.MaxPhasePoints {
				return nil, fieldErrorf("n"+f, "n%s must be a whole number 2..%d, got %g", f, engine.MaxPhasePoints, n)
			}
			a.N = int(n)
		}
	}
	ph, err := engine.NewPhase(s, axes[0], axes[1])
	if err != nil {
		return nil, err
	}
	// The largest point, in T and in H, must be a run the server allows;
	// an axis' setting out of range is its max's fault.
	if err := ph.Max().Validate(lim); err != nil {
		if fe, ok := err.(*FieldError); ok {
			// The axis of the setting at fault; else, for the work bound
			// (reported on T), the H axis.
			for _, exact := range []bool{true, false} {
				for _, f := range []string{"x", "y"} {
					a := ph.X
					if f == "y" {
						a = ph.Y
					}
					if (exact && fe.Field == string(a.Name)) || (!exact && fe.Field == "T" && a.Name == engine.AxisH) {
						return nil, fieldErrorf(f+"max", "%smax: the largest point: %s", f, fe.Message)
					}
				}
			}
		}
		return nil, err
	}
	if lim.MaxWork > 0 {
		if w, budget := ph.Work(), phaseWorkBudget*lim.MaxWork; w > budget {
			return nil, codedf(codeWorkLimit, "ny", "the diagram's work, %s summed over its %d×%d points, must be at most %d, got %d: use fewer points (nx, ny), a shorter range of T or H, or fewer hidden units",
				s.Cell.Info().WorkFormula, len(ph.Xs), len(ph.Ys), budget, w)
		}
	}
	return ph, nil
}

// phaseAxisMessage is one axis of a diagram on the wire.
type phaseAxisMessage struct {
	Name   engine.PhaseAxis `json:"name"`
	Values Floats           `json:"values"`
}

// phaseEdgeMessage is the edge of chaos γ·σ_max(Wh) = 1 of an RNN
// diagram with gain on an axis: Gains[i] is the gain at the i-th value
// of the axis Along.
type phaseEdgeMessage struct {
	Along engine.PhaseAxis `json:"along"`
	Gains Floats           `json:"gains"`
}

// phaseStartMessage opens a diagram: its grid and its edge of chaos.
type phaseStartMessage struct {
	Type   string            `json:"type"`
	ID     int64             `json:"id"`
	Config engine.Settings   `json:"config"`
	X      phaseAxisMessage  `json:"x"`
	Y      phaseAxisMessage  `json:"y"`
	Gamma  *Float            `json:"gamma"` // rnn only
	Edge   *phaseEdgeMessage `json:"edge"`
}

// phaseRowMessage is row Row of a diagram: Values[c] is the decades at
// the c-th x and the Row-th y.
type phaseRowMessage struct {
	Type   string `json:"type"`
	ID     int64  `json:"id"`
	Row    int    `json:"row"`
	Values Floats `json:"values"`
}

// phaseDoneMessage closes a diagram.
type phaseDoneMessage struct {
	Type      string  `json:"type"`
	ID        int64   `json:"id"`
	ElapsedMs float64 `json:"elapsedMs"`
}

// parsePhase reads a phase message: the model settings (read by the
// dispatch table) and the diagram's own fields.
func parsePhase(r *request) (*engine.Phase, error) {
	return phaseFrom(jsonPhaseSource(r.fields), r.settings, r.cfg.Limits)
}

// runPhase streams a diagram: phaseStart, one phaseRow per y in order,
// phaseDone. A newer request cancels it at its next step and nothing more
// is sent.
func (sess *session) runPhase(ctx context.Context, id int64, ph *engine.Phase) {
	start := time.Now()
	err := sess.srv.phaseRuns(ctx, ph, func(m phaseStartMessage) {
		m.ID = id
		sess.sendJSON(m, false)
	}, func(row *engine.PhaseRow) {
		sess.sendJSON(phaseRowMessage{Type: "phaseRow", ID: id, Row: row.Row, Values: row.Decades}, false)
	})
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		sess.sendErr(id, err)
		return
	}
	sess.sendJSON(phaseDoneMessage{Type: "phaseDone", ID: id, ElapsedMs: float64(time.Since(start).Microseconds()) / 1000}, false)
}

// phaseRuns computes a diagram through the scheduler: the edge of chaos
// in one slot, then each row in a slot of its own, so other clients'
// requests go between the rows and a newer request of this client's
// overtakes at once.
func (s *Server) phaseRuns(ctx context.Context, ph *engine.Phase, onStart func(phaseStartMessage), onRow func(*engine.PhaseRow)) error {
	var along engine.PhaseAxis
	var gains []float64
	h := ph.Max().H
	err := s.withSlot(ctx, 8*10*int64(h)*int64(h), func(ctx context.Context) (err error) {
		along, gains, err = s.runner.PhaseEdge(ctx, ph)
		return err
	})
	if err != nil {
		return err
	}
	start := phaseStartMessage{Type: "phaseStart", Config: ph.Base,
		X: phaseAxisMessage{ph.X.Name, ph.Xs}, Y: phaseAxisMessage{ph.Y.Name, ph.Ys}}
	if ph.Base.Cell.Info().Spectrum {
		g := Float(ph.Base.Act.Gamma())
		start.Gamma = &g
	}
	if gains != nil {
		start.Edge = &phaseEdgeMessage{Along: along, Gains: gains}
	}
	onStart(start)
	for r := range ph.Ys {
		var row *engine.PhaseRow
		err := s.withSlot(ctx, ph.RowBytes(r), func(ctx context.Context) (err error) {
			row, err = ph.Row(ctx, r)
			return err
		})
		if err != nil {
			return err
		}
		onRow(row)
	}
	return nil
}

// handlePhaseExport serves GET /api/phase.{png,svg,pdf,csv}: the diagram of
// the settings, drawn by render with the page's colour scale.
//
//	?<settings>&x=gain&y=T&nx=48&ny=48&xmin=…&xmax=…&ymin=…&ymax=…&w=1200&h=700&lang=en|es
func (s *Server) handlePhaseExport() http.HandlerFunc {
	logger := s.logger
	return func(w http.ResponseWriter, r *http.Request) {
		format := chi.URLParam(r, "format")
		contentType, ok := plotContentTypes[format]
		if !ok || format == "gif" {
			handleNotFound()(w, r)
			return
		}
		fig, ph, err := phaseExportRequest(r.URL.Query(), s.cfg.Limits)
		if err != nil {
			writeError(w, logger, err)
			return
		}
		// The page keeps the axes as phaseX and phaseY; it picks the grid
		// itself.
		fig.Link = pageLink(r, &plotRequest{current: ph.Base, figure: render.Figure{Lang: fig.Lang, X: render.XStep}})
		extra := url.Values{"tab": {"phase"}, "phaseX": {string(ph.X.Name)}, "phaseY": {string(ph.Y.Name)}}
		if strings.Contains(fig.Link, "?") {
			fig.Link += "&" + extra.Encode()
		} else {
			fig.Link += "?" + extra.Encode()
		}
		tag := runTagOf(r.Context())
		tag.kind = kindPhase
		ctx := withRunTag(r.Context(), tag)
		fig.Values = make([][]float64, 0, len(ph.Ys))
		err = s.phaseRuns(ctx, ph, func(m phaseStartMessage) {
			if m.Edge != nil {
				fig.EdgeAlong, fig.EdgeGains = m.Edge.Along, m.Edge.Gains
			}
		}, func(row *engine.PhaseRow) {
			fig.Values = append(fig.Values, row.Decades)
			fig.First = append(fig.First, row.First)
			fig.Last = append(fig.Last, row.Last)
		})
		if err != nil {
			writeError(w, logger, err)
			return
		}
		serveDrawing(w, ctx, logger, s.withSlot, phaseDrawingBytes(fig, format), "phase", format, contentType, fig.FileName(format), func(_ context.Context, body io.Writer) error {
			if format == "csv" {
				return render.WritePhaseCSV(body, fig)
			}
			return render.WritePhaseImage(body, fig, render.Format(format))
		})
	}
}

// phaseExportRequest reads an export request: the settings, the grid
// and the figure's size and language.
func phaseExportRequest(q url.Values, lim engine.Limits) (render.PhaseFigure, *engine.Phase, error) {
	var fig render.PhaseFigure
	st, err := settingsFromQuery(q, lim, append([]string{"w", "h", "lang"}, phaseParams...)...)
	if err != nil {
		return fig, nil, err
	}
	for _, name := range []string{"w", "h", "lang"} {
		if vs := q[name]; len(vs) > 1 {
			return fig, nil, fieldErrorf(name, "%s is given %d times", name, len(vs))
		}
	}
	if fig.Lang, err = oneOfQuery(q, "lang", render.English, render.Langs); err != nil {
		return fig, nil, err
	}
	if fig.Width, err = pixelsFromQuery(q, "w", render.DefaultWidth, render.MinWidth, render.MaxWidth); err != nil {
		return fig, nil, err
	}
	if fig.Height, err = pixelsFromQuery(q, "h", render.DefaultHeight, render.MinHeight, render.MaxHeight); err != nil {
		return fig, nil, err
	}
	ph, err := phaseFrom(queryPhaseSource(q), st, lim)
	if err != nil {
		return fig, nil, err
	}
	fig.Base, fig.X, fig.Y, fig.Xs, fig.Ys = ph.Base, ph.X.Name, ph.Y.Name, ph.Xs, ph.Ys
	return fig, ph, nil
}

// phaseDrawingBytes estimates the memory of drawing a diagram, as
// drawingBytes does for a plot.
func phaseDrawingBytes(fig render.PhaseFigure, format string) int64 {
	text := int64(len(fig.Xs)*len(fig.Ys)+1) * 512
	switch format {
	case "pdf":
		return text + pdfFontBytes
	case "png":
	default:
		return text
	}
	w, h := fig.Width, fig.Height
	if w == 0 || h == 0 {
		w, h = render.DefaultWidth, render.DefaultHeight
	}
	return 3*4*int64(w)*int64(h) + text
}
