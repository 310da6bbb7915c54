package index

import (
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/chartd/chartd/chart"
)

// The JSON form of an index (index.json, which chartd serves to clients
// that ask for it) is decoded for a Compact into mirrors of File and
// ChartVersion: the same fields under the same names, so encoding/json
// matches keys exactly as it does for Load (case-insensitively, the last
// duplicate winning), but with the fields a Summary drops typed so that they
// are checked and not kept. The decoder then accepts exactly what Load's
// accepts, at about half the cost.

type jsonFile struct {
	APIVersion  string                  `json:"apiVersion"`
	Generated   time.Time               `json:"generated"`
	Entries     map[string][]*jsonEntry `json:"entries"`
	PublicKeys  []skipString            `json:"publicKeys,omitempty"`
	Annotations map[string]skipString   `json:"annotations,omitempty"`
	ServerInfo  map[string]interface{}  `json:"serverInfo,omitempty"`
}

// jsonEntry mirrors ChartVersion. Its metadata is embedded by value (an
// unexported type cannot be embedded by pointer): absent metadata is then
// empty metadata, which is what admit makes of it in Load.
type jsonEntry struct {
	jsonMetadata
	URLs                    []string   `json:"urls"`
	Created                 time.Time  `json:"created,omitempty"`
	Removed                 bool       `json:"removed,omitempty"`
	Digest                  string     `json:"digest,omitempty"`
	ChecksumDeprecated      skipString `json:"checksum,omitempty"`
	EngineDeprecated        skipString `json:"engine,omitempty"`
	TillerVersionDeprecated skipString `json:"tillerVersion,omitempty"`
	URLDeprecated           skipString `json:"url,omitempty"`
}

// jsonMetadata mirrors chart.Metadata.
type jsonMetadata struct {
	Name         string                `json:"name,omitempty"`
	Home         skipString            `json:"home,omitempty"`
	Sources      []skipString          `json:"sources,omitempty"`
	Version      string                `json:"version,omitempty"`
	Description  string                `json:"description,omitempty"`
	Keywords     []string              `json:"keywords,omitempty"`
	Maintainers  []*jsonMaintainer     `json:"maintainers,omitempty"`
	Icon         skipString            `json:"icon,omitempty"`
	APIVersion   string                `json:"apiVersion,omitempty"`
	Condition    skipString            `json:"condition,omitempty"`
	Tags         skipString            `json:"tags,omitempty"`
	AppVersion   string                `json:"appVersion,omitempty"`
	Deprecated   bool                  `json:"deprecated,omitempty"`
	Annotations  map[string]skipString `json:"annotations,omitempty"`
	KubeVersion  skipString            `json:"kubeVersion,omitempty"`
	Dependencies []*chart.Dependency   `json:"dependencies,omitempty"`
	Type         string                `json:"type,omitempty"`
}

// jsonMaintainer mirrors chart.Maintainer. Validation needs only to know
// which maintainers are null: being empty, it costs no allocation.
type jsonMaintainer struct {
	Name  skipString `json:"name,omitempty"`
	Email skipString `json:"email,omitempty"`
	URL   skipString `json:"url,omitempty"`
}

// skipString accepts what a string field accepts (a string, or null) and
// keeps nothing.
type skipString struct{}

var errNotString = errors.New("index: not a string")

func (*skipString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' || string(b) == "null" {
		return nil
	}
	return errNotString
}

// loadCompactJSON decodes a JSON index (json.Valid) for LoadCompact. When
// the decoder refuses it, Load gives the error, so that it is Load's own.
func loadCompactJSON(data []byte, log *slog.Logger) (*Compact, error) {
	var jf jsonFile
	if err := json.Unmarshal(data, &jf); err != nil {
		if _, lerr := LoadWithLogger(data, nil); lerr != nil {
			return nil, lerr
		}
		return nil, err // unreachable while the mirrors mirror
	}
	c := &Compact{APIVersion: jf.APIVersion, Entries: make(map[string][]*Summary, len(jf.Entries))}
	if s, ok := jf.ServerInfo["contextPath"].(string); ok {
		c.ContextPath = s
	}
	// One scratch version, reused, as in decodeCompact.
	var scratch chart.Maintainer
	var md chart.Metadata
	var cv ChartVersion
	for name, jes := range jf.Entries {
		var vals []Summary
		for _, je := range jes {
			if je == nil {
				logSkip(log, name, "", admit(nil))
				continue
			}
			m := &je.jsonMetadata
			md = chart.Metadata{
				Name: m.Name, Version: m.Version, Description: m.Description, Keywords: m.Keywords,
				APIVersion: m.APIVersion, AppVersion: m.AppVersion, Deprecated: m.Deprecated,
				Dependencies: m.Dependencies, Type: m.Type,
			}
			if len(m.Maintainers) > 0 {
				md.Maintainers = make([]*chart.Maintainer, len(m.Maintainers))
				for i, jm := range m.Maintainers {
					if jm != nil {
						md.Maintainers[i] = &scratch
					}
				}
			}
			cv = ChartVersion{Metadata: &md, URLs: je.URLs, Digest: je.Digest}
			if err := admit(&cv); err != nil {
				logSkip(log, name, md.Version, err)
				continue
			}
			vals = append(vals, Summary{
				Name: md.Name, Version: md.Version, AppVersion: md.AppVersion, Description: md.Description,
				Keywords: md.Keywords, URLs: cv.URLs, Digest: cv.Digest, Deprecated: md.Deprecated,
			})
		}
		c.Entries[name] = summaries(vals)
	}
	if c.APIVersion == "" {
		return nil, ErrNoAPIVersion
	}
	return c, nil
}

// summaries points into vals, sorted newest first; nil when empty.
func summaries(vals []Summary) []*Summary {
	if len(vals) == 0 {
		return nil
	}
	out := make([]*Summary, len(vals))
	for i := range vals {
		out[i] = &vals[i]
	}
	sortVersions(out, func(s *Summary) string { return s.Version })
	return out
}
