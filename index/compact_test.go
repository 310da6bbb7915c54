package index

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// clientIndex is an index as a client meets it: Helm's layout, a
// pre-release, a CDN URL, an entry Helm skips, and ChartMuseum's serverInfo.
const clientIndex = `apiVersion: v1
entries:
  alpine:
  - apiVersion: v2
    appVersion: "3.19"
    created: "2024-01-01T00:00:00Z"
    description: Deploy a basic Alpine Linux pod
    digest: 515c58e5f79d8b2913a10cb400ebb6fa9c77fe813287afbacf1a0b897cd78727
    keywords:
    - linux
    - alpine
    name: alpine
    urls:
    - alpine-0.2.0.tgz
    version: 0.2.0
  - apiVersion: v2
    created: "2024-01-01T00:00:00Z"
    description: Deploy a basic Alpine Linux pod
    name: alpine
    urls:
    - https://cdn.example.com/alpine-0.10.0-rc.1.tgz
    version: 0.10.0-rc.1
  - apiVersion: v2
    description: Deploy a basic Alpine Linux pod
    name: alpine
    urls:
    - alpine-0.1.0.tgz
    version: 0.1.0
  - apiVersion: v2
    name: alpine
    version: not-semver
  nginx:
  - apiVersion: v2
    appVersion: 1.25.0
    description: An NGINX web server
    deprecated: true
    name: nginx
    urls:
    - charts/nginx-1.0.0.tgz
    version: 1.0.0
generated: "2024-01-01T00:00:00Z"
serverInfo:
  contextPath: /ctx
`

func TestLoadCompactYAMLAndJSONAgree(t *testing.T) {
	fromYAML, err := LoadCompact([]byte(clientIndex))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := viaFast([]byte(clientIndex)); err != nil {
		t.Errorf("fast path declined Helm's layout: %v", err)
	}
	j, err := yaml.YAMLToJSON([]byte(clientIndex))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := LoadCompact(j)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromYAML, fromJSON); diff != "" {
		t.Errorf("YAML and JSON differ (-yaml +json):\n%s", diff)
	}
	want := &Compact{
		APIVersion:  "v1",
		ContextPath: "/ctx",
		Entries: map[string][]*Summary{
			// Sorted newest first; the non-semver entry is dropped as Helm does.
			"alpine": {
				{Name: "alpine", Version: "0.10.0-rc.1", Description: "Deploy a basic Alpine Linux pod", URLs: []string{"https://cdn.example.com/alpine-0.10.0-rc.1.tgz"}},
				{Name: "alpine", Version: "0.2.0", AppVersion: "3.19", Description: "Deploy a basic Alpine Linux pod", Keywords: []string{"linux", "alpine"},
					URLs: []string{"alpine-0.2.0.tgz"}, Digest: "515c58e5f79d8b2913a10cb400ebb6fa9c77fe813287afbacf1a0b897cd78727"},
				{Name: "alpine", Version: "0.1.0", Description: "Deploy a basic Alpine Linux pod", URLs: []string{"alpine-0.1.0.tgz"}},
			},
			"nginx": {{Name: "nginx", Version: "1.0.0", AppVersion: "1.25.0", Description: "An NGINX web server", Deprecated: true, URLs: []string{"charts/nginx-1.0.0.tgz"}}},
		},
	}
	if diff := cmp.Diff(want, fromYAML); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"alpine", "nginx"}, fromYAML.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
}

// TestCompactGet: Helm's lookup rules, and its error texts word for word,
// which the client prints after its own prefix.
func TestCompactGet(t *testing.T) {
	c, err := LoadCompact([]byte(strings.Replace(clientIndex, "entries:\n", "entries:\n  empty: []\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, version, want string }{
		{"alpine", "", "0.2.0"},
		{"alpine", "0.1.0", "0.1.0"},
		{"alpine", ">0.0.0-0", "0.10.0-rc.1"},
		{"alpine", "~0.1", "0.1.0"},
		{"alpine", "0.10.0-rc.1", "0.10.0-rc.1"},
	} {
		s, err := c.Get(tt.name, tt.version)
		if err != nil || s.Version != tt.want {
			t.Errorf("Get(%s, %q) = %v, %v; want %s", tt.name, tt.version, s, err, tt.want)
		}
	}
	for _, tt := range []struct {
		name, version string
		is            error
		msg           string
	}{
		{"nope", "", ErrNoChartName, "no chart name found"},
		{"empty", "", ErrNoChartVersion, "no chart version found"},
		{"alpine", "9.9.9", ErrNoChartVersion, "no chart version found for alpine-9.9.9"},
		{"alpine", "!!", nil, semverErr("!!")},
	} {
		_, err := c.Get(tt.name, tt.version)
		if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) || err.Error() != tt.msg {
			t.Errorf("Get(%s, %q) = %v; want %q", tt.name, tt.version, err, tt.msg)
		}
	}
}

// semverErr is what Masterminds/semver says of an invalid constraint;
// Helm passes it on unchanged.
func semverErr(c string) string {
	_, err := semver.NewConstraint(c)
	return err.Error()
}

func ExampleLoadCompact() {
	c, err := LoadCompact([]byte(`{"apiVersion":"v1","entries":{"demo":[{"name":"demo","version":"1.0.0"},{"name":"demo","version":"1.1.0"}]}}`))
	if err != nil {
		panic(err)
	}
	s, _ := c.Get("demo", "")
	fmt.Println(s.Name, s.Version)
	// Output: demo 1.1.0
}
