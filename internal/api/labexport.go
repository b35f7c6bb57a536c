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
	"sync/atomic"

	"github.com/go-chi/chi/v5"

	"gradviz/internal/engine"
	"gradviz/internal/render"
)

// The training lab's exports, GET /api/lab.{png,svg,pdf,csv,gif}. The
// lab streams its runs over the websocket, so the server does not keep
// them; an export trains them again from the request's settings, which
// the page sends as its link does. Training is deterministic (the seed
// draws the weights and every batch, and each run is trained alone), so
// the export shows the numbers the lab showed, under the same parser,
// bounds and fairness as a "train" message: each iteration and each
// probe in a background slot of its own, the cost check, -max-train-cpu,
// and on top the HTTP request's -run-timeout. A run the server stops
// says so in the figure, at the iteration it reached.
//
//	/api/lab.png?<settings>&task=recall&optimizer=adam&lr=0.01&momentum=0.9
//	  &batch=32&iterations=1500&every=10&cells=rnn,lstm&chart=loss|accuracy|profile
//	  &w=…&h=…&lang=en|es
//
// The GIF animates the probe profile ‖∂E/∂s_k‖ of every run at
// iterations 0, n/10, …, n.

// labParams are a lab export's names besides the settings and the
// training fields.
var labParams = []string{"w", "h", "lang", "chart"}

// labCheckpoints is how many intervals the GIF's checkpoints divide the
// iterations into: frames at 0, n/10, …, n.
const labCheckpoints = 10

// handleLabExport serves the training lab's exports.
func (s *Server) handleLabExport() http.HandlerFunc {
	logger := s.logger
	return func(w http.ResponseWriter, r *http.Request) {
		format := chi.URLParam(r, "format")
		contentType, ok := plotContentTypes[format]
		if !ok {
			handleNotFound()(w, r)
			return
		}
		q := r.URL.Query()
		req, fig, err := labRequestFromQuery(q, s.cfg)
		if err == nil && format == "gif" {
			err = gifSize(q, &fig.Width, &fig.Height)
		}
		if err != nil {
			writeError(w, logger, err)
			return
		}
		fig.Link = labLink(r, q)
		tag := runTagOf(r.Context())
		tag.kind = kindTrain
		ctx := withRunTag(r.Context(), tag)
		if err := s.trainForExport(ctx, req, &fig); err != nil {
			writeError(w, logger, err)
			return
		}
		reserve := viewDrawingBytes(render.ViewFigure{Settings: fig.Model, Width: fig.Width, Height: fig.Height}, format) +
			int64(len(fig.Runs))*int64(len(fig.Runs[0].Windows)+1)*256
		if format == "gif" {
			// As a profile's GIF: one RGBA canvas at a time, then
			// every frame's palette image and the encoded animation.
			reserve += 3*4*int64(fig.Width)*int64(fig.Height) + int64(labCheckpoints+2)*int64(fig.Width)*int64(fig.Height)
		}
		serveDrawing(w, ctx, logger, s.withSlot, reserve, "lab", format, contentType, fig.FileName(format), func(ctx context.Context, body io.Writer) error {
			switch format {
			case "csv":
				return render.WriteLabCSV(body, fig)
			case "gif":
				return render.WriteLabGIF(ctx, body, fig)
			}
			return render.WriteLabImage(body, fig, render.Format(format))
		})
	}
}

