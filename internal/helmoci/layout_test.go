package helmoci

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
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

// build is how both faces use the layout: config bytes, then the manifest.
func build(t testing.TB, md *chart.Metadata, tgz ocispec.Descriptor, prov *ocispec.Descriptor, created time.Time) (manifest, config []byte) {
	t.Helper()
	config, err := Config(md)
	if err != nil {
		t.Fatal(err)
	}
	m := Manifest(md, ocispec.Descriptor{Digest: digest.FromBytes(config), Size: int64(len(config))}, tgz, prov, created)
	manifest, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return manifest, config
}

func TestManifest(t *testing.T) {
	tgz := ocispec.Descriptor{Digest: digest.FromString("tgz"), Size: 3}
	prov := ocispec.Descriptor{Digest: digest.FromString("prov"), Size: 4}
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("CEST", 2*3600))
	meta := testMetadata()

	manifest, config := build(t, meta, tgz, &prov, created)
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
		Config: ocispec.Descriptor{MediaType: ConfigMediaType, Digest: digest.FromBytes(config), Size: int64(len(config))},
		Layers: layers,
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
	for _, field := range []string{"artifactType", "mediaType\":\"application/vnd.oci.image.manifest"} {
		if strings.Contains(string(manifest), field) {
			t.Errorf("manifest has %s, which helm push leaves out: %s", field, manifest)
		}
	}
	again, _ := build(t, meta, tgz, &prov, created.UTC())
	if !bytes.Equal(again, manifest) {
		t.Errorf("Manifest is not deterministic:\n%s\n%s", manifest, again)
	}

	l, err := ParseManifest(manifest)
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	if l.Config.Digest != digest.FromBytes(config) || l.Chart.Digest != tgz.Digest || l.Prov == nil || l.Prov.Digest != prov.Digest || l.Legacy || len(l.Other) != 0 {
		t.Errorf("ParseManifest = %+v", l)
	}
}

func TestManifestMinimal(t *testing.T) {
	tgz := ocispec.Descriptor{Digest: digest.FromString("tgz"), Size: 3}
	manifest, config := build(t, &chart.Metadata{APIVersion: "v2", Name: "a", Version: "0.1.0"}, tgz, nil, time.Time{})
	if string(config) != `{"name":"a","version":"0.1.0","apiVersion":"v2"}` {
		t.Errorf("config = %s", config)
	}
	want := `{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"` +
		digest.FromBytes(config).String() + `","size":` + strconv.Itoa(len(config)) + `},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"` +
		tgz.Digest.String() + `","size":3}],"annotations":{"org.opencontainers.image.title":"a","org.opencontainers.image.version":"0.1.0"}}`
	if string(manifest) != want {
		t.Errorf("manifest =\n%s\nwant\n%s", manifest, want)
	}
	if _, err := Config(nil); err == nil {
		t.Error("nil metadata accepted")
	}
}

func TestIsConfigMediaType(t *testing.T) {
	for mt, want := range map[string]bool{
		ConfigMediaType:                              true,
		ConfigMediaType + "; charset=utf-8":          true,
		ConfigMediaType + ";charset=utf-8":           true,
		"Application/Vnd.Cncf.Helm.Config.V1+JSON":   true,
		"application/vnd.cncf.helm.config.v1+json+x": false,
		ocispec.MediaTypeImageConfig:                 false,
		"":                                           false,
		"not a media type;;":                         false,
	} {
		if got := IsConfigMediaType(mt); got != want {
			t.Errorf("IsConfigMediaType(%q) = %v, want %v", mt, got, want)
		}
	}
}

