package api

import (
	"context"
	"encoding/json"
	"sync"

	"gradviz/internal/engine"
)

// sharedRuns lets the pages of one class share their runs: a class
// following its teacher asks for the same profile from every page, and
// the server computes it once per class and settings. A run still going
// is waited for; one cancelled (its page asked for something newer) is
// computed again by the next page that wants it.
type sharedRuns struct {
	mu      sync.Mutex
	entries map[string]*sharedRun
	order   []string // oldest first, for the bound
}

type sharedRun struct {
	done chan struct{}
	val  any
	err  error
}

// maxSharedRuns bounds the runs kept for classes, across all of them.
const maxSharedRuns = 256

// do returns the value of key, computing it with run when no page of the
// class has (or is).
func (sr *sharedRuns) do(ctx context.Context, key string, run func(context.Context) (any, error)) (any, error) {
	for {
		sr.mu.Lock()
		if sr.entries == nil {
			sr.entries = map[string]*sharedRun{}
		}
		e, ok := sr.entries[key]
		if !ok {
			e = &sharedRun{done: make(chan struct{})}
			sr.entries[key] = e
			sr.order = append(sr.order, key)
			for len(sr.order) > maxSharedRuns {
				delete(sr.entries, sr.order[0])
				sr.order = sr.order[1:]
			}
			sr.mu.Unlock()
			e.val, e.err = run(ctx)
			if ctx.Err() != nil {
				// Cancelled, not failed: the next page computes it.
				sr.mu.Lock()
				if sr.entries[key] == e {
					delete(sr.entries, key)
				}
				sr.mu.Unlock()
			}
			close(e.done)
			return e.val, e.err
		}
		sr.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil || ctx.Err() != nil || !isCancelled(e.err) {
			return e.val, e.err
		}
		// The page that ran it left before the end: try again.
	}
}

func isCancelled(err error) bool {
	return err == context.Canceled || err == context.DeadlineExceeded
}

// classKey is the key of a run of the session's class, or "" outside a
// class (then nothing is shared).
func (sess *session) classKey(what string, s engine.Settings) string {
	m := sess.class.get()
	if m == nil {
		return ""
	}
	b, _ := json.Marshal(s)
	return m.Code() + "\x00" + what + "\x00" + string(b)
}

// sharedProfile is computeWith, shared with the session's class.
func (sess *session) sharedProfile(ctx context.Context, s engine.Settings) (*engine.Result, error) {
	key := sess.classKey("profile", s)
	if key == "" {
		return sess.srv.computeWith(ctx, s, engine.ProfileOptions{})
	}
	v, err := sess.srv.classRuns.do(ctx, key, func(ctx context.Context) (any, error) {
		return sess.srv.computeWith(ctx, s, engine.ProfileOptions{})
	})
	res, _ := v.(*engine.Result)
	return res, err
}

// sharedJacobians is the per-step Jacobian norms of res, shared with the
// session's class.
func (sess *session) sharedJacobians(ctx context.Context, s engine.Settings, res *engine.Result) ([]float64, error) {
	run := func(ctx context.Context) (any, error) {
		var jn []float64
		err := sess.srv.withSlot(ctx, int64(8*s.H*(s.H+2)), func(ctx context.Context) (err error) {
			jn, err = sess.srv.runner.JacobianNorms(ctx, res)
			return err
		})
		return jn, err
	}
	key := sess.classKey("jacobians", s)
	if key == "" {
		v, err := run(ctx)
		jn, _ := v.([]float64)
		return jn, err
	}
	v, err := sess.srv.classRuns.do(ctx, key, run)
	jn, _ := v.([]float64)
	return jn, err
}
