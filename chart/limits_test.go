package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	sigsyaml "sigs.k8s.io/yaml"
)

// chartYaml is a valid Chart.yaml followed by extra lines.
func chartYaml(extra ...string) string {
	return minimalChartYaml + strings.Join(extra, "")
}

// yamlList is a flow list of n copies of item.
func yamlList(n int, item string) string {
	return "[" + strings.TrimSuffix(strings.Repeat(item+", ", n), ", ") + "]"
}

// aliasBomb is YAML of about 70 KB whose key aliases one 60 KB string 5000
// times: sigs.k8s.io/yaml alone spends seconds and gigabytes on it.
func aliasBomb(key string) string {
	return "big: &a \"" + strings.Repeat("x", 60000) + "\"\n" + key + ": " + yamlList(5000, "*a") + "\n"
}

func TestReadArchiveRejectsLargeMetadata(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	var deps, annotations strings.Builder
	deps.WriteString("dependencies:\n")
	for i := range 1001 {
		fmt.Fprintf(&deps, "- {name: d%d, repository: r}\n", i)
		fmt.Fprintf(&annotations, "k%d: v, ", i)
	}
	tests := []struct {
		name      string
		chartYaml string
		extra     []entry
		want      error
		msg       string
	}{
		{"Chart.yaml too large", chartYaml("# ", long(300<<10), "\n"), nil, ErrMetadataTooLarge,
			fmt.Sprintf("Chart.yaml is %d bytes, more than the limit of 262144", len(minimalChartYaml)+3+300<<10)},
		{"Chart.yaml alias bomb", chartYaml(aliasBomb("keywords")), nil, ErrMetadataTooLarge,
			"cannot load Chart.yaml: its YAML aliases expand it to more than 262144 bytes"},
		{"description", chartYaml("description: ", long(40<<10), "\n"), nil, ErrMetadataTooLarge,
			"chart.metadata.description is 40960 bytes, more than the limit of 32768"},
		{"home", chartYaml("home: ", long(33<<10), "\n"), nil, ErrMetadataTooLarge, "chart.metadata.home is 33792 bytes"},
		{"icon", chartYaml("icon: data:image/png;base64,", long(33<<10), "\n"), nil, ErrMetadataTooLarge, "chart.metadata.icon is"},
		{"appVersion", chartYaml("appVersion: ", long(33<<10), "\n"), nil, ErrMetadataTooLarge, "chart.metadata.appVersion is"},
		{"too many keywords", chartYaml("keywords: ", yamlList(1001, "k"), "\n"), nil, ErrMetadataTooLarge,
			"chart.metadata.keywords has 1001 entries, more than the limit of 1000"},
		{"long keyword", chartYaml("keywords: [a, ", long(33<<10), "]\n"), nil, ErrMetadataTooLarge,
			"chart.metadata.keywords[1] is 33792 bytes"},
		{"long source", chartYaml("sources: [", long(33<<10), "]\n"), nil, ErrMetadataTooLarge, "chart.metadata.sources[0] is"},
		{"maintainer email", chartYaml("maintainers: [{name: a}, {name: b, email: ", long(33<<10), "}]\n"), nil, ErrMetadataTooLarge,
			"chart.metadata.maintainers[1].email is 33792 bytes"},
		{"annotations in all", chartYaml("annotations:\n  a: ", long(50<<10), "\n  b: ", long(50<<10), "\n  c: ", long(50<<10), "\n"), nil, ErrMetadataTooLarge,
			"chart.metadata.annotations are 153603 bytes in all, more than the limit of 131072"},
		{"too many annotations", chartYaml("annotations: {", strings.TrimSuffix(annotations.String(), ", "), "}\n"), nil, ErrMetadataTooLarge,
			"chart.metadata.annotations has 1001 entries"},
		{"dependency repository", chartYaml("dependencies: [{name: a, repository: ", long(33<<10), "}]\n"), nil, ErrMetadataTooLarge,
			"chart.metadata.dependencies[0].repository is 33792 bytes"},
		{"dependency import-values", chartYaml("dependencies: [{name: a, repository: r, import-values: [{child: ", long(33<<10), ", parent: p}]}]\n"), nil, ErrMetadataTooLarge,
			"chart.metadata.dependencies[0].import-values[0] is more than 32768 bytes"},
		{"every problem at once", chartYaml("description: ", long(33<<10), "\nhome: ", long(33<<10), "\n"), nil, ErrMetadataTooLarge,
			"chart.metadata.description is 33792 bytes, more than the limit of 32768\nchart.metadata.home is 33792 bytes"},
		{"requirements.yaml too large", "apiVersion: v1\nname: demo\nversion: 0.1.0\n", []entry{{Name: "demo/requirements.yaml", Body: "# " + long(300<<10)}}, ErrMetadataTooLarge,
			"requirements.yaml is 307202 bytes"},
		{"requirements.yaml adds dependencies", "apiVersion: v1\nname: demo\nversion: 0.1.0\n", []entry{{Name: "demo/requirements.yaml", Body: deps.String()}}, ErrMetadataTooLarge,
			"chart.metadata.dependencies has 1001 entries"},
		{"subchart metadata", chartYaml(), []entry{{Name: "demo/charts/sub/Chart.yaml", Body: "apiVersion: v2\nname: sub\nversion: 1.0.0\ndescription: " + long(33<<10) + "\n"}}, ErrMetadataTooLarge,
			"error unpacking subchart sub in demo: chart.metadata.description is 33792 bytes"},
		{"values.yaml alias bomb", chartYaml(), []entry{{Name: "demo/values.yaml", Body: aliasBomb("list")}}, ErrTooLarge,
			"cannot load values.yaml: its YAML aliases expand it to more than 5242880 bytes"},
		{"Chart.lock alias bomb", chartYaml(), []entry{{Name: "demo/Chart.lock", Body: aliasBomb("x")}}, ErrTooLarge,
			"cannot load Chart.lock: its YAML aliases expand"},
		{"alias cycle", chartYaml(), []entry{{Name: "demo/values.yaml", Body: "a: &a [*a]\n"}}, ErrInvalidChart,
			"cannot load values.yaml: a YAML alias refers to the node that contains it"},
		{"unknown alias", chartYaml("keywords: [*nope]\n"), nil, ErrInvalidChart,
			"cannot load Chart.yaml: error converting YAML to JSON: yaml: unknown anchor 'nope' referenced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive := tgz(t, append([]entry{{Name: "demo/Chart.yaml", Body: tt.chartYaml}}, tt.extra...)...)
			for _, rd := range readers[:2] {
				start := time.Now()
				err := rd.read(bytes.NewReader(archive), Limits{}, "")
				if !errors.Is(err, tt.want) {
					t.Fatalf("%s: error = %v, want %v", rd.name, err, tt.want)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("%s: error %q does not mention %q", rd.name, err, tt.msg)
				}
				// 400 in both protocols' tables: never also a size class.
				if errors.Is(tt.want, ErrInvalidChart) && errors.Is(err, ErrTooLarge) {
					t.Errorf("%s: %v is both invalid and too large", rd.name, err)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("%s took %v: the guard did not stop the work", rd.name, d)
				}
			}
		})
	}
}

