package index

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
)

const helmStyleIndex = `apiVersion: v1
entries:
  nginx:
    - urls:
        - https://charts.example.com/nginx-0.2.0.tgz
      name: nginx
      description: string
      version: 0.2.0
      home: https://github.com/something/else
      digest: "sha256:1234567890abcdef"
      keywords:
        - popular
      maintainers:
        - name: Matt
      engine: gotpl
      tillerVersion: ">=2.0.0"
      checksum: abc
      url: https://old
    - urls:
        - https://charts.example.com/nginx-0.10.0.tgz
      name: nginx
      version: 0.10.0
      created: 2016-10-06T16:23:20.499029981-06:00
    - null
    - name: nginx
      version: not-semver
      urls: [x]
    - name: nginx
      version: 0.3.0
      urls: [y]
      dependencies:
        - name: a
          repository: r
        - name: a
          repository: r
  alpine:
    - name: alpine
      version: 1.0.0
      urls: [z]
generated: "2016-10-06T16:23:20.499029981-06:00"
serverInfo:
  contextPath: /v1/helm
`

func versionsOf(f *File) map[string][]string {
	out := map[string][]string{}
	for name, cvs := range f.Entries {
		out[name] = []string{}
		for _, cv := range cvs {
			out[name] = append(out[name], cv.Version)
		}
	}
	return out
}

func TestLoad(t *testing.T) {
	var logs bytes.Buffer
	f, err := LoadWithLogger([]byte(helmStyleIndex), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		// null and not-semver are skipped; duplicate dependencies are
		// tolerated (JFrog strips aliases); newest first.
		"nginx":  {"0.10.0", "0.3.0", "0.2.0"},
		"alpine": {"1.0.0"},
	}
	if diff := cmp.Diff(want, versionsOf(f)); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	if got := strings.Count(logs.String(), "skipping invalid index entry"); got != 2 {
		t.Errorf("logged %d skipped entries, want 2:\n%s", got, logs.String())
	}
	cv := f.Entries["nginx"][2]
	if cv.APIVersion != "v1" || cv.EngineDeprecated != "gotpl" || cv.ChecksumDeprecated != "abc" || cv.URLDeprecated != "https://old" || cv.TillerVersionDeprecated != ">=2.0.0" {
		t.Errorf("deprecated fields / apiVersion default: %+v", cv)
	}
	if f.ServerInfo["contextPath"] != "/v1/helm" {
		t.Errorf("serverInfo = %v", f.ServerInfo)
	}
	if !f.Generated.Equal(time.Date(2016, 10, 6, 22, 23, 20, 499029981, time.UTC)) {
		t.Errorf("generated = %v", f.Generated)
	}
}

