package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/chartd/chartd/chart"
)

// crds checks the files of crds/, as Helm 4's rules.Crds: each must be
// plain YAML (not a template) holding CustomResourceDefinitions of
// apiextensions.k8s.io. Helm 3 has no such rule.
func (l *linter) crds(ctx context.Context) {
	f := "crds/"
	p := filepath.Join(l.dir, f)
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if !l.run(Error, f, err) {
		return
	}
	c, err := chart.LoadDir(ctx, l.dir)
	if !l.run(Error, f, err) {
		return
	}
	for _, file := range crdFiles(c) {
		dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(file.Data), 4096)
		for {
			var obj *object
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			if !l.run(Error, file.Name, yamlContent(err)) {
				return
			}
			if obj == nil {
				continue
			}
			if !strings.HasPrefix(obj.APIVersion, "apiextensions.k8s.io") {
				l.run(Error, file.Name, errors.New("apiVersion is not in 'apiextensions.k8s.io'"))
			}
			if obj.Kind != "CustomResourceDefinition" {
				l.run(Error, file.Name, errors.New("object kind is not 'CustomResourceDefinition'"))
			}
		}
	}
}

// crdFiles are the crds/ manifests of the chart and its subcharts,
// parent first, as Helm's CRDObjects lists them.
func crdFiles(c *chart.Chart) []*chart.File {
	var out []*chart.File
	for _, f := range c.Files {
		if strings.HasPrefix(f.Name, "crds/") && hasManifestExt(f.Name) {
			out = append(out, f)
		}
	}
	for _, d := range c.Dependencies() {
		out = append(out, crdFiles(d)...)
	}
	return out
}

func hasManifestExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func yamlContent(err error) error {
	if err != nil {
		return fmt.Errorf("unable to parse YAML: %w", err)
	}
	return nil
}
