package provenance

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/testutil/peers"
)

// realHelm runs the real Helm client in an isolated environment.
type realHelm struct {
	t    testing.TB
	bin  string
	home string
}

func newRealHelm(t testing.TB) *realHelm {
	t.Helper()
	return &realHelm{t: t, bin: peers.Path(t, "helm"), home: t.TempDir()}
}

// try runs helm and returns its combined output and error.
func (h *realHelm) try(args ...string) (string, error) {
	cmd := exec.Command(h.bin, args...)
	cmd.Env = peers.Env(h.home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (h *realHelm) run(args ...string) string {
	h.t.Helper()
	out, err := h.try(args...)
	if err != nil {
		h.t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// chartYAML has the fields Helm marshals in a provenance file, including a
// description long enough that a YAML emitter with line folding would fold
// it, and an annotation holding "---", which clearsigning dash-escapes.
const chartYAML = `apiVersion: v2
name: interop
description: A chart for checking that chartd and Helm write and read each other's provenance files byte for byte, with a long description.
type: application
version: 1.2.3
appVersion: "4.5.6"
kubeVersion: ">=1.25.0-0"
home: https://example.com/interop
sources:
  - https://github.com/example/interop
keywords: [provenance, signing]
maintainers:
  - name: Jane Doe
    email: jane@example.com
annotations:
  example.com/notes: "---\nnot a document start"
  artifacthub.io/license: Apache-2.0
`

// writeChart writes a chart as plain files; values sets values.yaml so two
// charts of the same name and version can differ.
func writeChart(t testing.TB, dir, values string) string {
	t.Helper()
	root := filepath.Join(dir, "interop")
	writeFile(t, root, "Chart.yaml", []byte(chartYAML))
	writeFile(t, root, "values.yaml", []byte(values))
	writeFile(t, root, "templates/configmap.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"))
	writeFile(t, root, ".helmignore", []byte("*.swp\n"))
	return root
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// signedText returns the clearsigned part of a provenance file: headers and
// text, up to the signature block.
func signedText(t testing.TB, prov []byte) string {
	t.Helper()
	i := bytes.Index(prov, []byte("-----BEGIN PGP SIGNATURE-----"))
	if i < 0 {
		t.Fatalf("no signature block in:\n%s", prov)
	}
	return string(prov[:i])
}

// TestHelmInterop checks provenance files against the real Helm client, in
// both directions, with keys from GnuPG and from go-crypto, protected by a
// passphrase or not.
func TestHelmInterop(t *testing.T) {
	h := newRealHelm(t)
	g := newGPG(t)
	work := t.TempDir()

	const gpgPass, goPass = "gpg secret", "go secret"
	rsaKey := gpgKey{name: "Helm RSA", email: "rsa@helm.test", rsa: true}
	edKey := gpgKey{name: "Helm Ed", email: "ed@helm.test", passphrase: gpgPass}
	rsaFP, edFP := g.genKey(rsaKey), g.genKey(edKey)
	goKey := newKey(t, keyOpts{name: "Go Key", email: "go@helm.test"})
	outsider := newKey(t, keyOpts{name: "Outsider", email: "outsider@helm.test"})

	// Keyrings as a Helm user has them: one secret keyring for `helm
	// package --sign`, one public keyring for `helm verify`.
	secring := writeFile(t, work, "secring.gpg", append(g.exportSecret(gpgPass), secretRing(t, []byte(goPass), goKey)...))
	pubring := writeFile(t, work, "pubring.gpg", append(g.exportPublic(), publicRing(t, goKey)...))
	wrongring := writeFile(t, work, "wrong.gpg", publicRing(t, outsider))
	sec := readRing(t, readFile(t, secring))
	pub := readRing(t, readFile(t, pubring))

	chartDir := writeChart(t, work, "greeting: hello\n")
	var meta chart.Metadata
	if err := yaml.Unmarshal([]byte(chartYAML), &meta); err != nil {
		t.Fatal(err)
	}
	const tgzName = "interop-1.2.3.tgz"

	keys := []struct {
		name, key, pass, uid, fpr string
	}{
		{name: "gpg rsa", key: "Helm RSA", uid: rsaKey.uid(), fpr: rsaFP},
		{name: "gpg ed25519 with passphrase", key: "ed@helm.test", pass: gpgPass, uid: edKey.uid(), fpr: edFP},
		{name: "go-crypto with passphrase", key: "Go Key <go@helm.test>", pass: goPass, uid: Identity(goKey), fpr: Fingerprint(goKey)},
	}
	for i, k := range keys {
		t.Run("helm signs, chartd verifies/"+k.name, func(t *testing.T) {
			out := filepath.Join(work, "helm-signed", k.name)
			args := []string{"package", "--sign", "--key", k.key, "--keyring", secring, "--destination", out, chartDir}
			if k.pass != "" {
				args = append(args, "--passphrase-file", writeFile(t, work, "passphrase-"+strconv.Itoa(i), []byte(k.pass+"\n")))
			}
			h.run(args...)
			tgz := readFile(t, filepath.Join(out, tgzName))
			helmProv := readFile(t, filepath.Join(out, tgzName+".prov"))

			v, err := Verify(t.Context(), pub, helmProv, tgzName, bytes.NewReader(tgz))
			if err != nil {
				t.Fatalf("Verify of Helm's provenance file: %v\n%s", err, helmProv)
			}
			sum, _ := Digest(t.Context(), bytes.NewReader(tgz))
			if v.SignedBy != k.uid || v.Fingerprint != k.fpr || v.FileHash != "sha256:"+sum || v.FileName != tgzName {
				t.Errorf("Verification = %+v, want %q [%s] sha256:%s", v, k.uid, k.fpr, sum)
			}
			if diff := cmp.Diff(&meta, v.Metadata); diff != "" {
				t.Errorf("metadata (-Chart.yaml +provenance):\n%s", diff)
			}

			// The same key, metadata and archive signed by us give the
			// same clearsigned text as Helm's, byte for byte.
			s, err := NewSigner(sec, k.key, []byte(k.pass))
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			ours, err := s.Sign(t.Context(), &meta, tgzName, bytes.NewReader(tgz))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if diff := cmp.Diff(signedText(t, helmProv), signedText(t, ours)); diff != "" {
				t.Errorf("signed text (-helm +chartd):\n%s", diff)
			}
			hb, _ := clearsign.Decode(helmProv)
			ob, _ := clearsign.Decode(ours)
			if !bytes.Equal(hb.Bytes, ob.Bytes) {
				t.Error("the canonical signed bytes differ from Helm's")
			}
			if !bytes.HasSuffix(helmProv, []byte("-----END PGP SIGNATURE-----")) || !bytes.HasSuffix(ours, []byte("-----END PGP SIGNATURE-----")) {
				t.Error("both files should end at the END line, without a newline")
			}
		})

		t.Run("chartd signs, helm verifies/"+k.name, func(t *testing.T) {
			out := filepath.Join(work, "chartd-signed", k.name)
			h.run("package", "--destination", out, chartDir)
			tgzPath := filepath.Join(out, tgzName)
			tgz := readFile(t, tgzPath)
			s, err := NewSigner(sec, k.key, []byte(k.pass))
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			prov, err := s.Sign(t.Context(), &meta, tgzName, bytes.NewReader(tgz))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			writeFile(t, out, tgzName+".prov", prov)

			got := h.run("verify", "--keyring", pubring, tgzPath)
			sum, _ := Digest(t.Context(), bytes.NewReader(tgz))
			for _, want := range []string{
				"Signed by: " + k.uid,
				"Using Key With Fingerprint: " + k.fpr,
				"Chart Hash Verified: sha256:" + sum,
			} {
				if !strings.Contains(got, want) {
					t.Errorf("helm verify output lacks %q:\n%s", want, got)
				}
			}
			// helm verify prints the fingerprint as our Verification does.
			v, err := Verify(t.Context(), pub, prov, tgzName, bytes.NewReader(tgz))
			if err != nil || !strings.Contains(got, "Using Key With Fingerprint: "+v.Fingerprint+"\n") {
				t.Errorf("Verify = %+v, %v; helm says:\n%s", v, err, got)
			}
		})
	}

	// Key names that Helm cannot resolve are not resolved by us either.
	for _, tt := range []struct {
		name, key string
		wantErr   error
		helmSays  string
	}{
		{name: "ambiguous key name", key: "helm.test", wantErr: ErrAmbiguousKey, helmSays: "more than one key"},
		{name: "absent key name", key: "Nobody", wantErr: ErrKeyNotFound, helmSays: "private key not found"},
	} {
		t.Run("key selection/"+tt.name, func(t *testing.T) {
			if _, err := NewSigner(sec, tt.key, nil); !errors.Is(err, tt.wantErr) {
				t.Errorf("NewSigner(%q) error = %v, want %v", tt.key, err, tt.wantErr)
			}
			out, err := h.try("package", "--sign", "--key", tt.key, "--keyring", secring, "--destination", t.TempDir(), chartDir)
			if err == nil || !strings.Contains(out, tt.helmSays) {
				t.Errorf("helm package --sign --key %q: %v, want failure saying %q:\n%s", tt.key, err, tt.helmSays, out)
			}
		})
	}

	// Rejections, each checked with our Verify and with `helm verify`.
	// The good pair is made here, not taken from a subtest above, so that
	// -run can select any subtest alone.
	signedDir := t.TempDir()
	h.run("package", "--sign", "--key", "Helm RSA", "--keyring", secring, "--destination", signedDir, chartDir)
	goodTGZ := readFile(t, filepath.Join(signedDir, tgzName))
	goodProv := readFile(t, filepath.Join(signedDir, tgzName+".prov"))

	// A tampered chart: same name and version, different content, packaged
	// by Helm, next to the original provenance file.
	tampered := t.TempDir()
	h.run("package", "--destination", tampered, writeChart(t, t.TempDir(), "greeting: pwned\n"))

	// Keys whose validity ended, used while they were valid.
	created := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	expired := newKey(t, keyOpts{name: "Expired", email: "expired@helm.test", created: created, lifetime: 24 * time.Hour})
	expSigner, err := newSigner(readRing(t, secretRing(t, nil, expired)), "", nil, func() time.Time { return created.Add(time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	revoked := newKey(t, keyOpts{name: "Revoked", email: "revoked@helm.test"})
	revSigner := signerFor(t, revoked)
	if err := revoked.RevokeKey(packet.KeyCompromised, "stolen", nil); err != nil {
		t.Fatal(err)
	}
	signWith := func(s *Signer) []byte {
		prov, err := s.Sign(t.Context(), &meta, tgzName, bytes.NewReader(goodTGZ))
		if err != nil {
			t.Fatal(err)
		}
		return prov
	}

	rejections := []struct {
		name     string
		tgz      []byte
		prov     []byte
		keyring  string
		wantErr  error
		helmSays string
	}{
		{name: "tampered archive", tgz: readFile(t, filepath.Join(tampered, tgzName)), prov: goodProv, keyring: pubring, wantErr: ErrDigestMismatch, helmSays: "sha256 sum does not match"},
		{name: "wrong key", tgz: goodTGZ, prov: goodProv, keyring: wrongring, wantErr: ErrUnknownSigner, helmSays: "unknown"},
		{name: "truncated provenance", tgz: goodTGZ, prov: goodProv[:len(goodProv)*2/3], keyring: pubring, wantErr: ErrMalformed, helmSays: "signature block not found"},
		{name: "edited text", tgz: goodTGZ, prov: bytes.Replace(goodProv, []byte("version: 1.2.3"), []byte("version: 1.2.4"), 1), keyring: pubring, wantErr: ErrBadSignature, helmSays: "invalid signature"},
		{name: "expired key", tgz: goodTGZ, prov: signWith(expSigner), keyring: writeFile(t, work, "expired.gpg", publicRing(t, expired)), wantErr: ErrKeyExpired, helmSays: "expired"},
		{name: "revoked key", tgz: goodTGZ, prov: signWith(revSigner), keyring: writeFile(t, work, "revoked.gpg", publicRing(t, revoked)), wantErr: ErrKeyRevoked, helmSays: "revoked"},
	}
	for _, tt := range rejections {
		t.Run("rejected by both/"+tt.name, func(t *testing.T) {
			_, err := Verify(t.Context(), readRing(t, readFile(t, tt.keyring)), tt.prov, tgzName, bytes.NewReader(tt.tgz))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify error = %v, want %v", err, tt.wantErr)
			}

			dir := t.TempDir()
			tgzPath := writeFile(t, dir, tgzName, tt.tgz)
			writeFile(t, dir, tgzName+".prov", tt.prov)
			out, err := h.try("verify", "--keyring", tt.keyring, tgzPath)
			t.Logf("helm verify: %v: %s", err, out)
			if err == nil {
				t.Fatalf("real helm verify accepted it:\n%s", out)
			}
			if !strings.Contains(out, tt.helmSays) {
				t.Errorf("helm verify failed, but not saying %q:\n%s", tt.helmSays, out)
			}
		})
	}
}
