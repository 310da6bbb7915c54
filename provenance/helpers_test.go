package provenance

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/chartd/chartd/chart"
)

// keyOpts describes a key made with go-crypto for a test.
type keyOpts struct {
	name, comment, email string
	rsa                  bool          // RSA-2048 instead of Ed25519
	created              time.Time     // zero: now
	lifetime             time.Duration // zero: never expires
	signingSubkey        bool          // add a signing subkey, which then signs
}

// newKey generates an OpenPGP key with go-crypto.
func newKey(t testing.TB, o keyOpts) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, DefaultHash: 0}
	if o.rsa {
		cfg.Algorithm = packet.PubKeyAlgoRSA
		cfg.RSABits = 2048
	}
	if !o.created.IsZero() {
		created := o.created
		cfg.Time = func() time.Time { return created }
	}
	if o.lifetime > 0 {
		cfg.KeyLifetimeSecs = uint32(o.lifetime / time.Second)
	}
	e, err := openpgp.NewEntity(o.name, o.comment, o.email, cfg)
	if err != nil {
		t.Fatalf("generating key %q: %v", o.name, err)
	}
	if o.signingSubkey {
		if err := e.AddSigningSubkey(cfg); err != nil {
			t.Fatalf("adding signing subkey: %v", err)
		}
	}
	return e
}

// publicRing serializes the public parts of es as a binary keyring, the
// format of `gpg --export`.
func publicRing(t testing.TB, es ...*openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range es {
		if err := e.Serialize(&buf); err != nil {
			t.Fatalf("serializing public key: %v", err)
		}
	}
	return buf.Bytes()
}

// secretRing serializes es with their secret parts, the format of `gpg
// --export-secret-keys`; with a passphrase the secret parts are encrypted.
// The self-signatures made at generation are kept (SerializePrivate would
// re-sign them at the current time), so the same entity always serializes
// to the same key. The entities passed in stay decrypted.
func secretRing(t testing.TB, passphrase []byte, es ...*openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range es {
		var one bytes.Buffer
		if err := e.SerializePrivateWithoutSigning(&one, nil); err != nil {
			t.Fatalf("serializing secret key: %v", err)
		}
		if len(passphrase) > 0 {
			// Encrypt a copy read back from the serialization.
			ring, err := openpgp.ReadKeyRing(bytes.NewReader(one.Bytes()))
			if err != nil {
				t.Fatalf("re-reading secret key: %v", err)
			}
			one.Reset()
			if err := ring[0].EncryptPrivateKeys(passphrase, nil); err != nil {
				t.Fatalf("encrypting secret key: %v", err)
			}
			if err := ring[0].SerializePrivateWithoutSigning(&one, nil); err != nil {
				t.Fatalf("serializing encrypted key: %v", err)
			}
		}
		buf.Write(one.Bytes())
	}
	return buf.Bytes()
}