func TestParseManifest(t *testing.T) {
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
		err      error
		prov     bool
		legacy   bool
		other    int
	}{
		{"chart", manifest(ConfigMediaType, layer(ChartLayerMediaType, "t")), nil, false, false, 0},
		{"chart and prov", manifest(ConfigMediaType, layer(ProvLayerMediaType, "p"), layer(ChartLayerMediaType, "t")), nil, true, false, 0},
		{"config with a parameter", manifest(ConfigMediaType+"; charset=utf-8", layer(ChartLayerMediaType, "t")), nil, false, false, 0},
		{"legacy layer", manifest(ConfigMediaType, layer(LegacyChartLayerMediaType, "t")), nil, false, true, 0},
		{"foreign layer", manifest(ConfigMediaType, layer(ChartLayerMediaType, "t"), layer("text/plain", "x")), nil, false, false, 1},
		{"image", manifest(ocispec.MediaTypeImageConfig, layer(ocispec.MediaTypeImageLayerGzip, "l")), ErrNotChart, false, false, 0},
		{"not JSON", []byte("{"), ErrNotChart, false, false, 0},
		{"no chart layer", manifest(ConfigMediaType, layer(ProvLayerMediaType, "p")), ErrInvalid, false, false, 0},
		{"two chart layers", manifest(ConfigMediaType, layer(ChartLayerMediaType, "t"), layer(LegacyChartLayerMediaType, "u")), ErrInvalid, false, false, 0},
		{"two prov layers", manifest(ConfigMediaType, layer(ChartLayerMediaType, "t"), layer(ProvLayerMediaType, "p"), layer(ProvLayerMediaType, "q")), ErrInvalid, false, false, 0},
		{"bad digest", []byte(`{"schemaVersion":2,"config":{"mediaType":"` + ConfigMediaType + `","digest":"sha256:00","size":1},"layers":[` + layer(ChartLayerMediaType, "t") + `]}`), ErrInvalid, false, false, 0},
		{"negative size", []byte(`{"schemaVersion":2,"config":{"mediaType":"` + ConfigMediaType + `","digest":"` + d("c") + `","size":-1},"layers":[` + layer(ChartLayerMediaType, "t") + `]}`), ErrInvalid, false, false, 0},
		{"index media type", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{"mediaType":"` + ConfigMediaType + `"}}`), ErrInvalid, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseManifest(tt.manifest)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if l.Chart.Digest.String() != d("t") || (l.Prov != nil) != tt.prov || l.Legacy != tt.legacy || len(l.Other) != tt.other {
				t.Errorf("ParseManifest = %+v", l)
			}
		})
	}
}

// FuzzParseManifest: no input panics, and an accepted chart has valid
// descriptors.
func FuzzParseManifest(f *testing.F) {
	m, _ := build(f, testMetadata(), ocispec.Descriptor{Digest: digest.FromString("t"), Size: 1}, &ocispec.Descriptor{Digest: digest.FromString("p"), Size: 1}, time.Unix(0, 0))
	f.Add(m)
	f.Add([]byte(`{"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json"},"layers":[{}]}`))
	f.Add([]byte(`{"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json; x=y"},"layers":[{"mediaType":"application/tar+gzip"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseManifest(b)
		if err != nil {
			if !errors.Is(err, ErrNotChart) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is neither ErrNotChart nor ErrInvalid", err)
			}
			return
		}
		ds := []ocispec.Descriptor{l.Config, l.Chart}
		if l.Prov != nil {
			ds = append(ds, *l.Prov)
		}
		for _, d := range ds {
			if d.Digest.Validate() != nil || d.Size < 0 {
				t.Fatalf("accepted an invalid descriptor: %+v", d)
			}
		}
		if !IsConfigMediaType(l.Config.MediaType) {
			t.Fatalf("accepted config media type %q", l.Config.MediaType)
		}
	})
}

func TestTagVersion(t *testing.T) {
	for _, tt := range []struct{ version, tag string }{
		{"1.0.0", "1.0.0"},
		{"1.0.0+build.1", "1.0.0_build.1"},
		{"1.0.0-rc.1+a+b", "1.0.0-rc.1_a_b"},
	} {
		if got := Tag(tt.version); got != tt.tag {
			t.Errorf("Tag(%q) = %q, want %q", tt.version, got, tt.tag)
		}
		if got := Version(tt.tag); got != tt.version {
			t.Errorf("Version(%q) = %q, want %q", tt.tag, got, tt.version)
		}
	}
}
