package provenance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/eddsa"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	archive := []byte("not really a tarball, but Verify only hashes it")
	sum := sha256.Sum256(archive)
	hexSum := hex.EncodeToString(sum[:])

	tests := []struct {
		name string
		key  keyOpts
	}{
		{name: "ed25519", key: keyOpts{name: "Ed", email: "ed@example.com"}},
		{name: "rsa", key: keyOpts{name: "Rsa", comment: "2048", email: "rsa@example.com", rsa: true}},
		{name: "signing subkey", key: keyOpts{name: "Sub", email: "sub@example.com", signingSubkey: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newKey(t, tt.key)
			s := signerFor(t, e)
			before := time.Now().Add(-time.Second)
			prov := sign(t, s, archive)

			// The exact text Helm writes (see helm pkg/provenance/sign.go):
			// metadata YAML, a blank line, "...", the files document; and,
			// as go-crypto's clearsign keeps the final newline of the text,
			// a blank line before the signature (real Helm 3.22 does the
			// same; TestHelmInterop compares the two byte for byte).
			wantMeta := "apiVersion: v2\nappVersion: 1.16.0\ndescription: A Helm chart for Kubernetes\n" +
				"name: mychart\ntype: application\nversion: 0.1.0\n"
			wantText := wantMeta + "\n...\nfiles:\n  mychart-0.1.0.tgz: sha256:" + hexSum + "\n"
			wantPrefix := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" + wantText + "\n-----BEGIN PGP SIGNATURE-----\n"
			if !bytes.HasPrefix(prov, []byte(wantPrefix)) {
				t.Errorf("provenance file does not start as Helm's:\n%s", cmp.Diff(wantPrefix, string(prov[:min(len(prov), len(wantPrefix))])))
			}
			if !bytes.HasSuffix(prov, []byte("-----END PGP SIGNATURE-----")) {
				t.Errorf("provenance file should end with the signature's END line, as Helm's does:\n%s", prov)
			}
			block, _ := clearsign.Decode(prov)
			sigPkt, err := packet.NewReader(block.ArmoredSignature.Body).Next()
			if err != nil {
				t.Fatal(err)
			}
			if h := sigPkt.(*packet.Signature).Hash.String(); h != "SHA-512" {
				t.Errorf("signature hash = %s, want SHA-512", h)
			}

			v, err := Verify(t.Context(), readRing(t, publicRing(t, e)), prov, testArchiveName, bytes.NewReader(archive))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.SignedAt.Before(before) || v.SignedAt.After(time.Now().Add(time.Second)) {
				t.Errorf("SignedAt = %v, want about now", v.SignedAt)
			}
			want := &Verification{
				SignedBy:    Identity(e),
				Fingerprint: Fingerprint(e),
				SignedAt:    v.SignedAt,
				FileName:    testArchiveName,
				FileHash:    "sha256:" + hexSum,
				Metadata:    testMeta(),
			}
			if diff := cmp.Diff(want, v); diff != "" {
				t.Errorf("Verification (-want +got):\n%s", diff)
			}

			md, files, err := ParseProv(prov)
			if err != nil {
				t.Fatalf("ParseProv: %v", err)
			}
			if diff := cmp.Diff(wantMeta, string(md)); diff != "" {
				t.Errorf("ParseProv metadata (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]string{testArchiveName: "sha256:" + hexSum}, files); diff != "" {
				t.Errorf("ParseProv files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSignFullMetadata(t *testing.T) {
	meta := &chart.Metadata{
		APIVersion:  chart.APIVersionV2,
		Name:        "full",
		Version:     "1.2.3-rc.1+build.5",
		Description: strings.Repeat("A long description that YAML must not fold. ", 5),
		Home:        "https://example.com",
		Sources:     []string{"https://github.com/example/full"},
		Keywords:    []string{"a", "b"},
		Maintainers: []*chart.Maintainer{{Name: "Jane", Email: "jane@example.com"}},
		Annotations: map[string]string{"z": "last", "a": "---\nfirst"},
		KubeVersion: ">=1.25.0-0",
		Deprecated:  true,
		Dependencies: []*chart.Dependency{
			{Name: "dep", Version: "~1.0", Repository: "https://charts.example.com", Condition: "dep.enabled"},
		},
	}
	e := newKey(t, keyOpts{name: "Full"})
	archive := []byte("x")
	prov, err := signerFor(t, e).Sign(t.Context(), meta, "charts/full-1.2.3-rc.1+build.5.tgz", bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	// The metadata YAML contains "---" (in an annotation), which must
	// survive clearsigning's dash-escaping.
	v, err := Verify(t.Context(), readRing(t, publicRing(t, e)), prov, "full-1.2.3-rc.1+build.5.tgz", bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if diff := cmp.Diff(meta, v.Metadata); diff != "" {
		t.Errorf("metadata round trip (-want +got):\n%s", diff)
	}
	if v.FileName != "full-1.2.3-rc.1+build.5.tgz" {
		t.Errorf("FileName = %q: the directory should have been dropped", v.FileName)
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	s := signerFor(t, newKey(t, keyOpts{name: "In"}))
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		meta    *chart.Metadata
		archive string
		r       io.Reader
		wantErr error
	}{
		{name: "nil metadata", meta: nil, archive: testArchiveName, r: strings.NewReader("x"), wantErr: ErrInvalidArgument},
		{name: "no version", meta: &chart.Metadata{Name: "a"}, archive: testArchiveName, r: strings.NewReader("x"), wantErr: ErrInvalidArgument},
		{name: "empty archive name", meta: testMeta(), archive: " ", r: strings.NewReader("x"), wantErr: ErrInvalidArgument},
		{name: "directory name", meta: testMeta(), archive: "charts/", r: strings.NewReader("x")},
		{name: "only a slash", meta: testMeta(), archive: "/", r: strings.NewReader("x"), wantErr: ErrInvalidArgument},
		{name: "newline in name", meta: testMeta(), archive: "a\nb.tgz", r: strings.NewReader("x"), wantErr: ErrInvalidArgument},
		{name: "nil archive", meta: testMeta(), archive: testArchiveName, r: nil, wantErr: ErrInvalidArgument},
		{name: "cancelled", ctx: cancelled, meta: testMeta(), archive: testArchiveName, r: strings.NewReader("x"), wantErr: context.Canceled},
		{name: "read error", meta: testMeta(), archive: testArchiveName, r: iotest.ErrReader(io.ErrClosedPipe), wantErr: io.ErrClosedPipe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			_, err := s.Sign(ctx, tt.meta, tt.archive, tt.r)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Sign error = %v, want %v", err, tt.wantErr)
			}
		})
	}
	t.Run("zero Signer", func(t *testing.T) {
		var zero *Signer
		if _, err := zero.Sign(t.Context(), testMeta(), testArchiveName, strings.NewReader("x")); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("nil Signer: error = %v", err)
		}
		if _, err := new(Signer).PublicKeyArmored(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("zero Signer PublicKeyArmored: error = %v", err)
		}
	})
}

// TestSignerDoesNotLeakKey prints a Signer every way a careless caller
// might and looks for the private scalar in the output.
func TestSignerDoesNotLeakKey(t *testing.T) {
	e := newKey(t, keyOpts{name: "Leak", email: "leak@example.com"})
	s := signerFor(t, e)
	priv, ok := s.key.PrivateKey.(*eddsa.PrivateKey)
	if !ok || len(priv.D) == 0 {
		t.Fatalf("test expects a decrypted Ed25519 key, got %T", s.key.PrivateKey)
	}
	secrets := []string{
		hex.EncodeToString(priv.D),
		strings.ToUpper(hex.EncodeToString(priv.D)),
		fmt.Sprint(priv.D),
		new(big.Int).SetBytes(priv.D).String(),
		string(priv.D),
	}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %[1]v"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, *s), fmt.Sprintf(verb, []*Signer{s}), fmt.Sprintf(verb, struct{ S Signer }{*s}))
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("signer", "s", s, "v", *s)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("signer", "s", s)
	outputs = append(outputs, logs.String())

	for _, out := range outputs {
		for _, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Fatalf("formatted Signer contains private key material: %q", out)
			}
		}
	}
	if got := s.String(); !strings.Contains(got, "Leak <leak@example.com>") || !strings.Contains(got, Fingerprint(e)) {
		t.Errorf("String() = %q, want identity and fingerprint", got)
	}
	if !strings.Contains(logs.String(), Fingerprint(e)) {
		t.Errorf("slog output lacks the fingerprint: %s", logs.String())
	}
	var nilSigner *Signer
	if got := fmt.Sprint(nilSigner); got != "<nil>" {
		t.Errorf("printing a nil *Signer = %q, want <nil>", got)
	}
}

// TestSignRechecksKey: a Signer made while its key was valid refuses to
// sign once the key has expired or been revoked, as a long-running server
// would otherwise publish signatures nobody can verify.
func TestSignRechecksKey(t *testing.T) {
	created := time.Now().Add(-72 * time.Hour)
	clock := created.Add(time.Hour)
	e := newKey(t, keyOpts{name: "Aging", created: created, lifetime: 24 * time.Hour})
	s, err := newSigner(readRing(t, secretRing(t, nil, e)), "", nil, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s, []byte("a"))
	clock = created.Add(25 * time.Hour)
	if _, err := s.Sign(t.Context(), testMeta(), testArchiveName, strings.NewReader("a")); !errors.Is(err, ErrKeyExpired) {
		t.Errorf("Sign after expiry: error = %v, want ErrKeyExpired", err)
	}

	ring := readRing(t, secretRing(t, nil, newKey(t, keyOpts{name: "Doomed"})))
	s, err = NewSigner(ring, "Doomed", nil)
	if err != nil {
		t.Fatal(err)
	}
	sign(t, s, []byte("a"))
	if err := ring[0].RevokeKey(packet.KeyRetired, "retired", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(t.Context(), testMeta(), testArchiveName, strings.NewReader("a")); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("Sign after revocation: error = %v, want ErrKeyRevoked", err)
	}
}

// TestSignConcurrently shares one Signer between goroutines, as the server
// does; run with -race.
func TestSignConcurrently(t *testing.T) {
	e := newKey(t, keyOpts{name: "Shared"})
	s := signerFor(t, e)
	ring := readRing(t, publicRing(t, e))
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			archive := []byte(fmt.Sprintf("archive %d", i))
			prov, err := s.Sign(t.Context(), testMeta(), testArchiveName, bytes.NewReader(archive))
			if err == nil {
				_, err = Verify(t.Context(), ring, prov, testArchiveName, bytes.NewReader(archive))
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestPublicKeyArmored(t *testing.T) {
	e := newKey(t, keyOpts{name: "Pub", email: "pub@example.com", signingSubkey: true})
	// Several user IDs: Entity.Serialize would order them randomly.
	for _, n := range []string{"Second", "Third", "Fourth"} {
		if err := e.AddUserId(n, "", n+"@example.com", nil); err != nil {
			t.Fatal(err)
		}
	}
	pass := []byte("pw")
	// Serialized once: SerializePrivate makes fresh self-signatures.
	keyFile := secretRing(t, pass, e)
	s, err := LoadSigningKey(bytes.NewReader(keyFile), pass)
	if err != nil {
		t.Fatalf("LoadSigningKey: %v", err)
	}
	pub, err := s.PublicKeyArmored()
	if err != nil {
		t.Fatalf("PublicKeyArmored: %v", err)
	}
	if !bytes.HasPrefix(pub, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")) || !bytes.HasSuffix(pub, []byte("-----END PGP PUBLIC KEY BLOCK-----\n")) {
		t.Errorf("not an armored public key block:\n%s", pub)
	}
	for range 5 {
		again, err := s.PublicKeyArmored()
		if err != nil || !bytes.Equal(again, pub) {
			t.Fatalf("PublicKeyArmored is not stable (err %v)", err)
		}
	}
	// A fresh Signer from the same key publishes the same bytes.
	s2, err := LoadSigningKey(bytes.NewReader(keyFile), pass)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := s2.PublicKeyArmored(); !bytes.Equal(again, pub) {
		t.Error("PublicKeyArmored differs between two Signers of the same key")
	}
	// Mutating the returned slice must not change the next answer.
	pub[40] ^= 0xff
	if again, _ := s.PublicKeyArmored(); bytes.Equal(again, pub) {
		t.Error("PublicKeyArmored returns its internal buffer")
	}
	pub[40] ^= 0xff

	ring := readRing(t, pub)
	if len(ring) != 1 {
		t.Fatalf("public key parses as %d keys", len(ring))
	}
	got := ring[0]
	if got.PrivateKey != nil {
		t.Error("public key export contains the primary secret key")
	}
	for _, sub := range got.Subkeys {
		if sub.PrivateKey != nil {
			t.Error("public key export contains a secret subkey")
		}
	}
	if len(got.Subkeys) != len(e.Subkeys) || len(got.Identities) != 4 {
		t.Errorf("export has %d subkeys and %d user IDs, want %d and 4", len(got.Subkeys), len(got.Identities), len(e.Subkeys))
	}
	if Fingerprint(got) != s.Fingerprint() {
		t.Errorf("fingerprint %s, want %s", Fingerprint(got), s.Fingerprint())
	}
	// And it is the key that verifies what the Signer signs.
	prov := sign(t, s, []byte("a"))
	if _, err := Verify(t.Context(), ring, prov, testArchiveName, strings.NewReader("a")); err != nil {
		t.Errorf("Verify with the published key: %v", err)
	}
}

func TestDigest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "empty", in: "", want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{name: "abc", in: "abc", want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Digest(t.Context(), strings.NewReader(tt.in))
			if err != nil || got != tt.want {
				t.Errorf("Digest(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := Digest(ctx, strings.NewReader("abc")); !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
	t.Run("nil", func(t *testing.T) {
		if _, err := Digest(t.Context(), nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("error = %v, want ErrInvalidArgument", err)
		}
	})
}
