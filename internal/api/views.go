package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"gradviz/internal/engine"
	"gradviz/internal/render"
)

// The analysis views' exports, GET /api/{bidir,map,spectrum}.{png,svg,pdf,csv}:
// the same numbers the websocket's "sensitivity" and "map" messages and
// the profile's spectrum carry, computed from the query's settings in
// the scheduler's slots with the same bounds, then drawn in one more.
//
//	/api/bidir.png?<settings>&outputStep=t&w=…&h=…&lang=en|es
//	/api/map.png?<settings>&rows=64&w=…&h=…&lang=en|es
//	/api/spectrum.png?<settings>&w=…&h=…&lang=en|es

// viewParams are the names a view export takes besides the settings.
var viewParams = map[render.View][]string{
	render.ViewBidir:    {"w", "h", "lang", "outputStep"},
	render.ViewMap:      {"w", "h", "lang", "rows"},
	render.ViewSpectrum: {"w", "h", "lang"},
}

// viewTabs is the page's tab that shows each view, for the link.
var viewTabs = map[render.View]string{render.ViewBidir: "bidir", render.ViewMap: "map", render.ViewSpectrum: ""}

// handleViewExport serves one analysis view's exports.
func (s *Server) handleViewExport(view render.View) http.HandlerFunc {
	logger := s.logger
	return func(w http.ResponseWriter, r *http.Request) {
		format := chi.URLParam(r, "format")
		contentType, ok := plotContentTypes[format]
		if !ok || format == "gif" {
			handleNotFound()(w, r)
			return
		}
		q := r.URL.Query()
		fig, rows, err := viewRequestFromQuery(q, view, s.cfg.Limits)
		if err != nil {
			writeError(w, logger, err)
			return
		}
		extra := url.Values{}
		if tab := viewTabs[view]; tab != "" {
			extra.Set("tab", tab)
		}
		if view == render.ViewBidir {
			extra.Set("outputStep", strconv.Itoa(fig.OutputStep))
		}
		fig.Link = pageLink(r, &plotRequest{current: fig.Settings, figure: render.Figure{Lang: fig.Lang, X: render.XStep}})
		if len(extra) > 0 {
			sep := "?"
			if u, _ := url.Parse(fig.Link); u != nil && u.RawQuery != "" {
				sep = "&"
			}
			fig.Link += sep + extra.Encode()
		}

		ctx := r.Context()
		switch view {
		case render.ViewBidir:
			err = s.viewSensitivity(ctx, &fig)
		case render.ViewMap:
			tag := runTagOf(ctx)
			tag.kind = kindMap
			ctx = withRunTag(ctx, tag)
			err = s.withSlot(ctx, fig.Settings.WorkingBytes(1), func(ctx context.Context) error {
				m, err := engine.FullGradientMap(ctx, fig.Settings, mapRows(fig.Settings, rows, s.cfg.Limits.MaxWork))
				if err == nil {
					fig.Steps, fig.Map = m.Steps, m.Values
				}
				return err
			})
		case render.ViewSpectrum:
			var res *engine.Result
			res, err = s.computeWith(ctx, fig.Settings, engine.ProfileOptions{})
			if err == nil {
				fig.Spectrum = res.Spectrum
			}
		}
		if err != nil {
			writeError(w, logger, err)
			return
		}
		serveDrawing(w, ctx, logger, s.withSlot, viewDrawingBytes(fig, format), string(view), format, contentType, fig.FileName(format), func(_ context.Context, body io.Writer) error {
			if format == "csv" {
				return render.WriteViewCSV(body, fig)
			}
			return render.WriteViewImage(body, fig, render.Format(format))
		})
	}
}

// viewSensitivity computes ‖∂E_t/∂x_k‖ of the model and of its
// bidirectional version in one slot, as the websocket's "sensitivity".
func (s *Server) viewSensitivity(ctx context.Context, fig *render.ViewFigure) error {
	tag := runTagOf(ctx)
	tag.kind = kindSensitivity
	ctx = withRunTag(ctx, tag)
	bi := fig.Settings
	bi.Bidir = true
	return s.withSlot(ctx, bi.WorkingBytes(1), func(ctx context.Context) error {
		for _, bidir := range []bool{false, true} {
			st := fig.Settings
			st.Bidir = bidir
			if err := validateSettings(st, s.cfg.Limits); err != nil {
				return reframe(err, "bidir", "bidirectional: "+err.Error())
			}
			res, err := engine.InputSensitivity(ctx, st, fig.OutputStep)
			if err != nil {
				return err
			}
			if bidir {
				fig.Bi = res.DEtDx
			} else {
				fig.Uni = res.DEtDx
			}
		}
		return nil
	})
}

// viewRequestFromQuery reads and validates a view export: the settings,
// the figure's size and language and the view's own fields. It returns
// the rows a map asks for, before the work bound.
func viewRequestFromQuery(q url.Values, view render.View, lim engine.Limits) (render.ViewFigure, int, error) {
	fig := render.ViewFigure{View: view}
	names := viewParams[view]
	st, err := settingsFromQuery(q, lim, names...)
	if err != nil {
		return fig, 0, err
	}
	fig.Settings = st
	for _, name := range names {
		if vs := q[name]; len(vs) > 1 {
			return fig, 0, fieldErrorf(name, "%s is given %d times", name, len(vs))
		}
	}
	if fig.Lang, err = oneOfQuery(q, "lang", render.English, render.Langs); err != nil {
		return fig, 0, err
	}
	if fig.Width, err = pixelsFromQuery(q, "w", render.DefaultWidth, render.MinWidth, render.MaxWidth); err != nil {
		return fig, 0, err
	}
	if fig.Height, err = pixelsFromQuery(q, "h", render.DefaultHeight, render.MinHeight, render.MaxHeight); err != nil {
		return fig, 0, err
	}
	rows := 0
	switch view {
	case render.ViewBidir:
		fig.OutputStep, err = wholeFromQuery(q, "outputStep", (st.T+1)/2, 1, st.T)
	case render.ViewMap:
		rows, err = wholeFromQuery(q, "rows", 64, 1, engine.MaxMapRows)
	case render.ViewSpectrum:
		if !st.Cell.Info().Spectrum {
			err = fieldErrorf("cell", "the spectrum of Wh is drawn for the vanilla RNN (cell=rnn), got cell=%s", st.Cell)
		}
	}
	return fig, rows, err
}

// wholeFromQuery reads an optional whole number in lo..hi.
func wholeFromQuery(q url.Values, name string, def, lo, hi int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	text := q.Get(name)
	n, err := strconv.Atoi(text)
	if err != nil || n < lo || n > hi {
		return def, fieldErrorf(name, "%s must be a whole number %d..%d, got %q", name, lo, hi, shorten(text))
	}
	return n, nil
}

// viewDrawingBytes estimates the memory of drawing a view, as
// drawingBytes does for a plot.
func viewDrawingBytes(fig render.ViewFigure, format string) int64 {
	text := int64(fig.Settings.T+len(fig.Map)*fig.Settings.T+fig.Settings.H+1) * 64
	switch format {
	case "png":
		return 3*4*int64(fig.Width)*int64(fig.Height) + text
	case "pdf":
		return text + pdfFontBytes
	}
	return text
}
