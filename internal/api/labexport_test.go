package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"html"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"gradviz/internal/engine"
)

// TestLabExports: the training lab exports PNG, SVG, PDF, CSV and an
// animated GIF of the same training the lab streams: the CSV has a row
// per window of every run, with the numbers a trainer gives.
func TestLabExports(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	q := "task=recall&T=8&H=8&K=4&batch=8&iterations=40&every=5&cells=rnn,lstm"
	for _, format := range []string{"png", "svg", "pdf", "csv"} {
		query := q
		if format == "png" {
			query += "&chart=accuracy&w=1000&h=600"
		}
		if format == "svg" {
			query += "&lang=es&chart=profile"
		}
		if format == "pdf" {
			query += "&chart=heat"
		}
		resp, body := getExport(t, ts.URL, "/api/lab."+format+"?"+query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", format, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != plotContentTypes[format] {
			t.Errorf("%s: Content-Type %q", format, ct)
		}
		if cd := resp.Header.Get("Content-Disposition"); cd != "attachment; filename=gradviz-lab-recall-rnn-lstm-T8."+format {
			t.Errorf("%s: Content-Disposition %q", format, cd)
		}
		saveArtifact(t, format, body)
		switch format {
		case "png":
			img, err := png.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 1000 || b.Dy() != 600 {
				t.Errorf("png %v", b)
			}
		case "svg":
			text := strings.ReplaceAll(html.UnescapeString(string(body)), "\u00a0", " ")
			for _, want := range []string{"Tarea: recuerdo de la clave", "Optimizador: Adam", "Unidades ocultas: 8", "Esta vista: http://", "tab=lab", "termina con una exactitud del"} {
				if !strings.Contains(text, want) {
					t.Errorf("Spanish lab svg lacks %q", want)
				}
			}
		case "pdf":
			wantPDF(1200, 700)(t, body)
		case "csv":
			rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rows[0], ","); got != "run,cell,iter,loss,accuracy,gradNorm,gradNormClipped,clipRate,nonFinite,horizon,end" {
				t.Errorf("header %s", got)
			}
			if len(rows) != 1+2*8 {
				t.Fatalf("%d rows, want a header and 2 runs × 40/5 windows", len(rows))
			}
			// The numbers are a trainer's: the first window of the rnn.
			ts := engine.DefaultTrainSettings()
			ts.Model.T, ts.Model.H, ts.Model.K, ts.Batch, ts.Iterations = 8, 8, 4, 8, 40
			tr := engine.NewTrainer(ts)
			loss := 0.0
			for range 5 {
				st, err := tr.Step(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				loss += st.Loss
			}
			if got, want := rows[1][3], strconv.FormatFloat(loss/5, 'g', -1, 64); got != want {
				t.Errorf("first window's loss %s, want %s", got, want)
			}
			if rows[16][1] != "lstm" || rows[16][2] != "40" || rows[16][10] != "finished" {
				t.Errorf("last row %v", rows[16])
			}
		}
	}
	resp, body := getExport(t, ts.URL, "/api/lab.gif?"+q)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("gif: %d %s", resp.StatusCode, body)
	}
	wantGIF(t, body, 960, 540, 11)
}

func TestLabExportBadRequests(t *testing.T) {
	ts, _ := newTestServer(t, DefaultConfig())
	for _, tt := range []struct{ query, field string }{
		{"task=juggle", "task"},
		{"iterations=0", "iterations"},
		{"cells=rnn,rnn", "cells"},
		{"lr=fast", "lr"},
		{"chart=pie", "chart"},
		{"loss=sum", "loss"},
		{"T=0", "T"},
		{"format=gif&w=4000", "w"},
		{"format=gif&h=2000", "h"},
		{"format=gif&w=NaN", "w"},
		{"format=gif&h=-1", "h"},
	} {
		path, query := "/api/lab.png?", tt.query
		if rest, ok := strings.CutPrefix(query, "format=gif&"); ok {
			path, query = "/api/lab.gif?", rest
		}
		resp, body := getExport(t, ts.URL, path+query)
		var e struct{ Field, Message string }
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusBadRequest || e.Field != tt.field {
			t.Errorf("%s: %d, field %q (%s), want 400 naming %q", tt.query, resp.StatusCode, e.Field, e.Message, tt.field)
		}
	}
}
