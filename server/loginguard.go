package server

import (
	"container/list"
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// Defaults for failed-login throttling: a client address or a user name
// may fail this many times in a row, and regains one try every interval.
const (
	DefaultFailedLoginBurst    = 10
	DefaultFailedLoginInterval = 6 * time.Second
	// maxTracked bounds each table of failure counts, so random user names
	// cannot grow memory without bound; the least recently failed go first.
	maxTracked = 16384
	// defaultCheckDuty: password checks take at most a fifth of a core
	// (Config.PasswordCheckShare).
	defaultCheckDuty = 0.2
)

// rateLimitError refuses a login attempt before any password is checked.
type rateLimitError struct{ after time.Duration }

func (e *rateLimitError) Error() string { return "too many failed logins; retry later" }

// RetryAfter is how long the client should wait; the registry's error
// table finds it by this method.
func (e *rateLimitError) RetryAfter() time.Duration { return e.after }

func (e *rateLimitError) retryAfterHeader() string {
	return strconv.Itoa(max(int((e.after+time.Second-1)/time.Second), 1))
}

// errTooManyRequests is the sentinel a rateLimitError matches.
var errTooManyRequests = errors.New("too many requests")

func (e *rateLimitError) Is(target error) bool { return target == errTooManyRequests }

// loginGuard keeps password checks from being a weapon. bcrypt is slow on
// purpose, so unauthenticated callers could otherwise spend every core on
// it (16 clients with random names raised /health latency from 0.3 ms to
// 240 ms). It throttles failures per client address and per user name,
// known or not alike, and caps how many checks run at once.
//
// A user name whose failures are used up still admits a client address
// that has not failed: failures from other clients never lock the real
// user out of a correct login, while the attacking addresses are refused.
type loginGuard struct {
	burst    float64
	interval time.Duration
	now      func() time.Time

	mu     sync.Mutex
	byAddr *failures
	byName *failures

	// duty is the share of a slot's time spent checking passwords (see
	// releaser).
	duty float64
	// tarpits bounds the refused attempts being held back (see tarpit).
	tarpits chan struct{}
	hold    time.Duration

	slots   chan struct{} // one token per password check allowed at once
	waiters chan struct{} // bounds how many may queue for a slot
	// wait is how long one may queue before it is refused: long enough for
	// the queue ahead to drain at the check share, even on a busy machine.
	wait time.Duration
}

func newLoginGuard(burst int, interval time.Duration, slots int, share float64) *loginGuard {
	if burst <= 0 {
		burst = DefaultFailedLoginBurst
	}
	if interval <= 0 {
		interval = DefaultFailedLoginInterval
	}
	if share <= 0 {
		share = defaultCheckDuty
	}
	if slots <= 0 {
		// Leave a core to everything else the server does.
		slots = max(1, runtime.GOMAXPROCS(0)/2)
	}
	return &loginGuard{
		burst: float64(burst), interval: interval, now: time.Now,
		byAddr: newFailures(), byName: newFailures(),
		slots: make(chan struct{}, slots), waiters: make(chan struct{}, 8*slots), wait: 5 * time.Second,
		tarpits: make(chan struct{}, 1024), hold: time.Second, duty: share,
	}
}

// admit refuses an attempt from addr for name while their failures are used up.
func (g *loginGuard) admit(addr, name string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	a := g.byAddr.tokens(addr, now, g.burst, g.interval)
	if a < 1 {
		return &rateLimitError{after: time.Duration((1 - a) * float64(g.interval))}
	}
	if n := g.byName.tokens(name, now, g.burst, g.interval); n < 1 && a < g.burst {
		return &rateLimitError{after: time.Duration((1 - n) * float64(g.interval))}
	}
	return nil
}

// tarpit holds back the answer to a refused attempt, up to its Retry-After
// but at most hold. A client that ignores Retry-After and asks again at
// once (as a flood does) is then slowed to one attempt a second per
// connection, so answering its 429s does not cost the server's cores
// either. A held request is a parked goroutine; past the bound the answer
// goes at once.
func (g *loginGuard) tarpit(ctx context.Context, err error) {
	var limited *rateLimitError
	if !errors.As(err, &limited) {
		return
	}
	select {
	case g.tarpits <- struct{}{}:
	default:
		return
	}
	defer func() { <-g.tarpits }()
	t := time.NewTimer(min(limited.after, g.hold))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// fail counts a failed check against both addr and name.
func (g *loginGuard) fail(addr, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.byAddr.spend(addr, now, g.burst, g.interval)
	g.byName.spend(name, now, g.burst, g.interval)
}

// acquire waits, briefly, for a slot to check a password in. Unauthenticated
// work is never queued without bound: past the queue or the wait, the
// attempt is refused with 429.
func (g *loginGuard) acquire(ctx context.Context) (release func(work time.Duration), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.releaser(), nil
	default:
	}
	select {
	case g.waiters <- struct{}{}:
	default:
		return nil, &rateLimitError{after: time.Second}
	}
	defer func() { <-g.waiters }()
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.releaser(), nil
	case <-t.C:
		return nil, &rateLimitError{after: time.Second}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// releaser returns the function that gives a slot back, given the CPU
// time the check spent. A slot is held past its check until the check's
// work is duty of the time since the slot was taken, so password checks
// take at most duty of a slot's time however many arrive: a flood of them
// waits (and is refused past the queue) instead of keeping a core busy. A
// lone login is answered at once; only the next check waits.
//
// The hold counts from the start and is owed only for the work done, not
// for time spent waiting for the core: a check slowed by a busy machine
// has already kept the slot for the share it used.
func (g *loginGuard) releaser() func(work time.Duration) {
	start := g.now()
	return func(work time.Duration) {
		due := start.Add(time.Duration(float64(work) / g.duty))
		hold := due.Sub(g.now())
		if hold <= 0 {
			<-g.slots
			return
		}
		time.AfterFunc(hold, func() { <-g.slots })
	}
}

// failures is a bounded table of token buckets, least recently used first
// out. A key absent from it has a full bucket.
type failures struct {
	items map[string]*list.Element
	order *list.List // of *bucket, most recent at the front
}

type bucket struct {
	key    string
	tokens float64
	at     time.Time
}

func newFailures() *failures { return &failures{items: map[string]*list.Element{}, order: list.New()} }

// tokens returns key's tokens at now, refilled one per interval up to burst.
func (f *failures) tokens(key string, now time.Time, burst float64, interval time.Duration) float64 {
	el, ok := f.items[key]
	if !ok {
		return burst
	}
	b := el.Value.(*bucket)
	t := b.tokens + float64(now.Sub(b.at))/float64(interval)
	if t >= burst {
		f.order.Remove(el)
		delete(f.items, key)
		return burst
	}
	return t
}

// spend takes one token from key's bucket.
func (f *failures) spend(key string, now time.Time, burst float64, interval time.Duration) {
	// Never below empty: the wait a name imposes stays one interval at
	// most, however many addresses failed on it.
	t := max(f.tokens(key, now, burst, interval)-1, 0)
	if el, ok := f.items[key]; ok {
		b := el.Value.(*bucket)
		b.tokens, b.at = t, now
		f.order.MoveToFront(el)
		return
	}
	f.items[key] = f.order.PushFront(&bucket{key: key, tokens: t, at: now})
	for f.order.Len() > maxTracked {
		last := f.order.Back()
		f.order.Remove(last)
		delete(f.items, last.Value.(*bucket).key)
	}
}
