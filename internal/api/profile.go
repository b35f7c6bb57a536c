package api

import (
	"context"
	"time"

	"gradviz/internal/engine"
)

// The profile view's requests over the websocket: "config" computes a
// profile, "animate" reveals its backward pass a step at a time.

// frameInterval paces animation frames: 30 a second is smooth, and a
// faster step rate reveals several steps per frame.
const frameInterval = time.Second / 30

// configRequest is a parsed "config" message.
type configRequest struct {
	settings engine.Settings
	// jacobians asks for the per-step Jacobian norms after the profile.
	jacobians bool
}

func parseConfig(r *request) (configRequest, error) {
	jacobians, err := boolField(r.fields, "jacobians")
	return configRequest{settings: r.settings, jacobians: jacobians}, err
}

// animateRequest is a parsed "animate" message.
type animateRequest struct {
	configRequest
	stepsPerSecond float64
}

func parseAnimate(r *request) (animateRequest, error) {
	c, err := parseConfig(r)
	if err != nil {
		return animateRequest{}, err
	}
	rate, err := numberField(r.fields, "stepsPerSecond", 20, 1, 2000)
	return animateRequest{configRequest: c, stepsPerSecond: rate}, err
}

// profileMessage is the "profile" message of the protocol: the export's
// result, and the run time (which the export leaves to a header, so that
// the same settings give the same bytes).
type profileMessage struct {
	Type   string          `json:"type"`
	ID     int64           `json:"id"`
	Config engine.Settings `json:"config"`
	Result
	ElapsedMs float64 `json:"elapsedMs"`
}

// jacobiansMessage carries the per-step Jacobian norms of the profile
// with the same id.
type jacobiansMessage struct {
	Type         string `json:"type"`
	ID           int64  `json:"id"`
	JacobianNorm Floats `json:"jacobianNorm"`
}

// frameMessage says that steps k..T of the animated backward pass are
// revealed.
type frameMessage struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
	K    int    `json:"k"`
}

func (sess *session) runConfig(ctx context.Context, id int64, req configRequest) {
	sess.runProfile(ctx, id, req.settings, req.jacobians)
}

// runProfile computes one profile and sends it, unless a newer request
// superseded it first. The profile goes as soon as its passes are done;
// for an RNN with jacobians set, the per-step Jacobian norms, which can
// cost more than the passes, follow in a message of their own.
func (sess *session) runProfile(ctx context.Context, id int64, s engine.Settings, jacobians bool) *engine.Result {
	// The pages of a class share their runs (classruns.go).
	res, err := sess.sharedProfile(ctx, s)
	if ctx.Err() != nil {
		return nil // superseded or closed: the page no longer wants it
	}
	if err != nil {
		sess.sendErr(id, err)
		return nil
	}
	sess.sendJSON(profileMessage{Type: "profile", ID: id, Config: res.Settings, Result: newResult(res), ElapsedMs: elapsedMs(res)}, false)
	if !jacobians || !s.Cell.Info().Spectrum {
		return res
	}
	jn, err := sess.sharedJacobians(ctx, s, res)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		sess.sendErr(id, err)
		return nil
	}
	sess.sendJSON(jacobiansMessage{Type: "jacobians", ID: id, JacobianNorm: jn}, false)
	return res
}

// runAnimation sends the profile, then reveals the backward pass one step
// at a time from k = T down to 1 at the request's rate, so students watch
// the error signal travel back in time. It ends with "done" when step 1
// is revealed; a stop or a newer request ends it without one.
func (sess *session) runAnimation(ctx context.Context, id int64, req animateRequest) {
	s := req.settings
	res := sess.runProfile(ctx, id, s, req.jacobians)
	if res == nil {
		return
	}
	ticker := time.NewTicker(frameInterval)
	defer ticker.Stop()
	start := time.Now()
	shown := s.T + 1
	for shown > 1 {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			k := s.T + 1 - int(now.Sub(start).Seconds()*req.stepsPerSecond)
			if k < 1 {
				k = 1
			}
			if k < shown {
				shown = k
				sess.sendJSON(frameMessage{Type: "frame", ID: id, K: k}, true)
			}
		}
	}
	sess.sendDone(id)
}
