package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"gradviz/internal/engine"
	"gradviz/internal/render"
)

// plotParams are the names a plot request takes besides the settings.
var plotParams = []string{"pin", "x", "w", "h", "lang", "label"}

// plotContentTypes maps each plot format to its media type.
var plotContentTypes = map[string]string{
	"png": "image/png",
	"svg": "image/svg+xml",
	"pdf": "application/pdf",
	"gif": "image/gif",
	"csv": "text/csv; charset=utf-8",
}

// handlePlot serves GET /api/plot.{png,svg,pdf,gif,csv}: the profile
// figure of the run the settings describe, as an attachment for slides;
// the GIF animates its backward pass (render.WriteBackwardGIF).
//
//	?<settings>&pin=<query string of another run>&pin=…
//	&x=step|back&w=1200&h=700&lang=en|es&label=<legend name>
//
// Each pin is a url-encoded query string of settings (and optionally its
// own label), at most render.MaxPins of them. Runs are computed one after
// another, so a plot costs one worker at a time like any other request.
func handlePlot(logger *slog.Logger, compute computeFunc, inSlot slotFunc, lim engine.Limits, format string) http.HandlerFunc {
	contentType, ok := plotContentTypes[format]
	if !ok {
		panic("api: unknown plot format " + format)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := plotRequestFromQuery(r.URL.Query(), lim)
		if err == nil && format == "gif" {
			err = gifSize(r.URL.Query(), &req.figure.Width, &req.figure.Height)
		}
		if err != nil {
			writeError(w, logger, err)
			return
		}
		fig := req.figure
		fig.Link = pageLink(r, req)
		res, err := compute(r.Context(), req.current)
		if err != nil {
			writeError(w, logger, err)
			return
		}
		fig.Current.Result = res
		for i, s := range req.pins {
			res, err := compute(r.Context(), s)
			if err != nil {
				writeError(w, logger, fmt.Errorf("pin %d: %w", i+1, err))
				return
			}
			fig.Pins[i].Result = res
		}

		serveDrawing(w, r.Context(), logger, inSlot, drawingBytes(fig, format), "plot", format, contentType, fig.FileName(format), func(ctx context.Context, body io.Writer) error {
			switch format {
			case "csv":
				return render.WriteCSV(body, fig)
			case "gif":
				return render.WriteBackwardGIF(ctx, body, fig)
			}
			return render.WriteImage(body, fig, render.Format(format))
		})
	}
}

// Bounds of an animated GIF: its frames are kept until it is encoded, so
// it is at most full HD, which a slide shows whole.
const (
	maxGIFWidth  = 1920
	maxGIFHeight = 1080
)

// gifSize gives an animation the GIF's default size, a slide's picture,
// where the query leaves it out, and refuses one over full HD.
func gifSize(q url.Values, width, height *int) error {
	if !q.Has("w") {
		*width = render.GIFWidth
	}
	if !q.Has("h") {
		*height = render.GIFHeight
	}
	if *width > maxGIFWidth {
		return fieldErrorf("w", "w must be a whole number of pixels %d..%d for a GIF, got %d", render.MinWidth, maxGIFWidth, *width)
	}
	if *height > maxGIFHeight {
		return fieldErrorf("h", "h must be a whole number of pixels %d..%d for a GIF, got %d", render.MinHeight, maxGIFHeight, *height)
	}
	return nil
}

// pageLink is the address of the page that shows the view a plot request
// draws: this server, as the client named it (checkHost has allowed the
// Host), with the settings that differ from the defaults, the x axis,
// the language and the pins, as the page writes its URL.
func pageLink(r *http.Request, req *plotRequest) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	var b strings.Builder
	add := func(name, value string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(name) + "=" + url.QueryEscape(value))
	}
	for _, sp := range linkSchema {
		if sp.Value(req.current) != sp.Default {
			add(sp.Name, sp.Format(req.current))
		}
	}
	if req.figure.Lang != render.English {
		add("lang", string(req.figure.Lang))
	}
	if req.figure.X != render.XStep {
		add("x", string(req.figure.X))
	}
	for _, ps := range req.pins {
		var pq []string
		for _, sp := range linkSchema {
			if sp.Name == "cell" || sp.Value(ps) != sp.Default {
				pq = append(pq, url.QueryEscape(sp.Name)+"="+url.QueryEscape(sp.Format(ps)))
			}
		}
		add("pin", strings.Join(pq, "&"))
	}
	link := scheme + "://" + r.Host + "/"
	if b.Len() > 0 {
		link += "?" + b.String()
	}
	return link
}

// linkSchema is the settings schema a page link writes by.
var linkSchema = engine.SettingsSchema(engine.DefaultLimits())

