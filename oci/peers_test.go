package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/storage"
)

// runOras runs the real oras CLI with an isolated home in dir, over plain
// HTTP (`oras cp` spells that per side).
func runOras(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if args[0] == "cp" {
		args = append(args, "--from-plain-http", "--to-plain-http")
	} else {
		args = append(args, "--plain-http")
	}
	cmd := exec.Command(peers.Path(t, "oras"), args...)
	cmd.Dir = dir
	cmd.Env = peers.Env(filepath.Join(dir, "home"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("oras %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func TestOrasCLI(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	ref := h.host() + "/team/files"
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello, registry\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}

	runOras(t, dir, "push", ref+":v1", "hello.txt:text/plain", "big.bin", "--artifact-type", "application/vnd.example.files")
	runOras(t, dir, "tag", ref+":v1", "v1.0", "latest")

	out := t.TempDir()
	runOras(t, dir, "pull", ref+":latest", "-o", out)
	for name, want := range map[string][]byte{"hello.txt": []byte("hello, registry\n"), "big.bin": big} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("pulled %s: %d bytes, %v", name, len(got), err)
		}
	}

	if err := os.WriteFile(filepath.Join(dir, "sig.txt"), []byte("signed by nobody\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runOras(t, dir, "attach", ref+":v1", "sig.txt", "--artifact-type", "application/vnd.example.signature")
	var disc struct {
		Digest    string `json:"digest"`
		Referrers []struct {
			ArtifactType string `json:"artifactType"`
			Digest       string `json:"digest"`
		} `json:"referrers"`
	}
	if err := json.Unmarshal([]byte(runOras(t, dir, "discover", ref+":v1", "--format", "json")), &disc); err != nil {
		t.Fatalf("oras discover output: %v", err)
	}
	if len(disc.Referrers) != 1 || disc.Referrers[0].ArtifactType != "application/vnd.example.signature" {
		t.Errorf("oras discover: %+v", disc)
	}

	tags := strings.Fields(runOras(t, dir, "repo", "tags", ref))
	// The referrers API is used, so no "sha256-…" fallback tag appears.
	if !slices.Equal(tags, []string{"latest", "v1", "v1.0"}) {
		t.Errorf("oras repo tags = %q", tags)
	}
	repos := strings.Fields(runOras(t, dir, "repo", "ls", h.host()))
	if !slices.Equal(repos, []string{"team/files"}) {
		t.Errorf("oras repo ls = %q", repos)
	}

	// Copy to another repository (blobs are mounted), then delete there.
	runOras(t, dir, "cp", ref+":v1", h.host()+"/team/copy:v1")
	runOras(t, dir, "manifest", "delete", "--force", h.host()+"/team/copy:v1")
	resp, body := h.do("GET", "/v2/team/copy/manifests/v1", nil)
	expect(t, "manifest deleted by oras", resp, body, 404, "MANIFEST_UNKNOWN")
	resp, body = h.do("GET", "/v2/team/files/manifests/v1", nil)
	expect(t, "source untouched", resp, body, 200, "")
}

// TestHelmCLI pushes and pulls a chart with real Helm: the push writes the
// chart version (index face), and `helm pull` gets back the same bytes, by
// exact version, by constraint (through the tags list) and by digest.
func TestHelmCLI(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	tgzPath := helmChart(t, dir, "webapp", "1.2.3+meta.1")
	olderDir := filepath.Join(dir, "older")
	if err := os.Mkdir(olderDir, 0o755); err != nil {
		t.Fatal(err)
	}
	older := helmChart(t, olderDir, "webapp", "1.0.0")
	if err := os.WriteFile(tgzPath+".prov", []byte("provenance placeholder\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tgz, _ := os.ReadFile(tgzPath)

	out := runHelm(t, dir, "push", tgzPath, "oci://"+h.host()+"/acme", "--plain-http")
	if !strings.Contains(out, "Digest: sha256:") {
		t.Fatalf("helm push: %s", out)
	}
	runHelm(t, dir, "push", older, "oci://"+h.host()+"/acme", "--plain-http")

	cv, err := h.chartOf("acme", "webapp", "1.2.3+meta.1")
	if err != nil {
		t.Fatalf("chart version after helm push: %v", err)
	}
	if cv.Digest != digest.FromBytes(tgz) || cv.ProvDigest == "" {
		t.Errorf("chart version row: digest %s prov %q", cv.Digest, cv.ProvDigest)
	}

	pullDir := func() string { d := t.TempDir(); return d }
	check := func(what, d, file string, want []byte) {
		t.Helper()
		got, err := os.ReadFile(filepath.Join(d, file))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %s: %d bytes, %v", what, file, len(got), err)
		}
	}
	d := pullDir()
	runHelm(t, dir, "pull", "oci://"+h.host()+"/acme/webapp", "--version", "1.2.3+meta.1", "--plain-http", "-d", d)
	check("pull by version", d, "webapp-1.2.3+meta.1.tgz", tgz)

	d = pullDir()
	runHelm(t, dir, "pull", "oci://"+h.host()+"/acme/webapp", "--version", ">=1.1.0", "--plain-http", "-d", d, "--prov")
	check("pull by constraint", d, "webapp-1.2.3+meta.1.tgz", tgz)
	check("pull by constraint", d, "webapp-1.2.3+meta.1.tgz.prov", []byte("provenance placeholder\n"))

	d = pullDir()
	runHelm(t, dir, "pull", "oci://"+h.host()+"/acme/webapp", "--plain-http", "-d", d)
	check("pull latest", d, "webapp-1.2.3+meta.1.tgz", tgz)

	d = pullDir()
	runHelm(t, dir, "pull", "oci://"+h.host()+"/acme/webapp@"+cv.ManifestDigest.String(), "--plain-http", "-d", d)
	// Helm names a chart pulled by digest after the digest.
	check("pull by digest", d, "webapp@sha256-"+cv.ManifestDigest.Encoded()+".tgz", tgz)

	show := runHelm(t, dir, "show", "chart", "oci://"+h.host()+"/acme/webapp", "--version", "1.0.0", "--plain-http")
	if !strings.Contains(show, "version: 1.0.0") {
		t.Errorf("helm show chart: %s", show)
	}
}

// TestHelmPullsChartMuseumUpload: a chart that arrived through the
// ChartMuseum API (the server writes the blobs, ChartManifest's manifest
// and config, and the row with PutChartVersion) is pulled by real Helm over
// OCI: the two faces agree.
func TestHelmPullsChartMuseumUpload(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	dir := t.TempDir()
	tgz, err := os.ReadFile(helmChart(t, dir, "cmchart", "2.0.0+abc"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := chart.ReadArchiveMetadata(ctx, bytes.NewReader(tgz), chart.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// The upload path: the intake builds and commits the OCI face.
	up, err := intake.New(intake.Config{Blobs: h.store, Meta: h.meta.(intake.Meta)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Import(ctx, intake.Target{Tenant: "cm", Path: "cm"}, bytes.NewReader(tgz), nil); err != nil {
		t.Fatal(err)
	}
	if info.Metadata.Name != "cmchart" {
		t.Fatalf("helm packaged %q", info.Metadata.Name)
	}

	out := t.TempDir()
	runHelm(t, dir, "pull", "oci://"+h.host()+"/cm/cmchart", "--version", "2.0.0+abc", "--plain-http", "-d", out)
	got, err := os.ReadFile(filepath.Join(out, "cmchart-2.0.0+abc.tgz"))
	if err != nil || !bytes.Equal(got, tgz) {
		t.Errorf("helm pull of a ChartMuseum upload: %d bytes, %v", len(got), err)
	}
	// And its OCI face can be deleted over OCI, taking the version along.
	resp, body := h.do("DELETE", "/v2/cm/cmchart/manifests/2.0.0_abc", nil)
	expect(t, "DELETE", resp, body, 202, "")
	if _, err := h.chartOf("cm", "cmchart", "2.0.0+abc"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("chart version after OCI delete: %v", err)
	}
}
