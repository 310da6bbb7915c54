package storage

import (
	"context"
	"time"
)

// Key is an OpenPGP public key a tenant trusts for provenance verification.
type Key struct {
	TenantID int64
	// Fingerprint is the key's fingerprint in upper-case hex, as GnuPG prints it.
	Fingerprint string
	// Armored is the ASCII-armored public key.
	Armored string
	Created time.Time
}

// Keys stores the tenants' trusted keys.
type Keys interface {
	// AddKey adds the key; ErrExists when the tenant already has that fingerprint.
	AddKey(ctx context.Context, k Key) error
	// Keys lists the tenant's keys by fingerprint.
	Keys(ctx context.Context, tenantID int64) ([]Key, error)
	// DeleteKey removes a key, or returns ErrNotFound.
	DeleteKey(ctx context.Context, tenantID int64, fingerprint string) error
}