// serveDrawing draws a download in a worker slot, reserving bytes, and
// sends it as an attachment named name. It draws to memory first, so a
// failure becomes a proper error response instead of half an image.
func serveDrawing(w http.ResponseWriter, ctx context.Context, logger *slog.Logger, inSlot slotFunc, reserve int64,
	what, format, contentType, name string, draw func(context.Context, io.Writer) error) {
	var body bytes.Buffer
	err := inSlot(ctx, reserve, func(ctx context.Context) error { return draw(ctx, &body) })
	if err != nil {
		writeError(w, logger, fmt.Errorf("%s %s: %w", what, format, err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	w.Write(body.Bytes())
}

// slotFunc runs work in a worker slot, reserving bytes (Server.withSlot).
type slotFunc func(ctx context.Context, bytes int64, work func(context.Context) error) error

// drawingBytes estimates the memory of drawing fig: an RGBA canvas, the
// rasteriser's and the encoder's buffers for a PNG; for a GIF one such
// canvas and every frame; the SVG, PDF and CSV text, and for a PDF its
// embedded fonts (pdfFontBytes).
func drawingBytes(fig render.Figure, format string) int64 {
	steps := int64(0)
	for _, run := range append([]render.Run{fig.Current}, fig.Pins...) {
		if run.Result != nil {
			steps += int64(run.Result.Settings.T)
		}
	}
	text := (steps + 1) * 2048
	w, h := fig.Width, fig.Height
	if w == 0 || h == 0 {
		w, h = render.DefaultWidth, render.DefaultHeight
	}
	switch format {
	case "pdf":
		return text + pdfFontBytes
	case "gif":
		// One RGBA canvas at a time, then every frame's palette image
		// (a byte a pixel) and the encoded animation.
		return 3*4*int64(w)*int64(h) + int64(render.GIFFrames+1)*int64(w)*int64(h) + text
	case "png":
		return 3*4*int64(w)*int64(h) + text
	}
	return text
}

// pdfFontBytes is what a PDF adds to its text: the two fonts it embeds
// (about 0.1 MB) and fpdf's buffers for them.
const pdfFontBytes = 1 << 20

// plotRequest is a validated plot request, before any run is computed.
type plotRequest struct {
	current engine.Settings
	pins    []engine.Settings
	// figure has everything but the results.
	figure render.Figure
}

// plotRequestFromQuery reads and validates a plot request. Every error is
// a *FieldError; a pin's error names the field "pin" and says which pin
// and which of its settings is at fault.
func plotRequestFromQuery(q url.Values, lim engine.Limits) (*plotRequest, error) {
	s, err := settingsFromQuery(q, lim, plotParams...)
	if err != nil {
		return nil, err
	}
	req := &plotRequest{current: s}
	fig := &req.figure
	for _, name := range plotParams[1:] {
		if vs := q[name]; len(vs) > 1 {
			return nil, fieldErrorf(name, "%s is given %d times", name, len(vs))
		}
	}
	if fig.X, err = oneOfQuery(q, "x", render.XStep, render.XAxes); err != nil {
		return nil, err
	}
	if fig.Lang, err = oneOfQuery(q, "lang", render.English, render.Langs); err != nil {
		return nil, err
	}
	if fig.Width, err = pixelsFromQuery(q, "w", render.DefaultWidth, render.MinWidth, render.MaxWidth); err != nil {
		return nil, err
	}
	if fig.Height, err = pixelsFromQuery(q, "h", render.DefaultHeight, render.MinHeight, render.MaxHeight); err != nil {
		return nil, err
	}
	if fig.Current.Label, err = labelFromQuery(q, "label"); err != nil {
		return nil, err
	}

	pins := q["pin"]
	if len(pins) > render.MaxPins {
		return nil, fieldErrorf("pin", "at most %d pins, got %d", render.MaxPins, len(pins))
	}
	for i, raw := range pins {
		pq, err := url.ParseQuery(raw)
		if err != nil {
			return nil, fieldErrorf("pin", "pin %d: not a query string of settings: %q", i+1, shorten(raw))
		}
		ps, err := settingsFromQuery(pq, lim, "label")
		if err != nil {
			return nil, pinError(i, err)
		}
		if n := len(pq["label"]); n > 1 {
			return nil, fieldErrorf("pin", "pin %d: label is given %d times", i+1, n)
		}
		label, err := labelFromQuery(pq, "label")
		if err != nil {
			return nil, pinError(i, err)
		}
		req.pins = append(req.pins, ps)
		fig.Pins = append(fig.Pins, render.Run{Label: label})
	}
	return req, nil
}

// pinError moves a pin's error to the field "pin", keeping the message
// and the pin's own field name in it.
func pinError(i int, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return reframe(err, "pin", fmt.Sprintf("pin %d: %s", i+1, fe.Message))
	}
	return fmt.Errorf("pin %d: %w", i+1, err)
}

// oneOfQuery reads an optional name that takes one of allowed.
func oneOfQuery[V ~string](q url.Values, name string, def V, allowed []V) (V, error) {
	if !q.Has(name) {
		return def, nil
	}
	got := V(q.Get(name))
	for _, a := range allowed {
		if got == a {
			return got, nil
		}
	}
	list := ""
	for i, a := range allowed {
		if i > 0 {
			list += " or "
		}
		list += string(a)
	}
	return def, fieldErrorf(name, "%s must be %s, got %q", name, list, shorten(string(got)))
}

// pixelsFromQuery reads an optional image dimension in pixels.
func pixelsFromQuery(q url.Values, name string, def, lo, hi int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	text := q.Get(name)
	n, err := strconv.Atoi(text)
	if err != nil || n < lo || n > hi {
		return def, fieldErrorf(name, "%s must be a whole number of pixels %d..%d, got %q", name, lo, hi, shorten(text))
	}
	return n, nil
}

// labelFromQuery reads an optional legend name, which goes into the
// PNG's legend, the SVG's text and the CSV's header: bounded in length
// and free of control characters (render.CheckLabel).
func labelFromQuery(q url.Values, name string) (string, error) {
	label := q.Get(name)
	if err := render.CheckLabel(label); err != nil {
		return "", fieldErrorf(name, "%s %s", name, err)
	}
	return label, nil
}
