package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/peers"
)

// chartDir writes a test chart as a directory and returns its path.
func chartDir(t *testing.T, name, version string) string {
	t.Helper()
	src := t.TempDir()
	if err := expand(src, charttest.Chart(name, version, nil)); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(src, name)
}

// TestClientSignsRealHelmVerifies: our `helm package --sign` output passes
// real `helm verify`, and our `helm verify` accepts real Helm's.
func TestClientSignsRealHelmVerifies(t *testing.T) {
	realHelm := peers.Path(t, "helm")
	key := newGPGKey(t, "Client Signer", "open sesame")
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("open sesame"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHelmEnv(t)
	out := t.TempDir()
	h.run(t, bins.helm, "package", "--sign", "--key", "Client Signer", "--keyring", key.secring,
		"--passphrase-file", pass, "-d", out, chartDir(t, "ours", "1.0.0"))
	pkg := filepath.Join(out, "ours-1.0.0.tgz")
	if got := h.run(t, realHelm, "verify", pkg, "--keyring", key.pubring); !strings.Contains(got, "Client Signer") {
		t.Errorf("real helm verify:\n%s", got)
	}

	// The other direction, with real Helm's package.
	theirs := t.TempDir()
	h.run(t, realHelm, "package", "--sign", "--key", "Client Signer", "--keyring", key.secring,
		"--passphrase-file", pass, "-d", theirs, chartDir(t, "theirs", "2.0.0"))
	tpkg := filepath.Join(theirs, "theirs-2.0.0.tgz")
	if got := h.run(t, bins.helm, "verify", tpkg, "--keyring", key.pubring); !strings.Contains(got, "Client Signer") {
		t.Errorf("our helm verify:\n%s", got)
	}

	// Rejections, by both clients where real Helm checks them.
	other := newGPGKey(t, "Someone Else", "")
	tampered := filepath.Join(t.TempDir(), "theirs-2.0.0.tgz")
	data, _ := os.ReadFile(tpkg)
	prov, _ := os.ReadFile(tpkg + ".prov")
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(tampered, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tampered+".prov", prov, 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "theirs-2.0.0.tgz")
	orig, _ := os.ReadFile(tpkg)
	if err := os.WriteFile(truncated, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated+".prov", prov[:len(prov)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, pkg, keyring, want string
	}{
		{"tampered archive", tampered, key.pubring, "sha256"},
		{"wrong key", tpkg, other.pubring, ""},
		{"truncated prov", truncated, key.pubring, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, bin := range []string{bins.helm, realHelm} {
				_, stderr, err := h.try(bin, "verify", c.pkg, "--keyring", c.keyring)
				if err == nil {
					t.Errorf("%s verify accepted it", bin)
				}
				if bin == bins.helm && !strings.HasPrefix(stderr, "Error: ") {
					t.Errorf("our error is not Helm-shaped: %q", stderr)
				}
			}
		})
	}
	if _, _, err := h.try(bins.helm, "verify", filepath.Join(out, "missing.tgz"), "--keyring", key.pubring); err == nil {
		t.Error("verify of a missing chart succeeded")
	}
	noProv := filepath.Join(t.TempDir(), "ours-1.0.0.tgz")
	raw, _ := os.ReadFile(pkg)
	_ = os.WriteFile(noProv, raw, 0o644)
	if _, stderr, err := h.try(bins.helm, "verify", noProv, "--keyring", key.pubring); err == nil || !strings.Contains(stderr, ".prov") {
		t.Errorf("verify without a .prov: %v %q", err, stderr)
	}
}

// TestClientPullVerify: our `helm pull --verify` against chartd, from an
// index.yaml repository (<url>.prov) and from OCI (the provenance layer).
func TestClientPullVerify(t *testing.T) {
	key := newGPGKey(t, "Repo Signer", "")
	other := newGPGKey(t, "Not Trusted", "")
	srv := startChartd(t, t.TempDir(), "--signature-policy=verify", "--keyring="+key.pubring)
	h := newHelmEnv(t)
	tgz, prov := signedPackage(t, h, key, "verified", "1.0.0")
	if code, b := uploadSigned(t, srv.URL+"/api/charts", tgz, prov); code != 201 {
		t.Fatalf("upload: %d %s", code, b)
	}
	if code, b := httpDo(t, "POST", srv.URL+"/api/charts", bytes.NewReader(charttest.Chart("unsigned", "1.0.0", nil)), nil); code != 201 {
		t.Fatalf("upload unsigned: %d %s", code, b)
	}
	h.run(t, bins.helm, "repo", "add", "v", srv.URL)
	h.run(t, bins.helm, "pull", "v/verified", "--version", "1.0.0", "--verify", "--keyring", key.pubring, "-d", t.TempDir())
	if _, _, err := h.try(bins.helm, "pull", "v/verified", "--version", "1.0.0", "--verify", "--keyring", other.pubring, "-d", t.TempDir()); err == nil {
		t.Error("pull --verify with an untrusted keyring succeeded")
	}
	if _, stderr, err := h.try(bins.helm, "pull", "v/unsigned", "--version", "1.0.0", "--verify", "--keyring", key.pubring, "-d", t.TempDir()); err == nil {
		t.Error("pull --verify of an unsigned chart succeeded")
	} else if !strings.Contains(stderr, "prov") {
		t.Errorf("missing .prov error does not say so: %q", stderr)
	}
	host := hostOf(srv.URL)
	h.run(t, bins.helm, "pull", "oci://"+host+"/verified", "--version", "1.0.0", "--plain-http", "--verify", "--keyring", key.pubring, "-d", t.TempDir())
	if _, _, err := h.try(bins.helm, "pull", "oci://"+host+"/verified", "--version", "1.0.0", "--plain-http", "--verify", "--keyring", other.pubring, "-d", t.TempDir()); err == nil {
		t.Error("OCI pull --verify with an untrusted keyring succeeded")
	}
}