// TestReadArchiveAcceptsLargeRealMetadata: metadata of the size the largest
// public charts carry (artifacthub.io annotations listing CRDs, examples,
// images and changes) loads, and so does YAML that uses anchors sparingly.
func TestReadArchiveAcceptsLargeRealMetadata(t *testing.T) {
	var crds, examples strings.Builder
	for i := range 40 {
		fmt.Fprintf(&crds, "- kind: Kind%d\n  version: v1\n  name: kind%ds.example.com\n  displayName: Kind %d\n  description: Manages the %dth kind of thing the operator knows about\n", i, i, i, i)
		fmt.Fprintf(&examples, "- apiVersion: example.com/v1\n  kind: Kind%d\n  metadata:\n    name: example-%d\n  spec:\n    replicas: 3\n    image: registry.example.com/team/operand:1.2.3\n    resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: '1', memory: 1Gi}}\n    config: {logLevel: info, featureGates: [a, b, c], labels: {team: platform, tier: backend}}\n", i, i)
	}
	quote := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	cy := chartYaml(
		"description: ", quote(strings.Repeat("A long description of what the chart installs. ", 60)), "\n",
		"icon: data:image/svg+xml;base64,", strings.Repeat("PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4K", 300), "\n",
		"keywords: ", yamlList(50, "operator"), "\n",
		"maintainers: &m [{name: Team, email: team@example.com, url: 'https://example.com'}]\n",
		"annotations:\n",
		"  artifacthub.io/crds: ", quote(crds.String()), "\n",
		"  artifacthub.io/crdsExamples: ", quote(examples.String()), "\n",
		"  artifacthub.io/images: ", quote(strings.Repeat("- name: operand\n  image: registry.example.com/team/operand:1.2.3\n", 30)), "\n",
		"  artifacthub.io/changes: ", quote(strings.Repeat("- kind: fixed\n  description: A bug that mattered to somebody\n", 50)), "\n",
	)
	if len(cy) < 40<<10 {
		t.Fatalf("test Chart.yaml is only %d bytes", len(cy))
	}
	archive := tgz(t, entry{Name: "demo/Chart.yaml", Body: cy},
		entry{Name: "demo/values.yaml", Body: "common: &common {a: 1, b: [x, y]}\nweb: *common\nworker: *common\nhosts: ['*.example.com']\n"})
	c, err := ReadArchive(context.Background(), bytes.NewReader(archive), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Metadata.Annotations) != 4 || len(c.Metadata.Keywords) != 50 || c.Values["worker"] == nil {
		t.Errorf("metadata %d annotations, %d keywords; values %v", len(c.Metadata.Annotations), len(c.Metadata.Keywords), c.Values)
	}
}

