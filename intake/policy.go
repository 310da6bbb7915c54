package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/chartd/chartd/provenance"
)

// Signature policies.
const (
	PolicyOff      = "off"      // store .prov files as given (ChartMuseum's behaviour)
	PolicyVerify   = "verify"   // verify a .prov when there is one
	PolicyRequired = "required" // refuse unsigned or invalid charts
)

// ValidPolicy reports whether p names a policy ("" is the default, off).
func ValidPolicy(p string) bool {
	return p == "" || p == PolicyOff || p == PolicyVerify || p == PolicyRequired
}

// PolicyConfig configures a Policy.
type PolicyConfig struct {
	// Mode is the policy of tenants without one of their own ("": off).
	Mode string
	// Tenants holds per-tenant policies, by tenant path.
	Tenants map[string]TenantPolicy
	// Keyring is trusted for every tenant.
	Keyring openpgp.EntityList
	// Signer, when set, signs charts that arrive unsigned through the
	// ChartMuseum API or import (an OCI push cannot be changed: its
	// manifest digest is the client's), and its key is trusted.
	Signer *provenance.Signer
}

// TenantPolicy is one tenant's policy.
type TenantPolicy struct {
	Mode string // "": the global mode
	Keys openpgp.EntityList
}

// Policy decides whether a chart's signature is acceptable. It holds no
// database: keys added through the API are read per decision from a
// storage.Keys, when the metadata store has them.
type Policy struct {
	cfg PolicyConfig
}

// NewPolicy checks c and returns its Policy. The signer's own key is added
// to the keyring: the server trusts its own signatures.
func NewPolicy(c PolicyConfig) (*Policy, error) {
	var errs []error
	if !ValidPolicy(c.Mode) {
		errs = append(errs, fmt.Errorf("signature policy %q: want off, verify or required", c.Mode))
	}
	for path, tp := range c.Tenants {
		if !ValidPolicy(tp.Mode) {
			errs = append(errs, fmt.Errorf("tenant %q: signature policy %q: want off, verify or required", path, tp.Mode))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.Mode == "" {
		c.Mode = PolicyOff
	}
	c.Keyring = append(openpgp.EntityList{}, c.Keyring...)
	if c.Signer != nil {
		pub, err := c.Signer.PublicKeyArmored()
		if err != nil {
			return nil, err
		}
		own, err := provenance.ReadKeyring(strings.NewReader(string(pub)))
		if err != nil {
			return nil, err
		}
		c.Keyring = append(c.Keyring, own...)
	}
	return &Policy{cfg: c}, nil
}

// Mode is the policy of the tenant at path.
func (p *Policy) Mode(tenant string) string {
	if p == nil {
		return PolicyOff
	}
	if tp, ok := p.cfg.Tenants[tenant]; ok && tp.Mode != "" {
		return tp.Mode
	}
	return p.cfg.Mode
}

// Signer is the server's signing key, or nil.
func (p *Policy) Signer() *provenance.Signer {
	if p == nil {
		return nil
	}
	return p.cfg.Signer
}

// requireSigned is the decision that needs neither the archive nor the
// database: a chart that arrives without a provenance file, where none will
// follow, is refused when the tenant requires signatures and nobody will
// sign it (canSign: the server may sign what arrives this way). what names
// the missing part in the protocol's words.
func (p *Policy) requireSigned(tenant string, canSign bool, what string) error {
	if p.Mode(tenant) == PolicyRequired && !(canSign && p.Signer() != nil) {
		return fmt.Errorf("%w: this repository requires %s", ErrUnsigned, what)
	}
	return nil
}

// configKeys are the keys the configuration trusts for tenant: global,
// the server's own, and the tenant's.
func (p *Policy) configKeys(tenant string) openpgp.EntityList {
	if p == nil {
		return nil
	}
	ring := append(openpgp.EntityList{}, p.cfg.Keyring...)
	return append(ring, p.cfg.Tenants[tenant].Keys...)
}

// verify checks prov against ring and the archive.
func verify(ctx context.Context, ring openpgp.EntityList, prov []byte, file string, archive io.Reader) (*provenance.Verification, error) {
	v, err := provenance.Verify(ctx, ring, prov, file, archive)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return v, nil
}
