package server

import (
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chartd/chartd/oci"
)

// Actions a grant can give on a tenant. delete, on the registry, is a push
// right, as DELETE is over the ChartMuseum API. admin manages what the
// tenant trusts (its signing keys) and implies pull and push.
const (
	actionPull  = "pull"
	actionPush  = "push"
	actionAdmin = "admin"
)

// resourceKind is what a request acts on.
type resourceKind int

const (
	resTenant     resourceKind = iota // a tenant, through the ChartMuseum API
	resRepository                     // one OCI repository
	resCatalog                        // the registry's /v2/_catalog
	resListing                        // a tenant's repositories, as the catalog shows them
)

// resource is the object of one authorization question. Registry requests
// are decided per repository; ChartMuseum requests per tenant.
type resource struct {
	kind   resourceKind
	tenant string
	repo   string // full OCI repository name, for resRepository
}

func tenantResource(tenant string) resource { return resource{kind: resTenant, tenant: tenant} }

// authError is a denied request; it carries the scope for the challenge.
type authError struct {
	repo, action string
	// scope: the request's token lacks an entry its user's grants would
	// give; a fresh token for the right scope would pass.
	scope bool
}

func (e *authError) Error() string        { return "unauthorized" }
func (e *authError) Is(target error) bool { return target == errUnauthorized }

// InsufficientScope tells the registry that asking for a new token helps.
func (e *authError) InsufficientScope() bool { return e.scope }

// authorizer decides who may do what where, with ChartMuseum's models (no
// auth, one basic-auth user with optional anonymous GET, or bearer tokens
// signed by an external token service) or chartd's own users with
// per-tenant grants and registry tokens.
type authorizer struct {
	basicUser, basicPass string
	anonymousGet         bool
	bearerKey            crypto.PublicKey
	realm, service       string
	// users is chartd's own user database; nil when the config has none.
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

// check returns nil when the request may perform action on res. A refusal
// is an *authError (401 with a challenge), or a *rateLimitError when the
// caller's failed logins are being throttled. It never touches storage.
func (a *authorizer) check(r *http.Request, res resource, action string) error {
	if !a.enabled() {
		return nil
	}
	if a.anonymousGet && (action == actionPull || res.kind == resCatalog || res.kind == resListing) {
		return nil
	}
	deny := &authError{repo: res.tenant, action: action}
	tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case a.users != nil && bearer:
		c, err := a.users.verifyToken(tok)
		if err != nil {
			return deny
		}
		if !a.users.tokenAllows(c, res, action) {
			if u, ok := a.users.users[c.Subject]; ok && c.Subject != "" && (res.kind == resRepository || res.kind == resListing) && u.may(res, action) {
				deny.scope = true
			}
			return deny
		}
		requestInfoFrom(r.Context()).setSubject(c.Subject, res.tenant)
		return nil
	case a.users != nil:
		name, pass, ok := r.BasicAuth()
		if !ok {
			return deny
		}
		u, err := a.users.authenticate(r.Context(), clientAddr(r), name, pass)
		if err != nil {
			var limited *rateLimitError
			if errors.As(err, &limited) {
				return limited
			}
			return deny
		}
		if !u.may(res, action) {
			return deny
		}
		requestInfoFrom(r.Context()).setSubject(u.Name, res.tenant)
		return nil
	case a.bearerKey != nil:
		if !bearer || !a.externalTokenAllows(tok, res, action) {
			return deny
		}
		return nil
	}
	u, p, ok := r.BasicAuth()
	if !ok || !constantEqual(u, a.basicUser) || !constantEqual(p, a.basicPass) {
		return deny
	}
	requestInfoFrom(r.Context()).setSubject(u, res.tenant)
	return nil
}

// tokenClaims are the claims ChartMuseum's token service issues.
type tokenClaims struct {
	jwt.RegisteredClaims
	Access []accessEntry `json:"access"`
}

// externalTokenAllows checks a token of ChartMuseum's external token
// service. Its scopes are per tenant (artifact-repository:<tenant>), so a
// registry repository is decided by its tenant's entry.
func (a *authorizer) externalTokenAllows(raw string, res resource, action string) bool {
	c, err := a.parseExternalToken(raw)
	if err != nil {
		return false
	}
	for _, e := range c.Access {
		switch {
		case res.kind == resCatalog:
			if e.Type == "registry" && e.Name == "catalog" {
				return true
			}
		case e.Type == "artifact-repository" && e.Name == res.tenant:
			if res.kind == resListing {
				action = actionPull
			}
			if slices.Contains(e.Actions, action) || slices.Contains(e.Actions, "*") {
				return true
			}
		}
	}
	return false
}

func (a *authorizer) parseExternalToken(raw string) (*tokenClaims, error) {
	var c tokenClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return a.bearerKey, nil },
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}),
		jwt.WithAudience(a.service), jwt.WithExpirationRequired())
	if err != nil {
		return nil, err
	}
	return &c, nil
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

// challengeRegistry sets WWW-Authenticate for a denied registry request:
// with chartd's users, a Bearer challenge naming chartd's own token endpoint
// (Docker token spec), which accepts the same basic credentials, and the
// scopes the request needs (none for the base endpoint).
func (a *authorizer) challengeRegistry(w http.ResponseWriter, r *http.Request, need ...oci.Access) {
	if a.users == nil {
		var first oci.Access
		if len(need) > 0 {
			first = need[0]
		}
		a.challenge(w, first.Tenant, first.Action)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	challenge := fmt.Sprintf(`Bearer realm="%s://%s/v2/token",service=%q`, scheme, r.Host, tokenService)
	var scopes []string
	for _, n := range need {
		switch {
		case n.Action == oci.ActionCatalog || (n.Action == oci.ActionList && n.Tenant == ""):
			scopes = append(scopes, "registry:catalog:*")
		case n.Action == oci.ActionList:
			scopes = append(scopes, "artifact-repository:"+n.Tenant+":pull")
		case n.Action == oci.ActionDelete:
			scopes = append(scopes, "repository:"+n.Repository+":delete,push")
		case n.Repository != "":
			scopes = append(scopes, "repository:"+n.Repository+":"+n.Action)
		}
	}
	if len(scopes) > 0 {
		challenge += fmt.Sprintf(`,scope=%q`, strings.Join(scopes, " "))
	}
	w.Header().Set("WWW-Authenticate", challenge)
}

// authenticated reports whether the request carries valid credentials of
// any scope. The registry's base endpoint needs it: `helm registry login`
// and `docker login` check credentials there, so it must refuse bad ones.
func (a *authorizer) authenticated(r *http.Request) error {
	if !a.enabled() {
		return nil
	}
	tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	name, pass, basic := r.BasicAuth()
	deny := &authError{}
	switch {
	case a.users != nil && bearer:
		if _, err := a.users.verifyToken(tok); err != nil {
			return deny
		}
	case a.users != nil && basic:
		if _, err := a.users.authenticate(r.Context(), clientAddr(r), name, pass); err != nil {
			var limited *rateLimitError
			if errors.As(err, &limited) {
				return limited
			}
			return deny
		}
	case a.bearerKey != nil && bearer:
		if _, err := a.parseExternalToken(tok); err != nil {
			return deny
		}
	case a.basicUser != "" && basic:
		if !constantEqual(name, a.basicUser) || !constantEqual(pass, a.basicPass) {
			return deny
		}
	default:
		return deny
	}
	return nil
}

// clientAddr is the address failed logins are counted against: the peer's
// IP, without the port (a client opens many connections). Forwarded headers
// are not trusted: any client can set them.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
