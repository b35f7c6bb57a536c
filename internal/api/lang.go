package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"gradviz/internal/engine"
)

// The language lab over the websocket: "langTrain" trains up to four
// models on one of the article's sentences and streams their progress,
// with the model's five best guesses for the blank and ‖∂E/∂x_k‖ for each
// word; "langRead" feeds the user's own sentence to the trained models;
// "langExport" sends one trained model with its vocabulary as JSON.

// kindLang is a reading of the user's sentence, for the metrics.
const kindLang runKind = "lang"

// langFields are the names a langTrain message may carry besides the
// model settings.
var langFields = []string{"task", "lang", "distance", "models", "embed", "optimizer", "lr", "batch", "iterations", "every", "sentence"}

// maxSentence bounds the text of a sentence, in characters.
const maxSentence = 2000

// langRequest is a parsed langTrain message.
type langRequest struct {
	base     engine.LangSettings
	models   []langModelName
	every    int
	sentence string // "" for the task's own example
}

// langModelName is one model of a request: a cell, one- or
// bidirectional, written "lstm" or "bi-lstm".
type langModelName struct {
	cell  engine.Cell
	bidir bool
}

func (m langModelName) String() string {
	if m.bidir {
		return "bi-" + string(m.cell)
	}
	return string(m.cell)
}

// langSettingsReader reads the model settings of a langTrain message:
// the task decides T, K and the loss, the models list the cells and their
// direction, and embed is D.
func langSettingsReader(fields map[string]json.RawMessage, cfg Config, extra []string) (engine.Settings, error) {
	for _, f := range []struct{ name, why string }{
		{"T", "the task sets the length"}, {"K", "the task sets the answers"}, {"loss", "the blank is scored"},
		{"D", "use embed for the embedding's width"}, {"cell", "name the cells in models"}, {"bidir", `write "bi-lstm" in models`},
	} {
		if _, ok := fields[f.name]; ok {
			return engine.Settings{}, fieldErrorf(f.name, "%s is not a langTrain setting: %s", f.name, f.why)
		}
	}
	def := engine.DefaultLangSettings().Model
	merged := make(map[string]json.RawMessage, len(fields)+6)
	for k, v := range fields {
		merged[k] = v
	}
	// T is the task's, checked against the work bound by checkLangCost.
	for name, v := range map[string]any{"T": 1, "H": def.H, "gain": def.Gain, "forgetBias": def.ForgetBias, "clip": def.Clip, "threshold": def.Threshold} {
		if _, ok := merged[name]; !ok {
			merged[name], _ = json.Marshal(v)
		}
	}
	return settingsFromJSON(merged, cfg.Limits, extra...)
}

