package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/provenance"
)

// Signature policies (the intake decides them).
const (
	PolicyOff      = intake.PolicyOff
	PolicyVerify   = intake.PolicyVerify
	PolicyRequired = intake.PolicyRequired
)

// TenantConfig overrides the global signature policy for one tenant.
type TenantConfig struct {
	SignaturePolicy string `json:"signaturePolicy"`
	// Keys are armored public keys trusted for this tenant, in addition to
	// the global keyring and the keys added through the API.
	Keys []string `json:"keys"`
}

// policy is the intake's signature policy, read from the configuration's
// files, with the server's public key for index.yaml and /signing-key.asc.
type policy struct {
	*intake.Policy
	pubKey []byte
}

func newPolicy(c *Config, log *slog.Logger) (*policy, error) {
	pc := intake.PolicyConfig{Mode: c.SignaturePolicy, Tenants: map[string]intake.TenantPolicy{}}
	if c.Keyring != "" {
		b, err := os.ReadFile(c.Keyring)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		if pc.Keyring, err = provenance.ReadKeyring(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("keyring %s: %w", c.Keyring, err)
		}
	}
	for path, tc := range c.Tenants {
		tp := intake.TenantPolicy{Mode: tc.SignaturePolicy}
		for i, k := range tc.Keys {
			el, err := provenance.ReadKeyring(strings.NewReader(k))
			if err != nil {
				return nil, fmt.Errorf("tenant %q key %d: %w", path, i, err)
			}
			tp.Keys = append(tp.Keys, el...)
		}
		pc.Tenants[path] = tp
	}
	p := &policy{}
	if c.SigningKey != "" {
		signer, err := loadSigner(c)
		if err != nil {
			return nil, err
		}
		if p.pubKey, err = signer.PublicKeyArmored(); err != nil {
			return nil, err
		}
		pc.Signer = signer
		log.Info("server-side signing enabled", "fingerprint", signer.Fingerprint(), "identity", signer.Identity())
	}
	var err error
	if p.Policy, err = intake.NewPolicy(pc); err != nil {
		return nil, err
	}
	return p, nil
}

// loadSigner reads the server's signing key, which must not be readable by
// others (like ssh with its keys).
func loadSigner(c *Config) (*provenance.Signer, error) {
	pass, err := c.signingPassphrase()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(c.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	} else if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s is readable by others (mode %04o): chmod 600 it", c.SigningKey, fi.Mode().Perm())
	}
	s, err := provenance.LoadSigningKey(f, pass)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", c.SigningKey, err)
	}
	return s, nil
}

// publicKeys are published in index.yaml: the server's signing key.
func (p *policy) publicKeys() []string {
	if p.pubKey == nil {
		return nil
	}
	return []string{string(p.pubKey)}
}
