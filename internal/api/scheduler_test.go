package api

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a scheduler clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestScheduler(slots int, budget int64) (*scheduler, *fakeClock) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	s := newScheduler(slots, budget)
	s.now = clock.Now
	return s, clock
}

// acquireAsync starts an acquire and returns a channel with its ticket.
func acquireAsync(ctx context.Context, s *scheduler, client string, prio priority, bytes int64) <-chan *ticket {
	got := make(chan *ticket, 1)
	// Exits when acquire returns.
	go func() {
		t, err := s.acquire(ctx, client, prio, bytes)
		if err != nil {
			t = nil
		}
		got <- t
	}()
	return got
}

// waitQueued waits until n tickets wait.
func waitQueued(t *testing.T, s *scheduler, n int) {
	t.Helper()
	waitFor(t, 10*time.Second, "tickets to queue", func() bool { _, waiting, _ := s.stats(); return waiting == n })
}

func mustAcquire(t *testing.T, s *scheduler, client string, prio priority, bytes int64) *ticket {
	t.Helper()
	tk, err := s.acquire(context.Background(), client, prio, bytes)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestSchedulerInteractiveBeforeBackground: with the one slot taken, a
// training iteration that asked first still goes after a profile.
func TestSchedulerInteractiveBeforeBackground(t *testing.T) {
	s, _ := newTestScheduler(1, 0)
	holder := mustAcquire(t, s, "a", prioInteractive, 0)
	bg := acquireAsync(context.Background(), s, "b", prioBackground, 0)
	waitQueued(t, s, 1)
	fg := acquireAsync(context.Background(), s, "c", prioInteractive, 0)
	waitQueued(t, s, 2)
	holder.release()
	first := <-fg
	if first == nil || first.client != "c" {
		t.Fatalf("first after the release: got %v, want the interactive run of c", first)
	}
	select {
	case <-bg:
		t.Fatal("the background run got the slot while the interactive one held it")
	default:
	}
	first.release()
	if b := <-bg; b == nil || b.client != "b" {
		t.Fatalf("then: got %v, want b's background run", b)
	}
}

// TestSchedulerLeastUsedFirst: of two clients waiting, the one that has
// used less CPU lately goes first, whoever asked first; past usage is
// forgotten with its half-life.
func TestSchedulerLeastUsedFirst(t *testing.T) {
	s, clock := newTestScheduler(1, 0)
	heavy := mustAcquire(t, s, "heavy", prioInteractive, 0)
	clock.advance(5 * time.Second)
	heavy.release()

	holder := mustAcquire(t, s, "other", prioInteractive, 0)
	again := acquireAsync(context.Background(), s, "heavy", prioInteractive, 0)
	waitQueued(t, s, 1)
	light := acquireAsync(context.Background(), s, "light", prioInteractive, 0)
	waitQueued(t, s, 2)
	holder.release()
	if got := <-light; got == nil {
		t.Fatal("light client: no slot")
	} else {
		got.release()
	}
	(<-again).release()

	// Ten half-lives later the heavy client's 5 s are 5 ms, less than a
	// fresh client's first 10 ms: it goes first again.
	clock.advance(10 * usageHalfLife)
	fresh := mustAcquire(t, s, "fresh", prioInteractive, 0)
	clock.advance(10 * time.Millisecond)
	fresh.release()
	holder = mustAcquire(t, s, "other", prioInteractive, 0)
	f := acquireAsync(context.Background(), s, "fresh", prioInteractive, 0)
	waitQueued(t, s, 1)
	h := acquireAsync(context.Background(), s, "heavy", prioInteractive, 0)
	waitQueued(t, s, 2)
	holder.release()
	if got := <-h; got == nil || got.client != "heavy" {
		t.Fatalf("after ten half-lives: got %v first, want the forgiven heavy client", got)
	} else {
		got.release()
	}
	(<-f).release()
}

// TestSchedulerPause: a run that has held its slot for a quantum gives it
// up at its next Pause to a waiting run with a better claim, and gets it
// back when that run ends. Before a quantum, with nobody waiting, or with
// only worse claims waiting, Pause returns at once.
func TestSchedulerPause(t *testing.T) {
	s, clock := newTestScheduler(1, 0)
	ctx := context.Background()
	heavy := mustAcquire(t, s, "heavy", prioInteractive, 0)
	clock.advance(time.Second)
	if err := heavy.Pause(ctx); err != nil || !heavy.holding {
		t.Fatalf("nobody waiting: Pause gave %v, holding %v; want it to carry on", err, heavy.holding)
	}

	// A background run does not displace an interactive one.
	bg := acquireAsync(ctx, s, "bg", prioBackground, 0)
	waitQueued(t, s, 1)
	if err := heavy.Pause(ctx); err != nil || !heavy.holding {
		t.Fatalf("background waiting: Pause gave %v, holding %v; want it to carry on", err, heavy.holding)
	}

	light := acquireAsync(ctx, s, "light", prioInteractive, 0)
	waitQueued(t, s, 2)
	paused := make(chan error, 1)
	// Exits when heavy has its slot back (or the test fails).
	go func() { paused <- heavy.Pause(ctx) }()
	l := <-light
	if l == nil || l.client != "light" {
		t.Fatalf("after the pause: got %v, want the light run", l)
	}
	select {
	case err := <-paused:
		t.Fatalf("Pause returned (%v) while the light run holds the only slot", err)
	default:
	}
	clock.advance(time.Millisecond)
	if err := l.Pause(ctx); err != nil || !l.holding {
		t.Fatalf("light run inside its quantum: Pause gave %v, holding %v", err, l.holding)
	}
	l.release()
	if err := <-paused; err != nil || !heavy.holding {
		t.Fatalf("heavy resumed: got %v, holding %v", err, heavy.holding)
	}
	if heavy.pauses != 1 {
		t.Errorf("heavy paused %d times, want 1", heavy.pauses)
	}
	heavy.release()
	(<-bg).release()
	if busy, waiting, reserved := s.stats(); busy != 0 || waiting != 0 || reserved != 0 {
		t.Errorf("at the end: %d busy, %d waiting, %d bytes reserved; want none", busy, waiting, reserved)
	}
}

// TestSchedulerPauseCancelled: a run cancelled while paused returns its
// context's error and leaves the queue.
func TestSchedulerPauseCancelled(t *testing.T) {
	s, clock := newTestScheduler(1, 0)
	ctx, cancel := context.WithCancel(context.Background())
	heavy := mustAcquire(t, s, "heavy", prioInteractive, 10)
	clock.advance(time.Second)
	light := acquireAsync(context.Background(), s, "light", prioInteractive, 0)
	waitQueued(t, s, 1)
	paused := make(chan error, 1)
	// Exits when Pause returns.
	go func() { paused <- heavy.Pause(ctx) }()
	l := <-light
	waitQueued(t, s, 1) // heavy, waiting to resume
	cancel()
	if err := <-paused; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while paused: got %v, want context.Canceled", err)
	}
	heavy.release()
	l.release()
	if busy, waiting, reserved := s.stats(); busy != 0 || waiting != 0 || reserved != 0 {
		t.Errorf("at the end: %d busy, %d waiting, %d bytes reserved; want none", busy, waiting, reserved)
	}
}

