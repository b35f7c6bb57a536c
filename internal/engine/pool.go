package engine

import "sync"

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

var (
	helperOnce sync.Once
	helperJobs chan *job
)

// helper starts the one helper goroutine on first use. It lives as long
// as the process and serves every pass; a pass that finds it busy runs
// its second half itself.
func helper() chan *job {
	helperOnce.Do(func() {
		helperJobs = make(chan *job)
		// Runs for the life of the process, idle on the channel.
		go func() {
			for j := range helperJobs {
				j.run()
				j.done <- struct{}{}
			}
		}()
	})
	return helperJobs
}

func newJob(run func()) *job { return &job{run: run, done: make(chan struct{}, 1)} }

// both runs a on the calling goroutine and b on the helper if it is idle,
// else after a, and returns when both are done.
func both(a, b *job) {
	select {
	case helper() <- b:
		b.sent = true
	default:
		b.sent = false
	}
	a.run()
	if b.sent {
		<-b.done
	} else {
		b.run()
	}
}
