package repo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/Masterminds/semver/v3"
	yaml "go.yaml.in/yaml/v3"
)

// Index errors, with Helm's wording.
var (
	ErrEmptyIndex   = errors.New("empty index.yaml file")
	ErrNoAPIVersion = errors.New("no API version specified")
)

// ChartVersion is the part of an index entry the client needs to search and
// download. Keeping only these fields is what makes the parsed cache small.
type ChartVersion struct {
	Name        string   `json:"name" yaml:"name"`
	Version     string   `json:"version" yaml:"version"`
	AppVersion  string   `json:"appVersion,omitempty" yaml:"appVersion"`
	Description string   `json:"description,omitempty" yaml:"description"`
	Keywords    []string `json:"keywords,omitempty" yaml:"keywords"`
	URLs        []string `json:"urls,omitempty" yaml:"urls"`
	Digest      string   `json:"digest,omitempty" yaml:"digest"`
	Deprecated  bool     `json:"deprecated,omitempty" yaml:"deprecated"`
}

// ServerInfo is the optional serverInfo block ChartMuseum-style servers add.
type ServerInfo struct {
	ContextPath string `json:"contextPath,omitempty" yaml:"contextPath"`
}

// IndexFile is a repository index reduced to what the client uses.
type IndexFile struct {
	APIVersion string                     `json:"apiVersion" yaml:"apiVersion"`
	Entries    map[string][]*ChartVersion `json:"entries" yaml:"entries"`
	ServerInfo *ServerInfo                `json:"serverInfo,omitempty" yaml:"serverInfo"`
}

// ParseIndex parses index bytes. Like Helm ≥ 3.13 it reads JSON when the
// document is JSON (an order of magnitude cheaper on big indexes) and YAML
// otherwise. Entries Helm would skip (no name, or a version that is not
// semver) are dropped, and every chart's versions are sorted newest first.
func ParseIndex(data []byte) (*IndexFile, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmptyIndex
	}
	idx := &IndexFile{}
	if t := bytes.TrimLeft(data, " \t\r\n"); t[0] == '{' {
		if err := json.Unmarshal(data, idx); err != nil {
			// JSON is YAML: let the YAML parser give the error, or succeed.
			idx = &IndexFile{}
			if yerr := yaml.Unmarshal(data, idx); yerr != nil {
				return nil, fmt.Errorf("parse index: %w", err)
			}
		}
	} else if fast, err := parseFastYAML(data); err == nil {
		idx = fast
	} else if err := yaml.Unmarshal(data, idx); err != nil {
		return nil, fmt.Errorf("parse index: %w", err)
	}
	idx.normalize()
	if idx.APIVersion == "" {
		return nil, ErrNoAPIVersion
	}
	return idx, nil
}

type sortable struct {
	cv *ChartVersion
	v  *semver.Version
}

func (idx *IndexFile) normalize() {
	for name, cvs := range idx.Entries {
		s := make([]sortable, 0, len(cvs))
		for _, cv := range cvs {
			if cv == nil || cv.Name == "" {
				continue
			}
			v, err := semver.NewVersion(cv.Version)
			if err != nil {
				continue
			}
			s = append(s, sortable{cv, v})
		}
		sort.SliceStable(s, func(i, j int) bool { return s[i].v.GreaterThan(s[j].v) })
		out := make([]*ChartVersion, len(s))
		for i := range s {
			out[i] = s[i].cv
		}
		idx.Entries[name] = out
	}
}

// Names returns the chart names, sorted.
func (idx *IndexFile) Names() []string {
	names := make([]string, 0, len(idx.Entries))
	for n := range idx.Entries {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup errors, with Helm's wording.
var (
	ErrNoChartName    = errors.New("no chart name found")
	ErrNoChartVersion = errors.New("no chart version found")
)

// Get returns the newest version of name that equals version or satisfies it
// as a semver constraint; "" means the newest stable version, as in Helm.
func (idx *IndexFile) Get(name, version string) (*ChartVersion, error) {
	vs := idx.Entries[name]
	if len(vs) == 0 {
		return nil, ErrNoChartName
	}
	if version != "" {
		for _, cv := range vs {
			if cv.Version == version {
				return cv, nil
			}
		}
	}
	constraint := version
	if constraint == "" {
		constraint = "*"
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return nil, fmt.Errorf("improper constraint: %s: %w", version, err)
	}
	for _, cv := range vs {
		if v, err := semver.NewVersion(cv.Version); err == nil && c.Check(v) {
			return cv, nil
		}
	}
	return nil, fmt.Errorf("%w for %s-%s", ErrNoChartVersion, name, version)
}
