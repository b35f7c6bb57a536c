package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/go-chi/chi/v5"

	"gradviz/internal/engine"
	"gradviz/web"
)

// A tour is a JSON file of steps, each setting the controls and saying
// what to notice (docs/tour.md). The built-in one is embedded; -tours
// names a directory of others, served as /api/tours/NAME. The page checks
// a file a user opens by the same rules (web/static/tour.js).

// Bounds of a tour file.
const (
	maxTourBytes     = 1 << 20
	maxTourSteps     = 100
	maxTourTextRunes = 4000
	maxTourPins      = 7
	maxTourSequence  = 8
	builtinTourName  = "builtin"
)

// tourName is the form of a tour's name and of a step's id.
var tourName = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// tourTabs are the page's tabs (web/static/views.js) a step may show.
var tourTabs = []string{"profile", "lab", "bidir", "map", "phase", "lang"}

// TourError names what is wrong with a tour file: the step (1-based, 0
// for the file itself), its id when it has one, and the field.
type TourError struct {
	File    string
	Step    int
	StepID  string
	Field   string
	Message string
}

func (e *TourError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Step > 0 {
		fmt.Fprintf(&b, "step %d", e.Step)
		if e.StepID != "" {
			fmt.Fprintf(&b, " (%s)", e.StepID)
		}
		b.WriteString(", ")
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %s: ", e.Field)
	}
	b.WriteString(e.Message)
	return b.String()
}

// tourChecker checks one file; step and stepID say where it is.
type tourChecker struct {
	lim    engine.Limits
	train  engine.TrainLimits
	step   int
	stepID string
}

func (c *tourChecker) fail(field, format string, args ...any) error {
	return &TourError{Step: c.step, StepID: c.stepID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ValidateTour checks a tour file against the rules of docs/tour.md, the
// settings against the schema under lim and the lab's against train.
func ValidateTour(data []byte, lim engine.Limits, train engine.TrainLimits) error {
	c := &tourChecker{lim: lim, train: train}
	if len(data) > maxTourBytes {
		return c.fail("", "the file is larger than %d bytes", maxTourBytes)
	}
	top, err := c.object("", data, "id", "title", "steps")
	if err != nil {
		return err
	}
	if err := c.name("id", top["id"], true); err != nil {
		return err
	}
	if err := c.text("title", top["title"], true); err != nil {
		return err
	}
	var steps []json.RawMessage
	if err := c.decode("steps", top["steps"], &steps, "an array"); err != nil {
		return err
	}
	if len(steps) == 0 || len(steps) > maxTourSteps {
		return c.fail("steps", "must have 1..%d steps, got %d", maxTourSteps, len(steps))
	}
	seen := map[string]int{}
	for i, raw := range steps {
		c.step, c.stepID = i+1, ""
		// The id first, so that every later error names it.
		var probe struct {
			ID any `json:"id"`
		}
		if json.Unmarshal(raw, &probe) == nil {
			if s, ok := probe.ID.(string); ok && tourName.MatchString(s) {
				c.stepID = s
			}
		}
		if err := c.checkStep(raw); err != nil {
			return err
		}
		if j, dup := seen[c.stepID]; dup {
			return c.fail("id", "%q is also the id of step %d", c.stepID, j)
		}
		seen[c.stepID] = c.step
	}
	return nil
}

func (c *tourChecker) checkStep(raw json.RawMessage) error {
	st, err := c.object("", raw, "id", "title", "text", "settings", "tab", "pins", "view", "lab", "langlab", "train", "sequence", "predict", "panel")
	if err != nil {
		return err
	}
	if err := c.name("id", st["id"], true); err != nil {
		return err
	}
	if err := c.text("title", st["title"], true); err != nil {
		return err
	}
	if err := c.text("text", st["text"], true); err != nil {
		return err
	}
	base := map[string]json.RawMessage{}
	if raw, ok := st["settings"]; ok {
		if base, err = c.settings("settings", raw, nil); err != nil {
			return err
		}
	}
	if raw, ok := st["tab"]; ok {
		if err := c.enum("tab", raw, tourTabs); err != nil {
			return err
		}
	}
	if raw, ok := st["pins"]; ok {
		var pins []json.RawMessage
		if err := c.decode("pins", raw, &pins, "an array"); err != nil {
			return err
		}
		if len(pins) > maxTourPins {
			return c.fail("pins", "at most %d pins, got %d", maxTourPins, len(pins))
		}
		for i, p := range pins {
			if _, err := c.settings(fmt.Sprintf("pins[%d]", i), p, nil); err != nil {
				return err
			}
		}
	}
	if raw, ok := st["train"]; ok {
		var b bool
		if err := c.decode("train", raw, &b, "true or false"); err != nil {
			return err
		}
	}
	if raw, ok := st["sequence"]; ok {
		var seq []json.RawMessage
		if err := c.decode("sequence", raw, &seq, "an array"); err != nil {
			return err
		}
		if len(seq) == 0 || len(seq) > maxTourSequence {
			return c.fail("sequence", "must have 1..%d entries, got %d", maxTourSequence, len(seq))
		}
		if !isTrue(st["train"]) {
			return c.fail("sequence", "is a chain of trainings: set train to true")
		}
		for i, s := range seq {
			if _, err := c.settings(fmt.Sprintf("sequence[%d]", i), s, base); err != nil {
				return err
			}
		}
	}
	if raw, ok := st["view"]; ok {
		if err := c.view(raw); err != nil {
			return err
		}
	}
	if raw, ok := st["lab"]; ok {
		if err := c.lab(raw); err != nil {
			return err
		}
	}
	if raw, ok := st["langlab"]; ok {
		if err := c.langlab(raw); err != nil {
			return err
		}
	}
	if raw, ok := st["predict"]; ok {
		p, err := c.object("predict", raw, "kind", "question")
		if err != nil {
			return err
		}
		if err := c.enum("predict.kind", p["kind"], []string{"point"}); err != nil {
			return err
		}
		if err := c.text("predict.question", p["question"], true); err != nil {
			return err
		}
	}
	if raw, ok := st["panel"]; ok {
		if err := c.enum("panel", raw, []string{"bptt"}); err != nil {
			return err
		}
	}
	return nil
}

func isTrue(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("true")) }

// object reads a JSON object whose names are among allowed; the first
// allowed names up to the first optional one are required (id, title…):
// callers check presence through their own readers.
func (c *tourChecker) object(field string, raw json.RawMessage, allowed ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := c.decode(field, raw, &m, "an object"); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, c.fail(field, "must be an object, got null")
	}
	for _, name := range sortedKeys(m) {
		if !contains(allowed, name) {
			return nil, c.fail(join(field, name), "is not a field of a tour %s; the fields are %s", kindOf(field, c.step), strings.Join(allowed, ", "))
		}
	}
	return m, nil
}

