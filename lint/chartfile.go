package lint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/Masterminds/semver/v3"
	"github.com/asaskevich/govalidator"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
)

// chartfile checks Chart.yaml, as Helm's rules.Chartfile: the name,
// apiVersion and version (and their YAML types), maintainers, sources and
// icon, and the fields apiVersion v1 does not allow.
func (l *linter) chartfile() {
	const f = "Chart.yaml"
	p := filepath.Join(l.dir, f)
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		l.run(Error, f, errors.New("should be a file, not a directory"))
	}
	raw, err := os.ReadFile(p)
	md := &chart.Metadata{}
	if err == nil {
		err = yaml.Unmarshal(raw, md)
	}
	if !l.run(Error, f, chartYAMLFormat(err)) {
		return
	}
	// The same file untyped, to see which scalars YAML typed as numbers;
	// a parse error was reported above.
	var untyped map[string]interface{}
	_ = yaml.Unmarshal(raw, &untyped)

	l.run(Error, f, chartName(md))
	l.run(Error, f, chartAPIVersion(md))
	l.run(Error, f, isString(untyped, "version"))
	l.run(Error, f, chartVersion(md))
	l.run(Error, f, isString(untyped, "appVersion"))
	l.run(Error, f, chartMaintainers(md))
	l.run(Error, f, chartSources(md))
	l.run(Info, f, chartIconPresent(md))
	l.run(Error, f, chartIconURL(md))
	l.run(Error, f, chartType(md))
	l.run(Error, f, chartDependencies(md))
}

func chartYAMLFormat(err error) error {
	if err != nil {
		return fmt.Errorf("unable to parse YAML\n\t%w", err)
	}
	return nil
}

func chartName(md *chart.Metadata) error {
	if md.Name == "" {
		return errors.New("name is required")
	}
	if filepath.Base(md.Name) != md.Name {
		return fmt.Errorf("chart name %q is invalid", md.Name)
	}
	return nil
}

func chartAPIVersion(md *chart.Metadata) error {
	switch md.APIVersion {
	case "":
		return errors.New(`apiVersion is required. The value must be either "v1" or "v2"`)
	case chart.APIVersionV1, chart.APIVersionV2:
		return nil
	}
	return fmt.Errorf(`apiVersion '%s' is not valid. The value must be either "v1" or "v2"`, md.APIVersion)
}

// isString checks that key, when present, is a YAML string: an unquoted
// 1.10 reads as the number 1.1.
func isString(data map[string]interface{}, key string) error {
	v, ok := data[key]
	if !ok {
		return nil
	}
	if t := fmt.Sprintf("%T", v); t != "string" {
		return fmt.Errorf("%s should be of type string but it's of type %s", key, t)
	}
	return nil
}

func chartVersion(md *chart.Metadata) error {
	if md.Version == "" {
		return errors.New("version is required")
	}
	v, err := semver.NewVersion(md.Version)
	if err != nil {
		return fmt.Errorf("version '%s' is not a valid SemVer", md.Version)
	}
	c, err := semver.NewConstraint(">0.0.0-0")
	if err != nil {
		return err
	}
	if ok, msgs := c.Validate(v); !ok && len(msgs) > 0 {
		return fmt.Errorf("version %v", msgs[0])
	}
	return nil
}

// chartMaintainers reports the first bad maintainer only, as Helm does.
func chartMaintainers(md *chart.Metadata) error {
	for _, m := range md.Maintainers {
		switch {
		case m == nil:
			return errors.New("a maintainer entry is empty")
		case m.Name == "":
			return errors.New("each maintainer requires a name")
		case m.Email != "" && !govalidator.IsEmail(m.Email):
			return fmt.Errorf("invalid email '%s' for maintainer '%s'", m.Email, m.Name)
		case m.URL != "" && !govalidator.IsURL(m.URL):
			return fmt.Errorf("invalid url '%s' for maintainer '%s'", m.URL, m.Name)
		}
	}
	return nil
}

func chartSources(md *chart.Metadata) error {
	for _, s := range md.Sources {
		if s == "" || !govalidator.IsRequestURL(s) {
			return fmt.Errorf("invalid source URL '%s'", s)
		}
	}
	return nil
}

func chartIconPresent(md *chart.Metadata) error {
	if md.Icon == "" {
		return errors.New("icon is recommended")
	}
	return nil
}

func chartIconURL(md *chart.Metadata) error {
	if md.Icon != "" && !govalidator.IsRequestURL(md.Icon) {
		return fmt.Errorf("invalid icon URL '%s'", md.Icon)
	}
	return nil
}

func chartType(md *chart.Metadata) error {
	if md.Type != "" && md.APIVersion != chart.APIVersionV2 {
		return fmt.Errorf("chart type is not valid in apiVersion '%s'. It is valid in apiVersion '%s'", md.APIVersion, chart.APIVersionV2)
	}
	return nil
}

func chartDependencies(md *chart.Metadata) error {
	if len(md.Dependencies) > 0 && md.APIVersion != chart.APIVersionV2 {
		return fmt.Errorf("dependencies are not valid in the Chart file with apiVersion '%s'. They are valid in apiVersion '%s'", md.APIVersion, chart.APIVersionV2)
	}
	return nil
}
