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
	// dummy is a bcrypt hash at the highest cost any user has (at least
	// bcrypt's default). Unknown users and plain-password users are checked
	// against it too, so every failed check does the same work.
	dummy []byte
	// floor is the least time a failed check takes. It covers the dummy
	// comparison with room to spare, so a user whose hash is cheaper
	// (htpasswd -B uses cost 5) fails no faster than an unknown name.
	floor time.Duration
	guard *loginGuard
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
		guard: newLoginGuard(c.FailedLoginBurst, c.FailedLoginInterval, 0)}
	cost := bcrypt.DefaultCost
	for _, u := range c.Users {
		us.users[u.Name] = u
		if u.PasswordHash != "" {
			if uc, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil && uc > cost {
				cost = uc
			}
		}
	}
	start := time.Now()
	var err error
	if us.dummy, err = bcrypt.GenerateFromPassword([]byte("not a password"), cost); err != nil {
		return nil, err
	}
	// Hashing costs what a comparison costs; twice that absorbs the jitter
	// of a loaded machine.
	us.floor = max(2*time.Since(start), 50*time.Millisecond)
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
		return UserConfig{}, err
	}
	start := time.Now()
	ok := us.verify(u, known, pass)
	release()
	if !ok {
		us.guard.fail(addr, name)
		// Pad to the floor: the failure then takes as long whatever work
		// the branch above did.
		t := time.NewTimer(time.Until(start.Add(us.floor)))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		return UserConfig{}, errBadCredentials
	}
	us.mu.Lock()
	us.verified[name] = sum
	us.mu.Unlock()
	return u, nil
}

// verify does the slow check. Each branch spends at least one bcrypt
// comparison at the dummy's cost, except a hashed user's own comparison,
// which the floor pads when it fails.
func (us *userStore) verify(u UserConfig, known bool, pass string) bool {
	switch {
	case !known:
		_ = bcrypt.CompareHashAndPassword(us.dummy, []byte(pass))
		return false
	case u.Password != "":
		_ = bcrypt.CompareHashAndPassword(us.dummy, []byte(pass))
		return constantEqual(u.Password, pass)
	default:
		return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pass)) == nil
	}
}
