package provenance

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/chartd/chartd/chart"
)

// Signer makes provenance files with one OpenPGP key. It holds the
// decrypted private key, so it never prints it: every fmt verb, %#v
// included, and slog show only the identity and fingerprint.
//
// A Signer is safe for concurrent use.
type Signer struct {
	// entity is the public side of the key, checked again at each
	// signature: a long-running server must not go on signing with a key
	// that expired or was revoked since it started.
	entity      *openpgp.Entity
	identity    string
	fingerprint string
	// publicKey is serialized once, so the key published by the server is
	// byte-identical from request to request.
	publicKey []byte
	// key is a private copy of the signing (sub)key, decrypted; the keyring
	// the Signer was made from keeps its encrypted original.
	key *packet.PrivateKey
	// now is the signing clock; tests move it to sign with keys whose
	// lifetime has since ended.
	now func() time.Time
}

// NewSigner selects the signing key like `helm package --sign --key NAME
// --keyring FILE`: name is an exact user ID ("Jane Doe (ci) <jane@example.com>"),
// a key ID or fingerprint in hex, or a substring of exactly one key's user
// IDs. An empty name selects the only secret key in the keyring.
//
// The key must have its secret part (from `gpg --export-secret-keys`), be
// neither expired nor revoked, and, when it is passphrase-protected,
// passphrase must unlock it. If the key has a signing subkey, that subkey
// signs, as GnuPG would; Helm verifies either.
//
// The keyring is not modified: the signing key is decrypted in a copy.
func NewSigner(keyring openpgp.EntityList, name string, passphrase []byte) (*Signer, error) {
	return newSigner(keyring, name, passphrase, time.Now)
}

// LoadSigningKey reads a key file for server-side signing: a binary or
// armored secret key export holding exactly one secret key (public keys of
// others may accompany it), protected by passphrase or not.
func LoadSigningKey(r io.Reader, passphrase []byte) (*Signer, error) {
	ring, err := ReadKeyring(r)
	if err != nil {
		return nil, err
	}
	return NewSigner(ring, "", passphrase)
}

func newSigner(keyring openpgp.EntityList, name string, passphrase []byte, now func() time.Time) (*Signer, error) {
	if len(keyring) == 0 {
		return nil, fmt.Errorf("%w: empty keyring", ErrInvalidArgument)
	}
	e, err := findEntity(keyring, name)
	if err != nil {
		return nil, err
	}
	at := now()
	if err := checkUsable(e, at); err != nil {
		return nil, err
	}
	k, ok := e.SigningKey(at)
	if !ok {
		return nil, fmt.Errorf("%w: key %s has no valid signing-capable key or subkey", ErrNoPrivateKey, describe(e))
	}
	switch {
	case k.PrivateKey == nil:
		return nil, fmt.Errorf("%w: the keyring holds only the public part of key %s (export it with `gpg --export-secret-keys`)", ErrNoPrivateKey, describe(e))
	case k.PrivateKey.Dummy():
		return nil, fmt.Errorf("%w: the secret part of key %s is a stub (offline key or smartcard)", ErrNoPrivateKey, describe(e))
	}

	// Decrypting a shallow copy leaves the caller's entity encrypted:
	// Decrypt fills new fields of the copy and never writes through to the
	// shared encrypted data.
	pk := *k.PrivateKey
	if pk.Encrypted {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("%w: key %s is passphrase-protected", ErrPassphrase, describe(e))
		}
		if err := pk.Decrypt(passphrase); err != nil {
			// The error text is go-crypto's ("private key checksum
			// failure"); it holds nothing secret but says little, so it
			// comes second.
			return nil, fmt.Errorf("%w: cannot unlock key %s: %w", ErrPassphrase, describe(e), err)
		}
	}

	pub, err := armoredPublicKey(e)
	if err != nil {
		return nil, fmt.Errorf("provenance: exporting public key of %s: %w", describe(e), err)
	}
	return &Signer{
		entity:      e,
		identity:    Identity(e),
		fingerprint: Fingerprint(e),
		publicKey:   pub,
		key:         &pk,
		now:         now,
	}, nil
}

