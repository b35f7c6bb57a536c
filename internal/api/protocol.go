package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"

	"gradviz/internal/engine"
)

// The websocket protocol's client messages (docs/protocol.md): decoding,
// the dispatch table, and the readers of their fields.

// messageType is one row of the dispatch table: a client message type,
// the fields it takes, how they are read, and where and how it runs.
type messageType struct {
	name string
	// fields are the names the message takes besides "type" and "id"
	// (and the settings, when it has a settings reader).
	fields []string
	// settings reads the model settings the message carries; nil for a
	// message without settings.
	settings settingsReader
	// worker runs the request: the newest of its kind wins there.
	worker worker
	// kind is what its runs are, for the scheduler and the metrics.
	kind runKind
	// start reads the request and returns the job that runs it; see
	// route.
	start func(*request) (job, error)
	// dropped, when set, answers a request that a newer one or a stop
	// dropped before it ran.
	dropped func(sess *session, id int64)
}

// messageTable is the dispatch table. Adding a message type is one row:
// its fields, its settings reader, its worker and run kind, and a typed
// parse and run joined by route.
var messageTable = []messageType{
	{name: "config", fields: []string{"jacobians"}, settings: modelSettings, worker: profileWorker, kind: kindProfile, start: route(parseConfig, (*session).runConfig)},
	{name: "animate", fields: []string{"stepsPerSecond", "jacobians"}, settings: modelSettings, worker: profileWorker, kind: kindProfile, start: route(parseAnimate, (*session).runAnimation)},
	{name: "sensitivity", fields: []string{"outputStep"}, settings: modelSettings, worker: analysisWorker, kind: kindSensitivity, start: route(parseSensitivity, (*session).runSensitivity)},
	{name: "map", fields: []string{"rows"}, settings: modelSettings, worker: analysisWorker, kind: kindMap, start: route(parseMap, (*session).runMap)},
	{name: "phase", fields: phaseParams, settings: modelSettings, worker: analysisWorker, kind: kindPhase, start: route(parsePhase, (*session).runPhase)},
	{name: "train", fields: trainFields, settings: trainingSettings, worker: trainWorker, kind: kindTrain, start: route(parseTrainRequest, (*session).runTraining), dropped: (*session).sendDone},
	{name: "langTrain", fields: langFields, settings: langSettingsReader, worker: trainWorker, kind: kindTrain, start: route(parseLangRequest, (*session).runLang), dropped: (*session).sendDone},
	{name: "langRead", fields: []string{"sentence"}, worker: analysisWorker, kind: kindLang, start: route(parseLangRead, (*session).runLangRead)},
	{name: "langExport", fields: []string{"run"}, worker: inline, start: route(parseLangExport, (*session).runLangExport)},
	{name: "stop", fields: []string{"what"}, worker: inline, start: route(parseStop, (*session).runStop)},
	{name: "classStart", worker: inline, start: route(parseNothing, (*session).runClassStart)},
	{name: "classJoin", fields: []string{"code", "secret"}, worker: inline, start: route(parseClassJoin, (*session).runClassJoin)},
	{name: "classLeave", worker: inline, start: route(parseNothing, (*session).runClassLeave)},
	{name: "classState", fields: []string{"state"}, worker: inline, start: route(parseClassState, (*session).runClassState)},
	{name: "classFollow", fields: []string{"follow"}, worker: inline, start: route(parseClassFollow, (*session).runClassFollow)},
	{name: "classAsk", fields: []string{"prompt"}, worker: inline, start: route(parseClassAsk, (*session).runClassAsk)},
	{name: "classAnswer", fields: []string{"question", "value"}, worker: inline, start: route(parseClassAnswer, (*session).runClassAnswer)},
	{name: "classReveal", worker: inline, start: route(parseNothing, (*session).runClassReveal)},
	{name: "classClose", worker: inline, start: route(parseNothing, (*session).runClassClose)},
}

// messageTypes maps each type to its row.
var messageTypes = func() map[string]*messageType {
	m := make(map[string]*messageType, len(messageTable))
	for i := range messageTable {
		m[messageTable[i].name] = &messageTable[i]
	}
	return m
}()

// messageTypeList names the client message types, for error messages:
// "config, animate, … and stop".
var messageTypeList = func() string {
	names := make([]string, len(messageTable))
	for i, mt := range messageTable {
		names[i] = mt.name
	}
	last := len(names) - 1
	return strings.Join(names[:last], ", ") + " and " + names[last]
}()

// job runs one request on its session.
type job func(ctx context.Context, sess *session)

// route joins a message type's typed parse and run into its start: parse
// reads the request into an R or fails (dispatch sends the error), and
// run, given the R, does the work and sends the answers.
func route[R any](parse func(*request) (R, error), run func(sess *session, ctx context.Context, id int64, req R)) func(*request) (job, error) {
	return func(r *request) (job, error) {
		req, err := parse(r)
		if err != nil {
			return nil, err
		}
		id := r.id
		return func(ctx context.Context, sess *session) { run(sess, ctx, id, req) }, nil
	}
}

