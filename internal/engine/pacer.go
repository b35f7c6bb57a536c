package engine

import "context"

// A Pacer shares the CPU between runs. A long pass calls Pause between
// its steps; a Pacer whose core another run deserves more blocks there
// until the core is handed back, or until ctx is done, when it returns
// ctx's error. Pause must be cheap when nobody is waiting: it is called
// once a step.
type Pacer interface {
	Pause(ctx context.Context) error
}

type pacerKey struct{}

// WithPacer returns a context whose runs pause, between steps, through p.
func WithPacer(ctx context.Context, p Pacer) context.Context {
	return context.WithValue(ctx, pacerKey{}, p)
}

// pacerOf returns the Pacer on ctx, or nil.
func pacerOf(ctx context.Context) Pacer {
	p, _ := ctx.Value(pacerKey{}).(Pacer)
	return p
}

// checkpoint ends a step of a long pass: it returns ctx's error, if
// any, and otherwise lets the run's Pacer, if it has one, take the core
// back for a while.
func checkpoint(ctx context.Context, p Pacer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p != nil {
		return p.Pause(ctx)
	}
	return nil
}