func kindOf(field string, step int) string {
	switch {
	case field != "":
		return field
	case step > 0:
		return "step"
	}
	return "file"
}

func join(field, name string) string {
	if field == "" {
		return name
	}
	return field + "." + name
}

// decode unmarshals raw into v, or names the field and the kind it takes.
func (c *tourChecker) decode(field string, raw json.RawMessage, v any, kind string) error {
	if raw == nil {
		if field == "" {
			return c.fail("", "is empty")
		}
		return c.fail(field, "is missing")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return c.fail(field, "is not valid JSON (at byte %d)", se.Offset)
		}
		return c.fail(field, "must be %s", kind)
	}
	return nil
}

func (c *tourChecker) name(field string, raw json.RawMessage, required bool) error {
	if raw == nil && !required {
		return nil
	}
	var s string
	if err := c.decode(field, raw, &s, "a string"); err != nil {
		return err
	}
	if !tourName.MatchString(s) {
		return c.fail(field, "must be 1 to 64 of a-z, 0-9 and -, got %q", shorten(s))
	}
	return nil
}

// text reads {"en": …, "es": …}, both non-empty.
func (c *tourChecker) text(field string, raw json.RawMessage, required bool) error {
	if raw == nil && !required {
		return nil
	}
	m, err := c.object(field, raw, "en", "es")
	if err != nil {
		return err
	}
	for _, lang := range []string{"en", "es"} {
		f := field + "." + lang
		var s string
		if err := c.decode(f, m[lang], &s, "a string"); err != nil {
			return err
		}
		if strings.TrimSpace(s) == "" {
			return c.fail(f, "must not be empty")
		}
		if n := len([]rune(s)); n > maxTourTextRunes {
			return c.fail(f, "is %d characters long; at most %d", n, maxTourTextRunes)
		}
	}
	return nil
}

func (c *tourChecker) enum(field string, raw json.RawMessage, options []string) error {
	var s string
	if err := c.decode(field, raw, &s, "a string"); err != nil {
		return err
	}
	if !contains(options, s) {
		return c.fail(field, "must be one of %s, got %q", strings.Join(options, ", "), shorten(s))
	}
	return nil
}