// parseLangRequest reads a langTrain message. Values past the server's
// bounds (-max-lang-*) are codeLangLimit errors, and an iteration
// past -max-work a codeWorkLimit one.
func parseLangRequest(r *request) (langRequest, error) {
	cfg, fields := r.cfg, r.fields
	lim := cfg.Lang
	req := langRequest{base: engine.DefaultLangSettings(), every: 10}
	req.base.Model = r.settings
	req.base.Model.D = engine.DefaultLangSettings().Model.D
	for _, f := range []struct {
		name string
		dst  *string
	}{{"task", (*string)(&req.base.Task)}, {"lang", (*string)(&req.base.Lang)}, {"optimizer", (*string)(&req.base.Optimizer)}, {"sentence", &req.sentence}} {
		if raw, ok := fields[f.name]; ok {
			if err := stringField(raw, f.dst); err != nil {
				return req, fieldErrorf(f.name, "%s must be a string, got %s", f.name, shorten(string(raw)))
			}
		}
	}
	if req.sentence != "" {
		if _, err := blankedWords(req.sentence); err != nil {
			return req, err
		}
	}
	var err error
	if req.base.LR, err = numberField(fields, "lr", req.base.LR, 0, 10); err != nil {
		return req, err
	}
	for _, f := range []struct {
		name     string
		dst      *int
		min, max int
		bound    bool // max is a server flag
	}{
		{"distance", &req.base.Distance, 0, lim.MaxDistance, true},
		{"embed", &req.base.Model.D, 1, lim.MaxEmbed, true},
		{"batch", &req.base.Batch, 1, lim.MaxBatch, true},
		{"iterations", &req.base.Iterations, 1, lim.MaxIterations, true},
		{"every", &req.every, 1, 1000, false},
	} {
		v, err := numberField(fields, f.name, float64(*f.dst), float64(f.min), float64(f.max))
		if err != nil {
			if v, e := numberField(fields, f.name, 0, math.Inf(-1), math.Inf(1)); f.bound && e == nil && v > float64(f.max) {
				err = withCode(codeLangLimit, err.(*FieldError))
			}
			return req, err
		}
		if v != math.Trunc(v) {
			return req, fieldErrorf(f.name, "%s must be a whole number, got %g", f.name, v)
		}
		*f.dst = int(v)
	}
	req.models = []langModelName{{cell: engine.CellLSTM}}
	if raw, ok := fields["models"]; ok {
		var items []json.RawMessage
		names := cellNames()
		bad := fieldErrorf("models", `models must be a list of 1 to %d names among %s, each alone or after "bi-" (bidirectional), got %s`, maxCompared, names, shorten(string(raw)))
		if err := json.Unmarshal(raw, &items); err != nil || len(items) == 0 || len(items) > maxCompared {
			return req, bad
		}
		req.models = req.models[:0]
		for _, item := range items {
			var n string
			if err := stringField(item, &n); err != nil {
				return req, bad
			}
			m := langModelName{cell: engine.Cell(strings.TrimPrefix(n, "bi-")), bidir: strings.HasPrefix(n, "bi-")}
			if m.cell.Info().Cell != m.cell {
				return req, bad
			}
			for _, o := range req.models {
				if o == m {
					return req, fieldErrorf("models", "models must be distinct, got %q twice", shorten(n))
				}
			}
			req.models = append(req.models, m)
		}
	}
	for _, m := range req.models {
		ls := req.settingsOf(m)
		if err := ls.Validate(lim); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				return req, err
			}
			if fe.Field == "H" || fe.Field == "embed" {
				err = withCode(codeLangLimit, fe)
			}
			return req, reframe(err, fe.Field, "language lab: "+fe.Message)
		}
	}
	return req, checkLangCost(req, cfg.Limits.MaxWork, cfg.MemoryBudget)
}

// settingsOf returns the run of model m.
func (req langRequest) settingsOf(m langModelName) engine.LangSettings {
	ls := req.base
	ls.Model.Cell, ls.Model.Bidir = m.cell, m.bidir
	return ls
}

// langShape returns the model settings of one iteration of ls: its
// longest sentence and its answers.
func langShape(ls engine.LangSettings) engine.Settings {
	g := engine.NewLangGenerator(ls.Task, ls.Lang, ls.Distance)
	m := ls.Model
	m.T, m.K = g.MaxWords(), len(g.Answers())
	return m
}

// checkLangCost bounds one iteration of each run like checkTrainCost: the
// batch through the longest sentence, by -max-work and the memory budget.
func checkLangCost(req langRequest, maxWork, budget int64) error {
	for _, mn := range req.models {
		m := langShape(req.settingsOf(mn))
		if w := m.Work() * int64(req.base.Batch); maxWork > 0 && w > maxWork {
			return codedf(codeWorkLimit, "batch", "language lab: batch × %s must be at most %d, got %d (%s, %d words, H=%d, batch %d): use a smaller batch, a shorter distance or fewer hidden units",
				mn.cell.Info().WorkFormula, maxWork, w, mn, m.T, m.H, req.base.Batch)
		}
		if b := m.WorkingBytes(req.base.Batch); budget > 0 && b > budget {
			return codedf(codeWorkLimit, "batch", "language lab: one iteration needs about %d MB of memory (%s, %d words, H=%d, batch %d), more than the server's %d MB: use a smaller batch or a shorter distance",
				b>>20, mn, m.T, m.H, req.base.Batch, budget>>20)
		}
	}
	return nil
}

