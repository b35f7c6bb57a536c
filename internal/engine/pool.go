package engine

import "context"

// A pass over a batch splits its sequences into two halves that never
// meet until the parameter gradients: the recurrence of one sequence
// reads no other. One half runs on the caller's goroutine and the other
// on a helper, so a training iteration uses both cores of a small
// machine without a synchronisation per step.

// job is work that may run on the helper goroutine. run is built once,
// when the job's owner is, so handing a job over allocates nothing.
type job struct {
	run  func()
	done chan struct{}
	sent bool
}

// helperJobs feeds the one helper goroutine. It is started with the
// package, so that it is there before anything counts goroutines, lives
// as long as the process and serves every pass, idle on the channel in
// between; a pass that finds it busy runs its second half itself.
var helperJobs = startHelper()

func startHelper() chan *job {
	jobs := make(chan *job)
	// Runs for the life of the process.
	go func() {
		for j := range jobs {
			j.run()
			j.done <- struct{}{}
		}
	}()
	return jobs
}

func newJob(run func()) *job { return &job{run: run, done: make(chan struct{}, 1)} }

// both runs a on the calling goroutine and b on the helper if it is idle
// and ctx's Lender lends a core, else after a, and returns when both are
// done.
func both(ctx context.Context, a, b *job) {
	b.sent = false
	if release, ok := borrowCore(ctx); ok {
		defer release()
		select {
		case helperJobs <- b:
			b.sent = true
		default:
		}
	}
	a.run()
	if b.sent {
		<-b.done
	} else {
		b.run()
	}
}
