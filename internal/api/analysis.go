package api

import (
	"context"

	"gradviz/internal/engine"
)

// The analysis views' requests over the websocket: "sensitivity" (the
// bidirectional view) and "map" (the gradient map). They share one
// worker, so the newest of either wins.

// sensitivityRequest is a parsed "sensitivity" message.
type sensitivityRequest struct {
	settings   engine.Settings
	outputStep int // the scored step t, 1..T
}

func parseSensitivity(r *request) (sensitivityRequest, error) {
	step, err := wholeField(r.fields, "outputStep", (r.settings.T+1)/2, 1, r.settings.T)
	return sensitivityRequest{settings: r.settings, outputStep: step}, err
}

// mapRequest is a parsed "map" message.
type mapRequest struct {
	settings engine.Settings
	rows     int // output steps to compute, within mapWorkBudget
}

func parseMap(r *request) (mapRequest, error) {
	rows, err := wholeField(r.fields, "rows", 64, 1, engine.MaxMapRows)
	if err != nil {
		return mapRequest{}, err
	}
	return mapRequest{settings: r.settings, rows: mapRows(r.settings, rows, r.cfg.Limits.MaxWork)}, nil
}

// mapWorkBudget bounds a gradient map, a forward pass and one backward
// pass per row, to the work of this many runs at -max-work, so that no
// request holds a worker much longer than the largest profile does.
const mapWorkBudget = 4

// mapRows returns the rows of a map within mapWorkBudget, at least one:
// fewer than asked when the model is large. The answer's "steps" lists
// the rows computed, as it does when rows exceeds T; maxWork 0 means no
// bound.
func mapRows(s engine.Settings, rows int, maxWork int64) int {
	if maxWork <= 0 {
		return rows
	}
	return max(1, min(rows, int(mapWorkBudget*maxWork/s.Work()-1)))
}

// sensitivityMessage answers "sensitivity": ‖∂E_t/∂x_k‖ of the
// unidirectional model and of its bidirectional version.
type sensitivityMessage struct {
	Type           string          `json:"type"`
	ID             int64           `json:"id"`
	Config         engine.Settings `json:"config"`
	OutputStep     int             `json:"outputStep"`
	Unidirectional Floats          `json:"unidirectional"`
	Bidirectional  Floats          `json:"bidirectional"`
}

// runSensitivity computes ‖∂E_t/∂x_k‖ of the model and of its
// bidirectional version, in one worker slot, and sends both.
func (sess *session) runSensitivity(ctx context.Context, id int64, req sensitivityRequest) {
	s, step := req.settings, req.outputStep
	msg := sensitivityMessage{Type: "sensitivity", ID: id, OutputStep: step}
	bidir := s
	bidir.Bidir = true
	err := sess.srv.withSlot(ctx, bidir.WorkingBytes(1), func(ctx context.Context) error {
		for _, bidir := range []bool{false, true} {
			st := s
			st.Bidir = bidir
			if err := validateSettings(st, sess.srv.cfg.Limits); err != nil {
				return reframe(err, "bidir", "bidirectional: "+err.Error())
			}
			res, err := engine.InputSensitivity(ctx, st, step)
			if err != nil {
				return err
			}
			if bidir {
				msg.Bidirectional = res.DEtDx
			} else {
				msg.Unidirectional = res.DEtDx
			}
		}
		return nil
	})
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		sess.sendErr(id, err)
		return
	}
	msg.Config = s
	sess.sendJSON(msg, false)
}

// mapMessage answers "map": ‖∂E_t/∂s_k‖ for output steps t (rows) and
// states k (columns), the terms loss=sum adds up.
type mapMessage struct {
	Type   string          `json:"type"`
	ID     int64           `json:"id"`
	Config engine.Settings `json:"config"`
	Steps  []int           `json:"steps"`
	Values []Floats        `json:"values"`
}

// runMap computes the gradient map and sends it.
func (sess *session) runMap(ctx context.Context, id int64, req mapRequest) {
	s, rows := req.settings, req.rows
	var m *engine.GradientMap
	err := sess.srv.withSlot(ctx, s.WorkingBytes(1), func(ctx context.Context) (err error) {
		m, err = engine.FullGradientMap(ctx, s, rows)
		return err
	})
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		sess.sendErr(id, err)
		return
	}
	msg := mapMessage{Type: "map", ID: id, Config: s, Steps: m.Steps, Values: make([]Floats, len(m.Values))}
	for i, v := range m.Values {
		msg.Values[i] = v
	}
	sess.sendJSON(msg, false)
}
