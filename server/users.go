package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// UserConfig is one user of chartd's own auth, from the config file.
type UserConfig struct {
	Name string `json:"name"`
	// PasswordHash is a bcrypt hash (htpasswd -B); Password is plain text,
	// for tests and throwaway setups only.
	PasswordHash string  `json:"passwordHash,omitempty"`
	Password     string  `json:"password,omitempty"`
	Grants       []Grant `json:"grants"`
}

// Grant gives actions on tenants: "org/team" exactly, "org/*" for every
// tenant below org, or "*" for all. Actions are pull, push, admin (which
// implies both and also manages the tenant's trusted keys), or "*" for all.
type Grant struct {
	Tenant  string   `json:"tenant"`
	Actions []string `json:"actions"`
}

func (g Grant) covers(tenant, action string) bool {
	if !slices.Contains(g.Actions, action) && !slices.Contains(g.Actions, "*") && !slices.Contains(g.Actions, actionAdmin) {
		return false
	}
	switch {
	case g.Tenant == "*":
		return true
	case strings.HasSuffix(g.Tenant, "/*"):
		p := strings.TrimSuffix(g.Tenant, "*")
		return strings.HasPrefix(tenant, p)
	default:
		return g.Tenant == tenant
	}
}

func validateUsers(users []UserConfig) []error {
	var errs []error
	seen := map[string]bool{}
	for i, u := range users {
		switch {
		case u.Name == "":
			errs = append(errs, fmt.Errorf("users[%d]: name is required", i))
		case seen[u.Name]:
			errs = append(errs, fmt.Errorf("users[%d]: duplicate user %q", i, u.Name))
		}
		seen[u.Name] = true
		if (u.PasswordHash == "") == (u.Password == "") {
			errs = append(errs, fmt.Errorf("user %q: exactly one of password and passwordHash is required", u.Name))
		}
		if u.PasswordHash != "" {
			if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
				errs = append(errs, fmt.Errorf("user %q: passwordHash is not a bcrypt hash", u.Name))
			}
		}
		for _, g := range u.Grants {
			for _, a := range g.Actions {
				if a != actionPull && a != actionPush && a != actionAdmin && a != "*" {
					errs = append(errs, fmt.Errorf("user %q: action %q must be pull, push, admin or *", u.Name, a))
				}
			}
		}
	}
	return errs
}

// may reports whether the user's grants allow action on res. A registry
// delete is a push right; the catalog opens to every user, and shows each
// only the tenants they may pull from.
func (u UserConfig) may(res resource, action string) bool {
	switch res.kind {
	case resCatalog:
		return true
	case resListing:
		action = actionPull
	}
	if action == "delete" {
		action = actionPush
	}
	for _, g := range u.Grants {
		if g.covers(res.tenant, action) {
			return true
		}
	}
	return false
}

// errBadCredentials is a failed password check; the caller answers it as
// any other refusal, so it never says whether the user exists.
var errBadCredentials = errors.New("invalid credentials")

// userStore authenticates chartd's own users and issues registry tokens
// (Docker token spec): short-lived JWTs scoped per repository and action.
type userStore struct {
	users  map[string]UserConfig
	secret []byte
	ttl    time.Duration
	// dummies[c] is a bcrypt hash at cost c, for every cost from bcrypt's
	// least up to the highest any user has (at least bcrypt's default).
	// Every failed check spends the same bcrypt work, 2^maxCost rounds:
	// an unknown or plain-text user is checked against the top dummy; a
	// user hashed at cost c (htpasswd -B uses 5) against their own hash and
	// then dummies at costs c…maxCost-1, which add up to the rest. Equal
	// work rather than a padded wall-clock time, because a busy machine
	// stretches the work past any fixed pad.
	dummies map[int][]byte
	maxCost int
	guard   *loginGuard
	// verified caches successful bcrypt checks (user -> sha256 of the
	// password), because bcrypt per request would cost tens of ms each.
	mu       sync.Mutex
	verified map[string][32]byte
}

