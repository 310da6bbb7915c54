package provenance

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// maxKeyringSize bounds how much ReadKeyring buffers. Real keyrings are a
// few kilobytes per key; the bound keeps a hostile or mistaken input (a chart
// archive passed as a keyring, /dev/zero) from exhausting memory.
const maxKeyringSize = 32 << 20

// ReadKeyring reads OpenPGP keys: a binary keyring as written by `gpg
// --export` or `gpg --export-secret-keys` (what GnuPG ≥ 2.1 users pass to
// `helm --keyring`), or one or more ASCII-armored public or private key
// blocks. Keys go-crypto cannot use (unsupported algorithms, broken
// self-signatures) are skipped, as Helm does, as long as one key is usable.
//
// Secret keys stay encrypted; [NewSigner] decrypts the one it signs with.
func ReadKeyring(r io.Reader) (openpgp.EntityList, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil keyring reader", ErrInvalidArgument)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxKeyringSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading keyring: %w", ErrInvalidKeyring, err)
	}
	if len(data) > maxKeyringSize {
		return nil, fmt.Errorf("%w: keyring larger than %d bytes", ErrInvalidKeyring, maxKeyringSize)
	}
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: keyring is empty", ErrInvalidKeyring)
	}

	// GnuPG ≥ 2.1 keeps keys in a keybox (pubring.kbx), which is not an
	// OpenPGP keyring; pointing --keyring at it is a common mistake. Its
	// header blob carries the magic "KBXf" at offset 8.
	if len(data) >= 12 && string(data[8:12]) == "KBXf" {
		return nil, fmt.Errorf("%w: this is a GnuPG keybox (pubring.kbx), not a keyring; export one with `gpg --export >pubring.gpg` or `gpg --export-secret-keys >secring.gpg`", ErrInvalidKeyring)
	}

	var ring openpgp.EntityList
	// Every binary OpenPGP packet starts with a tag byte whose top bit is
	// set; text never does, so this tells armored input from binary without
	// guessing from file names.
	if data[0]&0x80 != 0 {
		ring, err = openpgp.ReadKeyRing(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKeyring, err)
		}
	} else {
		ring, err = readArmoredBlocks(data)
		if err != nil {
			return nil, err
		}
	}
	if len(ring) == 0 {
		return nil, fmt.Errorf("%w: no usable keys found", ErrInvalidKeyring)
	}
	return ring, nil
}

// readArmoredBlocks reads every armored key block in data. People build
// keyrings with `cat a.asc b.asc`, and armor.Decode stops after the first
// block, so each block is located and decoded on its own.
func readArmoredBlocks(data []byte) (openpgp.EntityList, error) {
	const begin, end = "-----BEGIN PGP ", "-----END PGP "
	var ring openpgp.EntityList
	blocks := 0
	for {
		i := bytes.Index(data, []byte(begin))
		if i < 0 {
			break
		}
		data = data[i:]
		j := bytes.Index(data, []byte(end))
		if j < 0 {
			return nil, fmt.Errorf("%w: armored block %d has no END line (truncated?)", ErrInvalidKeyring, blocks+1)
		}
		k := bytes.IndexByte(data[j:], '\n')
		if k < 0 {
			k = len(data) - j
		}
		blockData := data[:j+k]
		data = data[j+k:]
		blocks++

		block, err := armor.Decode(bytes.NewReader(blockData))
		if err != nil {
			return nil, fmt.Errorf("%w: armored block %d: %w", ErrInvalidKeyring, blocks, err)
		}
		if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
			return nil, fmt.Errorf("%w: armored block %d is a %q, not a public or private key block", ErrInvalidKeyring, blocks, block.Type)
		}
		// Buffering the body separates armor damage (bad base64, checksum)
		// from OpenPGP-level problems in the error message.
		body, err := io.ReadAll(block.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: armored block %d is corrupt: %w", ErrInvalidKeyring, blocks, err)
		}
		el, err := openpgp.ReadKeyRing(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: armored block %d: %w", ErrInvalidKeyring, blocks, err)
		}
		ring = append(ring, el...)
	}
	if blocks == 0 {
		return nil, fmt.Errorf("%w: neither a binary keyring nor an ASCII-armored key block", ErrInvalidKeyring)
	}
	return ring, nil
}

