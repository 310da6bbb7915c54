package provenance

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/google/go-cmp/cmp"
)

func fingerprints(ring openpgp.EntityList) []string {
	var out []string
	for _, e := range ring {
		out = append(out, Fingerprint(e))
	}
	return out
}

func TestReadKeyring(t *testing.T) {
	alice := newKey(t, keyOpts{name: "Alice", email: "alice@example.com"})
	bob := newKey(t, keyOpts{name: "Bob", email: "bob@example.com", rsa: true})
	pub := publicRing(t, alice, bob)
	sec := secretRing(t, nil, alice, bob)
	both := []string{Fingerprint(alice), Fingerprint(bob)}

	tests := []struct {
		name       string
		in         []byte
		want       []string // fingerprints
		wantSecret bool
		wantErr    error
	}{
		{name: "binary public", in: pub, want: both},
		{name: "binary secret", in: sec, want: both, wantSecret: true},
		{name: "armored public", in: armored(t, openpgp.PublicKeyType, pub), want: both},
		{name: "armored secret", in: armored(t, openpgp.PrivateKeyType, sec), want: both, wantSecret: true},
		{
			name: "two armored blocks, text around them",
			in: append(append([]byte("Alice's key:\n"), armored(t, openpgp.PublicKeyType, publicRing(t, alice))...),
				append([]byte("\nBob's key:\n"), armored(t, openpgp.PublicKeyType, publicRing(t, bob))...)...),
			want: both,
		},
		{name: "leading blank lines", in: append([]byte("\n\n  "), armored(t, openpgp.PublicKeyType, pub)...), want: both},
		{name: "empty", in: nil, wantErr: ErrInvalidKeyring},
		{name: "whitespace", in: []byte(" \n\t"), wantErr: ErrInvalidKeyring},
		{name: "text", in: []byte("this is not a key"), wantErr: ErrInvalidKeyring},
		{name: "binary garbage", in: []byte{0x99, 0x01, 0x02, 0x03}, wantErr: ErrInvalidKeyring},
		{name: "truncated binary", in: pub[:len(pub)/2], wantErr: ErrInvalidKeyring},
		{name: "armor without END", in: bytes.SplitAfter(armored(t, openpgp.PublicKeyType, pub), []byte("\n\n"))[0], wantErr: ErrInvalidKeyring},
		{name: "armored signature block", in: armored(t, openpgp.SignatureType, pub), wantErr: ErrInvalidKeyring},
		{name: "corrupt armor body", in: bytes.Replace(armored(t, openpgp.PublicKeyType, pub), []byte("\n\n"), []byte("\n\n!!!!"), 1), wantErr: ErrInvalidKeyring},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring, err := ReadKeyring(bytes.NewReader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReadKeyring error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadKeyring: %v", err)
			}
			if diff := cmp.Diff(tt.want, fingerprints(ring)); diff != "" {
				t.Errorf("fingerprints (-want +got):\n%s", diff)
			}
			for _, e := range ring {
				if got := e.PrivateKey != nil; got != tt.wantSecret {
					t.Errorf("%s: has secret part = %v, want %v", describe(e), got, tt.wantSecret)
				}
			}
		})
	}

	t.Run("reader error", func(t *testing.T) {
		_, err := ReadKeyring(iotest.ErrReader(errors.New("disk on fire")))
		if !errors.Is(err, ErrInvalidKeyring) || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("error = %v, want ErrInvalidKeyring mentioning the cause", err)
		}
	})
	t.Run("nil reader", func(t *testing.T) {
		if _, err := ReadKeyring(nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("error = %v, want ErrInvalidArgument", err)
		}
	})
}

func TestFingerprintFormat(t *testing.T) {
	e := newKey(t, keyOpts{name: "F"})
	fp := Fingerprint(e)
	if len(fp) != 40 || strings.ToUpper(fp) != fp || strings.ContainsAny(fp, " :") {
		t.Errorf("Fingerprint = %q, want 40 upper-case hex digits", fp)
	}
	if want := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint); fp != want {
		t.Errorf("Fingerprint = %q, want %q (helm verify's format)", fp, want)
	}
	if Fingerprint(nil) != "" || Identity(nil) != "" {
		t.Error("nil entity should give empty strings")
	}
}

