package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/storage"
)

func testMetadata() *chart.Metadata {
	return &chart.Metadata{
		APIVersion:  "v2",
		Name:        "mychart",
		Version:     "1.2.3+build.7",
		Description: "A chart <for> tests & more",
		Home:        "https://example.com/mychart",
		Sources:     []string{"https://github.com/example/mychart", "https://mirror.example.com"},
		Maintainers: []*chart.Maintainer{{Name: "Ann", Email: "ann@example.com"}, {Name: "Bob"}, {Email: "ops@example.com"}},
		Annotations: map[string]string{
			ocispec.AnnotationTitle:       "not the name",
			ocispec.AnnotationVersion:     "9.9.9",
			ocispec.AnnotationDescription: "overridden description",
			"example.com/team":            "platform",
		},
		Type: "application",
	}
}

func TestChartManifest(t *testing.T) {
	tgz := storage.Descriptor{Digest: digest.FromString("tgz"), Size: 3}
	prov := storage.Descriptor{Digest: digest.FromString("prov"), Size: 4}
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("CEST", 2*3600))
	meta := testMetadata()

	manifest, config, err := ChartManifest(meta, tgz, &prov, created)
	if err != nil {
		t.Fatal(err)
	}
	wantConfig, _ := json.Marshal(meta)
	if !bytes.Equal(config, wantConfig) {
		t.Errorf("config = %s, want %s", config, wantConfig)
	}
	var got ocispec.Manifest
	if err := json.Unmarshal(manifest, &got); err != nil {
		t.Fatal(err)
	}
	layers := []ocispec.Descriptor{
		{MediaType: ChartLayerMediaType, Digest: tgz.Digest, Size: 3},
		{MediaType: ProvLayerMediaType, Digest: prov.Digest, Size: 4},
	}
	if layers[1].Digest < layers[0].Digest {
		layers[0], layers[1] = layers[1], layers[0]
	}
	want := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ConfigMediaType, Digest: digest.FromBytes(config), Size: int64(len(config))},
		Layers:    layers,
		Annotations: map[string]string{
			ocispec.AnnotationTitle:       "mychart",
			ocispec.AnnotationVersion:     "1.2.3+build.7",
			ocispec.AnnotationDescription: "overridden description",
			ocispec.AnnotationURL:         "https://example.com/mychart",
			ocispec.AnnotationCreated:     "2024-05-06T05:08:09Z",
			ocispec.AnnotationSource:      "https://github.com/example/mychart",
			ocispec.AnnotationAuthors:     "Ann (ann@example.com), Bob,  (ops@example.com)",
			"example.com/team":            "platform",
		},
	}
	want.SchemaVersion = 2
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(string(manifest), "artifactType") {
		t.Errorf("manifest has an artifactType: %s", manifest)
	}

	again, _, err := ChartManifest(meta, tgz, &prov, created.UTC())
	if err != nil || !bytes.Equal(again, manifest) {
		t.Errorf("ChartManifest is not deterministic:\n%s\n%s", manifest, again)
	}

	gotConfig, gotChart, gotProv, ok, err := ParseChartManifest(manifest)
	if err != nil || !ok {
		t.Fatalf("ParseChartManifest = ok %v, %v", ok, err)
	}
	if gotConfig != (storage.Descriptor{Digest: digest.FromBytes(config), Size: int64(len(config))}) || gotChart != tgz || gotProv == nil || *gotProv != prov {
		t.Errorf("ParseChartManifest = %v %v %v", gotConfig, gotChart, gotProv)
	}
}