// langModel is one model of the session's language lab, trained or in
// training; mu guards the trainer: an iteration holds it to write, the
// readings, the held-out tests and the export hold it to read, so an
// export waits for one iteration at most.
type langModel struct {
	mu   sync.RWMutex
	name string
	tr   *engine.LangTrainer
}

// langLab is the session's latest language-lab run.
type langLab struct {
	mu     sync.Mutex
	models []*langModel
}

func (l *langLab) set(models []*langModel) {
	l.mu.Lock()
	l.models = models
	l.mu.Unlock()
}

func (l *langLab) get() []*langModel {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.models
}

// read runs m over text under its lock, in a worker slot.
func (sess *session) langRead(ctx context.Context, m *langModel, words []string) (engine.LangReading, error) {
	var rd engine.LangReading
	model := m.tr.Model()
	model.T = max(len(words), 1)
	err := sess.srv.withSlot(ctx, model.WorkingBytes(1), func(ctx context.Context) (err error) {
		m.mu.RLock()
		defer m.mu.RUnlock()
		rd, err = m.tr.Read(ctx, words)
		return err
	})
	return rd, err
}

// langStartMessage opens a language-lab stream.
type langStartMessage struct {
	Type       string          `json:"type"`
	ID         int64           `json:"id"`
	Task       engine.LangTask `json:"task"`
	Lang       engine.Lang     `json:"lang"`
	Distance   int             `json:"distance"`
	Iterations int             `json:"iterations"`
	Every      int             `json:"every"`
	Chance     Float           `json:"chance"`
	Vocabulary int             `json:"vocabulary"`
	Answers    []string        `json:"answers"`
	Sentence   []string        `json:"sentence"`
	Runs       []langRun       `json:"runs"`
}

type langRun struct {
	Run   int    `json:"run"`
	Model string `json:"model"`
}

// langReadingJSON is a reading with its floats as the protocol writes
// them (Inf and NaN as strings).
type langReadingJSON struct {
	Words   []string    `json:"words"`
	Known   []bool      `json:"known"`
	Blank   int         `json:"blank"`
	Guesses []langGuess `json:"guesses"`
	Strip   Floats      `json:"strip"`
}

type langGuess struct {
	Word string `json:"word"`
	P    Float  `json:"p"`
}

func readingJSON(rd engine.LangReading) langReadingJSON {
	out := langReadingJSON{Words: rd.Words, Known: rd.Known, Blank: rd.Blank, Strip: rd.Strip, Guesses: []langGuess{}}
	for _, g := range rd.Guesses {
		out.Guesses = append(out.Guesses, langGuess{g.Word, Float(g.P)})
	}
	return out
}

// langProgressMessage reports a window of iterations of one run and what
// the model makes of the sentence now.
type langProgressMessage struct {
	Type      string          `json:"type"`
	ID        int64           `json:"id"`
	Run       int             `json:"run"`
	Iteration int             `json:"iter"`
	Loss      Float           `json:"loss"`
	Accuracy  Float           `json:"accuracy"`
	GradNorm  Float           `json:"gradNorm"`
	NonFinite int             `json:"nonFinite"`
	Reading   langReadingJSON `json:"reading"`
}

// langHorizonPoint is the accuracy at one distance.
type langHorizonPoint struct {
	Distance int   `json:"distance"`
	Accuracy Float `json:"accuracy"`
}

// langDoneMessage ends one run: reason as for trainDone, and for a run
// that finished, its accuracy on held-out sentences at the distance
// trained and at every distance of the memory horizon.
type langDoneMessage struct {
	Type      string             `json:"type"`
	ID        int64              `json:"id"`
	Run       int                `json:"run"`
	Reason    string             `json:"reason"`
	Iteration int                `json:"iter"`
	Accuracy  *Float             `json:"accuracy,omitempty"`
	Horizon   []langHorizonPoint `json:"horizon,omitempty"`
}