func TestLoadJSON(t *testing.T) {
	// JSON is not strict in Helm: unknown fields are fine.
	f, err := Load([]byte(`{"apiVersion":"v1","unknown":1,"entries":{"a":[{"name":"a","version":"1.0.0","urls":["u"],"extra":true}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"a": {"1.0.0"}}, versionsOf(f)); diff != "" {
		t.Error(diff)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want error
		msg  string
	}{
		{"empty", "", ErrEmptyIndex, "empty index.yaml file"},
		{"no apiVersion", "entries: {}\n", ErrNoAPIVersion, "no API version specified"},
		{"no apiVersion JSON", `{"entries":{}}`, ErrNoAPIVersion, "no API version specified"},
		{"unknown field strict YAML", "apiVersion: v1\nbogus: 1\n", ErrInvalidIndex, `unknown field "bogus"`},
		{"unknown entry field", "apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.0.0\n    nope: x\n", ErrInvalidIndex, `unknown field "nope"`},
		{"not YAML", "apiVersion: [\n", ErrInvalidIndex, "invalid index"},
		{"wrong type", "apiVersion: v1\nentries: [1]\n", ErrInvalidIndex, "invalid index"},
		{"bad time", "apiVersion: v1\ngenerated: yesterday\n", ErrInvalidIndex, "invalid index"},
		{"duplicate key", "apiVersion: v1\napiVersion: v1\n", ErrInvalidIndex, "invalid index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Load([]byte(tt.data))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Load() = %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
			if f != nil {
				t.Error("Load returned a File with an error")
			}
		})
	}
}

func TestAddGetMerge(t *testing.T) {
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f := New(created)
	for _, tt := range []struct{ version, base, file string }{
		{"1.0.0", "https://example.com/charts", "demo-1.0.0.tgz"},
		{"1.1.0-rc.1", "https://example.com/charts/", "sub/demo-1.1.0-rc.1.tgz"},
		{"0.9.0", "", "demo-0.9.0.tgz"},
		{"1.0.1", "/relative/base", "demo-1.0.1.tgz"},
	} {
		if err := f.Add(&chart.Metadata{Name: "demo", Version: tt.version}, tt.file, tt.base, "sha256:"+tt.version, created); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Add(&chart.Metadata{Name: "demo"}, "x.tgz", "", "", created); !errors.Is(err, chart.ErrInvalidChart) {
		t.Errorf("Add(invalid) = %v", err)
	}
	f.SortEntries()
	var urls []string
	for _, cv := range f.Entries["demo"] {
		urls = append(urls, cv.URLs[0])
		if cv.APIVersion != chart.APIVersionV1 {
			t.Errorf("apiVersion not defaulted: %q", cv.APIVersion)
		}
	}
	wantURLs := []string{
		"https://example.com/charts/demo-1.1.0-rc.1.tgz",
		"/relative/base/demo-1.0.1.tgz",
		"https://example.com/charts/demo-1.0.0.tgz",
		"demo-0.9.0.tgz",
	}
	if diff := cmp.Diff(wantURLs, urls); diff != "" {
		t.Errorf("urls (-want +got):\n%s", diff)
	}

	for _, tt := range []struct{ constraint, want string }{
		{"", "1.0.1"}, // newest stable
		{"1.1.0-rc.1", "1.1.0-rc.1"},
		{"^1.0.0", "1.0.1"},
		{"<1.0.0", "0.9.0"},
		{">=1.1.0-0", "1.1.0-rc.1"},
	} {
		cv, err := f.Get("demo", tt.constraint)
		if err != nil || cv.Version != tt.want {
			t.Errorf("Get(%q) = %v, %v; want %s", tt.constraint, cv, err, tt.want)
		}
	}
	if _, err := f.Get("nope", ""); !errors.Is(err, ErrNoChartName) {
		t.Errorf("Get(missing chart) = %v", err)
	}
	if _, err := f.Get("demo", ">5"); !errors.Is(err, ErrNoChartVersion) {
		t.Errorf("Get(>5) = %v", err)
	}
	if !f.Has("demo", "0.9.0") || f.Has("demo", "0.9") {
		t.Error("Has is not exact")
	}

	other := New(created)
	mine := f.Entries["demo"][0]
	if err := other.Add(&chart.Metadata{Name: "demo", Version: "1.1.0-rc.1", Description: "theirs"}, "x", "", "", created); err != nil {
		t.Fatal(err)
	}
	if err := other.Add(&chart.Metadata{Name: "extra", Version: "2.0.0"}, "y", "", "", created); err != nil {
		t.Fatal(err)
	}
	f.Merge(other)
	if f.Entries["demo"][0] != mine || len(f.Entries["demo"]) != 4 || !f.Has("extra", "2.0.0") {
		t.Errorf("Merge: %v", versionsOf(f))
	}
}

// FuzzLoad: Load never panics, classifies its errors, and what it accepts
// renders and loads back to the same versions.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(helmStyleIndex))
	f.Add([]byte(`{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.0.0"}]}}`))
	f.Add([]byte("apiVersion: v1\nentries:\n  x:\n  - {name: x, version: 1, description: \"a\\nb\"}\n"))
	f.Add([]byte("apiVersion: v1\nentries: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := Load(data)
		if err != nil {
			if !errors.Is(err, ErrEmptyIndex) && !errors.Is(err, ErrNoAPIVersion) && !errors.Is(err, ErrInvalidIndex) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		entries, err := idx.Fragments()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := RenderYAML(&buf, idx.Header(), entries); err != nil {
			if errors.Is(err, ErrUnrenderableName) {
				return
			}
			t.Fatal(err)
		}
		again, err := Load(buf.Bytes())
		if err != nil {
			t.Fatalf("rendered index does not load: %v\n%s", err, buf.Bytes())
		}
		want := versionsOf(idx)
		for name, vs := range want {
			if len(vs) == 0 {
				delete(want, name) // rendering omits charts without versions
			}
		}
		if diff := cmp.Diff(want, versionsOf(again)); diff != "" {
			t.Fatalf("versions changed by a render round trip:\n%s", diff)
		}
	})
}

func ExampleLoad() {
	f, err := Load([]byte(`apiVersion: v1
entries:
  demo:
  - name: demo
    version: 1.2.0
    urls: [demo-1.2.0.tgz]
  - name: demo
    version: 1.10.0
    urls: [demo-1.10.0.tgz]
generated: "2024-01-01T00:00:00Z"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	cv, err := f.Get("demo", "~1.2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Entries["demo"][0].Version, cv.URLs[0])
	// Output: 1.10.0 demo-1.2.0.tgz
}