// trainForExport trains the request's runs as runTraining does, an
// iteration of each in turn, each in a slot, recording every window of
// `every` iterations and the probe profile at the checkpoints.
func (s *Server) trainForExport(ctx context.Context, req trainRequest, fig *render.LabFigure) error {
	n := req.base.Iterations
	checkpoint := map[int]bool{}
	for i := 0; i <= labCheckpoints; i++ {
		checkpoint[int(math.Round(float64(i)*float64(n)/labCheckpoints))] = true
	}
	// The heatmap keeps the profile of at most render.MaxHeatColumns
	// windows a run, evenly spaced, whatever every asks.
	heatStride := max(1, (n/req.every+render.MaxHeatColumns)/render.MaxHeatColumns)
	var cpu atomic.Int64
	ctx = withCPUMeter(ctx, &cpu)
	type run struct {
		tr  *engine.Trainer
		win window
		out *render.LabRun
	}
	runs := make([]*run, len(req.cells))
	fig.Runs = make([]render.LabRun, len(req.cells))
	for i, c := range req.cells {
		ts := req.base
		ts.Model.Cell = c
		runs[i] = &run{tr: engine.NewTrainer(ts), out: &fig.Runs[i]}
		runs[i].out.Cell = c
	}
	fig.Model = runs[0].tr.Model()
	probe := func(r *run, iter int) error {
		var profile []float64
		err := s.withSlot(ctx, r.tr.Model().WorkingBytes(1), func(ctx context.Context) (err error) {
			profile, err = r.tr.Probe(ctx)
			return err
		})
		if err == nil {
			r.out.Checkpoints = append(r.out.Checkpoints, render.LabCheckpoint{Iteration: iter, Profile: profile})
		}
		return err
	}
	for _, r := range runs {
		if err := probe(r, 0); err != nil {
			return err
		}
	}
	stop := func(reason string, iter int) {
		for _, r := range runs {
			if r.out.End == "" {
				r.out.End, r.out.EndIteration = reason, iter
			}
		}
	}
	for iter := 1; iter <= n; iter++ {
		if s.cfg.TrainCPU > 0 && cpu.Load() > int64(s.cfg.TrainCPU) {
			stop("limit", iter-1)
			return nil
		}
		active := 0
		for _, r := range runs {
			if r.out.End != "" {
				continue
			}
			active++
			var st engine.StepStats
			bytes := r.tr.Model().WorkingBytes(req.base.Batch)
			err := s.withSlot(ctx, bytes, func(ctx context.Context) (err error) {
				st, err = r.tr.Step(ctx)
				if bytes > s.cfg.MemoryBudget/64 {
					r.tr.Shrink()
				}
				return err
			})
			if err != nil {
				return err
			}
			r.win.add(st)
			diverged := r.tr.Diverged()
			if iter%req.every == 0 || iter == n || diverged {
				// The probe the lab's progress message carries.
				var profile []float64
				err := s.withSlot(ctx, r.tr.Model().WorkingBytes(1), func(ctx context.Context) (err error) {
					profile, err = r.tr.Probe(ctx)
					return err
				})
				if err != nil {
					return err
				}
				w, k := r.win, float64(max(r.win.n, 1))
				win := render.LabWindow{
					Iteration: iter, Loss: w.loss / k, Accuracy: w.acc / k, GradNorm: w.norm / k,
					GradNormClipped: w.clipped2 / k, ClipRate: float64(w.clipped) / k, NonFinite: w.nonFinite,
					Horizon: engine.Horizon(profile, 1e-3),
				}
				if len(r.out.Windows)%heatStride == 0 {
					win.Profile = profile
				}
				r.out.Windows = append(r.out.Windows, win)
				r.win = window{}
				if checkpoint[iter] || diverged {
					r.out.Checkpoints = append(r.out.Checkpoints, render.LabCheckpoint{Iteration: iter, Profile: profile})
				}
			} else if checkpoint[iter] {
				if err := probe(r, iter); err != nil {
					return err
				}
			}
			if diverged {
				r.out.End, r.out.EndIteration = "diverged", iter
			}
		}
		if active == 0 {
			break
		}
	}
	stop("finished", n)
	return nil
}

// labRequestFromQuery reads a lab export: the query becomes the fields
// of a "train" message, read by the message's own parser, so that the
// export and the lab accept and refuse the same requests.
func labRequestFromQuery(q url.Values, cfg Config) (trainRequest, render.LabFigure, error) {
	var fig render.LabFigure
	fields := map[string]json.RawMessage{}
	for name, vs := range q {
		if len(vs) > 1 {
			return trainRequest{}, fig, fieldErrorf(name, "%s is given %d times", name, len(vs))
		}
		if contains(labParams, name) {
			continue
		}
		fields[name] = queryJSON(name, vs[0])
	}
	settings, err := trainingSettings(fields, cfg, trainFields)
	if err != nil {
		return trainRequest{}, fig, err
	}
	req, err := parseTrainRequest(&request{fields: fields, settings: settings, cfg: cfg})
	if err != nil {
		return req, fig, err
	}
	fig.Task, fig.Optimizer, fig.Iterations = req.base.Task, req.base.Optimizer, req.base.Iterations
	fig.Baseline = engine.Baseline(req.base.Task, req.base.Model.T, req.base.Model.K)
	fig.Chance = engine.ChanceAccuracy(req.base.Task, req.base.Model.K)
	if fig.Chart, err = oneOfQuery(q, "chart", render.LabLoss, render.LabCharts); err != nil {
		return req, fig, err
	}
	if fig.Lang, err = oneOfQuery(q, "lang", render.English, render.Langs); err != nil {
		return req, fig, err
	}
	if fig.Width, err = pixelsFromQuery(q, "w", render.DefaultWidth, render.MinWidth, render.MaxWidth); err != nil {
		return req, fig, err
	}
	if fig.Height, err = pixelsFromQuery(q, "h", render.DefaultHeight, render.MinHeight, render.MaxHeight); err != nil {
		return req, fig, err
	}
	return req, fig, nil
}

// queryJSON writes a query value as the JSON a train message carries:
// cells as a list, the task, the optimizer and enumerations as strings,
// numbers and booleans as themselves. A value that is not what its name
// takes goes as a string, which the parser then refuses by name.
func queryJSON(name, v string) json.RawMessage {
	quote := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	switch name {
	case "cells":
		var items []string
		if v != "" {
			items = strings.Split(v, ",")
		}
		b, _ := json.Marshal(items)
		return b
	case "task", "optimizer":
		return quote(v)
	}
	if v == "true" || v == "false" {
		return json.RawMessage(v)
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && json.Valid([]byte(v)) {
		return json.RawMessage(v)
	}
	return quote(v)
}

// labLink is the page's address for the lab tab with the request's
// settings.
func labLink(r *http.Request, q url.Values) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	p := url.Values{}
	for k, vs := range q {
		if k != "w" && k != "h" && k != "chart" {
			p[k] = vs
		}
	}
	p.Set("tab", "lab")
	return scheme + "://" + r.Host + "/?" + p.Encode()
}