// langHorizonDistances are the distances of the memory horizon chart,
// up to the server's bound; langEvalSentences is how many held-out
// sentences each accuracy reads.
var langHorizonDistances = []int{0, 5, 10, 20, 30, 45, 60, 80, 100, 150, 200}

const langEvalSentences = 200

// langWindow accumulates the iterations between two progress messages.
type langWindow struct {
	n, nonFinite    int
	loss, acc, norm float64
}

// sentenceWords returns the words the stream shows: the request's
// sentence, or the task's own example at the distance.
func (req langRequest) sentenceWords() []string {
	if req.sentence != "" {
		return engine.Tokenize(req.sentence)
	}
	return engine.NewLangGenerator(req.base.Task, req.base.Lang, req.base.Distance).Example().Words
}

// runLang trains the request's models interleaved an iteration at a
// time, as runTraining does, under the same fairness and limits; the
// models stay with the session for langRead and langExport.
func (sess *session) runLang(ctx context.Context, id int64, req langRequest) {
	sess.trainingStream(id, func() { sess.langRuns(ctx, id, req) })
}

func (sess *session) langRuns(ctx context.Context, id int64, req langRequest) {
	models := make([]*langModel, len(req.models))
	gen := engine.NewLangGenerator(req.base.Task, req.base.Lang, req.base.Distance)
	words := req.sentenceWords()
	start := langStartMessage{
		Type: "langStart", ID: id, Task: req.base.Task, Lang: req.base.Lang, Distance: req.base.Distance,
		Iterations: req.base.Iterations, Every: req.every, Chance: Float(gen.Chance()),
		Vocabulary: len(gen.Vocabulary()), Answers: gen.Answers(), Sentence: words,
	}
	for i, mn := range req.models {
		models[i] = &langModel{name: mn.String(), tr: engine.NewLangTrainer(req.settingsOf(mn))}
		start.Runs = append(start.Runs, langRun{Run: i, Model: mn.String()})
	}
	sess.lang.set(models)
	sess.sendJSON(start, false)
	sess.log.Info("language lab started", "runs", len(models), "task", req.base.Task, "distance", req.base.Distance, "H", req.base.Model.H)

	done := make([]bool, len(models))
	wins := make([]langWindow, len(models))
	finish := func(i int, reason string, iter int) {
		done[i] = true
		sess.sendJSON(langDoneMessage{Type: "langDone", ID: id, Run: i, Reason: reason, Iteration: iter}, false)
	}
	finishRest := func(reason string, iter int) {
		for i := range models {
			if !done[i] {
				finish(i, reason, iter)
			}
		}
	}
	var cpu atomic.Int64
	ctx = withCPUMeter(ctx, &cpu)
	cfg := sess.srv.cfg
	stopped := func(err error) {
		if ctx.Err() == nil {
			sess.sendErr(id, err)
		}
	}
	for iter := 1; iter <= req.base.Iterations; iter++ {
		if cfg.TrainCPU > 0 && time.Duration(cpu.Load()) > cfg.TrainCPU {
			finishRest("limit", iter-1)
			return
		}
		if cfg.TrainUnread > 0 && sess.unreadFor() > cfg.TrainUnread {
			finishRest("stopped", iter-1)
			return
		}
		for i, lm := range models {
			if done[i] {
				continue
			}
			var st engine.LangStats
			bytes := langShape(lm.tr.Settings()).WorkingBytes(req.base.Batch)
			err := sess.srv.withSlot(ctx, bytes, func(ctx context.Context) (err error) {
				lm.mu.Lock()
				defer lm.mu.Unlock()
				st, err = lm.tr.Step(ctx)
				return err
			})
			if err != nil {
				stopped(err)
				if sess.ctx.Err() == nil {
					finishRest("stopped", iter)
				}
				return
			}
			w := &wins[i]
			w.n++
			w.loss += st.Loss
			w.acc += st.Accuracy
			w.norm += st.GradNorm
			if st.NonFinite {
				w.nonFinite++
			}
			due := iter%req.every == 0 || iter == req.base.Iterations || st.NonFinite
			// A client half a queue behind gets its next progress later,
			// with the means over more iterations: a queue full of
			// progress would leave no room for langDone.
			if due && iter != req.base.Iterations && !st.NonFinite && len(sess.send) > cap(sess.send)/2 {
				due = false
			}
			if due {
				rd, err := sess.langRead(ctx, lm, words)
				if err != nil {
					stopped(err)
					if sess.ctx.Err() == nil {
						finishRest("stopped", iter)
					}
					return
				}
				n := float64(w.n)
				sess.sendJSON(langProgressMessage{
					Type: "langProgress", ID: id, Run: i, Iteration: iter,
					Loss: Float(w.loss / n), Accuracy: Float(w.acc / n), GradNorm: Float(w.norm / n), NonFinite: w.nonFinite,
					Reading: readingJSON(rd),
				}, true)
				wins[i] = langWindow{}
			}
			if st.NonFinite {
				finish(i, "diverged", iter)
			}
		}
	}
	// The held-out accuracy and the memory horizon of each finished run.
	for i, lm := range models {
		if done[i] {
			continue
		}
		msg := langDoneMessage{Type: "langDone", ID: id, Run: i, Reason: "finished", Iteration: req.base.Iterations}
		err := sess.srv.withSlot(ctx, langShape(lm.tr.Settings()).WorkingBytes(50), func(ctx context.Context) error {
			lm.mu.RLock()
			defer lm.mu.RUnlock()
			acc, err := lm.tr.Evaluate(ctx, req.base.Distance, langEvalSentences)
			if err != nil {
				return err
			}
			a := Float(acc)
			msg.Accuracy = &a
			for _, d := range langHorizonDistances {
				if d > cfg.Lang.MaxDistance {
					break
				}
				acc, err := lm.tr.Evaluate(ctx, d, langEvalSentences)
				if err != nil {
					return err
				}
				msg.Horizon = append(msg.Horizon, langHorizonPoint{d, Float(acc)})
			}
			return nil
		})
		if err != nil {
			stopped(err)
			if sess.ctx.Err() == nil {
				finishRest("stopped", req.base.Iterations)
			}
			return
		}
		done[i] = true
		sess.sendJSON(msg, false)
	}
}

