// Package render draws gradviz's figures server-side with gonum/plot:
// the profile ‖∂E/∂s_k‖ of a run on a log axis, with pinned runs for
// comparison, as PNG or SVG for teachers' slides, and the same numbers as
// CSV.
//
// A figure is self-explaining: its caption lists every setting of the
// current run and, for the vanilla RNN, Pascanu et al.'s quantities
// σ_max(Wh), γ and γ·σ_max. Values a log axis cannot show (0, NaN, ±Inf)
// cut the curves, and where a run overflowed a labelled vertical line
// marks the step, so an exploding run is never silently empty.
//
// Besides the standard library, the package imports the engine, gonum/plot
// and golang.org/x/image/font (for the weight of a bold font);
// request parsing is the api package's.
package render

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gradviz/internal/engine"
)

// XAxis says what the horizontal axis counts.
type XAxis string

// The x-axis modes. XBack aligns runs of different lengths at their
// last step, which is where the error signal starts its way back.
const (
	XStep XAxis = "step" // x = k, the step index 1..T
	XBack XAxis = "back" // x = T−k, steps back from the end
)

// XAxes lists every XAxis, for validation and documentation.
var XAxes = []XAxis{XStep, XBack}

// Lang is the language of a figure's text.
type Lang string

// The languages of axis titles, legend and caption.
const (
	English Lang = "en"
	Spanish Lang = "es"
)

// Langs lists every Lang.
var Langs = []Lang{English, Spanish}

// Figure sizes in pixels, and how many runs one figure may compare. The
// minimum keeps the caption and legend readable; the maximum bounds the
// memory of one PNG (3840×2160, a 4K slide, is 33 MB of RGBA).
const (
	DefaultWidth  = 1200
	DefaultHeight = 700
	MinWidth      = 800
	MinHeight     = 500
	MaxWidth      = 3840
	MaxHeight     = 2160
	MaxPins       = 7
	// MaxLabelLen bounds a run label in runes. The api refuses longer
	// labels (CheckLabel); the figure cuts any that reach it.
	MaxLabelLen = 40
)

// Run is one measured run and its name in the legend.
type Run struct {
	Result *engine.Result
	// Label names the run in the legend and the CSV header. Empty means
	// derived from the settings in which the runs differ, such as
	// "sigmoid" or "lstm, T=500".
	Label string
}

// Figure describes one profile figure: the current run, the runs pinned
// next to it, and how to draw them. The zero values of X, Width, Height
// and Lang mean XStep, DefaultWidth, DefaultHeight and English.
type Figure struct {
	Current Run
	// Pins are earlier runs kept on the plot for comparison, at most
	// MaxPins, in the colours of PinColors. Only their series of every run
	// (Series.Run: ‖∂E/∂s_k‖ and, under step clipping, the unclipped
	// profile) are drawn; the theory belongs to Current.
	Pins   []Run
	X      XAxis
	Width  int // pixels
	Height int // pixels
	Lang   Lang
	// Link, when not empty, is the address of the page showing this
	// view, written at the foot of the caption.
	Link string

	// reveal, in (0, 1), draws the series of the backward pass only over
	// the last reveal·T steps of each run: a frame of WriteBackwardGIF.
	reveal float64
}

// withDefaults returns f with its zero fields set and checks it.
func (f Figure) withDefaults() (Figure, error) {
	if f.X == "" {
		f.X = XStep
	}
	if f.Width == 0 {
		f.Width = DefaultWidth
	}
	if f.Height == 0 {
		f.Height = DefaultHeight
	}
	if f.Lang == "" {
		f.Lang = English
	}
	return f, f.check()
}

