package provenance

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// clearsignText clearsigns arbitrary text with e's primary key, bypassing
// Signer, to build provenance files Signer would never write.
func clearsignText(t testing.TB, e *openpgp.Entity, text string, cfg *packet.Config) []byte {
	t.Helper()
	if cfg == nil {
		cfg = &packet.Config{}
	}
	cfg.DefaultHash = crypto.SHA512
	var out bytes.Buffer
	w, err := clearsign.Encode(&out, e.PrivateKey, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// replaceSignature swaps the signature packet of prov for sig.
func replaceSignature(t testing.TB, prov []byte, blockType string, sig []byte) []byte {
	t.Helper()
	i := bytes.Index(prov, []byte("-----BEGIN PGP SIGNATURE-----"))
	if i < 0 {
		t.Fatal("no signature block")
	}
	var out bytes.Buffer
	out.Write(prov[:i])
	w, err := armor.Encode(&out, blockType, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(sig)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func signatureBytes(t testing.TB, prov []byte) []byte {
	t.Helper()
	block, _ := clearsign.Decode(prov)
	if block == nil {
		t.Fatal("not clearsigned")
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(block.ArmoredSignature.Body); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifyRejects(t *testing.T) {
	archive := []byte("the archive")
	digest, err := Digest(t.Context(), bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	message, err := messageBlock(testMeta(), testArchiveName, digest)
	if err != nil {
		t.Fatal(err)
	}

	signer := newKey(t, keyOpts{name: "Signer", email: "signer@example.com"})
	other := newKey(t, keyOpts{name: "Other", email: "other@example.com"})
	ring := readRing(t, publicRing(t, signer))
	good := sign(t, signerFor(t, signer), archive)
	if _, err := Verify(t.Context(), ring, good, testArchiveName, bytes.NewReader(archive)); err != nil {
		t.Fatalf("the untampered file must verify: %v", err)
	}

	// A key whose lifetime ended: made two days ago for one day, and used
	// to sign while it was valid.
	created := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	expired := newKey(t, keyOpts{name: "Expired", email: "expired@example.com", created: created, lifetime: 24 * time.Hour})
	expiredSigner, err := newSigner(readRing(t, secretRing(t, nil, expired)), "", nil, func() time.Time { return created.Add(time.Hour) })
	if err != nil {
		t.Fatalf("signing while the key was valid: %v", err)
	}
	byExpired := sign(t, expiredSigner, archive)

	// A key revoked after it signed; the revocation travels in the public
	// keyring, as it does when the owner publishes it.
	revoked := newKey(t, keyOpts{name: "Revoked", email: "revoked@example.com"})
	byRevoked := sign(t, signerFor(t, revoked), archive)
	if err := revoked.RevokeKey(packet.KeySuperseded, "replaced", nil); err != nil {
		t.Fatal(err)
	}

	// A signing subkey revoked after it signed; the primary key is fine.
	subRevoked := newKey(t, keyOpts{name: "SubRevoked", signingSubkey: true})
	bySubRevoked := sign(t, signerFor(t, subRevoked), archive)
	if err := subRevoked.RevokeSubkey(&subRevoked.Subkeys[len(subRevoked.Subkeys)-1], packet.KeyCompromised, "lost", nil); err != nil {
		t.Fatal(err)
	}

	flipped := signatureBytes(t, good)
	flipped[len(flipped)-1] ^= 0x01
	lines := strings.Split(string(good), "\n")

	tests := []struct {
		name    string
		ring    openpgp.EntityList
		prov    []byte
		archive []byte
		file    string
		wantErr error
		wantMsg string // a substring the error must contain
	}{
		{name: "tampered archive", prov: good, archive: append([]byte("evil "), archive...), wantErr: ErrDigestMismatch, wantMsg: "sha256:" + digest},
		{name: "wrong key", ring: readRing(t, publicRing(t, other)), prov: good, wantErr: ErrUnknownSigner, wantMsg: "issuer"},
		{name: "empty keyring", ring: openpgp.EntityList{}, prov: good, wantErr: ErrUnknownSigner},
		{name: "different archive name", prov: good, file: "other-0.1.0.tgz", wantErr: ErrArchiveNotListed, wantMsg: testArchiveName},
		{name: "path to the archive is fine", prov: good, file: "/srv/charts/" + testArchiveName},
		{name: "truncated in half", prov: good[:len(good)/2], wantErr: ErrMalformed},
		{name: "truncated before END", prov: good[:len(good)-10], wantErr: ErrMalformed},
		{name: "truncated after the text", prov: good[:bytes.Index(good, []byte("-----BEGIN PGP SIGNATURE"))], wantErr: ErrMalformed},
		{name: "header only", prov: []byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n"), wantErr: ErrMalformed},
		{name: "signature line dropped", prov: []byte(strings.Join(append(append([]string{}, lines[:len(lines)-4]...), lines[len(lines)-3:]...), "\n")), wantErr: ErrMalformed},
		{name: "empty", prov: nil, wantErr: ErrMalformed},
		{name: "not clearsigned", prov: message, wantErr: ErrMalformed, wantMsg: "not an OpenPGP clearsigned message"},
		{name: "unknown header", prov: bytes.Replace(good, []byte("Hash: SHA512"), []byte("Hash: SHA512\nComment: hi"), 1), wantErr: ErrMalformed},
		{name: "wrong block type", prov: replaceSignature(t, good, "PGP MESSAGE", signatureBytes(t, good)), wantErr: ErrMalformed},
		{name: "garbage signature packet", prov: replaceSignature(t, good, openpgp.SignatureType, []byte{0xc2, 0x05, 1, 2, 3, 4, 5}), wantErr: ErrMalformed},
		{name: "edited text", prov: bytes.Replace(good, []byte("version: 0.1.0"), []byte("version: 0.1.1"), 1), wantErr: ErrBadSignature},
		{name: "edited digest", prov: bytes.Replace(good, []byte("sha256:"+digest[:4]), []byte("sha256:0000"), 1), wantErr: ErrBadSignature},
		{name: "flipped signature bit", prov: replaceSignature(t, good, openpgp.SignatureType, flipped), wantErr: ErrBadSignature},
		{name: "expired key", ring: readRing(t, publicRing(t, expired)), prov: byExpired, wantErr: ErrKeyExpired, wantMsg: "Expired <expired@example.com>"},
		{name: "revoked key", ring: readRing(t, publicRing(t, revoked)), prov: byRevoked, wantErr: ErrKeyRevoked, wantMsg: "Revoked <revoked@example.com>"},
		{name: "revoked signing subkey", ring: readRing(t, publicRing(t, subRevoked)), prov: bySubRevoked, wantErr: ErrKeyRevoked},
		{
			name:    "expired signature",
			prov:    clearsignText(t, signer, string(message), &packet.Config{SigLifetimeSecs: 60, Time: func() time.Time { return time.Now().Add(-time.Hour) }}),
			wantErr: ErrSignatureExpired,
		},
		{
			name:    "signature from the future",
			prov:    clearsignText(t, signer, string(message), &packet.Config{Time: func() time.Time { return time.Now().Add(time.Hour) }}),
			wantErr: ErrSignatureExpired,
		},
		{name: "signed text without separator", prov: clearsignText(t, signer, "name: mychart\nversion: 0.1.0\n", nil), wantErr: ErrMalformed, wantMsg: `"..."`},
		{name: "no files", prov: clearsignText(t, signer, "name: mychart\n\n...\nfiles: {}\n", nil), wantErr: ErrMalformed, wantMsg: "no files"},
		{name: "bad metadata YAML", prov: clearsignText(t, signer, "name: [\n\n...\nfiles:\n  "+testArchiveName+": sha256:"+digest+"\n", nil), wantErr: ErrMalformed, wantMsg: "metadata"},
		{name: "bad files YAML", prov: clearsignText(t, signer, "name: x\n\n...\nfiles: [\n", nil), wantErr: ErrMalformed, wantMsg: "digests"},
		{name: "sha512 entry", prov: clearsignText(t, signer, "name: x\n\n...\nfiles:\n  "+testArchiveName+": sha512:"+digest+"\n", nil), wantErr: ErrDigestMismatch},
		{name: "minimal valid text", prov: clearsignText(t, signer, "\n...\nfiles:\n  "+testArchiveName+": sha256:"+digest+"\n", nil)},
		{name: "unsigned text after the block is ignored", prov: append(append([]byte{}, good...), "\nfiles:\n  evil.tgz: sha256:00\n"...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ring
			if tt.ring != nil {
				r = tt.ring
			}
			a := archive
			if tt.archive != nil {
				a = tt.archive
			}
			file := testArchiveName
			if tt.file != "" {
				file = tt.file
			}
			v, err := Verify(t.Context(), r, tt.prov, file, bytes.NewReader(a))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				t.Logf("error: %v", err)
				if v != nil {
					t.Errorf("Verify returned a Verification with error %v", err)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not say %q", err, tt.wantMsg)
				}
				// One failure, one sentinel: a caller's errors.Is chain
				// must not match two verdicts.
				for _, s := range verdicts() {
					if s != tt.wantErr && errors.Is(err, s) {
						t.Errorf("error %v also matches %v", err, s)
					}
				}
			}
		})
	}

	t.Run("signers refuse unusable keys", func(t *testing.T) {
		if _, err := NewSigner(readRing(t, secretRing(t, nil, expired)), "Expired", nil); !errors.Is(err, ErrKeyExpired) {
			t.Errorf("expired key: error = %v, want ErrKeyExpired", err)
		}
		if _, err := NewSigner(readRing(t, secretRing(t, nil, revoked)), "Revoked", nil); !errors.Is(err, ErrKeyRevoked) {
			t.Errorf("revoked key: error = %v, want ErrKeyRevoked", err)
		}
		future := newKey(t, keyOpts{name: "Future", created: time.Now().Add(24 * time.Hour)})
		if _, err := NewSigner(readRing(t, secretRing(t, nil, future)), "Future", nil); !errors.Is(err, ErrKeyExpired) || !strings.Contains(err.Error(), "future") {
			t.Errorf("key from the future: error = %v, want ErrKeyExpired saying so", err)
		}
	})

	t.Run("cancelled while hashing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := Verify(ctx, ring, good, testArchiveName, bytes.NewReader(archive)); !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		if _, err := Verify(t.Context(), ring, good, "", bytes.NewReader(archive)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("empty name: error = %v", err)
		}
		if _, err := Verify(t.Context(), ring, good, testArchiveName, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("nil archive: error = %v", err)
		}
	})
}

// verdicts are the sentinels Verify can fail with for a bad provenance file.
func verdicts() []error {
	return []error{
		ErrMalformed, ErrUnknownSigner, ErrBadSignature, ErrSignatureExpired,
		ErrKeyExpired, ErrKeyRevoked, ErrDigestMismatch, ErrArchiveNotListed,
	}
}

func TestParseProv(t *testing.T) {
	e := newKey(t, keyOpts{name: "P"})
	good := sign(t, signerFor(t, e), []byte("a"))
	tests := []struct {
		name      string
		prov      []byte
		wantMeta  string
		wantFiles map[string]string
		wantErr   error
	}{
		{
			name:      "Helm layout",
			prov:      good,
			wantMeta:  "apiVersion: v2\nappVersion: 1.16.0\ndescription: A Helm chart for Kubernetes\nname: mychart\ntype: application\nversion: 0.1.0\n",
			wantFiles: map[string]string{testArchiveName: "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
		},
		{
			name:      "several files, extra documents ignored",
			prov:      clearsignText(t, e, "name: x\n\n...\nfiles:\n  a.tgz: sha256:aa\n  b.tgz: sha256:bb\nimages:\n  nginx:1: sha256:cc\n...\nmore: stuff\n", nil),
			wantMeta:  "name: x\n",
			wantFiles: map[string]string{"a.tgz": "sha256:aa", "b.tgz": "sha256:bb"},
		},
		{name: "truncated", prov: good[:len(good)-30], wantErr: ErrMalformed},
		{name: "plain YAML", prov: []byte("name: x\n...\nfiles:\n  a: b\n"), wantErr: ErrMalformed},
		{name: "no separator", prov: clearsignText(t, e, "files:\n  a: b\n", nil), wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, files, err := ParseProv(tt.prov)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseProv error = %v, want %v", err, tt.wantErr)
			}
			if string(md) != tt.wantMeta {
				t.Errorf("metadata = %q, want %q", md, tt.wantMeta)
			}
			if len(files) != len(tt.wantFiles) {
				t.Errorf("files = %v, want %v", files, tt.wantFiles)
			}
			for k, v := range tt.wantFiles {
				if files[k] != v {
					t.Errorf("files[%q] = %q, want %q", k, files[k], v)
				}
			}
		})
	}
}