// langReadRequest is a parsed langRead message.
type langReadRequest struct{ words []string }

func parseLangRead(r *request) (langReadRequest, error) {
	raw, ok := r.fields["sentence"]
	var text string
	if !ok || stringField(raw, &text) != nil {
		return langReadRequest{}, fieldErrorf("sentence", "sentence must be a string with a blank (____), got %s", shorten(string(raw)))
	}
	words, err := blankedWords(text)
	return langReadRequest{words: words}, err
}

// blankedWords returns the words of a sentence that has at most
// maxSentence characters and exactly one blank.
func blankedWords(text string) ([]string, error) {
	if n := utf8.RuneCountInString(text); n > maxSentence {
		return nil, fieldErrorf("sentence", "sentence must be at most %d characters, got %d", maxSentence, n)
	}
	words := engine.Tokenize(text)
	blanks := 0
	for _, w := range words {
		if w == engine.WordBlank {
			blanks++
		}
	}
	if blanks != 1 {
		return nil, fieldErrorf("sentence", "sentence must have exactly one blank (____), got %d", blanks)
	}
	return words, nil
}

// langReadingMessage answers langRead: each model's reading.
type langReadingMessage struct {
	Type     string           `json:"type"`
	ID       int64            `json:"id"`
	Readings []langRunReading `json:"readings"`
}

type langRunReading struct {
	Run   int    `json:"run"`
	Model string `json:"model"`
	langReadingJSON
}

