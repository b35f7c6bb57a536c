package api

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// priority orders the classes of work: every waiting interactive run
// (a profile, a plot, an analysis) is served before any background run
// (a training iteration).
type priority int

const (
	prioInteractive priority = iota
	prioBackground
)

func (p priority) String() string {
	if p == prioBackground {
		return "background"
	}
	return "interactive"
}

// Scheduling constants.
const (
	// quantum is how long a run keeps its core while others wait before
	// it must let a run that deserves the core more go first. A light
	// request therefore waits for at most a quantum of a heavy one (and a
	// step, the engine's unit of pausing) rather than for all of it.
	quantum = 10 * time.Millisecond
	// usageHalfLife is how fast a client's past CPU time is forgiven: a
	// student who trained a large model a minute ago is as light as
	// anyone again.
	usageHalfLife = 10 * time.Second
	// forgetUsage is the CPU time (seconds) below which an idle client's
	// account is dropped, so the table of HTTP clients cannot grow
	// without bound.
	forgetUsage = 1e-3
)

// scheduler hands out the worker slots, one core each, to runs of all
// clients over both transports. A free slot goes to the waiting run with
// the best claim: interactive before background, then the client who
// has used the least CPU lately (decayed with usageHalfLife), then the
// earliest. A running run gives its slot up at its next step once it has
// held it for a quantum and a run with a better claim waits (Pause), so
// heavy requests are sliced, not queued behind. Each run reserves an
// estimate of its memory when it is first admitted, and keeps it while
// paused; runs are admitted only while the reservations fit the budget,
// with a quarter more for small runs so a light request is never held
// back by heavy ones' memory.
type scheduler struct {
	mu       sync.Mutex
	slots    int
	busy     int
	budget   int64 // bytes
	reserved int64
	peak     int64 // the most ever reserved at once
	queue    []*ticket
	accounts map[string]*account
	seq      uint64
	charges  int
	now      func() time.Time

	// contended is set while any run waits, so that Pause costs an
	// atomic load when nobody does.
	contended atomic.Bool
}

// account is one client's recent CPU use.
type account struct {
	used float64 // seconds, decayed to at
	at   time.Time
	refs int // tickets alive
}

// ticket is one run's claim on the scheduler, from acquire to release.
type ticket struct {
	s      *scheduler
	client string
	acct   *account
	prio   priority
	bytes  int64
	seq    uint64
	queued time.Time // when it last started waiting

	// Guarded by s.mu.
	holding  bool          // it has a slot now
	admitted bool          // its memory is reserved
	granted  chan struct{} // closed when a waiting ticket gets a slot
	waited   time.Duration // total time spent waiting, for the metrics
	pauses   int
	// borrowed counts the extra slots lent to the run's helper
	// goroutines; lends is bumped when a pause takes them back, so a
	// loan's late release does not give a slot back twice.
	borrowed int
	lends    int

	// since is when it last got its slot (unix nanoseconds); written
	// under s.mu, read without it by Pause's fast path.
	since atomic.Int64
}

// heldFor is how long t has held its slot at now.
func (t *ticket) heldFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, t.since.Load()))
}

func newScheduler(slots int, budget int64) *scheduler {
	return &scheduler{slots: max(slots, 1), budget: budget, accounts: map[string]*account{}, now: time.Now}
}

// acquire waits for a slot for a run of client, or for ctx to end.
func (s *scheduler) acquire(ctx context.Context, client string, prio priority, bytes int64) (*ticket, error) {
	s.mu.Lock()
	a := s.accounts[client]
	if a == nil {
		a = &account{at: s.now()}
		s.accounts[client] = a
	}
	a.refs++
	s.seq++
	t := &ticket{s: s, client: client, acct: a, prio: prio, bytes: max(bytes, 0), seq: s.seq}
	s.enqueue(t)
	s.dispatch()
	s.mu.Unlock()
	if err := t.wait(ctx); err != nil {
		t.release()
		return nil, err
	}
	return t, nil
}

// enqueue makes t wait. s.mu is held.
func (s *scheduler) enqueue(t *ticket) {
	t.queued = s.now()
	t.granted = make(chan struct{})
	s.queue = append(s.queue, t)
	s.contended.Store(true)
}

// wait blocks until t holds a slot or ctx ends.
func (t *ticket) wait(ctx context.Context) error {
	s := t.s
	s.mu.Lock()
	granted := t.granted
	s.mu.Unlock()
	select {
	case <-granted:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if !t.holding {
			s.dequeue(t)
			t.waited += s.now().Sub(t.queued)
		}
		return ctx.Err()
	}
}

// release ends t: its slot and memory go to the next runs, and its CPU
// time is charged to its client. It may be called once, whether or not
// t holds a slot.
func (t *ticket) release() {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.holding {
		s.charge(t)
		t.holding = false
		s.busy--
	}
	s.recall(t)
	s.dequeue(t)
	if t.admitted {
		s.reserved -= t.bytes
		t.admitted = false
	}
	t.acct.refs--
	s.dispatch()
}