// TestSchedulerMemoryBudget: runs are admitted while their reservations
// fit the budget; a large run waits for memory even with a slot free, a
// small one gets the headroom, and a cancelled waiter leaves the queue.
func TestSchedulerMemoryBudget(t *testing.T) {
	const budget = 64 << 20
	s, _ := newTestScheduler(4, budget)
	a := mustAcquire(t, s, "a", prioInteractive, 40<<20)
	ctx, cancel := context.WithCancel(context.Background())
	big := acquireAsync(ctx, s, "b", prioInteractive, 40<<20)
	waitQueued(t, s, 1)
	small := mustAcquire(t, s, "c", prioInteractive, 1<<20)
	if _, _, reserved := s.stats(); reserved != 41<<20 {
		t.Errorf("reserved %d, want 41 MiB", reserved)
	}
	cancel()
	if got := <-big; got != nil {
		t.Fatal("a cancelled waiter got a slot")
	}
	if _, waiting, _ := s.stats(); waiting != 0 {
		t.Errorf("%d waiting after the cancel, want 0", waiting)
	}
	big2 := acquireAsync(context.Background(), s, "b", prioInteractive, 40<<20)
	waitQueued(t, s, 1)
	a.release()
	b := <-big2
	if b == nil {
		t.Fatal("the large run did not get in once memory was freed")
	}
	b.release()
	small.release()
	// One run larger than the whole budget still runs, alone.
	huge := mustAcquire(t, s, "d", prioInteractive, 2*budget)
	huge.release()
	if _, _, reserved := s.stats(); reserved != 0 {
		t.Errorf("reserved %d at the end, want 0", reserved)
	}
}

