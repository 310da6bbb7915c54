package server

import (
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Actions a request may need on a tenant.
const (
	actionPull = "pull"
	actionPush = "push"
)

// authError is a denied request; it carries the scope for the challenge.
type authError struct {
	repo, action string
}

func (e *authError) Error() string        { return "unauthorized" }
func (e *authError) Is(target error) bool { return target == errUnauthorized }

// authorizer decides who may pull and push where, with ChartMuseum's models:
// no auth, basic auth (optionally anonymous GET), or bearer tokens signed by
// an external token service.
type authorizer struct {
	basicUser, basicPass string
	anonymousGet         bool
	bearerKey            crypto.PublicKey
	realm, service       string
	// users is chartd's own user database with per-tenant grants and
	// registry tokens; nil when the config has no users.
	users *userStore
}

func newAuthorizer(c *Config) (*authorizer, error) {
	a := &authorizer{
		basicUser:    c.BasicAuthUser,
		basicPass:    c.BasicAuthPass,
		anonymousGet: c.AuthAnonymousGet,
		realm:        c.AuthRealm,
		service:      c.AuthService,
	}
	var err error
	if a.users, err = newUserStore(c); err != nil {
		return nil, err
	}
	if c.BearerAuth {
		k, err := readPublicKey(c.AuthCertPath)
		if err != nil {
			return nil, fmt.Errorf("auth-cert-path: %w", err)
		}
		a.bearerKey = k
	}
	return a, nil
}

// enabled reports whether any authentication is configured.
func (a *authorizer) enabled() bool { return a.basicUser != "" || a.bearerKey != nil || a.users != nil }

// check returns nil when the request may perform action on repo.
func (a *authorizer) check(r *http.Request, repo, action string) error {
	if !a.enabled() {
		return nil
	}
	if action == actionPull && a.anonymousGet {
		return nil
	}
	deny := &authError{repo: repo, action: action}
	if a.users != nil {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			if a.users.tokenAllows(tok, repo, action) {
				return nil
			}
			return deny
		}
		name, pass, ok := r.BasicAuth()
		if !ok {
			return deny
		}
		if u, ok := a.users.authenticate(name, pass); ok && u.may(repo, action) {
			return nil
		}
		return deny
	}
	if a.bearerKey != nil {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !a.tokenAllows(tok, repo, action) {
			return deny
		}
		return nil
	}
	u, p, ok := r.BasicAuth()
	if !ok || !constantEqual(u, a.basicUser) || !constantEqual(p, a.basicPass) {
		return deny
	}
	return nil
}

// tokenClaims are the claims ChartMuseum's token service issues.
type tokenClaims struct {
	jwt.RegisteredClaims
	Access []struct {
		Type    string   `json:"type"`
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	} `json:"access"`
}

func (a *authorizer) tokenAllows(raw, repo, action string) bool {
	var claims tokenClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return a.bearerKey, nil },
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}),
		jwt.WithAudience(a.service), jwt.WithExpirationRequired())
	if err != nil {
		return false
	}
	for _, acc := range claims.Access {
		if acc.Type == "artifact-repository" && acc.Name == repo && (slices.Contains(acc.Actions, action) || slices.Contains(acc.Actions, "*")) {
			return true
		}
	}
	return false
}

// challenge sets WWW-Authenticate for a denied ChartMuseum API request.
func (a *authorizer) challenge(w http.ResponseWriter, repo, action string) {
	switch {
	case a.users != nil:
		w.Header().Set("WWW-Authenticate", `Basic realm="chartd"`)
	case a.bearerKey != nil:
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service=%q,scope="artifact-repository:%s:%s"`,
			a.realm, a.service, repo, action))
	case a.basicUser != "":
		w.Header().Set("WWW-Authenticate", `Basic realm="ChartMuseum"`)
	}
}

func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// readPublicKey reads a PEM public key or certificate.
func readPublicKey(path string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block found")
	}
	if k, err := x509.ParsePKIXPublicKey(blk.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(blk.Bytes); err == nil {
		return k, nil
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, errors.New("neither a public key nor a certificate")
	}
	return cert.PublicKey, nil
}

// challengeRegistry sets WWW-Authenticate for a denied registry request:
// with chartd's users, a Bearer challenge naming chartd's own token endpoint
// (Docker token spec), which accepts the same basic credentials.
func (a *authorizer) challengeRegistry(w http.ResponseWriter, r *http.Request, tenant, name, action string) {
	if a.users == nil {
		a.challenge(w, tenant, action)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if action == "delete" {
		action = "delete,push"
	}
	challenge := fmt.Sprintf(`Bearer realm="%s://%s/v2/token",service="chartd"`, scheme, r.Host)
	switch {
	case name != "":
		challenge += fmt.Sprintf(`,scope="repository:%s:%s"`, name, action)
	case action != "":
		challenge += `,scope="registry:catalog:*"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
}

// authenticated reports whether the request carries valid credentials of
// any scope. The registry's base endpoint needs it: `helm registry login`
// and `docker login` check credentials there, so it must refuse bad ones.
func (a *authorizer) authenticated(r *http.Request) bool {
	if !a.enabled() {
		return true
	}
	tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	name, pass, basic := r.BasicAuth()
	switch {
	case a.users != nil && bearer:
		return a.users.tokenValid(tok)
	case a.users != nil && basic:
		_, ok := a.users.authenticate(name, pass)
		return ok
	case a.bearerKey != nil && bearer:
		var claims tokenClaims
		_, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return a.bearerKey, nil },
			jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}),
			jwt.WithAudience(a.service), jwt.WithExpirationRequired())
		return err == nil
	case a.basicUser != "" && basic:
		return constantEqual(name, a.basicUser) && constantEqual(pass, a.basicPass)
	}
	return false
}
