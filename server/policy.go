package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/provenance"
	"github.com/chartd/chartd/storage"
)

// Signature policies.
const (
	PolicyOff      = "off"      // store .prov files as given (ChartMuseum's behaviour)
	PolicyVerify   = "verify"   // verify a .prov when there is one
	PolicyRequired = "required" // refuse unsigned or invalid charts
)

// TenantConfig overrides the global signature policy for one tenant.
type TenantConfig struct {
	SignaturePolicy string `json:"signaturePolicy"`
	// Keys are armored public keys trusted for this tenant, in addition to
	// the global keyring and the keys added through the API.
	Keys []string `json:"keys"`
}

// policy holds the trusted keys and the server's own signing key.
type policy struct {
	mode    string
	tenants map[string]TenantConfig
	global  openpgp.EntityList
	perTen  map[string]openpgp.EntityList
	signer  *provenance.Signer
	pubKey  []byte
}

func validPolicy(p string) bool {
	return p == "" || p == PolicyOff || p == PolicyVerify || p == PolicyRequired
}

func newPolicy(c *Config, log *slog.Logger) (*policy, error) {
	p := &policy{mode: c.SignaturePolicy, tenants: c.Tenants, perTen: map[string]openpgp.EntityList{}}
	if p.mode == "" {
		p.mode = PolicyOff
	}
	if c.Keyring != "" {
		b, err := os.ReadFile(c.Keyring)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		if p.global, err = provenance.ReadKeyring(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("keyring %s: %w", c.Keyring, err)
		}
	}
	for path, tc := range c.Tenants {
		for i, k := range tc.Keys {
			el, err := provenance.ReadKeyring(strings.NewReader(k))
			if err != nil {
				return nil, fmt.Errorf("tenant %q key %d: %w", path, i, err)
			}
			p.perTen[path] = append(p.perTen[path], el...)
		}
	}
	if c.SigningKey != "" {
		pass, err := c.signingPassphrase()
		if err != nil {
			return nil, err
		}
		f, err := os.Open(c.SigningKey)
		if err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		defer f.Close()
		// Like ssh with its keys: a secret key others can read is refused.
		if fi, err := f.Stat(); err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		} else if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("signing key %s is readable by others (mode %04o): chmod 600 it", c.SigningKey, fi.Mode().Perm())
		}
		if p.signer, err = provenance.LoadSigningKey(f, pass); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", c.SigningKey, err)
		}
		if p.pubKey, err = p.signer.PublicKeyArmored(); err != nil {
			return nil, err
		}
		// The server trusts its own signatures.
		own, err := provenance.ReadKeyring(bytes.NewReader(p.pubKey))
		if err != nil {
			return nil, err
		}
		p.global = append(p.global, own...)
		log.Info("server-side signing enabled", "fingerprint", p.signer.Fingerprint(), "identity", p.signer.Identity())
	}
	return p, nil
}

// modeFor is the tenant's policy, or the global one.
func (p *policy) modeFor(repo string) string {
	if tc, ok := p.tenants[repo]; ok && tc.SignaturePolicy != "" {
		return tc.SignaturePolicy
	}
	return p.mode
}

// publicKeys are published in index.yaml: the server's signing key.
func (p *policy) publicKeys() []string {
	if p.pubKey == nil {
		return nil
	}
	return []string{string(p.pubKey)}
}

// keyring is every key trusted for repo: global, tenant config, and API-added.
func (s *Server) keyring(ctx context.Context, repo string) (openpgp.EntityList, error) {
	ring := append(openpgp.EntityList{}, s.policy.global...)
	ring = append(ring, s.policy.perTen[repo]...)
	if ks, ok := s.meta.(storage.Keys); ok {
		t, err := s.meta.Tenant(ctx, repo)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			keys, err := ks.Keys(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				el, err := provenance.ReadKeyring(strings.NewReader(k.Armored))
				if err != nil {
					s.log.WarnContext(ctx, "unreadable trusted key", "repo", repo, "fingerprint", k.Fingerprint, "err", err)
					continue
				}
				ring = append(ring, el...)
			}
		}
	}
	return ring, nil
}

