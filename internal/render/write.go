package render

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg" // also registers the "png" format
	"gonum.org/v1/plot/vg/vgpdf"
	_ "gonum.org/v1/plot/vg/vgsvg" // registers the "svg" format
)

// Format is an image format WriteImage can produce.
type Format string

// The image formats. All come from the same plot, so a PNG for a slide
// and an SVG or PDF for print show the same figure.
const (
	PNG Format = "png"
	SVG Format = "svg"
	PDF Format = "pdf"
)

// ImageFormats lists every Format.
var ImageFormats = []Format{PNG, SVG, PDF}

// checkFormat says whether format is one WriteImage can produce.
func checkFormat(format Format) error {
	if !isOneOf(format, ImageFormats) {
		return fmt.Errorf("render: image format must be png, svg or pdf, got %q", format)
	}
	return nil
}

// WriteImage draws the profile figure in format to w. A PNG has exactly
// fig.Width×fig.Height pixels. SVG text names the Liberation fonts, which
// viewers without them replace by the metric-compatible Arial or
// Helvetica; the PNG needs no system fonts at all. A PDF embeds the
// fonts; its text is in the Windows-1252 code page, the only one
// gonum/plot's PDF canvas writes, so symbols outside it are spelt out
// (pdfText).
func WriteImage(w io.Writer, fig Figure, format Format) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	p, err := ProfilePlot(fig)
	if err != nil {
		return err
	}
	width, height := fig.Size()
	return writeCanvas(w, p, width, height, pixels(margin*newStyle(fig).scale), format)
}

// defaultSize gives a figure of zero width or height the default one.
func defaultSize(width, height *int) {
	if *width == 0 {
		*width = DefaultWidth
	}
	if *height == 0 {
		*height = DefaultHeight
	}
}

// sizeOK reports whether a figure size is within the bounds every view
// shares; sizeError says how it is not.
func sizeOK(width, height int) bool {
	return width >= MinWidth && width <= MaxWidth && height >= MinHeight && height <= MaxHeight
}

func sizeError(width, height int) error {
	return fmt.Errorf("render: size must be %d..%d × %d..%d pixels, got %d×%d", MinWidth, MaxWidth, MinHeight, MaxHeight, width, height)
}

// viewMargin is the margin of a width×height figure, as the profile's.
func viewMargin(width, height int) vg.Length {
	return pixels(margin * newStyle(Figure{Width: width, Height: height}).scale)
}

// writeView draws p on a width×height pixel canvas of format, inside
// the profile's margin, and writes it to w.
func writeView(w io.Writer, p *plot.Plot, width, height int, format Format) error {
	return writeCanvas(w, p, pixels(float64(width)), pixels(float64(height)), viewMargin(width, height), format)
}

// writeCanvas draws p on a width×height canvas of format inside margin m
// and writes it to w.
func writeCanvas(w io.Writer, p *plot.Plot, width, height, m vg.Length, format Format) error {
	var c vg.CanvasWriterTo
	if format == PDF {
		c = pdfCanvas{vgpdf.New(width, height)}
	} else {
		var err error
		if c, err = draw.NewFormattedCanvas(width, height, string(format)); err != nil {
			return fmt.Errorf("render: %w", err)
		}
	}
	drawOn(c, p, m)
	if pc, ok := c.(vgimg.PngCanvas); ok {
		// The fastest compression: a 4K figure is mostly white, so it
		// costs a few per cent in size and saves most of the encoding.
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(w, pc.Image()); err != nil {
			return fmt.Errorf("render: write png: %w", err)
		}
		return nil
	}
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("render: write %s: %w", format, err)
	}
	return nil
}

// drawOn draws p on c inside margin m, on white.
func drawOn(c vg.CanvasSizer, p *plot.Plot, m vg.Length) {
	dc := draw.New(c)
	// gonum/plot draws to the canvas' edges; the margin keeps the caption
	// and the axis title off the border of the slide. The plot paints its
	// background inside the margin only, and an SVG canvas starts
	// transparent, so the margin is painted here.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	p.Draw(draw.Crop(dc, m, -m, m, -m))
}

// WriteCSV writes the numbers behind the figure: one row per step, the
// columns k and steps_back (T−k) of the current run, then for each run,
// in legend order, every series it has with the run's label as prefix,
// named and ordered as the series table's data series (dE_ds, dE_ds_raw,
// dE_dc …; see Table). Rows are aligned as the plot aligns
// them: by k for x=step, by steps back for x=back. A run with fewer steps
// has empty cells; non-finite values are written NaN, Inf and -Inf.
func WriteCSV(w io.Writer, fig Figure) error {
	fig, err := fig.withDefaults()
	if err != nil {
		return err
	}
	runs := fig.runs()
	labels := uniqueLabels(fig.runLabels())
	if !fig.hasPins() && labels[0] == "" {
		labels[0] = "run"
	}

	type column struct {
		values []float64
		T      int
	}
	header := []string{"k", "steps_back"}
	var cols []column
	rows := 0
	for i, run := range runs {
		r := run.Result
		T := r.Settings.T
		rows = max(rows, T)
		for _, s := range dataSeries {
			values := s.Values(&r.Profile)
			if values == nil {
				continue
			}
			header = append(header, labels[i]+":"+s.ID)
			cols = append(cols, column{values, T})
		}
	}

	for i, h := range header {
		header[i] = csvText(h)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("render: write csv: %w", err)
	}
	curT := runs[0].Result.Settings.T
	record := make([]string, len(header))
	for row := range rows {
		// pos is the row's position on the x axis: k, or steps back.
		pos := row + 1
		if fig.X == XBack {
			pos = row
		}
		stepOf := func(T int) int {
			if fig.X == XBack {
				return T - pos
			}
			return pos
		}
		record[0], record[1] = "", ""
		if k := stepOf(curT); k >= 1 && k <= curT {
			record[0], record[1] = strconv.Itoa(k), strconv.Itoa(curT-k)
		}
		for j, c := range cols {
			record[2+j] = ""
			if k := stepOf(c.T); k >= 1 && k <= c.T {
				record[2+j] = formatCSV(c.values[k-1])
			}
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("render: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("render: write csv: %w", err)
	}
	return nil
}

// hasPins reports whether the figure compares runs.
func (f Figure) hasPins() bool { return len(f.Pins) > 0 }

// uniqueLabels makes equal labels distinct, "x", "x (2)", so every CSV
// column has its own name.
func uniqueLabels(labels []string) []string {
	out := make([]string, len(labels))
	seen := make(map[string]int, len(labels))
	for i, l := range labels {
		seen[l]++
		out[i] = l
		if n := seen[l]; n > 1 {
			out[i] = fmt.Sprintf("%s (%d)", l, n)
		}
	}
	return out
}

// csvText neutralises a text cell that a spreadsheet would run as a
// formula (OWASP's CSV injection rule): a cell beginning with =, +, -, @,
// a tab or a carriage return, also after leading spaces, gets a single
// quote in front, so it reads as text. encoding/csv then quotes and
// escapes the cell as it needs. Labels from clients reach the header;
// the numbers are the server's own and are left as numbers.
func csvText(s string) string {
	t := strings.TrimLeft(s, " ")
	if t == "" {
		t = s
	}
	if t != "" && strings.ContainsRune("=+-@\t\r\n", rune(t[0])) {
		return "'" + s
	}
	return s
}

// formatCSV writes a value exactly, and non-finite values as NaN, Inf
// and -Inf, which NumPy, pandas and spreadsheets read back.
func formatCSV(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