// request is a decoded client message on its way to its typed form.
type request struct {
	id     int64
	fields map[string]json.RawMessage
	// settings are the model settings, read by the row's settings
	// reader; the defaults for a message without settings.
	settings engine.Settings
	cfg      Config
}

// settingsReader reads a message's settings; names outside the settings
// and extra are an error.
type settingsReader func(fields map[string]json.RawMessage, cfg Config, extra []string) (engine.Settings, error)

// modelSettings reads the settings of a profile or an analysis.
func modelSettings(fields map[string]json.RawMessage, cfg Config, extra []string) (engine.Settings, error) {
	return settingsFromJSON(fields, cfg.Limits, extra...)
}

// read checks msg against the row and parses it into a job.
func (mt *messageType) read(msg message, cfg Config) (job, error) {
	r := &request{id: msg.id, fields: msg.fields, cfg: cfg, settings: engine.Defaults()}
	allowed := append([]string{"type", "id"}, mt.fields...)
	if mt.settings != nil {
		s, err := mt.settings(msg.fields, cfg, allowed)
		if err != nil {
			return nil, err
		}
		r.settings = s
	} else if err := onlyFields(msg.fields, allowed...); err != nil {
		return nil, err
	}
	return mt.start(r)
}

// handle decodes one message and dispatches it by type. Every bad message
// is answered with one error naming the problem; the connection lives on.
// The log says the type and id of each message at debug level, never its
// settings.
func (sess *session) handle(data []byte) {
	msg, err := decodeMessage(data)
	sess.log.LogAttrs(sess.ctx, slog.LevelDebug, "websocket message",
		slog.String("type", shorten(msg.kind)), slog.Int64("id", msg.id), slog.Int("bytes", len(data)))
	if err != nil {
		sess.sendErr(msg.id, err)
		return
	}
	mt, ok := messageTypes[msg.kind]
	if !ok {
		sess.sendErr(msg.id, codedf(codeUnknownType, "type", "unknown message type %q; the types are %s", shorten(msg.kind), messageTypeList))
		return
	}
	run, err := mt.read(msg, sess.srv.cfg)
	if err != nil {
		sess.sendErr(msg.id, err)
		return
	}
	l := sess.worker(mt.worker)
	if l == nil {
		run(sess.ctx, sess)
		return
	}
	var dropped func()
	if mt.dropped != nil {
		dropped = func() { mt.dropped(sess, msg.id) }
	}
	sess.submit(l, mt.kind, msg.id, func(ctx context.Context) { run(ctx, sess) }, dropped)
}

// message is a decoded client message.
type message struct {
	kind   string
	id     int64
	fields map[string]json.RawMessage
}

// maxID is the largest id a JavaScript number holds exactly.
const maxID = 1<<53 - 1

// decodeMessage reads the envelope of a client message: a JSON object
// with a string "type" and an optional whole-number "id". Each name may
// appear once.
func decodeMessage(data []byte) (message, error) {
	var msg message
	fields, err := decodeObject(data)
	if err != nil {
		return message{}, err
	}
	msg.fields = fields
	if raw, ok := msg.fields["id"]; ok {
		// A number, not the string "7" that json.Number would take.
		var n json.Number
		id, err := int64(0), json.Unmarshal(raw, &n)
		if err == nil && !isJSONNumber(raw) {
			err = errNotNumber
		}
		if err == nil {
			id, err = n.Int64()
		}
		if err != nil || id < 0 || id > maxID {
			return msg, fieldErrorf("id", "id must be a whole number from 0 to %d, got %s", int64(maxID), shorten(string(raw)))
		}
		msg.id = id
	}
	raw, ok := msg.fields["type"]
	if !ok {
		return msg, codedf(codeBadMessage, "type", "a message needs a \"type\": %s", messageTypeList)
	}
	if err := stringField(raw, &msg.kind); err != nil {
		return msg, codedf(codeBadMessage, "type", "type must be a string, got %s", shorten(string(raw)))
	}
	return msg, nil
}

var errNotNumber = errors.New("not a number")

// decodeObject reads one JSON object into its fields, refusing anything
// else, a second value after it, and a name given twice (which
// json.Unmarshal would resolve silently, the last one winning).
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	notObject := codedf(codeBadMessage, "", "a message must be a JSON object with a \"type\"")
	single := codedf(codeBadMessage, "", "a message must be a single JSON object")
	if !json.Valid(data) {
		// Only a failure pays for the decoder that tells a second
		// object after the first from anything else.
		var first map[string]json.RawMessage
		if json.NewDecoder(bytes.NewReader(data)).Decode(&first) == nil && first != nil {
			return nil, single
		}
		return nil, notObject
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, notObject
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return nil, notObject
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notObject
		}
		if _, dup := fields[name]; dup {
			return nil, fieldErrorf(shorten(name), "%s is given twice", shorten(name))
		}
		fields[name] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, single
	}
	return fields, nil
}