func TestErrMetadataTooLargeIsABadRequest(t *testing.T) {
	// server/errors.go and oci/errors.go map ErrInvalidChart to 400; the
	// OCI table tests ErrTooLarge (413) first, so it must not match.
	if !errors.Is(ErrMetadataTooLarge, ErrInvalidChart) || errors.Is(ErrMetadataTooLarge, ErrTooLarge) {
		t.Fatal("ErrMetadataTooLarge must be an ErrInvalidChart and nothing else")
	}
}

func TestCheckMetadataLimits(t *testing.T) {
	md := &Metadata{Name: "demo", Version: "1.0", Description: "12345", Keywords: []string{"a", "b", "c"}, Annotations: map[string]string{"k": "vv"}}
	for _, tt := range []struct {
		lim  Limits
		want string
	}{
		{Limits{}, ""},
		{Limits{MaxMetadataField: 5}, ""},
		{Limits{MaxMetadataField: 4}, "chart.metadata.description is 5 bytes, more than the limit of 4"},
		{Limits{MaxMetadataItems: 2}, "chart.metadata.keywords has 3 entries, more than the limit of 2"},
		{Limits{MaxAnnotationsSize: 2}, "chart.metadata.annotations are 3 bytes in all, more than the limit of 2"},
	} {
		err := tt.lim.CheckMetadata(md)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.lim, err)
			}
			continue
		}
		if !errors.Is(err, ErrMetadataTooLarge) || err.Error() != tt.want {
			t.Errorf("%+v: error %v, want %q", tt.lim, err, tt.want)
		}
	}
}

