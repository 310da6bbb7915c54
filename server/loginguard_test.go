package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// fakeClock is a settable time source for the guard.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestGuard(burst int) (*loginGuard, *fakeClock) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	g := newLoginGuard(burst, time.Second, 1, 1)
	g.now = clk.now
	return g, clk
}

func TestLoginGuardPerAddress(t *testing.T) {
	g, clk := newTestGuard(3)
	for i := range 3 {
		if err := g.admit("10.0.0.1", fmt.Sprint("u", i)); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		g.fail("10.0.0.1", fmt.Sprint("u", i))
	}
	var limited *rateLimitError
	if err := g.admit("10.0.0.1", "fresh-name"); !errors.As(err, &limited) {
		t.Fatalf("fourth failure from one address admitted: %v", err)
	}
	if limited.RetryAfter() <= 0 || limited.retryAfterHeader() != "1" {
		t.Errorf("Retry-After %v / %q", limited.RetryAfter(), limited.retryAfterHeader())
	}
	if err := g.admit("10.0.0.2", "u0"); err != nil {
		t.Errorf("another address refused: %v", err)
	}
	clk.advance(time.Second)
	if err := g.admit("10.0.0.1", "fresh-name"); err != nil {
		t.Errorf("not admitted again after one interval: %v", err)
	}
}

// Failures spread over many addresses use up a name; addresses that took
// part are then refused for it, but an address that never failed (the
// real user's) is still admitted, so attackers cannot lock a user out.
func TestLoginGuardPerNameSparesCleanAddresses(t *testing.T) {
	g, _ := newTestGuard(3)
	for i := range 3 {
		addr := fmt.Sprint("10.1.0.", i)
		if err := g.admit(addr, "alice"); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		g.fail(addr, "alice")
	}
	if err := g.admit("10.1.0.0", "alice"); err == nil {
		t.Error("an address that failed on alice is admitted after alice's failures are used up")
	}
	if err := g.admit("192.168.7.7", "alice"); err != nil {
		t.Errorf("a clean address is locked out of alice: %v", err)
	}
	if err := g.admit("10.1.0.0", "bob"); err != nil {
		t.Errorf("other names are throttled too: %v", err)
	}
}

// Random names cannot grow the tables without bound.
func TestLoginGuardTablesAreBounded(t *testing.T) {
	g, _ := newTestGuard(1 << 30)
	for i := range maxTracked + 100 {
		g.fail("10.2.0.1", fmt.Sprint("name-", i))
	}
	if n := g.byName.order.Len(); n != maxTracked || len(g.byName.items) != maxTracked {
		t.Errorf("name table holds %d/%d entries, want %d", n, len(g.byName.items), maxTracked)
	}
}

// Password checks beyond the slots and the queue are refused at once
// rather than queued without bound.
func TestLoginGuardCapsConcurrentChecks(t *testing.T) {
	g, _ := newTestGuard(3)
	g.wait = time.Hour
	release, err := g.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for range cap(g.waiters) {
		g.waiters <- struct{}{} // the queue is full
	}
	var limited *rateLimitError
	if _, err := g.acquire(context.Background()); !errors.As(err, &limited) {
		t.Fatalf("acquire with full slots and queue: %v, want a rate limit", err)
	}
	for range cap(g.waiters) {
		<-g.waiters
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter whose request ended: %v", err)
	}
	release(0)
	if r, err := g.acquire(context.Background()); err != nil {
		t.Errorf("a freed slot is not reusable: %v", err)
	} else {
		r(0)
	}
}

// Unknown and known names fail the same way: same error, and the
// throttle's 429 arrives after the same number of tries.
func TestFailedLoginsLookTheSame(t *testing.T) {
	ts := tokenTestServer(t, false)
	us := ts.srv.auth.users
	us.guard = newLoginGuard(2, time.Hour, 0, 1)
	us.guard.hold = 0
	ctx := context.Background()
	for _, name := range []string{"dev", "ci", "nobody"} {
		addr := "addr-" + name
		for i := range 3 {
			_, err := us.authenticate(ctx, addr, name, "wrong")
			want := errBadCredentials
			if i == 2 {
				want = errTooManyRequests
			}
			if !errors.Is(err, want) {
				t.Errorf("%s attempt %d: %v, want %v", name, i, err, want)
			}
		}
	}
}

// Every branch of a password check spends the same bcrypt work: the
// rounds of the hashes it compares against add up to 2^maxCost, for an
// unknown name, a plain-text user, and users hashed at every cost.
func TestPasswordCheckWorkIsEqual(t *testing.T) {
	var users []UserConfig
	for cost := bcrypt.MinCost; cost <= 11; cost++ {
		h, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, UserConfig{Name: fmt.Sprint("cost", cost), PasswordHash: string(h)})
	}
	users = append(users, UserConfig{Name: "plain", Password: "pw"})
	cfg := DefaultConfig()
	cfg.Users = users
	us, err := newUserStore(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if us.maxCost != 11 {
		t.Fatalf("maxCost %d, want 11", us.maxCost)
	}
	rounds := func(hashes [][]byte) int {
		n := 0
		for _, h := range hashes {
			c, err := bcrypt.Cost(h)
			if err != nil {
				t.Fatal(err)
			}
			n += 1 << c
		}
		return n
	}
	want := 1 << us.maxCost
	if got := rounds(us.workFor(UserConfig{}, false)); got != want {
		t.Errorf("unknown name: %d rounds, want %d", got, want)
	}
	for _, u := range users {
		if got := rounds(us.workFor(u, true)); got != want {
			t.Errorf("%s: %d rounds, want %d", u.Name, got, want)
		}
	}
	// And the checks still decide correctly.
	for _, u := range users {
		if !us.verify(u, true, "pw") || us.verify(u, true, "wrong") {
			t.Errorf("%s: verify is wrong", u.Name)
		}
	}
	if us.verify(UserConfig{}, false, "pw") {
		t.Error("an unknown name verified")
	}
}

// takenSlot is a guard of one slot, with share, on a fake clock, whose
// slot has just been taken; waiting for a slot is refused at once.
func takenSlot(t *testing.T, share float64) (*loginGuard, *fakeClock, func(time.Duration)) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	g := newLoginGuard(3, time.Second, 1, share)
	g.now = clk.now
	g.wait = 0
	release, err := g.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g, clk, release
}

// A slot is held past its check, so checks take at most their share of
// it: with share 0.5, a check of 100 ms keeps the slot another 100 ms.
func TestLoginGuardShare(t *testing.T) {
	g, clk, release := takenSlot(t, 0.5)
	clk.advance(100 * time.Millisecond) // the check's length
	// Timed from the release, where the hold starts: from any later point
	// a loaded machine would see less than the hold left.
	start := time.Now()
	release(100 * time.Millisecond)
	var limited *rateLimitError
	if _, err := g.acquire(context.Background()); !errors.As(err, &limited) {
		t.Fatalf("the slot is free right after a check: %v", err)
	}
	g.wait = time.Minute
	again, err := g.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	again(0)
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("the slot came back after %v, want about 100ms", d)
	}
}

// A check slowed by a busy machine (a second on the clock for 100 ms of
// work) has already kept the slot past its share: the slot is free at
// once, so the next user's login is not queued behind a hold grown from
// the wait for the core.
func TestLoginGuardShareCountsWork(t *testing.T) {
	g, clk, release := takenSlot(t, 0.2)
	clk.advance(time.Second)
	release(100 * time.Millisecond)
	next, err := g.acquire(context.Background())
	if err != nil {
		t.Fatalf("the slot is held after a slow check that did little work: %v", err)
	}
	next(0)
}