// TestSchedulerForgetsIdleClients: the table of clients does not grow
// with every address that ever asked.
func TestSchedulerForgetsIdleClients(t *testing.T) {
	s, clock := newTestScheduler(1, 0)
	for i := range 1000 {
		tk := mustAcquire(t, s, "http/10.0.0."+itoa(i), prioInteractive, 0)
		clock.advance(time.Millisecond)
		tk.release()
		clock.advance(2 * usageHalfLife)
	}
	s.mu.Lock()
	n := len(s.accounts)
	s.mu.Unlock()
	if n > 256 {
		t.Errorf("%d client accounts kept after 1000 idle clients, want at most 256", n)
	}
}

// TestSchedulerUnderLoad runs many clients' acquire, pause and release at
// once (with the race detector in CI): slots and memory are never
// oversold and all come back.
func TestSchedulerUnderLoad(t *testing.T) {
	const slots, budget = 2, 100
	s := newScheduler(slots, budget)
	var holding, maxHolding atomic.Int64
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Add(1)
		// Exits after its 200 runs.
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for range 200 {
				tk, err := s.acquire(context.Background(), "c"+itoa(c), priority(rng.IntN(2)), int64(rng.IntN(60)))
				if err != nil {
					t.Error(err)
					return
				}
				n := holding.Add(1)
				for m := maxHolding.Load(); n > m && !maxHolding.CompareAndSwap(m, n); m = maxHolding.Load() {
				}
				s.mu.Lock()
				over := s.reserved > budget+budget/4 && s.busy > 1
				s.mu.Unlock()
				if over {
					t.Error("memory reserved past the budget")
				}
				for range rng.IntN(3) {
					holding.Add(-1)
					tk.Pause(context.Background())
					holding.Add(1)
				}
				holding.Add(-1)
				tk.release()
			}
		}()
	}
	wg.Wait()
	if m := maxHolding.Load(); m > slots {
		t.Errorf("%d runs held a slot at once, want at most %d", m, slots)
	}
	if busy, waiting, reserved := s.stats(); busy != 0 || waiting != 0 || reserved != 0 {
		t.Errorf("at the end: %d busy, %d waiting, %d reserved; want none", busy, waiting, reserved)
	}
}

// TestSchedulerBorrow: a run may lend a helper goroutine a free slot
// while nobody waits; not while anyone does; a pause takes the loan back
// at once so a waiting run gets the core, and the loan's late release
// gives nothing back twice.
func TestSchedulerBorrow(t *testing.T) {
	s, clock := newTestScheduler(2, 0)
	ctx := context.Background()
	a := mustAcquire(t, s, "a", prioInteractive, 0)
	giveBack, ok := a.Borrow()
	if !ok {
		t.Fatal("a free slot and nobody waiting: Borrow refused")
	}
	if busy, _, _ := s.stats(); busy != 2 {
		t.Fatalf("busy %d with one run and its loan, want 2", busy)
	}
	if _, ok := a.Borrow(); ok {
		t.Fatal("no free slot: Borrow lent one")
	}
	b := acquireAsync(ctx, s, "b", prioInteractive, 0)
	waitQueued(t, s, 1)
	clock.advance(time.Second)
	paused := make(chan error, 1)
	// Exits when a has its slot back.
	go func() { paused <- a.Pause(ctx) }()
	bt := <-b
	if bt == nil {
		t.Fatal("the waiting run did not get the core the pause freed")
	}
	// The loan's slot was free again, so a resumed on it at once.
	if err := <-paused; err != nil {
		t.Fatal(err)
	}
	giveBack() // late: the pause took the loan back already
	if busy, _, _ := s.stats(); busy != 2 {
		t.Fatalf("busy %d after the late give-back, want a's and b's 2", busy)
	}
	if _, ok := bt.Borrow(); ok {
		t.Fatal("no free slot: Borrow lent one")
	}
	bt.release()
	a.release()
	if busy, waiting, _ := s.stats(); busy != 0 || waiting != 0 {
		t.Errorf("at the end: %d busy, %d waiting; want none", busy, waiting)
	}
}