// Sign returns the provenance file for the chart archive read from archive,
// named archiveName (only its base name is used, as Helm does), whose
// Chart.yaml is meta. The text is what Helm writes:
//
//	<yaml of meta>
//	...
//	files:
//	  <archiveName>: sha256:<hex>
//
// clearsigned with SHA-512. meta must have a name and a version.
func (s *Signer) Sign(ctx context.Context, meta *chart.Metadata, archiveName string, archive io.Reader) ([]byte, error) {
	if s == nil || s.key == nil || s.entity == nil {
		return nil, fmt.Errorf("%w: nil or zero Signer (use NewSigner)", ErrInvalidArgument)
	}
	if meta == nil {
		return nil, fmt.Errorf("%w: nil chart metadata", ErrInvalidArgument)
	}
	if meta.Name == "" || meta.Version == "" {
		return nil, fmt.Errorf("%w: chart metadata needs a name and a version (got name %q, version %q)", ErrInvalidArgument, meta.Name, meta.Version)
	}
	name, err := baseName(archiveName)
	if err != nil {
		return nil, err
	}
	sum, err := Digest(ctx, archive)
	if err != nil {
		return nil, err
	}
	msg, err := messageBlock(meta, name, sum)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	at := s.now()
	if err := checkUsable(s.entity, at); err != nil {
		return nil, err
	}
	if _, ok := s.entity.SigningKeyById(at, s.key.KeyId); !ok {
		return nil, fmt.Errorf("%w: the signing subkey of %s has expired or was revoked", ErrNoPrivateKey, describe(s.entity))
	}

	var out bytes.Buffer
	cfg := &packet.Config{DefaultHash: crypto.SHA512, Time: s.now}
	w, err := clearsign.Encode(&out, s.key, cfg)
	if err != nil {
		return nil, fmt.Errorf("provenance: starting signature: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		// Not closing w on purpose: Close is what signs, and the private
		// key must not sign a half-written message.
		return nil, fmt.Errorf("provenance: writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("provenance: signing: %w", err)
	}
	return out.Bytes(), nil
}

// PublicKeyArmored returns the signer's public key (primary key, user IDs,
// subkeys and their signatures; never secret material) as an ASCII-armored
// "PGP PUBLIC KEY BLOCK", ready for `gpg --import` or `helm verify
// --keyring` after `gpg --dearmor`. It is the same bytes on every call.
func (s *Signer) PublicKeyArmored() ([]byte, error) {
	if s == nil || s.publicKey == nil {
		return nil, fmt.Errorf("%w: nil or zero Signer (use NewSigner)", ErrInvalidArgument)
	}
	return slices.Clone(s.publicKey), nil
}

// Fingerprint returns the signer's primary key fingerprint, upper-case hex
// without spaces (see the package function [Fingerprint]).
func (s *Signer) Fingerprint() string {
	if s == nil {
		return ""
	}
	return s.fingerprint
}

// Identity returns the signer's primary user ID, "Name (Comment) <email>".
func (s *Signer) Identity() string {
	if s == nil {
		return ""
	}
	return s.identity
}

// String describes the signer by identity and fingerprint. It and Format,
// GoString and LogValue exist so that no formatting path reaches the key.
// They have value receivers so that printing a dereferenced Signer is safe
// too.
func (s Signer) String() string {
	return fmt.Sprintf("provenance.Signer{identity: %q, fingerprint: %s}", s.identity, s.fingerprint)
}

// GoString is used by %#v.
func (s Signer) GoString() string { return s.String() }

// Format prints String for every verb, so %x or %+v cannot dump fields.
func (s Signer) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue keeps slog from reflecting over the fields.
func (s Signer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("identity", s.identity), slog.String("fingerprint", s.fingerprint))
}

// armoredPublicKey serializes the public half of e. It follows what
// Entity.Serialize writes, but in a fixed order: Entity.Serialize ranges over
// the identity map, so a key with two user IDs would come out differently on
// each call, and the published key would churn.
func armoredPublicKey(e *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.PrimaryKey.Serialize(w); err != nil {
		return nil, err
	}
	for _, sig := range e.Revocations {
		if err := sig.Serialize(w); err != nil {
			return nil, err
		}
	}
	for _, sig := range e.Signatures {
		if err := sig.Serialize(w); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(e.Identities))
	for n := range e.Identities {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		id := e.Identities[n]
		if err := id.UserId.Serialize(w); err != nil {
			return nil, err
		}
		for _, sig := range id.Signatures {
			if err := sig.Serialize(w); err != nil {
				return nil, err
			}
		}
	}
	for _, sub := range e.Subkeys {
		if err := sub.PublicKey.Serialize(w); err != nil {
			return nil, err
		}
		for _, sig := range sub.Revocations {
			if err := sig.Serialize(w); err != nil {
				return nil, err
			}
		}
		if err := sub.Sig.Serialize(w); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