func (sess *session) runLangRead(ctx context.Context, id int64, req langReadRequest) {
	models := sess.lang.get()
	if len(models) == 0 {
		sess.sendErr(id, codedf(codeNoModel, "sentence", "there is no model to read the sentence: train one first"))
		return
	}
	msg := langReadingMessage{Type: "langReading", ID: id}
	for i, m := range models {
		rd, err := sess.langRead(ctx, m, req.words)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			sess.sendErr(id, err)
			return
		}
		msg.Readings = append(msg.Readings, langRunReading{Run: i, Model: m.name, langReadingJSON: readingJSON(rd)})
	}
	sess.sendJSON(msg, false)
}

// langExportRequest is a parsed langExport message.
type langExportRequest struct{ run int }

func parseLangExport(r *request) (langExportRequest, error) {
	run, err := wholeField(r.fields, "run", 0, 0, maxCompared-1)
	return langExportRequest{run: run}, err
}

// LangExport is a trained language-lab model as langExport sends it: the
// settings, the vocabulary, the embedding and every weight, enough to
// replay the guesses and the strip elsewhere (docs/langlab.md).
type LangExport struct {
	Format     string              `json:"format"` // "gradviz-lang"
	Version    int                 `json:"version"`
	Task       engine.LangTask     `json:"task"`
	Lang       engine.Lang         `json:"lang"`
	Distance   int                 `json:"distance"`
	Iteration  int                 `json:"iteration"`
	Model      engine.Settings     `json:"model"`
	Vocabulary []string            `json:"vocabulary"`
	Answers    []string            `json:"answers"`
	Pad        string              `json:"pad"`
	Unknown    string              `json:"unknown"`
	Blank      string              `json:"blank"`
	Embedding  [][]float64         `json:"embedding"`
	Weights    []LangExportWeights `json:"weights"`
}

// LangExportWeights is one weight array, row-major.
type LangExportWeights struct {
	Name string    `json:"name"`
	Rows int       `json:"rows"`
	Cols int       `json:"cols"`
	Data []float64 `json:"data"`
}

// langExportOf copies m's weights; the caller holds m.mu.
func langExportOf(m *langModel) LangExport {
	tr := m.tr
	ls := tr.Settings()
	model := tr.Model()
	out := LangExport{
		Format: "gradviz-lang", Version: 1, Task: ls.Task, Lang: ls.Lang, Distance: ls.Distance, Iteration: tr.Iteration(),
		Model: model, Vocabulary: tr.Vocab(), Answers: tr.Answers(),
		Pad: engine.WordPad, Unknown: engine.WordUnk, Blank: engine.WordBlank,
	}
	D := model.D
	emb := tr.Embedding()
	for i := range tr.Vocab() {
		out.Embedding = append(out.Embedding, append([]float64(nil), emb[i*D:(i+1)*D]...))
	}
	for _, b := range tr.Params().Blocks() {
		out.Weights = append(out.Weights, LangExportWeights{b.Name, b.Rows, b.Cols, append([]float64(nil), b.Data...)})
	}
	return out
}

func (sess *session) runLangExport(_ context.Context, id int64, req langExportRequest) {
	models := sess.lang.get()
	if req.run >= len(models) {
		sess.sendErr(id, codedf(codeNoModel, "run", "there is no trained model %d: the language lab has %d", req.run, len(models)))
		return
	}
	m := models[req.run]
	m.mu.RLock()
	exp := langExportOf(m)
	m.mu.RUnlock()
	if !allFiniteExport(exp) {
		sess.sendErr(id, codedf(codeNoModel, "run", "model %d has weights that are not finite: it diverged and cannot be exported", req.run))
		return
	}
	sess.sendJSON(map[string]any{"type": "langModel", "id": id, "run": req.run, "model": exp}, false)
}

func allFiniteExport(e LangExport) bool {
	for _, row := range e.Embedding {
		for _, v := range row {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return false
			}
		}
	}
	for _, w := range e.Weights {
		for _, v := range w.Data {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return false
			}
		}
	}
	return true
}