// armored wraps a binary keyring in ASCII armor of the given block type.
func armored(t testing.TB, blockType string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, blockType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// readRing is ReadKeyring for bytes that must parse.
func readRing(t testing.TB, data []byte) openpgp.EntityList {
	t.Helper()
	ring, err := ReadKeyring(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadKeyring: %v", err)
	}
	return ring
}

// signerFor makes a Signer for the single key e, through the same path a
// user takes: a secret keyring, read back.
func signerFor(t testing.TB, e *openpgp.Entity) *Signer {
	t.Helper()
	s, err := NewSigner(readRing(t, secretRing(t, nil, e)), "", nil)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func testMeta() *chart.Metadata {
	return &chart.Metadata{
		APIVersion:  chart.APIVersionV2,
		Name:        "mychart",
		Version:     "0.1.0",
		AppVersion:  "1.16.0",
		Description: "A Helm chart for Kubernetes",
		Type:        "application",
	}
}

const testArchiveName = "mychart-0.1.0.tgz"

// sign signs archive with s for testMeta, failing the test on error.
func sign(t testing.TB, s *Signer, archive []byte) []byte {
	t.Helper()
	prov, err := s.Sign(t.Context(), testMeta(), testArchiveName, bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return prov
}

// ---- GnuPG ----------------------------------------------------------------

// gpgHome is a throwaway GnuPG home directory.
type gpgHome struct {
	t   testing.TB
	dir string
}

// newGPG makes a GnuPG home. It lives under os.TempDir with a short name
// because gpg-agent's socket path must fit in a sockaddr_un, which long
// t.TempDir paths can overflow.
func newGPG(t testing.TB) *gpgHome {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("gpg is required for this test: %v", err)
	}
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &gpgHome{t: t, dir: dir}
	t.Cleanup(func() {
		// Stop the agent gpg started for this home (and only it).
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = g.env()
		_ = cmd.Run()
		_ = os.RemoveAll(dir)
	})
	return g
}

func (g *gpgHome) env() []string {
	return []string{"GNUPGHOME=" + g.dir, "PATH=" + os.Getenv("PATH"), "HOME=" + g.dir, "LANG=C"}
}

// run runs gpg in batch mode and returns stdout; it fails the test on error.
func (g *gpgHome) run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, err := g.try(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// try runs gpg in batch mode and returns stdout, or an error with stderr.
func (g *gpgHome) try(stdin []byte, args ...string) ([]byte, error) {
	full := append([]string{"--homedir", g.dir, "--batch", "--no-tty", "--pinentry-mode", "loopback"}, args...)
	cmd := exec.Command("gpg", full...)
	cmd.Env = g.env()
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &gpgError{err: err, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

type gpgError struct {
	err    error
	stderr string
}

func (e *gpgError) Error() string { return e.err.Error() + ": " + e.stderr }

// gpgKey describes a key to generate with `gpg --batch --gen-key`.
type gpgKey struct {
	name, email string
	passphrase  string
	rsa         bool   // RSA-2048 sign-only primary; else Ed25519
	subkey      bool   // certify-only primary with an Ed25519 signing subkey
	expire      string // Expire-Date; "" is never
	fakedTime   string // --faked-system-time, to make keys in the past
}

func (k gpgKey) uid() string { return k.name + " <" + k.email + ">" }

// genKey generates k and returns its fingerprint.
func (g *gpgHome) genKey(k gpgKey) string {
	g.t.Helper()
	var p strings.Builder
	switch {
	case k.rsa:
		p.WriteString("Key-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\n")
	case k.subkey:
		p.WriteString("Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: cert\n")
		p.WriteString("Subkey-Type: eddsa\nSubkey-Curve: ed25519\nSubkey-Usage: sign\n")
	default:
		p.WriteString("Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\n")
	}
	p.WriteString("Name-Real: " + k.name + "\nName-Email: " + k.email + "\n")
	if k.expire == "" {
		p.WriteString("Expire-Date: 0\n")
	} else {
		p.WriteString("Expire-Date: " + k.expire + "\n")
	}
	if k.passphrase == "" {
		p.WriteString("%no-protection\n")
	} else {
		p.WriteString("Passphrase: " + k.passphrase + "\n")
	}
	p.WriteString("%commit\n")
	args := []string{"--gen-key"}
	if k.fakedTime != "" {
		args = append([]string{"--faked-system-time", k.fakedTime}, args...)
	}
	g.run([]byte(p.String()), args...)
	return g.fingerprint(k.uid())
}

// fingerprint returns the primary key fingerprint of the key named uid, as
// gpg prints it in --with-colons output.
func (g *gpgHome) fingerprint(uid string) string {
	g.t.Helper()
	out := g.run(nil, "--with-colons", "--fingerprint", "="+uid)
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9] // the first fpr line is the primary key's
		}
	}
	g.t.Fatalf("no fingerprint for %q in:\n%s", uid, out)
	return ""
}

// exportPublic is `gpg --export` (binary).
func (g *gpgHome) exportPublic(ids ...string) []byte {
	g.t.Helper()
	return g.run(nil, append([]string{"--export"}, ids...)...)
}

// exportSecret is `gpg --export-secret-keys` (binary); passphrase unlocks
// protected keys for the export, which keeps them protected.
func (g *gpgHome) exportSecret(passphrase string, ids ...string) []byte {
	g.t.Helper()
	args := []string{"--export-secret-keys"}
	if passphrase != "" {
		args = []string{"--passphrase", passphrase, "--export-secret-keys"}
	}
	return g.run(nil, append(args, ids...)...)
}

// writeFile writes data under dir and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
