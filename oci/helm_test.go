package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/storage"
)

// helmChart makes a chart with real Helm (`helm create`, `helm package`)
// in dir, with Chart.yaml fields that exercise every Helm annotation, and
// returns the path of the .tgz.
func helmChart(t *testing.T, dir, name, version string) string {
	t.Helper()
	runHelm(t, dir, "create", name)
	chartYAML := `apiVersion: v2
name: ` + name + `
description: A chart & its <tests>
type: application
version: ` + version + `
appVersion: "1.16.0"
home: https://example.com/` + name + `
sources:
  - https://github.com/example/` + name + `
  - https://mirror.example.com/` + name + `
maintainers:
  - name: Ann
    email: ann@example.com
  - name: Bob
keywords: [web, test]
annotations:
  org.opencontainers.image.title: not-the-name
  org.opencontainers.image.description: overridden
  example.com/team: platform
`
	if err := os.WriteFile(filepath.Join(dir, name, "Chart.yaml"), []byte(chartYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	runHelm(t, dir, "package", name, "--destination", dir)
	return filepath.Join(dir, name+"-"+version+".tgz")
}

// runHelm runs real Helm with an isolated home in dir.
func runHelm(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(peers.Path(t, "helm"), args...)
	cmd.Dir = dir
	cmd.Env = append(peers.Env(filepath.Join(dir, "home")), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestChartManifestMatchesHelm pushes a chart with real `helm push` and
// checks that helmoci's layout, given the same archive, produces the same
// config bytes and the same manifest as Helm (the created annotation is the
// archive's mtime in both); the faces chartd generates add the mediaType
// field Helm leaves out.
func TestChartManifestMatchesHelm(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	tgzPath := helmChart(t, dir, "mychart", "0.1.0+build.5")
	if err := os.WriteFile(tgzPath+".prov", []byte("not really a signature\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runHelm(t, dir, "push", tgzPath, "oci://"+h.host()+"/org", "--plain-http")
	if !strings.Contains(out, "Pushed: "+h.host()+"/org/mychart:0.1.0_build.5") {
		t.Fatalf("helm push said: %s", out)
	}

	resp, helmManifest := h.do("GET", "/v2/org/mychart/manifests/0.1.0_build.5", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET manifest: %s %s", resp.Status, helmManifest)
	}
	var pushed ocispec.Manifest
	if err := json.Unmarshal(helmManifest, &pushed); err != nil {
		t.Fatal(err)
	}
	_, helmConfig := h.do("GET", "/v2/org/mychart/blobs/"+pushed.Config.Digest.String(), nil)

	tgz, err := os.ReadFile(tgzPath)
	if err != nil {
		t.Fatal(err)
	}
	prov, _ := os.ReadFile(tgzPath + ".prov")
	info, err := chart.ReadArchiveMetadata(context.Background(), bytes.NewReader(tgz), chart.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	created, err := time.Parse(time.RFC3339, pushed.Annotations[ocispec.AnnotationCreated])
	if err != nil {
		t.Fatalf("helm's created annotation: %v", err)
	}
	provDesc := storage.Descriptor{Digest: digest.FromBytes(prov), Size: int64(len(prov))}
	ours, ourConfig := chartManifest(t, info.Metadata, storage.Descriptor{Digest: digest.FromBytes(tgz), Size: int64(len(tgz))}, &provDesc, created)
	if !bytes.Equal(ourConfig, helmConfig) {
		t.Errorf("config differs from Helm's:\nours: %s\nhelm: %s", ourConfig, helmConfig)
	}
	// Byte-level: Helm's manifest is ours without the mediaType field.
	withoutMediaType := bytes.Replace(ours, []byte(`"mediaType":"application/vnd.oci.image.manifest.v1+json",`), nil, 1)
	if !bytes.Equal(withoutMediaType, helmManifest) {
		t.Errorf("manifest differs from Helm's beyond mediaType:\nours: %s\nhelm: %s", ours, helmManifest)
	}
	if len(pushed.Layers) != 2 || pushed.Annotations[ocispec.AnnotationTitle] != "mychart" || pushed.Annotations[ocispec.AnnotationDescription] != "overridden" {
		t.Errorf("helm's manifest is not the layout under test: %s", helmManifest)
	}
}
