package provenance

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/google/go-cmp/cmp"
)

// TestGnuPGKeys uses keys made by `gpg --batch --gen-key` and exported to
// binary keyrings the way GnuPG ≥ 2.1 users make them for Helm, and checks
// that GnuPG itself accepts what we sign and publish.
func TestGnuPGKeys(t *testing.T) {
	g := newGPG(t)
	const pass = "gpg passphrase"
	keys := []gpgKey{
		{name: "GPG RSA", email: "rsa@example.com", rsa: true},
		{name: "GPG Ed", email: "ed@example.com", passphrase: pass},
		{name: "GPG Sub", email: "sub@example.com", subkey: true},
	}
	fps := make(map[string]string)
	var wantFPs []string
	for _, k := range keys {
		fps[k.name] = g.genKey(k)
		wantFPs = append(wantFPs, fps[k.name])
	}
	pubData := g.exportPublic()
	secData := g.exportSecret(pass)

	pub := readRing(t, pubData)
	if diff := cmp.Diff(wantFPs, fingerprints(pub)); diff != "" {
		t.Fatalf("fingerprints of `gpg --export` differ from gpg's (-gpg +ours):\n%s", diff)
	}
	sec := readRing(t, secData)
	if diff := cmp.Diff(wantFPs, fingerprints(sec)); diff != "" {
		t.Fatalf("fingerprints of `gpg --export-secret-keys` differ from gpg's (-gpg +ours):\n%s", diff)
	}
	for _, e := range sec {
		if e.PrivateKey == nil {
			t.Errorf("%s: no secret part read from --export-secret-keys", describe(e))
		}
	}
	armoredPub := readRing(t, g.run(nil, "--armor", "--export"))
	if diff := cmp.Diff(wantFPs, fingerprints(armoredPub)); diff != "" {
		t.Errorf("armored export (-gpg +ours):\n%s", diff)
	}

	archive := []byte("archive bytes")
	dir := t.TempDir()
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			s, err := NewSigner(sec, k.name, []byte(k.passphrase))
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			if s.Fingerprint() != fps[k.name] || s.Identity() != k.uid() {
				t.Errorf("signer is %s, want %q [%s]", s, k.uid(), fps[k.name])
			}
			prov := sign(t, s, archive)
			v, err := Verify(t.Context(), pub, prov, testArchiveName, bytes.NewReader(archive))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.Fingerprint != fps[k.name] || v.SignedBy != k.uid() {
				t.Errorf("Verify says %q [%s], want %q [%s]", v.SignedBy, v.Fingerprint, k.uid(), fps[k.name])
			}

			// GnuPG agrees that this is a good signature by the key, both
			// with the full keyring and with only the public key we would
			// publish, imported into a fresh GnuPG.
			provFile := writeFile(t, dir, k.name+".prov", prov)
			g.checkGoodSig(provFile, fps[k.name])
			pubKey, err := s.PublicKeyArmored()
			if err != nil {
				t.Fatal(err)
			}
			fresh := newGPG(t)
			fresh.run(pubKey, "--import")
			if got := fresh.fingerprint(k.uid()); got != fps[k.name] {
				t.Errorf("imported fingerprint %s, want %s", got, fps[k.name])
			}
			fresh.checkGoodSig(provFile, fps[k.name])
		})
	}

	t.Run("wrong passphrase", func(t *testing.T) {
		if _, err := NewSigner(sec, "GPG Ed", []byte("not it")); !errors.Is(err, ErrPassphrase) {
			t.Errorf("error = %v, want ErrPassphrase", err)
		}
		if _, err := NewSigner(sec, "GPG Ed", nil); !errors.Is(err, ErrPassphrase) {
			t.Errorf("error = %v, want ErrPassphrase", err)
		}
	})
	t.Run("armored secret key file for the server", func(t *testing.T) {
		data := g.run(nil, "--armor", "--passphrase", pass, "--export-secret-keys", "ed@example.com")
		s, err := LoadSigningKey(bytes.NewReader(data), []byte(pass))
		if err != nil {
			t.Fatalf("LoadSigningKey: %v", err)
		}
		if s.Fingerprint() != fps["GPG Ed"] {
			t.Errorf("loaded %s", s)
		}
	})
	t.Run("keybox is not a keyring", func(t *testing.T) {
		kbx, err := os.ReadFile(filepath.Join(g.dir, "pubring.kbx"))
		if err != nil {
			t.Fatalf("gpg 2.2 keeps its keys in pubring.kbx: %v", err)
		}
		_, err = ReadKeyring(bytes.NewReader(kbx))
		if !errors.Is(err, ErrInvalidKeyring) || !strings.Contains(err.Error(), "gpg --export") {
			t.Errorf("error = %v, want ErrInvalidKeyring explaining how to export", err)
		}
	})
	t.Run("public keyring cannot sign", func(t *testing.T) {
		if _, err := NewSigner(pub, "GPG RSA", nil); !errors.Is(err, ErrNoPrivateKey) {
			t.Errorf("error = %v, want ErrNoPrivateKey", err)
		}
	})
	t.Run("offline primary key", func(t *testing.T) {
		// `gpg --export-secret-subkeys` leaves a stub for the primary key;
		// the signing subkey still signs.
		data := g.run(nil, "--export-secret-subkeys", "sub@example.com")
		s, err := NewSigner(readRing(t, data), "GPG Sub", nil)
		if err != nil {
			t.Fatalf("NewSigner: %v", err)
		}
		prov := sign(t, s, archive)
		if _, err := Verify(t.Context(), pub, prov, testArchiveName, bytes.NewReader(archive)); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})
}