func TestNewSignerSelectsKey(t *testing.T) {
	aliceEx := newKey(t, keyOpts{name: "Alice Example", email: "alice@example.com"})
	aliceCo := newKey(t, keyOpts{name: "Alice Cooper", email: "cooper@example.org"})
	ali := newKey(t, keyOpts{name: "Ali"}) // user ID is exactly "Ali"
	bob := newKey(t, keyOpts{name: "Bob", comment: "ci", email: "bob@example.com"})
	ring := readRing(t, secretRing(t, nil, aliceEx, aliceCo, ali, bob))

	tests := []struct {
		name    string
		key     string
		want    *openpgp.Entity
		wantErr error
	}{
		{name: "exact user ID", key: "Bob (ci) <bob@example.com>", want: bob},
		{name: "unique substring", key: "bob@example", want: bob},
		{name: "unique substring of name", key: "Cooper", want: aliceCo},
		{name: "exact beats substring", key: "Ali", want: ali},
		{name: "ambiguous substring", key: "Alice", wantErr: ErrAmbiguousKey},
		{name: "ambiguous domain", key: "example", wantErr: ErrAmbiguousKey},
		{name: "absent", key: "Carol", wantErr: ErrKeyNotFound},
		{name: "case matters, as in Helm", key: "bob (ci)", wantErr: ErrKeyNotFound},
		{name: "fingerprint", key: Fingerprint(bob), want: bob},
		{name: "lower-case fingerprint", key: strings.ToLower(Fingerprint(aliceCo)), want: aliceCo},
		{name: "long key ID", key: fmt.Sprintf("0x%016X", bob.PrimaryKey.KeyId), want: bob},
		{name: "short key ID is not accepted", key: fmt.Sprintf("%08X", uint32(bob.PrimaryKey.KeyId)), wantErr: ErrKeyNotFound},
		{name: "empty name with several secret keys", key: "", wantErr: ErrAmbiguousKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(ring, tt.key, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("NewSigner(%q) error = %v, want %v", tt.key, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSigner(%q): %v", tt.key, err)
			}
			if s.Fingerprint() != Fingerprint(tt.want) || s.Identity() != Identity(tt.want) {
				t.Errorf("NewSigner(%q) chose %s, want %s", tt.key, s, describe(tt.want))
			}
		})
	}

	t.Run("ambiguity error names the candidates", func(t *testing.T) {
		_, err := NewSigner(ring, "Alice", nil)
		for _, id := range []string{Identity(aliceEx), Identity(aliceCo)} {
			if err == nil || !strings.Contains(err.Error(), id) {
				t.Errorf("error %v does not name %q", err, id)
			}
		}
	})
	t.Run("public keyring", func(t *testing.T) {
		_, err := NewSigner(readRing(t, publicRing(t, bob)), "Bob", nil)
		if !errors.Is(err, ErrNoPrivateKey) {
			t.Errorf("error = %v, want ErrNoPrivateKey", err)
		}
	})
	t.Run("public and secret copies of one key count once", func(t *testing.T) {
		both := append(readRing(t, publicRing(t, bob)), readRing(t, secretRing(t, nil, bob))...)
		s, err := NewSigner(both, "Bob", nil)
		if err != nil {
			t.Fatalf("NewSigner: %v", err)
		}
		if s.Fingerprint() != Fingerprint(bob) {
			t.Errorf("chose %s", s)
		}
	})
	t.Run("empty keyring", func(t *testing.T) {
		if _, err := NewSigner(nil, "Bob", nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("error = %v, want ErrInvalidArgument", err)
		}
	})
}

func TestNewSignerPassphrase(t *testing.T) {
	e := newKey(t, keyOpts{name: "Locked", email: "locked@example.com"})
	pass := []byte("correct horse battery staple")
	data := secretRing(t, pass, e)

	tests := []struct {
		name    string
		pass    []byte
		wantErr error
	}{
		{name: "right passphrase", pass: pass},
		{name: "no passphrase", pass: nil, wantErr: ErrPassphrase},
		{name: "wrong passphrase", pass: []byte("Tr0ub4dor&3"), wantErr: ErrPassphrase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring := readRing(t, data)
			s, err := NewSigner(ring, "Locked", tt.pass)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewSigner error = %v, want %v", err, tt.wantErr)
			}
			// The caller's keyring must still hold the encrypted key:
			// only the Signer's copy is decrypted.
			if !ring[0].PrivateKey.Encrypted {
				t.Error("NewSigner decrypted the caller's keyring in place")
			}
			if err != nil {
				return
			}
			prov := sign(t, s, []byte("archive"))
			if _, err := Verify(t.Context(), readRing(t, publicRing(t, e)), prov, testArchiveName, bytes.NewReader([]byte("archive"))); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestLoadSigningKey(t *testing.T) {
	e := newKey(t, keyOpts{name: "Server", email: "server@example.com"})
	other := newKey(t, keyOpts{name: "Other"})
	pass := []byte("s3cret")

	tests := []struct {
		name    string
		in      []byte
		pass    []byte
		wantErr error
	}{
		{name: "binary", in: secretRing(t, nil, e)},
		{name: "armored", in: armored(t, openpgp.PrivateKeyType, secretRing(t, nil, e))},
		{name: "armored, protected", in: armored(t, openpgp.PrivateKeyType, secretRing(t, pass, e)), pass: pass},
		{name: "protected, wrong passphrase", in: secretRing(t, pass, e), pass: []byte("nope"), wantErr: ErrPassphrase},
		{name: "with public keys of others", in: append(publicRing(t, other), secretRing(t, nil, e)...)},
		{name: "two secret keys", in: secretRing(t, nil, e, other), wantErr: ErrAmbiguousKey},
		{name: "public only", in: publicRing(t, e), wantErr: ErrNoPrivateKey},
		{name: "garbage", in: []byte("garbage"), wantErr: ErrInvalidKeyring},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSigningKey(bytes.NewReader(tt.in), tt.pass)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LoadSigningKey error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if s.Fingerprint() != Fingerprint(e) {
				t.Errorf("loaded %s, want %s", s, describe(e))
			}
			if s.Identity() != "Server <server@example.com>" {
				t.Errorf("Identity = %q", s.Identity())
			}
		})
	}
}
