package lint

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/values"
)

var (
	crdHookSearch     = regexp.MustCompile(`"?helm\.sh/hook"?:\s+crd-install`)
	releaseTimeSearch = regexp.MustCompile(`\.Release\.Time`)
)

// object is the part of a rendered manifest the rules read. Kind and
// Metadata have no tags: encoding/json matches them case-insensitively,
// as Helm's struct does.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string
	Metadata   struct {
		Namespace string
		Name      string
	}
}

// templates renders the chart in lint mode, as Helm's rules.Templates,
// and checks each of the chart's own templates: extension, Helm 2 leftovers
// (crd-install hooks, .Release.Time) and, for .yaml files, the YAML,
// object names, deprecated APIs, workload selectors and List annotations.
//
// Unlike install it does not check kubeVersion or installability (a
// library chart lints), and `required` and `fail` only leave notes.
func (l *linter) templates(ctx context.Context, vals values.Values, opt Options, co values.Coalescer) {
	f := "templates/"
	if fi, err := os.Stat(filepath.Join(l.dir, f)); err == nil && !fi.IsDir() {
		l.run(Warning, f, errors.New("not a directory"))
		return
	}
	ch, err := chart.LoadDir(ctx, l.dir)
	if !l.run(Error, f, err) {
		return
	}
	caps := engine.DefaultCapabilities()
	if opt.KubeVersion != nil {
		caps.KubeVersion = *opt.KubeVersion
	}
	if vals == nil {
		vals = values.Values{}
	}
	// Helm lints import-values too, and stops silently where dependency
	// processing or coalescing fail (the other rules report why).
	if err := render.ProcessDependencies(ch, vals, co); err != nil {
		return
	}
	cvals, err := co.CoalesceValues(ch, vals)
	if err != nil {
		return
	}
	ns := opt.Namespace
	if ns == "" {
		ns = "default"
	}
	rel := render.ReleaseOptions{Name: "test-release", Namespace: ns, Revision: 1, IsInstall: true}
	top, err := render.ToRenderValues(ch, cvals, rel, caps, opt.SkipSchemaValidation, co)
	if err != nil {
		l.run(Error, f, err)
		return
	}
	e := engine.Engine{LintMode: true, Warn: opt.Notes}
	rendered, err := e.Render(ctx, ch, top)
	if !l.run(Error, f, err) {
		return
	}
	for _, t := range ch.Templates {
		name := t.Name
		l.run(Error, name, allowedExtension(name))
		l.run(Warning, name, noCRDHooks(t.Data))
		l.run(Error, name, noReleaseTime(t.Data))
		// Helm applies the rest to .yaml files only, not .yml.
		if filepath.Ext(name) != ".yaml" {
			continue
		}
		out := rendered[path.Join(ch.Name(), name)]
		if strings.TrimSpace(out) == "" {
			continue
		}
		l.run(Warning, name, topIndentLevel(out))
		if !l.manifests(name, out, opt.KubeVersion) {
			return
		}
	}
}

// manifests checks each document of one rendered template; false means
// the YAML is broken, which ends the templates rule as in Helm.
func (l *linter) manifests(name, out string, kv *engine.KubeVersion) bool {
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	for {
		var obj *object
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return true
		}
		if !l.run(Error, name, yamlContent(err)) {
			return false
		}
		if obj == nil {
			continue
		}
		// Warnings, not errors: charts serve clusters older than the
		// rules (Helm's reasoning, helm/helm#8596).
		l.run(Warning, name, metadataName(obj))
		l.run(Warning, name, noDeprecations(obj, kv))
		l.run(Error, name, matchSelector(obj, out))
		l.run(Error, name, listAnnotations(obj, out))
	}
}

func allowedExtension(name string) error {
	switch ext := filepath.Ext(name); ext {
	case ".yaml", ".yml", ".tpl", ".txt":
		return nil
	default:
		return fmt.Errorf("file extension '%s' not valid. Valid extensions are .yaml, .yml, .tpl, or .txt", ext)
	}
}

func noCRDHooks(data []byte) error {
	if crdHookSearch.Match(data) {
		return errors.New("manifest is a crd-install hook. This hook is no longer supported in v3 and all CRDs should also exist the crds/ directory at the top level of the chart")
	}
	return nil
}

func noReleaseTime(data []byte) error {
	if releaseTimeSearch.Match(data) {
		return errors.New(".Release.Time has been removed in v3, please replace with the `now` function in your templates")
	}
	return nil
}

// topIndentLevel: a document whose first line is indented parses
// differently depending on what normalises it (helm/helm#8467).
func topIndentLevel(content string) error {
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			return fmt.Errorf("document starts with an illegal indent: %q, which may cause parsing problems", line)
		}
		return nil
	}
	return sc.Err()
}

// matchSelector: a workload without a selector is refused by the API
// server (helm/helm#1990). Helm looks for the words anywhere in the file.
func matchSelector(obj *object, manifest string) error {
	switch obj.Kind {
	case "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet":
		if !strings.Contains(manifest, "matchLabels") && !strings.Contains(manifest, "matchExpressions") {
			return fmt.Errorf("a %s must contain matchLabels or matchExpressions, and %q does not", obj.Kind, obj.Metadata.Name)
		}
	}
	return nil
}

// listAnnotations: helm.sh/resource-policy has no effect on a List's items.
func listAnnotations(obj *object, manifest string) error {
	if obj.Kind != "List" {
		return nil
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(manifest), &list); err != nil {
		return yamlContent(err)
	}
	for _, i := range list.Items {
		if _, ok := i.Metadata.Annotations["helm.sh/resource-policy"]; ok {
			return errors.New("Annotation 'helm.sh/resource-policy' within List objects are ignored") //nolint:staticcheck // Helm's message
		}
	}
	return nil
}
