package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
// tenant below org, or "*" for all. Actions are pull and push.
type Grant struct {
	Tenant  string   `json:"tenant"`
	Actions []string `json:"actions"`
}

func (g Grant) covers(tenant, action string) bool {
	if !slices.Contains(g.Actions, action) && !slices.Contains(g.Actions, "*") {
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
				if a != actionPull && a != actionPush && a != "*" {
					errs = append(errs, fmt.Errorf("user %q: action %q must be pull, push or *", u.Name, a))
				}
			}
		}
	}
	return errs
}

// userStore authenticates chartd's own users and issues registry tokens
// (Docker token spec): short-lived JWTs scoped per repository and action.
type userStore struct {
	users  map[string]UserConfig
	secret []byte
	ttl    time.Duration
	issuer string
	// dummy is a bcrypt hash compared against for unknown users, so a
	// wrong user name costs as long as a wrong password.
	dummy []byte
	// verified caches successful bcrypt checks (user -> sha256 of the
	// password), because bcrypt per request would cost tens of ms each.
	mu       sync.Mutex
	verified map[string][32]byte
	resolve  func(name string) (string, string, error)
}

func newUserStore(c *Config) (*userStore, error) {
	if len(c.Users) == 0 {
		return nil, nil
	}
	us := &userStore{users: map[string]UserConfig{}, ttl: c.TokenTTL, issuer: "chartd", verified: map[string][32]byte{}}
	for _, u := range c.Users {
		us.users[u.Name] = u
	}
	var err error
	if us.dummy, err = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost); err != nil {
		return nil, err
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

// authenticate checks a user name and password.
func (us *userStore) authenticate(name, pass string) (UserConfig, bool) {
	u, ok := us.users[name]
	if !ok {
		// Spend comparable time for unknown users.
		_ = bcrypt.CompareHashAndPassword(us.dummy, []byte(pass))
		return UserConfig{}, false
	}
	if u.Password != "" {
		return u, constantEqual(u.Password, pass)
	}
	sum := sha256.Sum256([]byte(pass))
	us.mu.Lock()
	prev, hit := us.verified[name]
	us.mu.Unlock()
	if hit && hmac.Equal(prev[:], sum[:]) {
		return u, true
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pass)) != nil {
		return u, false
	}
	us.mu.Lock()
	us.verified[name] = sum
	us.mu.Unlock()
	return u, true
}

func (u UserConfig) may(tenant, action string) bool {
	for _, g := range u.Grants {
		if g.covers(tenant, action) {
			return true
		}
	}
	return false
}

// registryClaims follow the Docker token spec.
type registryClaims struct {
	jwt.RegisteredClaims
	Access []accessEntry `json:"access"`
}

type accessEntry struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// tokenValid verifies one of our tokens, whatever its scope.
func (us *userStore) tokenValid(raw string) bool {
	var c registryClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return us.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(us.issuer), jwt.WithExpirationRequired())
	return err == nil
}

// tokenAllows verifies one of our tokens and checks its scope.
func (us *userStore) tokenAllows(raw, tenant, action string) bool {
	var c registryClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return us.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(us.issuer), jwt.WithExpirationRequired())
	if err != nil {
		return false
	}
	for _, a := range c.Access {
		if !slices.Contains(a.Actions, action) {
			continue
		}
		switch a.Type {
		case "repository":
			if t, _, err := us.resolve(a.Name); err == nil && t == tenant {
				return true
			}
		case "artifact-repository":
			if a.Name == tenant {
				return true
			}
		case "registry":
			if a.Name == "catalog" && action == actionPull {
				return true
			}
		}
	}
	return false
}

// handleToken is the token endpoint (GET /v2/token?service=&scope=...):
// basic credentials in, a JWT granting the intersection of what was asked
// and what the user may do out. Anonymous callers get anonymous rights.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	us := s.auth.users
	if us == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "token auth is not configured"})
		return
	}
	var user *UserConfig
	if name, pass, ok := r.BasicAuth(); ok {
		u, ok := us.authenticate(name, pass)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="chartd"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]string{{"code": "UNAUTHORIZED", "message": "invalid credentials"}}})
			return
		}
		user = &u
	}
	var granted []accessEntry
	for _, scope := range r.URL.Query()["scope"] {
		for _, one := range strings.Split(scope, " ") {
			e, ok := parseScope(one)
			if !ok {
				continue
			}
			var allowed []string
			for _, a := range e.Actions {
				if a == "delete" || a == "*" {
					a = actionPush
				}
				if s.scopeAllowed(user, e, a) && !slices.Contains(allowed, a) {
					allowed = append(allowed, a)
				}
			}
			if len(allowed) > 0 {
				e.Actions = allowed
				granted = append(granted, e)
			}
		}
	}
	now := time.Now()
	sub := ""
	if user != nil {
		sub = user.Name
	}
	claims := registryClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    us.issuer,
			Subject:   sub,
			Audience:  jwt.ClaimStrings{r.URL.Query().Get("service")},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(us.ttl)),
		},
		Access: granted,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(us.secret)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, _ := json.Marshal(map[string]any{
		"token": tok, "access_token": tok,
		"expires_in": int(us.ttl.Seconds()), "issued_at": now.UTC().Format(time.RFC3339),
	})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// scopeAllowed decides one requested action of a scope for user (nil: anonymous).
func (s *Server) scopeAllowed(user *UserConfig, e accessEntry, action string) bool {
	if e.Type == "registry" {
		// The catalog is filtered per repository later; any caller may list.
		return e.Name == "catalog"
	}
	tenant := e.Name
	if e.Type == "repository" {
		t, _, err := s.resolveOCI(e.Name)
		if err != nil {
			return false
		}
		tenant = t
	}
	if action == actionPull && s.cfg.AuthAnonymousGet {
		return true
	}
	return user != nil && user.may(tenant, action)
}

// parseScope parses "repository:org/team/app:pull,push".
func parseScope(s string) (accessEntry, bool) {
	first := strings.Index(s, ":")
	last := strings.LastIndex(s, ":")
	if first < 0 || last <= first {
		return accessEntry{}, false
	}
	e := accessEntry{Type: s[:first], Name: s[first+1 : last], Actions: strings.Split(s[last+1:], ",")}
	if e.Name == "" || (e.Type != "repository" && e.Type != "registry" && e.Type != "artifact-repository") {
		return accessEntry{}, false
	}
	return e, true
}