func newUserStore(c *Config) (*userStore, error) {
	if len(c.Users) == 0 {
		return nil, nil
	}
	us := &userStore{users: map[string]UserConfig{}, ttl: c.TokenTTL, verified: map[string][32]byte{},
		guard: newLoginGuard(c.FailedLoginBurst, c.FailedLoginInterval, 0, c.PasswordCheckShare)}
	us.maxCost = bcrypt.DefaultCost
	for _, u := range c.Users {
		us.users[u.Name] = u
		if u.PasswordHash != "" {
			if uc, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil && uc > us.maxCost {
				us.maxCost = uc
			}
		}
	}
	us.dummies = map[int][]byte{}
	for cost := bcrypt.MinCost; cost <= us.maxCost; cost++ {
		h, err := bcrypt.GenerateFromPassword([]byte("not a password"), cost)
		if err != nil {
			return nil, err
		}
		us.dummies[cost] = h
	}
	if c.TokenSecretFile != "" {
		b, err := os.ReadFile(c.TokenSecretFile)
		if err != nil {
			return nil, fmt.Errorf("token secret: %w", err)
		}
		us.secret = []byte(strings.TrimSpace(string(b)))
	} else {
		// One replica: a random secret per process is enough, tokens are
		// short-lived. Several replicas must share --token-secret-file.
		us.secret = make([]byte, 32)
		if _, err := rand.Read(us.secret); err != nil {
			return nil, err
		}
	}
	return us, nil
}

// authenticate checks a user name and password for a client at addr. It
// answers errBadCredentials or a *rateLimitError; which one never depends
// on whether the name exists, and neither does how long it takes.
func (us *userStore) authenticate(ctx context.Context, addr, name, pass string) (UserConfig, error) {
	// Admission comes first, even before the cache: otherwise a throttled
	// client could go on testing passwords against it.
	if err := us.guard.admit(addr, name); err != nil {
		us.guard.tarpit(ctx, err)
		return UserConfig{}, err
	}
	u, known := us.users[name]
	sum := sha256.Sum256([]byte(pass))
	if known {
		us.mu.Lock()
		prev, hit := us.verified[name]
		us.mu.Unlock()
		if hit && hmac.Equal(prev[:], sum[:]) {
			return u, nil
		}
	}
	release, err := us.guard.acquire(ctx)
	if err != nil {
		us.guard.tarpit(ctx, err) // a full queue refuses a flood, and slows it
		return UserConfig{}, err
	}
	var ok bool
	release(lowPriority(func() { ok = us.verify(u, known, pass) }))
	if !ok {
		us.guard.fail(addr, name)
		return UserConfig{}, errBadCredentials
	}
	us.mu.Lock()
	us.verified[name] = sum
	us.mu.Unlock()
	return u, nil
}

// verify does the slow check, spending 2^maxCost bcrypt rounds whatever
// the branch, so how long it takes tells nothing about the user.
func (us *userStore) verify(u UserConfig, known bool, pass string) bool {
	p := []byte(pass)
	hashes := us.workFor(u, known)
	ok := bcrypt.CompareHashAndPassword(hashes[0], p) == nil
	for _, h := range hashes[1:] {
		_ = bcrypt.CompareHashAndPassword(h, p)
	}
	switch {
	case !known:
		return false
	case u.Password != "":
		return constantEqual(u.Password, pass)
	}
	return ok
}

// workFor lists the hashes verify compares a password against: the user's
// own first, when they have one, then dummies, 2^maxCost rounds in all
// (2^c + 2^c + 2^(c+1) + … + 2^(max-1) = 2^max).
func (us *userStore) workFor(u UserConfig, known bool) [][]byte {
	if !known || u.PasswordHash == "" {
		return [][]byte{us.dummies[us.maxCost]}
	}
	hash := []byte(u.PasswordHash)
	cost, _ := bcrypt.Cost(hash) // validated at start-up
	out := [][]byte{hash}
	for c := cost; c < us.maxCost; c++ {
		out = append(out, us.dummies[c])
	}
	return out
}
