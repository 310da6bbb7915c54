package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Registry tokens follow the Docker token spec: the token endpoint takes
// basic credentials and scopes, and answers a JWT whose access list is the
// intersection of what was asked and what the user may do.
const (
	// tokenService is the service chartd names in its challenges; it is
	// the audience of every token it issues, and the only one it accepts.
	tokenService = "chartd"
	tokenIssuer  = "chartd"
)

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

// verifyToken checks one of chartd's tokens: signature, issuer, audience
// and lifetime. What it grants is tokenAllows' question.
func (us *userStore) verifyToken(raw string) (*registryClaims, error) {
	var c registryClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return us.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(tokenService), jwt.WithExpirationRequired())
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// tokenAllows reports whether a verified token grants action on res. A
// token holds exactly what its user was granted when it was issued, entry
// by entry: a repository entry opens that one repository, an
// artifact-repository entry one tenant's ChartMuseum API, and the catalog
// entry only the catalog, which then shows the repositories of the tenants
// the token's user may pull from.
func (us *userStore) tokenAllows(c *registryClaims, res resource, action string) bool {
	if res.kind == resListing {
		// Reading a whole tenant: an artifact-repository pull entry for it,
		// or the catalog entry, which lists what the token's user may pull.
		if c.has("artifact-repository", res.tenant, actionPull) {
			return true
		}
		u, ok := us.users[c.Subject]
		return ok && c.Subject != "" && c.has("registry", "catalog", "*") && u.may(res, actionPull)
	}
	switch res.kind {
	case resRepository:
		return c.has("repository", res.repo, action)
	case resTenant:
		return c.has("artifact-repository", res.tenant, action)
	case resCatalog:
		return c.has("registry", "catalog", "*")
	}
	return false
}

// has reports whether the token has an entry of type and name with action.
func (c *registryClaims) has(typ, name, action string) bool {
	for _, e := range c.Access {
		if e.Type == typ && e.Name == name && slices.Contains(e.Actions, action) {
			return true
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
	if svc := r.URL.Query().Get("service"); svc != "" && svc != tokenService {
		writeTokenError(w, http.StatusBadRequest, "DENIED", "unknown service "+strconv.Quote(svc)+"; this registry is "+strconv.Quote(tokenService))
		return
	}
	var user *UserConfig
	if name, pass, ok := r.BasicAuth(); ok {
		u, err := us.authenticate(r.Context(), clientAddr(r), name, pass)
		var limited *rateLimitError
		switch {
		case errors.As(err, &limited):
			w.Header().Set("Retry-After", limited.retryAfterHeader())
			writeTokenError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "too many failed logins; retry later")
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Basic realm="chartd"`)
			writeTokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid credentials")
			return
		}
		user = &u
		requestInfoFrom(r.Context()).setSubject(u.Name, "")
	}
	var granted []accessEntry
	for _, scope := range r.URL.Query()["scope"] {
		for _, one := range strings.Split(scope, " ") {
			if e, ok := parseScope(one); ok {
				if e.Actions = s.grantedActions(user, e); len(e.Actions) > 0 {
					granted = append(granted, e)
				}
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
			Issuer:    tokenIssuer,
			Subject:   sub,
			Audience:  jwt.ClaimStrings{tokenService},
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

func writeTokenError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

// grantedActions is the part of scope e that user (nil: anonymous) may
// have. As the Docker token spec has it, "*" asks for every action the
// resource has: pull, push and delete on a repository; pull, push and admin
// on a ChartMuseum tenant. It is granted as the actions the user holds,
// spelled out, so a token never carries a wildcard. The catalog's only
// action is "*".
func (s *Server) grantedActions(user *UserConfig, e accessEntry) []string {
	var res resource
	var all []string
	switch e.Type {
	case "registry":
		if e.Name != "catalog" || !slices.Contains(e.Actions, "*") {
			return nil
		}
		if user != nil || s.cfg.AuthAnonymousGet {
			return []string{"*"}
		}
		return nil
	case "repository":
		tenant, _, err := s.resolveOCI(e.Name)
		if err != nil {
			return nil
		}
		res = resource{kind: resRepository, tenant: tenant, repo: e.Name}
		all = []string{actionPull, actionPush, "delete"}
	case "artifact-repository":
		res = tenantResource(e.Name)
		all = []string{actionPull, actionPush, actionAdmin}
	default:
		return nil
	}
	var want []string
	for _, a := range e.Actions {
		if a == "*" {
			want = append(want, all...)
		} else if slices.Contains(all, a) {
			want = append(want, a)
		}
	}
	var out []string
	for _, a := range want {
		if slices.Contains(out, a) {
			continue
		}
		anon := a == actionPull && s.cfg.AuthAnonymousGet
		if anon || (user != nil && user.may(res, a)) {
			out = append(out, a)
		}
	}
	return out
}

// parseScope parses "repository:org/team/app:pull,push". The name may hold
// colons (a registry host with a port), so the type ends at the first colon
// and the actions begin after the last.
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