// applyPolicy checks or creates the .prov of an arriving chart and records
// the signer in cv. It returns the .prov to store (nil for none).
func (s *Server) applyPolicy(ctx context.Context, repo string, cv *storage.ChartVersion, md *chart.Metadata, prov []byte) ([]byte, error) {
	mode := s.policy.modeFor(repo)
	file := chartFileName(md.Name, md.Version)
	if prov == nil {
		if s.policy.signer != nil {
			rc, err := s.blobs.Fetch(ctx, cv.Digest)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			signed, err := s.policy.signer.Sign(ctx, md, file, rc)
			if err != nil {
				return nil, fmt.Errorf("server signing: %w", err)
			}
			cv.Signer, cv.SignerFingerprint, cv.ServerSigned = s.policy.signer.Identity(), s.policy.signer.Fingerprint(), true
			return signed, nil
		}
		if mode == PolicyRequired {
			return nil, errorf(http.StatusBadRequest, "chart %s is not signed: this repository requires a provenance file", file)
		}
		return nil, nil
	}
	if mode == PolicyOff {
		return prov, nil
	}
	if err := s.verifyStoredProv(ctx, repo, cv, prov); err != nil {
		return nil, err
	}
	return prov, nil
}

// verifyProv checks prov against the tenant's trusted keys and the archive,
// and records the signer in cv. A failed check is a 400 saying what failed.
func (s *Server) verifyProv(ctx context.Context, repo string, cv *storage.ChartVersion, prov []byte, archive io.Reader) error {
	ring, err := s.keyring(ctx, repo)
	if err != nil {
		return err
	}
	v, err := provenance.Verify(ctx, ring, prov, chartFileName(cv.Name, cv.Version), archive)
	if err != nil {
		return withStatus(http.StatusBadRequest, "provenance verification failed: "+err.Error(), err)
	}
	cv.Signer, cv.SignerFingerprint = v.SignedBy, v.Fingerprint
	return nil
}

// verifyStoredProv is verifyProv with the archive read back from the store.
func (s *Server) verifyStoredProv(ctx context.Context, repo string, cv *storage.ChartVersion, prov []byte) error {
	rc, err := s.blobs.Fetch(ctx, cv.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	return s.verifyProv(ctx, repo, cv, prov, rc)
}

// attachProv adds a .prov to a version that already exists.
func (s *Server) attachProv(ctx context.Context, repo string, prov []byte, overwrite bool) error {
	metaYAML, _, err := provenance.ParseProv(prov)
	if err != nil {
		return withStatus(http.StatusBadRequest, "invalid provenance file: "+err.Error(), err)
	}
	md, err := chart.ParseMetadata(metaYAML)
	if err != nil {
		return withStatus(http.StatusBadRequest, "invalid provenance file: "+err.Error(), err)
	}
	missing := errorf(http.StatusBadRequest, "chart %s-%s does not exist: upload the chart before its provenance file", md.Name, md.Version)
	t, err := s.meta.Tenant(ctx, repo)
	if errors.Is(err, storage.ErrNotFound) {
		return missing
	}
	if err != nil {
		return err
	}
	cv, err := s.meta.ChartVersion(ctx, t.ID, md.Name, md.Version)
	if errors.Is(err, storage.ErrNotFound) {
		return missing
	}
	if err != nil {
		return err
	}
	if cv.ProvDigest != "" && !overwrite {
		return withStatus(http.StatusConflict, "file already exists", storage.ErrExists)
	}
	var stored chart.Metadata
	if err := json.Unmarshal(cv.Metadata, &stored); err != nil {
		return err
	}
	cv.Signer, cv.SignerFingerprint, cv.ServerSigned = "", "", false
	if s.policy.modeFor(repo) != PolicyOff {
		if err := s.verifyStoredProv(ctx, repo, &cv, prov); err != nil {
			return err
		}
	}
	d, err := s.blobs.Push(ctx, digest.FromBytes(prov), bytes.NewReader(prov))
	if err != nil {
		return fmt.Errorf("store provenance: %w", err)
	}
	cv.ProvDigest, cv.ProvSize = d.Digest, d.Size
	if err := s.writeOCIFace(ctx, &cv, &stored); err != nil {
		return err
	}
	return s.meta.SetProvenance(ctx, cv)
}

// validateOCIChart applies the tenant's signature policy to a chart pushed
// over OCI, and records the verified signer in cv.
func (s *Server) validateOCIChart(ctx context.Context, repo string, cv *storage.ChartVersion, tgz, prov []byte) error {
	mode := s.policy.modeFor(repo)
	file := chartFileName(cv.Name, cv.Version)
	if prov == nil {
		if mode == PolicyRequired {
			return fmt.Errorf("chart %s is not signed: this repository requires a provenance layer", file)
		}
		return nil
	}
	if mode == PolicyOff {
		return nil
	}
	return s.verifyProv(ctx, repo, cv, prov, bytes.NewReader(tgz))
}