// Pause implements engine.Pacer: once t has held its slot for a quantum
// and a run with a better claim waits, t waits for the slot again. More
// than one goroutine of a run may call it; all of them wait.
func (t *ticket) Pause(ctx context.Context) error {
	s := t.s
	if !s.contended.Load() {
		return nil
	}
	// Inside its quantum a run goes on without taking the lock: Pause is
	// called once a step, and a busy server always has runs waiting.
	if t.since.Load() != 0 && t.heldFor(s.now()) < quantum {
		return nil
	}
	s.mu.Lock()
	if !t.holding {
		// Another goroutine of this run gave the slot up: wait with it.
		granted := t.granted
		s.mu.Unlock()
		select {
		case <-granted:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	now := s.now()
	best := s.best(now)
	if t.heldFor(now) < quantum || best == nil || !s.before(best, t, now) {
		s.mu.Unlock()
		return nil
	}
	s.charge(t)
	t.holding = false
	t.pauses++
	s.busy--
	s.recall(t)
	s.enqueue(t)
	s.dispatch()
	s.mu.Unlock()
	return t.wait(ctx)
}

// Borrow implements engine.Lender: while no run waits, a run may put a
// helper goroutine on a free slot. A pause takes the run's loans back at
// once, so a waiting run is never kept from a core by them.
func (t *ticket) Borrow() (release func(), ok bool) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.holding || s.busy >= s.slots || len(s.queue) > 0 {
		return nil, false
	}
	s.busy++
	t.borrowed++
	lend := t.lends
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if t.lends == lend && t.borrowed > 0 {
				t.borrowed--
				s.busy--
				s.dispatch()
			}
		})
	}, true
}

// recall takes t's loans back. s.mu is held.
func (s *scheduler) recall(t *ticket) {
	s.busy -= t.borrowed
	t.borrowed = 0
	t.lends++
}

// charge adds the time t has held its slot to its client's use. s.mu is
// held.
func (s *scheduler) charge(t *ticket) {
	now := s.now()
	a := t.acct
	a.used = decayed(a.used, now.Sub(a.at)) + t.heldFor(now).Seconds()
	a.at = now
	s.charges++
	if s.charges%256 == 0 {
		for k, acct := range s.accounts {
			if acct.refs == 0 && decayed(acct.used, now.Sub(acct.at)) < forgetUsage {
				delete(s.accounts, k)
			}
		}
	}
}

func decayed(used float64, elapsed time.Duration) float64 {
	return used * math.Exp2(-elapsed.Seconds()/usageHalfLife.Seconds())
}

// before reports whether a has a better claim to a slot than b.
func (s *scheduler) before(a, b *ticket, now time.Time) bool {
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	ua, ub := decayed(a.acct.used, now.Sub(a.acct.at)), decayed(b.acct.used, now.Sub(b.acct.at))
	if b.holding {
		ub += b.heldFor(now).Seconds() // what b has used since it last was charged
	}
	if ua != ub {
		return ua < ub
	}
	return a.seq < b.seq
}

// fits reports whether t's memory can be reserved now.
func (s *scheduler) fits(t *ticket) bool {
	switch {
	case t.admitted || s.budget <= 0 || s.reserved == 0:
		return true
	case s.reserved+t.bytes <= s.budget:
		return true
	}
	// A small run may use a quarter more than the budget.
	return t.bytes <= s.budget/64 && s.reserved+t.bytes <= s.budget+s.budget/4
}

// best returns the waiting ticket with the best claim that fits, or nil.
// s.mu is held.
func (s *scheduler) best(now time.Time) *ticket {
	var best *ticket
	for _, w := range s.queue {
		if s.fits(w) && (best == nil || s.before(w, best, now)) {
			best = w
		}
	}
	return best
}

// dispatch gives free slots to the best waiting tickets. s.mu is held.
func (s *scheduler) dispatch() {
	now := s.now()
	for s.busy < s.slots {
		t := s.best(now)
		if t == nil {
			break
		}
		s.dequeue(t)
		if !t.admitted {
			s.reserved += t.bytes
			s.peak = max(s.peak, s.reserved)
			t.admitted = true
		}
		t.holding = true
		t.since.Store(now.UnixNano())
		t.waited += now.Sub(t.queued)
		s.busy++
		close(t.granted)
	}
	s.contended.Store(len(s.queue) > 0)
}

// dequeue removes t from the queue if it is there. s.mu is held.
func (s *scheduler) dequeue(t *ticket) {
	for i, w := range s.queue {
		if w == t {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	s.contended.Store(len(s.queue) > 0)
}

// peakReserved returns the most memory ever reserved at once.
func (s *scheduler) peakReserved() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// stats returns the slots in use, the runs waiting and the memory
// reserved.
func (s *scheduler) stats() (busy, waiting int, reserved int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy, len(s.queue), s.reserved
}

// waitedFor returns how long t has waited in all, pauses included.
func (t *ticket) waitedFor() time.Duration {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.waited
}