// check reports the first thing wrong with a figure whose defaults are
// filled in.
func (f Figure) check() error {
	if !isOneOf(f.X, XAxes) {
		return fmt.Errorf("render: x axis must be step or back, got %q", f.X)
	}
	if !isOneOf(f.Lang, Langs) {
		return fmt.Errorf("render: language must be en or es, got %q", f.Lang)
	}
	if f.Width < MinWidth || f.Width > MaxWidth {
		return fmt.Errorf("render: width must be %d..%d pixels, got %d", MinWidth, MaxWidth, f.Width)
	}
	if f.Height < MinHeight || f.Height > MaxHeight {
		return fmt.Errorf("render: height must be %d..%d pixels, got %d", MinHeight, MaxHeight, f.Height)
	}
	if len(f.Pins) > MaxPins {
		return fmt.Errorf("render: at most %d pinned runs, got %d", MaxPins, len(f.Pins))
	}
	for i, run := range f.runs() {
		if err := checkResult(run.Result); err != nil {
			return fmt.Errorf("render: %s: %w", runName(i), err)
		}
	}
	return nil
}

// checkResult verifies that every series has one value per step, and
// that those every profile has are there, so the drawing code can index
// them without checks.
func checkResult(r *engine.Result) error {
	if r == nil {
		return fmt.Errorf("no result")
	}
	T := r.Settings.T
	for _, s := range dataSeries {
		values := s.Values(&r.Profile)
		if values == nil && !s.Always {
			continue
		}
		if len(values) != T {
			return fmt.Errorf("%s has %d values for T=%d", s.ID, len(values), T)
		}
	}
	return nil
}

func runName(i int) string {
	if i == 0 {
		return "current run"
	}
	return fmt.Sprintf("pin %d", i)
}

// runs returns the current run followed by the pins.
func (f Figure) runs() []Run {
	return append([]Run{f.Current}, f.Pins...)
}

// FileName returns the name under which a figure is saved, such as
// "gradviz-rnn-tanh-T100.png"; ext is the extension without its dot.
func (f Figure) FileName(ext string) string {
	name := "gradviz"
	if r := f.Current.Result; r != nil {
		s := r.Settings
		name += "-" + string(s.Cell)
		if settingSpec("act").Applies(s.Cell) {
			name += "-" + string(s.Act)
		}
		name += fmt.Sprintf("-T%d", s.T)
	}
	return name + "." + ext
}

// runLabels returns the name of every run in the CSV's header, current
// first, in the protocol's names: a run without a Label is named by the
// settings in which the runs differ, so a sigmoid pin next to a tanh run
// reads "sigmoid" and the current run "tanh". With no pins and no Label
// the current run needs no name and gets "".
func (f Figure) runLabels() []string { return f.labelsIn("") }

// legendLabels returns the legend name of every run, as runLabels does,
// but in the figure's language by the schema's labels: "tanh · gain 1",
// "Clipping: step norm".
func (f Figure) legendLabels() []string { return f.labelsIn(f.Lang) }

// labelsIn names the runs in lang, or by the protocol's names when lang
// is "".
func (f Figure) labelsIn(lang Lang) []string {
	runs := f.runs()
	labels := make([]string, len(runs))
	cur := runs[0].Result.Settings
	pin, current := "pin %d", "current"
	if lang == Spanish {
		pin, current = "curva fijada %d", "curva actual"
	}
	var union []settingField
	for i, run := range runs[1:] {
		diff := differences(cur, run.Result.Settings)
		union = mergeFields(union, diff)
		labels[i+1] = describe(run.Result.Settings, diff, lang)
		if labels[i+1] == "" {
			labels[i+1] = fmt.Sprintf(pin, i+1)
		}
	}
	if len(runs) > 1 {
		labels[0] = describe(cur, union, lang)
		if labels[0] == "" {
			labels[0] = current
		}
	}
	for i, run := range runs {
		if run.Label != "" {
			labels[i] = run.Label
		}
		labels[i] = cleanLabel(labels[i])
	}
	return labels
}

// settingField is a setting a label may mention: its index in the
// schema, the order in which labels mention them.
type settingField int

