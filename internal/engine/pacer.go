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

// A Lender lends a run more cores than the one it runs on. A Pacer that
// is also a Lender decides, on the run's context, whether a pass may put
// work on another goroutine: Borrow returns a function that gives the
// core back, or false when none is free, and the work then runs on the
// caller's goroutine, in the same order and to the same bits. Without a
// Lender on the context (tests, benchmarks, a library caller) every
// borrow succeeds.
type Lender interface {
	Borrow() (release func(), ok bool)
}

// borrowCore asks ctx's Lender, if any, for a second core. release is
// never nil.
func borrowCore(ctx context.Context) (release func(), ok bool) {
	if l, isLender := pacerOf(ctx).(Lender); isLender {
		if release, ok := l.Borrow(); ok {
			return release, true
		}
		return func() {}, false
	}
	return func() {}, true
}