// isJSONNumber reports whether a JSON value is a number (not a string,
// null, a boolean, an array or an object).
func isJSONNumber(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && (raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9'))
}

// stringField reads a JSON string into dst; null, numbers and anything
// else are an error (json.Unmarshal would take null as "no change").
func stringField(raw json.RawMessage, dst *string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return errors.New("not a string")
	}
	return json.Unmarshal(raw, dst)
}

// numberField reads an optional numeric field within [min, max].
func numberField(fields map[string]json.RawMessage, name string, def, min, max float64) (float64, error) {
	raw, ok := fields[name]
	if !ok {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil || !isJSONNumber(raw) {
		return 0, fieldErrorf(name, "%s must be a number, got %s", name, shorten(string(raw)))
	}
	if math.IsNaN(v) || v < min || v > max {
		return 0, fieldErrorf(name, "%s must be %g..%g, got %g", name, min, max, v)
	}
	return v, nil
}

// wholeField reads an optional whole-number field within [min, max].
func wholeField(fields map[string]json.RawMessage, name string, def, min, max int) (int, error) {
	v, err := numberField(fields, name, float64(def), float64(min), float64(max))
	if err != nil {
		return 0, err
	}
	if v != math.Trunc(v) {
		return 0, fieldErrorf(name, "%s must be a whole number, got %g", name, v)
	}
	return int(v), nil
}

// boolField reads an optional boolean field; absent is false.
func boolField(fields map[string]json.RawMessage, name string) (bool, error) {
	raw, ok := fields[name]
	if !ok {
		return false, nil
	}
	var v *bool
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return false, fieldErrorf(name, "%s must be true or false, got %s", name, shorten(string(raw)))
	}
	return *v, nil
}

// onlyFields rejects fields outside names.
func onlyFields(fields map[string]json.RawMessage, names ...string) error {
	for _, k := range sortedKeys(fields) {
		if !contains(names, k) {
			return codedf(codeUnknownField, shorten(k), "unknown field %q", shorten(k))
		}
	}
	return nil
}

// helloMessage tells a new client the protocol version, the limits its
// controls should respect and the default settings.
type helloMessage struct {
	Type     string          `json:"type"`
	Version  int             `json:"version"`
	Limits   helloLimits     `json:"limits"`
	Defaults engine.Settings `json:"defaults"`
}

// helloLimits are the server's limits a page shows in its controls.
type helloLimits struct {
	pageLimits
	MessagesPerSecond float64 `json:"messagesPerSecond"`
	MessageBurst      int     `json:"messageBurst"`
	MessageBytes      int64   `json:"messageBytes"`
}

// pageLimits are the limits the page's controls start from, in its
// bootstrap data and again in hello.
type pageLimits struct {
	T     int         `json:"T"`
	H     int         `json:"H"`
	D     int         `json:"D"`
	K     int         `json:"K"`
	Work  int64       `json:"work"`
	Train trainLimits `json:"train"`
	Lang  langLimits  `json:"lang"`
}

// langLimits are the bounds of a language-lab run (-max-lang-*).
type langLimits struct {
	Distance   int `json:"distance"`
	H          int `json:"H"`
	Embed      int `json:"embed"`
	Batch      int `json:"batch"`
	Iterations int `json:"iterations"`
	Vocab      int `json:"vocab"`
}

// trainLimits are the bounds of a training run (-max-train-*).
type trainLimits struct {
	T          int `json:"T"`
	H          int `json:"H"`
	Batch      int `json:"batch"`
	Iterations int `json:"iterations"`
}

func newPageLimits(cfg Config) pageLimits {
	return pageLimits{
		T: cfg.Limits.MaxT, H: cfg.Limits.MaxH, D: cfg.Limits.MaxD, K: cfg.Limits.MaxK, Work: cfg.Limits.MaxWork,
		Train: trainLimits{T: cfg.Train.MaxT, H: cfg.Train.MaxH, Batch: cfg.Train.MaxBatch, Iterations: cfg.Train.MaxIterations},
		Lang: langLimits{Distance: cfg.Lang.MaxDistance, H: cfg.Lang.MaxH, Embed: cfg.Lang.MaxEmbed, Batch: cfg.Lang.MaxBatch,
			Iterations: cfg.Lang.MaxIterations, Vocab: cfg.Lang.MaxVocab},
	}
}

func newHello(cfg Config) helloMessage {
	return helloMessage{
		Type: "hello", Version: ExportVersion,
		Limits: helloLimits{
			pageLimits: newPageLimits(cfg), MessagesPerSecond: cfg.MessagesPerSecond,
			MessageBurst: cfg.MessageBurst, MessageBytes: cfg.MaxMessageBytes,
		},
		Defaults: engine.Defaults(),
	}
}