func TestChartManifestMinimal(t *testing.T) {
	tgz := storage.Descriptor{Digest: digest.FromString("tgz"), Size: 3}
	manifest, config, err := ChartManifest(&chart.Metadata{APIVersion: "v2", Name: "a", Version: "0.1.0"}, tgz, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if string(config) != `{"name":"a","version":"0.1.0","apiVersion":"v2"}` {
		t.Errorf("config = %s", config)
	}
	want := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"` +
		digest.FromBytes(config).String() + `","size":` + itoa(len(config)) + `},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"` +
		tgz.Digest.String() + `","size":3}],"annotations":{"org.opencontainers.image.title":"a","org.opencontainers.image.version":"0.1.0"}}`
	if string(manifest) != want {
		t.Errorf("manifest =\n%s\nwant\n%s", manifest, want)
	}
	if _, _, err := ChartManifest(nil, tgz, nil, time.Time{}); err == nil {
		t.Error("nil metadata accepted")
	}
	if _, _, err := ChartManifest(&chart.Metadata{}, storage.Descriptor{Digest: "nope"}, nil, time.Time{}); err == nil {
		t.Error("invalid chart digest accepted")
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestParseChartManifest(t *testing.T) {
	d := func(s string) string { return digest.FromString(s).String() }
	manifest := func(config string, layers ...string) []byte {
		return []byte(`{"schemaVersion":2,"config":{"mediaType":"` + config + `","digest":"` + d("c") + `","size":1},"layers":[` + strings.Join(layers, ",") + `]}`)
	}
	layer := func(mt, content string) string {
		return `{"mediaType":"` + mt + `","digest":"` + d(content) + `","size":2}`
	}
	tests := []struct {
		name     string
		manifest []byte
		ok       bool
		prov     bool
		err      error
	}{
		{"chart", manifest(ConfigMediaType, layer(ChartLayerMediaType, "t")), true, false, nil},
		{"chart and prov", manifest(ConfigMediaType, layer(ProvLayerMediaType, "p"), layer(ChartLayerMediaType, "t")), true, true, nil},
		{"legacy layer", manifest(ConfigMediaType, layer(LegacyChartLayerMediaType, "t")), true, false, nil},
		{"image", manifest(ocispec.MediaTypeImageConfig, layer(ocispec.MediaTypeImageLayerGzip, "l")), false, false, nil},
		{"no chart layer", manifest(ConfigMediaType, layer(ProvLayerMediaType, "p")), false, false, ErrNotChart},
		{"two chart layers", manifest(ConfigMediaType, layer(ChartLayerMediaType, "t"), layer(ChartLayerMediaType, "u")), false, false, ErrNotChart},
		{"two prov layers", manifest(ConfigMediaType, layer(ChartLayerMediaType, "t"), layer(ProvLayerMediaType, "p"), layer(ProvLayerMediaType, "q")), false, false, ErrNotChart},
		{"foreign layer", manifest(ConfigMediaType, layer(ChartLayerMediaType, "t"), layer("text/plain", "x")), false, false, ErrNotChart},
		{"bad digest", []byte(`{"schemaVersion":2,"config":{"mediaType":"` + ConfigMediaType + `","digest":"sha256:00","size":1},"layers":[]}`), false, false, ErrNotChart},
		{"index media type", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{"mediaType":"` + ConfigMediaType + `"}}`), false, false, ErrNotChart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, chartLayer, prov, ok, err := ParseChartManifest(tt.manifest)
			if ok != tt.ok || !errors.Is(err, tt.err) || (prov != nil) != tt.prov {
				t.Fatalf("ok=%v err=%v prov=%v; want ok=%v err=%v prov=%v", ok, err, prov, tt.ok, tt.err, tt.prov)
			}
			if ok && chartLayer.Digest.String() != d("t") {
				t.Errorf("chart layer = %v", chartLayer)
			}
		})
	}
	if _, _, _, _, err := ParseChartManifest([]byte("{")); err == nil {
		t.Error("invalid JSON accepted")
	}
}

// FuzzParseChartManifest: no input panics, and an accepted chart has valid
// descriptors.
func FuzzParseChartManifest(f *testing.F) {
	m, _, _ := ChartManifest(testMetadata(), storage.Descriptor{Digest: digest.FromString("t"), Size: 1}, &storage.Descriptor{Digest: digest.FromString("p"), Size: 1}, time.Unix(0, 0))
	f.Add(m)
	f.Add([]byte(`{"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json"},"layers":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, c, p, ok, err := ParseChartManifest(b)
		if ok && (err != nil || c.Digest.Validate() != nil || c.Size < 0 || (p != nil && p.Digest.Validate() != nil)) {
			t.Fatalf("accepted an invalid chart manifest: %v %v %v", c, p, err)
		}
	})
}

func TestTagVersion(t *testing.T) {
	for _, tt := range []struct{ version, tag string }{
		{"1.0.0", "1.0.0"},
		{"1.0.0+build.1", "1.0.0_build.1"},
		{"1.0.0-rc.1+a+b", "1.0.0-rc.1_a_b"},
	} {
		if got := TagFromVersion(tt.version); got != tt.tag {
			t.Errorf("TagFromVersion(%q) = %q, want %q", tt.version, got, tt.tag)
		}
		if got := VersionFromTag(tt.tag); got != tt.version {
			t.Errorf("VersionFromTag(%q) = %q, want %q", tt.tag, got, tt.version)
		}
	}
}

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
// checks that ChartManifest, given the same archive, produces the same
// config bytes and the same manifest, except for the mediaType field that
// Helm leaves out (the created annotation is the archive's mtime in both).
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
	ours, ourConfig, err := ChartManifest(info.Metadata, storage.Descriptor{Digest: digest.FromBytes(tgz), Size: int64(len(tgz))}, &provDesc, created)
	if err != nil {
		t.Fatal(err)
	}
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