// settings checks settings by their protocol names, over base and the
// defaults, with the schema's rules; it returns base with them.
func (c *tourChecker) settings(field string, raw json.RawMessage, base map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	m, err := c.object(field, raw, settingList()...)
	if err != nil {
		return nil, err
	}
	all := map[string]json.RawMessage{}
	for k, v := range base {
		all[k] = v
	}
	for k, v := range m {
		all[k] = v
	}
	if _, err := settingsFromJSON(all, c.lim); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			msg := strings.TrimPrefix(fe.Message, fe.Field+" ")
			return nil, c.fail(join(field, fe.Field), "%s", msg)
		}
		return nil, c.fail(field, "%s", err.Error())
	}
	return all, nil
}

func settingList() []string {
	out := make([]string, len(settingTable))
	for i, st := range settingTable {
		out[i] = st.name
	}
	return out
}

// view checks the page's own state a step sets (web/static/url.js).
func (c *tourChecker) view(raw json.RawMessage) error {
	m, err := c.object("view", raw, "x", "states", "jac", "spectrum", "chart", "outputStep", "phaseX", "phaseY", "langTask")
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(m) {
		f := "view." + name
		switch name {
		case "x":
			err = c.enum(f, m[name], []string{"step", "back"})
		case "chart":
			err = c.enum(f, m[name], []string{"accuracy", "grad", "horizon", "profile"})
		case "phaseX", "phaseY":
			err = c.enum(f, m[name], []string{"T", "gain", "H", "forgetBias"})
		case "langTask":
			err = c.enum(f, m[name], langTaskNames())
		case "outputStep":
			err = c.integer(f, m[name], 0, float64(c.lim.MaxT))
		default:
			var b bool
			err = c.decode(f, m[name], &b, "true or false")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// lab checks the training lab's settings a step sets.
func (c *tourChecker) lab(raw json.RawMessage) error {
	m, err := c.object("lab", raw, "task", "optimizer", "lr", "batch", "iterations", "cells")
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(m) {
		f := "lab." + name
		switch name {
		case "task":
			err = c.enum(f, m[name], []string{"recall", "adding", "copy"})
		case "optimizer":
			err = c.enum(f, m[name], []string{"adam", "sgd"})
		case "lr":
			err = c.number(f, m[name], 1e-6, 10)
		case "batch":
			err = c.integer(f, m[name], 1, float64(c.train.MaxBatch))
		case "iterations":
			err = c.integer(f, m[name], 1, float64(c.train.MaxIterations))
		case "cells":
			var cells []string
			if err = c.decode(f, m[name], &cells, "an array of model names"); err != nil {
				return err
			}
			options := make([]string, 0, len(engine.Cells))
			for _, cell := range engine.Cells {
				options = append(options, string(cell))
			}
			if len(cells) == 0 || len(cells) > len(options) {
				return c.fail(f, "must name 1..%d models", len(options))
			}
			for i, cell := range cells {
				if !contains(options, cell) {
					return c.fail(fmt.Sprintf("%s[%d]", f, i), "must be one of %s, got %q", strings.Join(options, ", "), shorten(cell))
				}
				if contains(cells[:i], cell) {
					return c.fail(fmt.Sprintf("%s[%d]", f, i), "names %s twice", cell)
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// langTaskNames are the language lab's tasks.
func langTaskNames() []string {
	out := make([]string, len(engine.LangTasks))
	for i, task := range engine.LangTasks {
		out[i] = string(task)
	}
	return out
}

// langlab checks the language lab's run a step starts: its task, the
// words between clue and blank, the iterations (under the server's
// default bounds, which no flag lowers for a tour) and the models, each
// a cell alone or after "bi-".
func (c *tourChecker) langlab(raw json.RawMessage) error {
	m, err := c.object("langlab", raw, "task", "distance", "iterations", "models")
	if err != nil {
		return err
	}
	lim := engine.DefaultLangLimits()
	for _, name := range sortedKeys(m) {
		f := "langlab." + name
		switch name {
		case "task":
			err = c.enum(f, m[name], langTaskNames())
		case "distance":
			err = c.integer(f, m[name], 0, float64(lim.MaxDistance))
		case "iterations":
			err = c.integer(f, m[name], 1, float64(lim.MaxIterations))
		case "models":
			var models []string
			if err = c.decode(f, m[name], &models, "an array of model names"); err != nil {
				return err
			}
			var options []string
			for _, cell := range engine.Cells {
				options = append(options, string(cell), "bi-"+string(cell))
			}
			if len(models) == 0 || len(models) > maxCompared {
				return c.fail(f, "must name 1..%d models", maxCompared)
			}
			for i, name := range models {
				if !contains(options, name) {
					return c.fail(fmt.Sprintf("%s[%d]", f, i), "must be one of %s, got %q", strings.Join(options, ", "), shorten(name))
				}
				if contains(models[:i], name) {
					return c.fail(fmt.Sprintf("%s[%d]", f, i), "names %s twice", name)
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *tourChecker) number(field string, raw json.RawMessage, lo, hi float64) error {
	var v float64
	if err := c.decode(field, raw, &v, "a number"); err != nil {
		return err
	}
	if !(v >= lo && v <= hi) {
		return c.fail(field, "must be between %s and %s, got %s", formatNum(lo), formatNum(hi), formatNum(v))
	}
	return nil
}

func (c *tourChecker) integer(field string, raw json.RawMessage, lo, hi float64) error {
	if err := c.number(field, raw, lo, hi); err != nil {
		return err
	}
	var v float64
	json.Unmarshal(raw, &v)
	if v != math.Trunc(v) {
		return c.fail(field, "must be a whole number, got %s", formatNum(v))
	}
	return nil
}

func formatNum(v float64) string { return fmt.Sprint(v) }

// Tours is the built-in tour and those of a directory, checked.
type Tours struct {
	dir   string
	lim   engine.Limits
	train engine.TrainLimits
}

// LoadTours checks the built-in tour and every NAME.json in dir (none
// when dir is empty): a file that breaks a rule, or is named otherwise
// than [a-z0-9-]{1,64}.json, is an error naming it, its step and field.
func LoadTours(dir string, lim engine.Limits, train engine.TrainLimits) (*Tours, error) {
	t := &Tours{dir: dir, lim: tourLimits(lim), train: train}
	if err := ValidateTour(web.BuiltinTour(), engine.DefaultLimits(), engine.DefaultTrainLimits()); err != nil {
		return nil, fmt.Errorf("built-in tour: %w", err)
	}
	if dir == "" {
		return t, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("-tours: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, file := range names {
		name := strings.TrimSuffix(file, ".json")
		if !tourName.MatchString(name) || name == builtinTourName {
			return nil, fmt.Errorf("-tours: %s: a tour's name must be 1 to 64 of a-z, 0-9 and -, and not %q", file, builtinTourName)
		}
		if _, err := t.read(name); err != nil {
			return nil, fmt.Errorf("-tours: %w", err)
		}
	}
	return t, nil
}

// tourLimits are the limits a tour's settings are checked under: the
// server's, but never below the defaults', since a step's settings are
// over the defaults (a server with -max-H 16 still loads a tour; the page
// then refuses a run over its limit as it does any other).
func tourLimits(lim engine.Limits) engine.Limits {
	def := engine.DefaultLimits()
	lim.MaxT, lim.MaxH, lim.MaxD, lim.MaxK = max(lim.MaxT, def.MaxT), max(lim.MaxH, def.MaxH), max(lim.MaxD, def.MaxD), max(lim.MaxK, def.MaxK)
	lim.MaxWork = 0
	return lim
}

// read returns the checked file of tour name.
func (t *Tours) read(name string) ([]byte, error) {
	if name == builtinTourName {
		return web.BuiltinTour(), nil
	}
	if t.dir == "" || !tourName.MatchString(name) {
		return nil, fs.ErrNotExist
	}
	path := filepath.Join(t.dir, name+".json")
	// Stat before opening: opening a named pipe waits for a writer.
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &TourError{File: name + ".json", Message: "is not a regular file"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read at most one byte over the bound, so a file that grew since
	// the Stat is refused too rather than read whole.
	data, err := io.ReadAll(io.LimitReader(f, maxTourBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxTourBytes {
		return nil, &TourError{File: name + ".json", Message: fmt.Sprintf("the file is larger than %d bytes", maxTourBytes)}
	}
	if err := ValidateTour(data, tourLimits(t.lim), t.train); err != nil {
		var te *TourError
		if errors.As(err, &te) {
			te.File = name + ".json"
		}
		return nil, err
	}
	return data, nil
}

// handleTour serves /api/tours/{name}: the file as it is, once checked.
// A file changed since the server started and now broken is a 500 that
// names its step and field; the page says so.
func (s *Server) handleTour() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "name")
		data, err := s.tours.read(name)
		var te *TourError
		switch {
		case errors.As(err, &te):
			s.logger.Warn("tour refused", "tour", name, "err", err)
			writeErrorBody(w, http.StatusInternalServerError, codeInternal, te.Field, err.Error())
			return
		case err != nil:
			if !errors.Is(err, fs.ErrNotExist) {
				// Unreadable (permissions, an I/O error): still a 404 to
				// the page, but the operator is told why.
				s.logger.Warn("tour unreadable", "tour", name, "err", err)
			}
			writeErrorBody(w, http.StatusNotFound, codeNotFound, "", "no such tour")
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(data)
	}
}
