package engine

import (
	"encoding/base64"
	"path"
	"strings"

	"github.com/gobwas/glob"

	"github.com/chartd/chartd/chart"
)

// Files is .Files in templates: the chart's non-template files by path.
type Files map[string][]byte

// NewFiles indexes chart files by name.
func NewFiles(from []*chart.File) Files {
	f := make(Files, len(from))
	for _, x := range from {
		f[x.Name] = x.Data
	}
	return f
}

// GetBytes returns a file's content, or an empty slice when it is missing.
func (f Files) GetBytes(name string) []byte {
	if v, ok := f[name]; ok {
		return v
	}
	return []byte{}
}

// Get returns a file's content as a string, or "" when it is missing.
func (f Files) Get(name string) string { return string(f.GetBytes(name)) }

// Glob returns the files whose path matches a glob pattern, where '*' does
// not cross '/' and '**' does. An invalid pattern matches everything, as in
// Helm.
func (f Files) Glob(pattern string) Files {
	g, err := glob.Compile(pattern, '/')
	if err != nil {
		g, _ = glob.Compile("**")
	}
	out := Files{}
	for name, data := range f {
		if g.Match(name) {
			out[name] = data
		}
	}
	return out
}

// AsConfig renders the files as the data of a ConfigMap: base name to
// content, as YAML.
func (f Files) AsConfig() string {
	if f == nil {
		return ""
	}
	m := make(map[string]string, len(f))
	for k, v := range f {
		m[path.Base(k)] = string(v)
	}
	return toYAML(m)
}

// AsSecrets renders the files as the data of a Secret: base name to
// base64 content, as YAML.
func (f Files) AsSecrets() string {
	if f == nil {
		return ""
	}
	m := make(map[string]string, len(f))
	for k, v := range f {
		m[path.Base(k)] = base64.StdEncoding.EncodeToString(v)
	}
	return toYAML(m)
}

// Lines splits a file into lines, ignoring one trailing newline.
func (f Files) Lines(name string) []string {
	if f == nil || len(f[name]) == 0 {
		return []string{}
	}
	s := strings.TrimSuffix(string(f[name]), "\n")
	return strings.Split(s, "\n")
}