// differences lists the settings of pin that differ from cur and matter
// to pin, as the schema says: the activation only for a model that has
// one, the forget bias only for the LSTM and the threshold only when
// something is clipped.
func differences(cur, pin engine.Settings) []settingField {
	var out []settingField
	for i, sp := range schema {
		if sp.Active(pin) && sp.Value(cur) != sp.Value(pin) {
			out = append(out, settingField(i))
		}
	}
	return out
}

// mergeFields returns the sorted union of two sorted field lists.
func mergeFields(a, b []settingField) []settingField {
	out := make([]settingField, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// describe names s by the given fields that matter to it. In the
// protocol's names (lang ""), values that name themselves (lstm, sigmoid,
// orthogonal) appear bare, the threshold as θ and the direction as a
// word; the others carry their setting's name: "tanh, gain=1". In a
// language, every name is the schema's label and numbers are written as
// the language writes them: "tanh · ganancia 1", "T = 500".
func describe(s engine.Settings, fields []settingField, lang Lang) string {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		sp := schema[f]
		if !sp.Active(s) {
			continue
		}
		if lang != "" {
			parts = append(parts, describeIn(sp, s, lang))
			continue
		}
		p := sp.Name + "=" + sp.Format(s)
		switch sp.Name {
		case "cell", "act", "init":
			p = sp.Format(s)
		case "threshold":
			p = "θ=" + sp.Format(s)
		case "bidir":
			p = "unidirectional"
			if s.Bidir {
				p = "bidirectional"
			}
		}
		parts = append(parts, p)
	}
	if lang != "" {
		return strings.Join(parts, " · ")
	}
	return strings.Join(parts, ", ")
}

// describeIn names one setting of s in lang for a legend: the model,
// activation, initialization and direction by their values' labels, the
// clipping and the loss by their short name and their value's label,
// "clipping: step norm", numbers
// by their short name, "gain 2", or their symbol, "θ = 0,25".
func describeIn(sp engine.SettingSpec, s engine.Settings, lang Lang) string {
	switch sp.Name {
	case "cell", "act", "init", "bidir":
		return optionText(sp, s, lang)
	}
	short := in(sp.Short, lang)
	if short == "" {
		short = sp.Name
	}
	if _, ok := sp.OptionLabel(s); ok {
		return short + ": " + optionText(sp, s, lang)
	}
	v := sp.Format(s)
	if sp.Kind == engine.KindFloat {
		v = decimal(v, lang)
	}
	if utf8.RuneCountInString(short) == 1 {
		return short + " = " + v
	}
	return short + " " + v
}

// CheckLabel says what is wrong with a run label from a client, or nil:
// it must be UTF-8, at most MaxLabelLen runes, and free of what would
// break or disguise the file it lands in: control characters (NUL, tab,
// CR, LF, DEL and the C1 set, which XML 1.0 forbids or a CSV reader
// takes as structure), line and paragraph separators, bidirectional
// overrides and isolates (which reorder the legend's text), and the
// non-characters U+FFFE and U+FFFF.
func CheckLabel(label string) error {
	if !utf8.ValidString(label) {
		return fmt.Errorf("must be UTF-8 text")
	}
	if n := utf8.RuneCountInString(label); n > MaxLabelLen {
		return fmt.Errorf("must be at most %d characters, got %d", MaxLabelLen, n)
	}
	for _, r := range label {
		if unfitInLabel(r) {
			return fmt.Errorf("must not contain the control or formatting character %U", r)
		}
	}
	return nil
}

// unfitInLabel reports whether r is refused in a label (see CheckLabel).
func unfitInLabel(r rune) bool {
	switch {
	case unicode.IsControl(r),
		r == '\u2028', r == '\u2029',
		r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069',
		r == '\ufffe', r == '\uffff':
		return true
	}
	return false
}

// cleanLabel keeps a label on one line and short enough for the legend,
// whatever reaches the figure: the api has already refused labels that
// CheckLabel would.
func cleanLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if unfitInLabel(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\ufffd"))
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > MaxLabelLen {
		s = string(r[:MaxLabelLen-1]) + "…"
	}
	return s
}

func isOneOf[V comparable](v V, list []V) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