// findEntity picks the key named like Helm's `--key NAME`: an identity equal
// to name wins; otherwise a key whose fingerprint or key ID (hex, optionally
// 0x-prefixed) is name; otherwise the single key with an identity containing
// name. An empty name picks the only key that has a secret part, which is how
// a server loads a key file holding one signing key.
//
// Unlike Helm, which errors when two identities of the same key contain the
// substring, ambiguity is counted per key, and a key present twice (a public
// and a secret keyring concatenated) counts once, preferring the copy with
// the secret part. Two different keys with the same exact user ID are
// ambiguous here, where Helm silently takes the first.
func findEntity(ring openpgp.EntityList, name string) (*openpgp.Entity, error) {
	ring = dedupe(ring)
	if name == "" {
		var secret []*openpgp.Entity
		for _, e := range ring {
			if e.PrivateKey != nil {
				secret = append(secret, e)
			}
		}
		switch len(secret) {
		case 0:
			return nil, fmt.Errorf("%w: the keyring holds no secret keys (export with `gpg --export-secret-keys`)", ErrNoPrivateKey)
		case 1:
			return secret[0], nil
		default:
			return nil, fmt.Errorf("%w: the keyring holds %d secret keys (%s); name the one to use", ErrAmbiguousKey, len(secret), describeAll(secret))
		}
	}

	var exact, byID, partial []*openpgp.Entity
	want := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(name, "0x"), "0X"))
	for _, e := range ring {
		for id := range e.Identities {
			if id == name {
				exact = append(exact, e)
				break
			}
		}
		if matchesID(e, want) {
			byID = append(byID, e)
		}
		for id := range e.Identities {
			if strings.Contains(id, name) {
				partial = append(partial, e)
				break
			}
		}
	}
	for _, found := range [][]*openpgp.Entity{exact, byID, partial} {
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		default:
			return nil, fmt.Errorf("%w: %d keys match %q: %s", ErrAmbiguousKey, len(found), name, describeAll(found))
		}
	}
	return nil, fmt.Errorf("%w: no key in the keyring has an identity matching %q", ErrKeyNotFound, name)
}

// dedupe drops repeated copies of a key, keeping the first copy that has a
// secret part, in keyring order.
func dedupe(ring openpgp.EntityList) openpgp.EntityList {
	index := make(map[string]int, len(ring))
	out := make(openpgp.EntityList, 0, len(ring))
	for _, e := range ring {
		if e == nil || e.PrimaryKey == nil {
			continue
		}
		fp := Fingerprint(e)
		if i, ok := index[fp]; ok {
			if out[i].PrivateKey == nil && e.PrivateKey != nil {
				out[i] = e
			}
			continue
		}
		index[fp] = len(out)
		out = append(out, e)
	}
	return out
}

// matchesID reports whether want (upper-case hex) is e's 16-digit key ID or
// its full fingerprint. Short 8-digit IDs are not accepted: they collide.
func matchesID(e *openpgp.Entity, want string) bool {
	if want == "" || strings.Trim(want, "0123456789ABCDEF") != "" {
		return false
	}
	return want == Fingerprint(e) || want == fmt.Sprintf("%016X", e.PrimaryKey.KeyId)
}

// Fingerprint formats the primary key fingerprint of e the way this package
// reports every fingerprint: upper-case hexadecimal without separators, 40
// digits for v4 keys and 64 for v6 keys. This is the fingerprint GnuPG
// prints (`gpg --with-colons` shows it exactly so; `gpg --fingerprint`
// inserts spaces). It returns "" for a nil entity.
func Fingerprint(e *openpgp.Entity) string {
	if e == nil || e.PrimaryKey == nil {
		return ""
	}
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
}

// Identity returns the primary user ID of e ("Name (Comment) <email>"),
// the one go-crypto uses for expiry and revocation decisions, or "" when it
// has none.
func Identity(e *openpgp.Entity) string {
	if e == nil {
		return ""
	}
	if id := e.PrimaryIdentity(); id != nil {
		return id.Name
	}
	return ""
}

func describe(e *openpgp.Entity) string {
	id := Identity(e)
	if id == "" {
		id = "(no user ID)"
	}
	return fmt.Sprintf("%q [%s]", id, Fingerprint(e))
}

func describeAll(es []*openpgp.Entity) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = describe(e)
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// checkUsable reports, with go-crypto's own tests, why e cannot make or
// back a signature at now: revoked primary key or primary user ID, expired
// primary key, or expired self-signature. go-crypto only answers "no signing
// key" in those cases; the caller deserves to know which.
func checkUsable(e *openpgp.Entity, now time.Time) error {
	selfSig, ident := e.PrimarySelfSignature()
	if selfSig == nil {
		return fmt.Errorf("%w: key %s has no valid self-signature", ErrInvalidKeyring, describe(e))
	}
	if e.Revoked(now) || (ident != nil && ident.Revoked(now)) {
		return fmt.Errorf("%w: key %s", ErrKeyRevoked, describe(e))
	}
	if e.PrimaryKey.KeyExpired(selfSig, now) {
		if e.PrimaryKey.CreationTime.After(now) {
			return fmt.Errorf("%w: key %s is created in the future (%s); check the clock", ErrKeyExpired, describe(e), e.PrimaryKey.CreationTime.UTC().Format(time.RFC3339))
		}
		return fmt.Errorf("%w: key %s expired at %s", ErrKeyExpired, describe(e), keyExpiry(e, selfSig.KeyLifetimeSecs).Format(time.RFC3339))
	}
	if selfSig.SigExpired(now) {
		return fmt.Errorf("%w: the self-signature of key %s has expired", ErrSignatureExpired, describe(e))
	}
	return nil
}

func keyExpiry(e *openpgp.Entity, lifetime *uint32) time.Time {
	if lifetime == nil {
		return time.Time{}
	}
	return e.PrimaryKey.CreationTime.Add(time.Duration(*lifetime) * time.Second).UTC()
}