// TestGnuPGExpiredAndRevoked uses GnuPG's own expiry and revocation: a key
// made (with a faked clock) in 2020 to expire a day later, and a key revoked
// with the revocation certificate gpg stores when it makes a key.
func TestGnuPGExpiredAndRevoked(t *testing.T) {
	g := newGPG(t)
	archive := []byte("archive")

	expired := gpgKey{name: "GPG Expired", email: "expired@example.com", expire: "1d", fakedTime: "20200101T000000!"}
	expiredFP := g.genKey(expired)
	secExpired := readRing(t, g.exportSecret("", expired.email))
	born := time.Date(2020, 1, 1, 1, 0, 0, 0, time.UTC)
	s, err := newSigner(secExpired, "", nil, func() time.Time { return born })
	if err != nil {
		t.Fatalf("signing in 2020, while the key was valid: %v", err)
	}
	byExpired := sign(t, s, archive)
	if _, err := NewSigner(secExpired, "", nil); !errors.Is(err, ErrKeyExpired) {
		t.Errorf("NewSigner today: error = %v, want ErrKeyExpired", err)
	}

	revoked := gpgKey{name: "GPG Revoked", email: "revoked@example.com"}
	revokedFP := g.genKey(revoked)
	s, err = NewSigner(readRing(t, g.exportSecret("", revoked.email)), "", nil)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	byRevoked := sign(t, s, archive)
	cert, err := os.ReadFile(filepath.Join(g.dir, "openpgp-revocs.d", revokedFP+".rev"))
	if err != nil {
		t.Fatalf("gpg's revocation certificate: %v", err)
	}
	// gpg prefixes the armor line with ':' so that the file cannot be
	// imported by accident.
	g.run(bytes.Replace(cert, []byte(":-----BEGIN PGP PUBLIC KEY BLOCK-----"), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----"), 1), "--import")
	if out := g.run(nil, "--with-colons", "--list-keys", revoked.email); !bytes.Contains(out, []byte("pub:r:")) {
		t.Fatalf("gpg does not show the key as revoked:\n%s", out)
	}

	tests := []struct {
		name    string
		ring    openpgp.EntityList
		prov    []byte
		wantErr error
		wantFP  string
	}{
		{name: "expired", ring: readRing(t, g.exportPublic(expired.email)), prov: byExpired, wantErr: ErrKeyExpired, wantFP: expiredFP},
		{name: "revoked", ring: readRing(t, g.exportPublic(revoked.email)), prov: byRevoked, wantErr: ErrKeyRevoked, wantFP: revokedFP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(t.Context(), tt.ring, tt.prov, testArchiveName, bytes.NewReader(archive))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantFP) {
				t.Errorf("error %q does not name the key %s", err, tt.wantFP)
			}
		})
	}
}

// checkGoodSig runs `gpg --verify` on a clearsigned file and requires a
// good, valid signature whose primary key is fpr.
//
// The exit status is not used: go-crypto's clearsign writes the signature
// armor without the optional CRC line (as Helm's .prov files have it), and
// GnuPG 2.2 then sometimes reads the END line as base64 when the signature
// length is a multiple of 3, reporting "no valid OpenPGP data found" after
// the good signature. GnuPG's status lines say what it concluded about the
// signature itself.
func (g *gpgHome) checkGoodSig(file, fpr string) {
	g.t.Helper()
	out, err := g.try(nil, "--status-fd", "1", "--verify", file)
	var good, valid bool
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "[GNUPG:]" && f[1] == "GOODSIG":
			good = true
		case len(f) >= 3 && f[0] == "[GNUPG:]" && f[1] == "VALIDSIG" && f[len(f)-1] == fpr:
			valid = true
		case len(f) >= 2 && f[0] == "[GNUPG:]" && (f[1] == "BADSIG" || f[1] == "ERRSIG" || f[1] == "EXPKEYSIG" || f[1] == "REVKEYSIG"):
			g.t.Errorf("gpg --verify: %s", line)
		}
	}
	if !good || !valid {
		g.t.Errorf("gpg --verify did not report a good signature by %s (err %v):\n%s", fpr, err, out)
	}
}
