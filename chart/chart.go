// Package chart is the Helm chart model shared by the chartd server and the
// helm client: Chart.yaml metadata, loading from directories and archives
// (with guards against path traversal and decompression bombs), validation
// and deterministic packaging.
//
// The types mirror Helm 3's pkg/chart, JSON tags included, because release
// Secrets embed a chart as JSON and real Helm must read ours.
package chart

import (
	"path"
	"strings"
	"time"
)

// APIVersionV1 and APIVersionV2 are the chart API versions Helm 3 reads.
const (
	APIVersionV1 = "v1"
	APIVersionV2 = "v2"
)

// File is a file inside a chart, with its path relative to the chart root.
type File struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
	// ModTime is the file's modification time as read (from the directory
	// or the archive entry); packaging stamps it on the entry, as Helm 4
	// does. It stays out of the JSON so release Secrets keep Helm 3's shape.
	ModTime time.Time `json:"-"`
}

// Maintainer describes a chart maintainer.
type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Dependency is an entry of Chart.yaml's dependencies (or requirements.yaml).
type Dependency struct {
	Name         string        `json:"name"`
	Version      string        `json:"version,omitempty"`
	Repository   string        `json:"repository"`
	Condition    string        `json:"condition,omitempty"`
	Tags         []string      `json:"tags,omitempty"`
	Enabled      bool          `json:"enabled,omitempty"`
	ImportValues []interface{} `json:"import-values,omitempty"`
	Alias        string        `json:"alias,omitempty"`
}

// Metadata is Chart.yaml.
type Metadata struct {
	Name         string            `json:"name,omitempty"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Version      string            `json:"version,omitempty"`
	Description  string            `json:"description,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Maintainers  []*Maintainer     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	APIVersion   string            `json:"apiVersion,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Tags         string            `json:"tags,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Dependencies []*Dependency     `json:"dependencies,omitempty"`
	Type         string            `json:"type,omitempty"`
}

// Lock is Chart.lock (or requirements.lock).
type Lock struct {
	Generated    string        `json:"generated"`
	Digest       string        `json:"digest"`
	Dependencies []*Dependency `json:"dependencies"`
}

// Chart is a loaded chart.
type Chart struct {
	// Raw holds every file of the chart as read, for packaging and .Files.
	Raw       []*File                `json:"-"`
	Metadata  *Metadata              `json:"metadata"`
	Lock      *Lock                  `json:"lock"`
	Templates []*File                `json:"templates"`
	Values    map[string]interface{} `json:"values"`
	Schema    []byte                 `json:"schema"`
	// Files are the files that are not templates, values, Chart.yaml or charts/.
	Files []*File `json:"files"`

	// ModTime and SchemaModTime are Chart.yaml's and values.schema.json's
	// modification times, stamped on their archive entries (Helm 4).
	ModTime       time.Time `json:"-"`
	SchemaModTime time.Time `json:"-"`

	parent       *Chart
	dependencies []*Chart
}

// Parent returns the chart that holds this one in its charts/, or nil.
func (c *Chart) Parent() *Chart { return c.parent }

// IsRoot reports whether the chart has no parent.
func (c *Chart) IsRoot() bool { return c.parent == nil }

// Dependencies returns the subcharts found in charts/.
func (c *Chart) Dependencies() []*Chart { return c.dependencies }

// SetDependencies replaces the subcharts and makes c their parent.
func (c *Chart) SetDependencies(charts ...*Chart) {
	c.dependencies = nil
	c.AddDependency(charts...)
}

// AddDependency adds subcharts and makes c their parent.
func (c *Chart) AddDependency(charts ...*Chart) {
	for _, x := range charts {
		x.parent = c
		c.dependencies = append(c.dependencies, x)
	}
}

// Root returns the top-most chart.
func (c *Chart) Root() *Chart {
	if c.parent == nil {
		return c
	}
	return c.parent.Root()
}

// Name is the chart's name, or "" without metadata.
func (c *Chart) Name() string {
	if c.Metadata == nil {
		return ""
	}
	return c.Metadata.Name
}

// ChartPath is the chart's path in the dependency tree, e.g. "parent.charts.child".
func (c *Chart) ChartPath() string {
	if c.parent != nil {
		return c.parent.ChartPath() + "." + c.Name()
	}
	return c.Name()
}

// ChartFullPath is the path used in template names: "parent/charts/child".
func (c *Chart) ChartFullPath() string {
	if c.parent != nil {
		return c.parent.ChartFullPath() + "/charts/" + c.Name()
	}
	return c.Name()
}

// IsLibrary reports whether the chart is a library chart (type: library).
func (c *Chart) IsLibrary() bool { return c.Metadata != nil && c.Metadata.Type == "library" }

// Validate validates the chart's metadata (see Metadata.Validate).
func (c *Chart) Validate() error { return c.Metadata.Validate() }

// AppVersion returns the chart's appVersion, or "" without metadata.
func (c *Chart) AppVersion() string {
	if c.Metadata == nil {
		return ""
	}
	return c.Metadata.AppVersion
}

// CRD is a custom resource definition file from a chart's crds/ directory.
type CRD struct {
	// Name is the file's path in its chart, e.g. "crds/foo.yaml".
	Name string
	// Filename is the path through the dependency tree, e.g.
	// "parent/charts/child/crds/foo.yaml".
	Filename string
	File     *File
}

// CRDObjects returns the manifests (.yaml, .yml, .json) in crds/ of the
// chart and of every subchart, parents first, as Helm installs them.
func (c *Chart) CRDObjects() []CRD {
	var crds []CRD
	for _, f := range c.Files {
		if !strings.HasPrefix(f.Name, "crds/") {
			continue
		}
		switch strings.ToLower(path.Ext(f.Name)) {
		case ".yaml", ".yml", ".json":
			crds = append(crds, CRD{Name: f.Name, Filename: path.Join(c.ChartFullPath(), f.Name), File: f})
		}
	}
	for _, dep := range c.Dependencies() {
		crds = append(crds, dep.CRDObjects()...)
	}
	return crds
}
