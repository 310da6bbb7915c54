package cli_test

import (
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// writeKeyrings makes a signing key and writes it as a secret and a public
// keyring (binary, as `gpg --export[-secret-keys]` does).
func writeKeyrings(t *testing.T, dir string) (sec, pub string) {
	t.Helper()
	e, err := openpgp.NewEntity("Chart Signer", "test", "signer@example.com", &packet.Config{
		Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048, DefaultHash: crypto.SHA512,
	})
	if err != nil {
		t.Fatal(err)
	}
	sec, pub = filepath.Join(dir, "secring.gpg"), filepath.Join(dir, "pubring.gpg")
	sf, err := os.Create(sec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivate(sf, nil); err != nil {
		t.Fatal(err)
	}
	sf.Close()
	pf, err := os.Create(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(pf); err != nil {
		t.Fatal(err)
	}
	pf.Close()
	return sec, pub
}

// TestSignAndVerifyWithHelm: packages signed by either client verify in
// both, and pull --verify works the same.
func TestSignAndVerifyWithHelm(t *testing.T) {
	h := newHarness(t)
	sec, pub := writeKeyrings(t, h.dir)
	src := filepath.Join(h.dir, "demo")
	h.must(h.ours("create", src))
	repoDir := filepath.Join(h.dir, "repo")
	od, hd := filepath.Join(h.dir, "o"), filepath.Join(h.dir, "hh")
	h.must(h.ours("package", src, "--sign", "--key", "Chart Signer", "--keyring", sec, "-d", od))
	h.must(h.helm("package", src, "--sign", "--key", "Chart Signer", "--keyring", sec, "-d", hd))
	for _, tgz := range []string{filepath.Join(od, "demo-0.1.0.tgz"), filepath.Join(hd, "demo-0.1.0.tgz")} {
		ro, rh := h.ours("verify", tgz, "--keyring", pub), h.helm("verify", tgz, "--keyring", pub)
		if ro.code != 0 || rh.code != 0 {
			t.Fatalf("verify %s: ours %+v helm %+v", tgz, ro, rh)
		}
		// Helm prints the identities and the fingerprint; the hash line is
		// byte-identical.
		if lastLine(ro.stdout) != lastLine(rh.stdout) {
			t.Errorf("verify output: ours %q helm %q", ro.stdout, rh.stdout)
		}
	}
	// A tampered archive fails in both.
	tampered := filepath.Join(od, "demo-0.1.0.tgz")
	b, _ := os.ReadFile(tampered)
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(tampered, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if ro, rh := h.ours("verify", tampered, "--keyring", pub), h.helm("verify", tampered, "--keyring", pub); ro.code != 1 || rh.code != 1 {
		t.Errorf("tampered: ours %+v helm %+v", ro, rh)
	}

	// pull --verify from a repository holding Helm's signed package.
	if err := os.MkdirAll(repoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"demo-0.1.0.tgz", "demo-0.1.0.tgz.prov"} {
		b, err := os.ReadFile(filepath.Join(hd, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repoDir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := fileServer(t, repoDir)
	h.must(h.ours("repo", "index", repoDir, "--url", srv.URL))
	h.must(h.ours("repo", "add", "signed", srv.URL))
	for _, d := range []string{"p1", "p2"} {
		if err := os.MkdirAll(filepath.Join(h.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ro := h.must(h.ours("pull", "signed/demo", "--verify", "--keyring", pub, "-d", filepath.Join(h.dir, "p1")))
	rh := h.must(h.helm("pull", "signed/demo", "--verify", "--keyring", pub, "-d", filepath.Join(h.dir, "p2")))
	if lastLine(ro.stdout) != lastLine(rh.stdout) || !strings.HasPrefix(lastLine(ro.stdout), "Chart Hash Verified: sha256:") {
		t.Errorf("pull --verify: ours %q helm %q", ro.stdout, rh.stdout)
	}
	if diff := cmpTrees(tree(t, filepath.Join(h.dir, "p1")), tree(t, filepath.Join(h.dir, "p2"))); diff != "" {
		t.Error(diff)
	}
	// Without a .prov, --verify fails in both.
	if err := os.Remove(filepath.Join(repoDir, "demo-0.1.0.tgz.prov")); err != nil {
		t.Fatal(err)
	}
	ro, rh = h.ours("pull", "signed/demo", "--verify", "--keyring", pub, "-d", h.dir), h.helm("pull", "signed/demo", "--verify", "--keyring", pub, "-d", h.dir)
	if ro.code != 1 || ro != rh {
		t.Errorf("missing prov: ours %+v helm %+v", ro, rh)
	}
}