// FuzzMetadataLimits: whatever Chart.yaml says, metadata that passes the
// limits has no string, list or map beyond them, and its JSON (what the
// index and the OCI config store) is bounded by the Chart.yaml limit.
func FuzzMetadataLimits(f *testing.F) {
	f.Add([]byte(chartYaml("description: hello\nkeywords: [a, b]\nannotations: {a: b}\n")))
	f.Add([]byte(chartYaml("maintainers: [{name: a, email: b, url: c}, null]\ndependencies: [{name: d, repository: r, tags: [t], import-values: [x, {child: c, parent: p}]}]\n")))
	f.Add([]byte(chartYaml("keywords: &k [aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbb]\nsources: *k\ndescription: &d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nhome: *d\n")))
	f.Add([]byte("a: &a [1, 2, 3]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c]\n"))
	f.Add([]byte(chartYaml("annotations: {a: " + strings.Repeat("x", 80) + "}\n")))
	lim := Limits{MaxChartfileSize: 2048, MaxMetadataField: 32, MaxAnnotationsSize: 64, MaxMetadataItems: 4}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := parseMetadata(data, lim)
		if err != nil {
			if !errors.Is(err, ErrInvalidChart) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if err := md.Validate(); err != nil {
			return
		}
		err = lim.CheckMetadata(md)
		if err != nil {
			if !errors.Is(err, ErrMetadataTooLarge) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		js, err := json.Marshal(md)
		if err != nil {
			t.Fatal(err)
		}
		// Expanded scalar bytes and nodes are at most MaxChartfileSize;
		// JSON escaping and punctuation multiply that by a small constant.
		if len(js) > 16*int(lim.MaxChartfileSize) {
			t.Fatalf("%d bytes of JSON from %d of Chart.yaml", len(js), len(data))
		}
		var doc map[string]any
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatal(err)
		}
		annotations, _ := doc["annotations"].(map[string]any)
		size := 0
		for k, v := range annotations {
			size += len(k) + len(v.(string))
		}
		if len(annotations) > lim.MaxMetadataItems || size > lim.MaxAnnotationsSize {
			t.Fatalf("annotations: %d entries, %d bytes", len(annotations), size)
		}
		delete(doc, "annotations")
		walkJSON(t, doc, lim)
	})
}

// walkJSON fails on a string or list beyond lim anywhere in v.
func walkJSON(t *testing.T, v any, lim Limits) {
	switch v := v.(type) {
	case string:
		if len(v) > lim.MaxMetadataField {
			t.Fatalf("string of %d bytes", len(v))
		}
	case []any:
		if len(v) > lim.MaxMetadataItems {
			t.Fatalf("list of %d", len(v))
		}
		for _, x := range v {
			walkJSON(t, x, lim)
		}
	case map[string]any:
		for k, x := range v {
			walkJSON(t, k, lim)
			walkJSON(t, x, lim)
		}
	}
}

// FuzzYAMLExpansion: YAML the guard passes expands, in Helm's parser, to
// JSON within a constant factor of the bound.
func FuzzYAMLExpansion(f *testing.F) {
	f.Add([]byte("a: &a [1, 2, 3]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c]\n"))
	f.Add([]byte("x: &x {<<: {a: 1}, b: *x}\n"))
	f.Add([]byte("base: &b {k: v}\nm: {<<: *b, c: d}\nl: [*b, *b]\ns: '*not an alias'\n"))
	f.Add([]byte(aliasBomb("k")))
	const max = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > max {
			return
		}
		if err := checkExpansion(data, max, ErrTooLarge); err != nil {
			if !errors.Is(err, ErrInvalidChart) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		var v any
		if err := sigsyaml.Unmarshal(data, &v); err != nil {
			return
		}
		js, err := json.Marshal(v)
		if err != nil {
			return
		}
		if len(js) > 32*max {
			t.Fatalf("%d bytes of JSON from %d of YAML that passed the guard", len(js), len(data))
		}
	})
}
