package provenance

import (
	"errors"
	"fmt"
)

// Errors returned by this package. They are wrapped with details of what
// failed; test for them with [errors.Is].
var (
	// ErrMalformed: the provenance file is not a complete clearsigned
	// message (truncated, not clearsigned, corrupt armor) or its text is not
	// the metadata and files documents Helm writes.
	ErrMalformed = errors.New("malformed provenance file")
	// ErrUnknownSigner: no key in the keyring can have made the signature.
	ErrUnknownSigner = errors.New("signed by a key not in the keyring")
	// ErrBadSignature: the signature does not match the signed text (the text
	// was altered after signing) or uses an algorithm that is not accepted.
	ErrBadSignature = errors.New("bad signature")
	// ErrSignatureExpired: the signature, or a self-signature of the signing
	// key, has passed its expiry time or is dated in the future.
	ErrSignatureExpired = errors.New("signature expired")
	// ErrKeyExpired: the signing key's lifetime has ended.
	ErrKeyExpired = errors.New("signing key expired")
	// ErrKeyRevoked: the signing key, its signing subkey or its primary user
	// ID has been revoked.
	ErrKeyRevoked = errors.New("signing key revoked")
	// ErrDigestMismatch: the archive's SHA-256 digest differs from the one
	// in the provenance file.
	ErrDigestMismatch = errors.New("archive digest does not match provenance")
	// ErrArchiveNotListed: the provenance file holds no digest for an
	// archive of that name.
	ErrArchiveNotListed = errors.New("archive not listed in provenance")

	// ErrInvalidKeyring: the keyring could not be read as OpenPGP keys.
	ErrInvalidKeyring = errors.New("invalid keyring")
	// ErrKeyNotFound: no key in the keyring matches the requested name.
	ErrKeyNotFound = errors.New("signing key not found")
	// ErrAmbiguousKey: more than one key matches the requested name.
	ErrAmbiguousKey = errors.New("ambiguous signing key name")
	// ErrNoPrivateKey: the key was found but its secret part is absent.
	ErrNoPrivateKey = errors.New("no usable private key")
	// ErrPassphrase: the private key is protected and the passphrase is
	// missing or wrong.
	ErrPassphrase = errors.New("wrong or missing passphrase")
	// ErrInvalidArgument: the caller passed unusable input (no metadata, an
	// empty archive name, a nil keyring...).
	ErrInvalidArgument = errors.New("invalid argument")
)

// DigestError is an ErrDigestMismatch with the digests, so callers can word
// it as they need (the helm client words it as Helm does).
type DigestError struct {
	Name, Got, Want string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s: %s has %s, the provenance file says %s", ErrDigestMismatch, e.Name, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrDigestMismatch) hold.
func (e *DigestError) Is(target error) bool { return target == ErrDigestMismatch }
