package chart

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetadataValidate(t *testing.T) {
	valid := "apiVersion: v2\nname: demo\nversion: 1.0.0\n"
	tests := []struct {
		name string
		yaml string
		want []string // Helm's messages, in Helm's order; nil = valid
	}{
		{"valid", valid, nil},
		{"loose semver accepted like Helm", "apiVersion: v2\nname: demo\nversion: v1.2\n", nil},
		{"prerelease and build", "apiVersion: v2\nname: demo\nversion: 1.0.0-rc.1+b.2\n", nil},
		{"library", valid + "type: library\n", nil},
		{"no apiVersion", "name: demo\nversion: 1.0.0\n", []string{"validation: chart.metadata.apiVersion is required"}},
		{"no name", "apiVersion: v2\nversion: 1.0.0\n", []string{"validation: chart.metadata.name is required"}},
		{"dot name", "apiVersion: v2\nname: ..\nversion: 1.0.0\n", []string{`validation: chart.metadata.name ".." is not allowed`}},
		{"path in name", "apiVersion: v2\nname: a/b\nversion: 1.0.0\n", []string{`validation: chart.metadata.name "a/b" is invalid`}},
		{"backslash in name", "apiVersion: v2\nname: a\\b\nversion: 1.0.0\n", []string{`validation: chart.metadata.name "a\\b" is invalid`}},
		{"no version", "apiVersion: v2\nname: demo\n", []string{"validation: chart.metadata.version is required"}},
		{"bad version", "apiVersion: v2\nname: demo\nversion: 1.0.0.0\n", []string{`validation: chart.metadata.version "1.0.0.0" is invalid`}},
		{"bad type", valid + "type: plugin\n", []string{"validation: chart.metadata.type must be application or library"}},
		{"null maintainer", valid + "maintainers: [null]\n", []string{"validation: maintainers must not contain empty or null nodes"}},
		{"null dependency", valid + "dependencies: [null]\n", []string{"validation: dependencies must not contain empty or null nodes"}},
		{"bad alias", valid + "dependencies: [{name: a, alias: 'a.b'}]\n", []string{`validation: dependency "a" has disallowed characters in the alias`}},
		{"duplicate alias", valid + "dependencies: [{name: a}, {name: b, alias: a}]\n", []string{`validation: more than one dependency with name or alias "a"`}},
		{"everything wrong", "type: x\n", []string{
			"validation: chart.metadata.apiVersion is required",
			"validation: chart.metadata.name is required",
			"validation: chart.metadata.version is required",
			"validation: chart.metadata.type must be application or library",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := ParseMetadata([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			err = md.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidChart) {
				t.Fatalf("Validate() = %v, want an ErrInvalidChart", err)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			var ve ValidationError
			if !errors.As(err, &ve) || ve.Error() != tt.want[0] {
				t.Errorf("errors.As ValidationError = %q, want %q", ve, tt.want[0])
			}
		})
	}
}

func TestMetadataSanitizes(t *testing.T) {
	md, err := ParseMetadata([]byte("apiVersion: v2\nname: demo\nversion: 1.0.0\ndescription: \"a\\tb\\u0007c\\nd\"\nkeywords: [\"x\\u001b[31m\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := md.Validate(); err != nil {
		t.Fatal(err)
	}
	if md.Description != "a bc d" || md.Keywords[0] != "x[31m" {
		t.Errorf("not sanitized: %q %q", md.Description, md.Keywords)
	}
}

func TestParseMetadata(t *testing.T) {
	md, err := ParseMetadata([]byte("\ufeffapiVersion: v2\nname: demo\nversion: 1.0.0\nappVersion: 1.10\nunknown: ignored\nannotations: {a: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	// An unquoted 1.10 is a YAML float: Helm (same YAML library) reads "1.1",
	// which is why helm lint asks for quotes.
	want := &Metadata{APIVersion: "v2", Name: "demo", Version: "1.0.0", AppVersion: "1.1", Annotations: map[string]string{"a": "b"}}
	if diff := cmp.Diff(want, md); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"name: [x", "- a\n- b\n", "version: {a: b}\n"} {
		if _, err := ParseMetadata([]byte(bad)); !errors.Is(err, ErrInvalidChart) || !strings.HasPrefix(err.Error(), "cannot load Chart.yaml: ") {
			t.Errorf("ParseMetadata(%q) error = %v", bad, err)
		}
	}
}

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("apiVersion: v2\nname: demo\nversion: 1.0.0\n"))
	f.Add([]byte("name: a/b\nversion: 1\ndependencies: [{name: x, alias: 'y z'}, null]\nmaintainers: [null]\n"))
	f.Add([]byte("description: |\n  multi\n  line\nkeywords: [yes, no, 1.10]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := ParseMetadata(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidChart) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		err = md.Validate()
		if err != nil && !errors.Is(err, ErrInvalidChart) {
			t.Fatalf("unclassified validation error: %v", err)
		}
		// Validation is idempotent: sanitizing twice changes nothing.
		before := *md
		if err2 := md.Validate(); (err == nil) != (err2 == nil) {
			t.Fatalf("second Validate() = %v, first %v", err2, err)
		}
		if diff := cmp.Diff(&before, md); diff != "" {
			t.Fatalf("second Validate() changed metadata:\n%s", diff)
		}
		if err == nil && (md.Name == "" || strings.ContainsAny(md.Name, `/\`)) {
			t.Fatalf("accepted name %q", md.Name)
		}
	})
}
