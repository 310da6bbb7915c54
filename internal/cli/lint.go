package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/values"
)

// Lint severities, printed as Helm prints them.
type severity int

const (
	sevInfo severity = iota + 1
	sevWarning
	sevError
)

func (s severity) String() string {
	return [...]string{"", "INFO", "WARNING", "ERROR"}[s]
}

type lintMessage struct {
	sev  severity
	path string
	err  error
}

func (m lintMessage) String() string { return fmt.Sprintf("[%s] %s: %s", m.sev, m.path, m.err) }

// Lint is `helm lint PATH...`. It runs the Chart.yaml, values and template
// rules of Helm's linter that matter most in practice (see the report for
// the rules not carried over).
type Lint struct {
	Env           *Env
	Paths         []string
	Strict        bool
	Quiet         bool
	WithSubcharts bool
	KubeVersion   string
	SkipSchema    bool
	Values        values.Options
}

// Run lints every path and prints Helm's report.
func (a *Lint) Run(ctx context.Context, out io.Writer) error {
	vals, err := a.Values.MergeValues(ctx, values.OSReader{Stdin: a.Env.In})
	if err != nil {
		return err
	}
	var kv *engine.KubeVersion
	if a.KubeVersion != "" {
		if kv, err = engine.ParseKubeVersion(a.KubeVersion); err != nil {
			return fmt.Errorf("invalid kube version '%s': %w", a.KubeVersion, err)
		}
	}
	paths := a.Paths
	if a.WithSubcharts {
		for _, p := range a.Paths {
			_ = filepath.Walk(filepath.Join(p, "charts"), func(path string, info os.FileInfo, _ error) error {
				if info != nil && (info.Name() == "Chart.yaml") {
					paths = append(paths, filepath.Dir(path))
				} else if strings.HasSuffix(path, ".tgz") || strings.HasSuffix(path, ".tar.gz") {
					paths = append(paths, path)
				}
				return nil
			})
		}
	}
	tolerance := sevError
	if a.Strict {
		tolerance = sevWarning
	}
	var msg strings.Builder
	failed, noisy := 0, 0
	for _, p := range paths {
		msgs, err := a.lintOne(ctx, p, vals, kv)
		bad := err != nil
		for _, m := range msgs {
			bad = bad || m.sev >= tolerance
		}
		loud := err != nil
		for _, m := range msgs {
			loud = loud || m.sev > sevInfo
		}
		if loud {
			noisy++
		}
		if a.Quiet && !loud {
			continue
		}
		fmt.Fprintf(&msg, "==> Linting %s\n", p)
		if err != nil && len(msgs) == 0 {
			fmt.Fprintf(&msg, "Error %s\n", err)
		}
		for _, m := range msgs {
			if !a.Quiet || m.sev > sevInfo {
				fmt.Fprintf(&msg, "%s\n", m)
			}
		}
		if bad {
			failed++
		}
		msg.WriteString("\n")
	}
	fmt.Fprint(out, msg.String())
	summary := fmt.Sprintf("%d chart(s) linted, %d chart(s) failed", len(paths), failed)
	if failed > 0 {
		return errors.New(summary)
	}
	if !a.Quiet || noisy > 0 {
		fmt.Fprintln(out, summary)
	}
	return nil
}

func (a *Lint) lintOne(ctx context.Context, p string, vals values.Values, kv *engine.KubeVersion) ([]lintMessage, error) {
	dir := p
	if strings.HasSuffix(p, ".tgz") || strings.HasSuffix(p, ".tar.gz") {
		tmp, err := os.MkdirTemp("", "helm-lint")
		if err != nil {
			return nil, fmt.Errorf("unable to create temp dir to extract tarball: %w", err)
		}
		defer os.RemoveAll(tmp)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("unable to open tarball: %w", err)
		}
		if err := chart.Expand(ctx, tmp, bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("unable to extract tarball: %w", err)
		}
		entries, err := os.ReadDir(tmp)
		if err != nil || len(entries) == 0 || !entries[0].IsDir() {
			return nil, fmt.Errorf("unable to extract tarball: no chart directory in %s", p)
		}
		dir = filepath.Join(tmp, entries[0].Name())
	}
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		return nil, fmt.Errorf("unable to check Chart.yaml file in chart: %w", err)
	}
	var msgs []lintMessage
	add := func(sev severity, path string, err error) bool {
		if err != nil {
			msgs = append(msgs, lintMessage{sev, path, err})
		}
		return err == nil
	}
	lintChartfile(dir, add)
	lintValues(dir, vals, add)
	a.lintTemplates(ctx, dir, vals, kv, add)
	lintDependencies(ctx, dir, add)
	return msgs, nil
}

// lintDependencies compares Chart.yaml's dependencies with charts/.
func lintDependencies(ctx context.Context, dir string, add func(severity, string, error) bool) {
	c, err := chart.LoadDir(ctx, dir)
	if err != nil {
		add(sevError, "", fmt.Errorf("unable to load chart\n\t%w", err))
		return
	}
	declared, present := map[string]bool{}, map[string]bool{}
	for _, d := range c.Metadata.Dependencies {
		declared[d.Name] = true
	}
	var notDeclared, notPresent, shadowed []string
	for _, d := range c.Dependencies() {
		present[d.Name()] = true
		if !declared[d.Name()] {
			notDeclared = append(notDeclared, d.Name())
		}
	}
	seen := map[string]bool{}
	for _, d := range c.Metadata.Dependencies {
		if !present[d.Name] {
			notPresent = append(notPresent, d.Name)
		}
		key := d.Name
		if d.Alias != "" {
			key = d.Alias
		}
		if seen[key] {
			shadowed = append(shadowed, key)
		}
		seen[key] = true
	}
	if len(notDeclared) > 0 {
		add(sevError, dir, fmt.Errorf("chart metadata is missing these dependencies: %s", strings.Join(notDeclared, ",")))
	}
	if len(shadowed) > 0 {
		add(sevError, dir, fmt.Errorf("multiple dependencies with name or alias: %s", strings.Join(shadowed, ",")))
	}
	if len(notPresent) > 0 {
		add(sevWarning, dir, fmt.Errorf("chart directory is missing these dependencies: %s", strings.Join(notPresent, ",")))
	}
}

var (
	chartNameRule = regexp.MustCompile(`^[a-z0-9]+(?:[-.][a-z0-9]+)*$|^[A-Za-z0-9_.-]+$`)
)

func lintChartfile(dir string, add func(severity, string, error) bool) {
	const f = "Chart.yaml"
	p := filepath.Join(dir, f)
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		add(sevError, f, errors.New("should be a file, not a directory"))
		return
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		add(sevError, f, fmt.Errorf("unable to parse YAML\n\t%w", err))
		return
	}
	md := &chart.Metadata{}
	if err := yaml.Unmarshal(raw, md); err != nil {
		add(sevError, f, fmt.Errorf("unable to parse YAML\n\t%w", err))
		return
	}
	var typed map[string]interface{}
	_ = yaml.Unmarshal(raw, &typed)
	if md.Name == "" {
		add(sevError, f, errors.New("name is required"))
	} else if !chartNameRule.MatchString(md.Name) || strings.ContainsAny(md.Name, "/\\") {
		add(sevError, f, fmt.Errorf("chart name %q is invalid", md.Name))
	}
	switch md.APIVersion {
	case "":
		add(sevError, f, errors.New(`apiVersion is required. The value must be either "v1" or "v2"`))
	case chart.APIVersionV1, chart.APIVersionV2:
	default:
		add(sevError, f, fmt.Errorf(`apiVersion '%s' is not valid. The value must be either "v1" or "v2"`, md.APIVersion))
	}
	for _, key := range []string{"version", "appVersion"} {
		if v, ok := typed[key]; ok && v != nil {
			if _, isString := v.(string); !isString {
				add(sevError, f, fmt.Errorf("%s should be of type string but it's of type %T", key, v))
			}
		}
	}
	if md.Version == "" {
		add(sevError, f, errors.New("version is required"))
	} else if _, err := semver.NewVersion(md.Version); err != nil {
		add(sevError, f, fmt.Errorf("version '%s' is not a valid SemVer", md.Version))
	}
	for _, m := range md.Maintainers {
		switch {
		case m == nil:
			add(sevError, f, errors.New("a maintainer entry is empty"))
		case m.Name == "":
			add(sevError, f, errors.New("each maintainer requires a name"))
		case m.Email != "" && !validEmail(m.Email):
			add(sevError, f, fmt.Errorf("invalid email '%s' for maintainer '%s'", m.Email, m.Name))
		case m.URL != "" && !validURL(m.URL):
			add(sevError, f, fmt.Errorf("invalid url '%s' for maintainer '%s'", m.URL, m.Name))
		}
	}
	for _, s := range md.Sources {
		if s == "" || !validURL(s) {
			add(sevError, f, fmt.Errorf("invalid source URL '%s'", s))
		}
	}
	if md.Icon == "" {
		add(sevInfo, f, errors.New("icon is recommended"))
	} else if !validURL(md.Icon) {
		add(sevError, f, fmt.Errorf("invalid icon URL '%s'", md.Icon))
	}
	if md.APIVersion == chart.APIVersionV1 {
		if md.Type != "" {
			add(sevError, f, fmt.Errorf("chart type is not valid in apiVersion '%s'. It is valid in apiVersion '%s'", md.APIVersion, chart.APIVersionV2))
		}
		if len(md.Dependencies) > 0 {
			add(sevError, f, fmt.Errorf("dependencies are not valid in the Chart file with apiVersion '%s'. They are valid in apiVersion '%s'", md.APIVersion, chart.APIVersionV2))
		}
	}
}

func validEmail(s string) bool { _, err := mail.ParseAddress(s); return err == nil }

func validURL(s string) bool {
	u, err := url.ParseRequestURI(s)
	return err == nil && u.Scheme != ""
}

func lintValues(dir string, overrides values.Values, add func(severity, string, error) bool) {
	const f = "values.yaml"
	p := filepath.Join(dir, f)
	if _, err := os.Stat(p); err != nil {
		add(sevInfo, f, errors.New("file does not exist"))
		return
	}
	vals, err := values.ReadValuesFile(p)
	if err != nil {
		add(sevError, f, fmt.Errorf("unable to parse YAML: %w", err))
		return
	}
	schema, _ := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if len(schema) == 0 {
		return
	}
	merged := values.CoalesceTables(values.CoalesceTables(map[string]interface{}{}, overrides), vals)
	add(sevError, f, values.ValidateAgainstSingleSchema(merged, schema))
}

var allowedTemplateExt = map[string]bool{".yaml": true, ".yml": true, ".tpl": true, ".txt": true}

func (a *Lint) lintTemplates(ctx context.Context, dir string, vals values.Values, kv *engine.KubeVersion, add func(severity, string, error) bool) {
	const f = "templates/"
	tdir := filepath.Join(dir, "templates")
	if fi, err := os.Stat(tdir); err == nil && !fi.IsDir() {
		add(sevWarning, f, errors.New("not a directory"))
		return
	} else if err != nil {
		return
	}
	ch, err := chart.LoadDir(ctx, dir)
	if !add(sevError, f, err) {
		return
	}
	res, err := render.Template(ctx, ch, vals, render.Options{
		ReleaseName: "test-release", Namespace: a.Env.Settings.NamespaceOrDefault(), KubeVersion: kv, SkipSchemaValidation: a.SkipSchema,
	})
	if err != nil {
		// Helm lints templates even when declared subcharts are absent
		// (the dependency rule reports that); our renderer refuses, so
		// those templates go unchecked here.
		var re *render.RenderError
		if errors.As(err, &re) || !errors.Is(err, render.ErrMissingDependencies) {
			add(sevError, f, err)
		}
		return
	}
	for _, t := range ch.Templates {
		name := t.Name
		if ext := filepath.Ext(name); !allowedTemplateExt[ext] {
			add(sevError, name, fmt.Errorf("file extension '%s' not valid. Valid extensions are .yaml, .yml, .tpl, or .txt", ext))
		}
		if bytes.Contains(t.Data, []byte(".Release.Time")) {
			add(sevError, name, errors.New(".Release.Time has been removed in v3, please replace with the `now` function in your templates"))
		}
		rendered, ok := res.Files[filepath.ToSlash(filepath.Join(ch.Name(), name))]
		if !ok || strings.TrimSpace(rendered) == "" || filepath.Ext(name) != ".yaml" {
			continue
		}
		for _, doc := range splitDocs(rendered) {
			var m map[string]interface{}
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				add(sevError, name, fmt.Errorf("unable to parse YAML: %w", err))
				break
			}
		}
	}
}

func newLintCmd(env *Env) *cobra.Command {
	a := &Lint{Env: env}
	cmd := &cobra.Command{
		Use:   "lint PATH",
		Short: "examine a chart for possible issues",
		Long:  "\nThis command takes a path to a chart and runs a series of tests to verify that\nthe chart is well-formed.\n\nIf the linter encounters things that will cause the chart to fail installation,\nit will emit [ERROR] messages. If it encounters issues that break with convention\nor recommendation, it will emit [WARNING] messages.\n",
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Paths = []string{"."}
			if len(args) > 0 {
				a.Paths = args
			}
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.Strict, "strict", false, "fail on lint warnings")
	f.BoolVar(&a.WithSubcharts, "with-subcharts", false, "lint dependent charts")
	f.BoolVar(&a.Quiet, "quiet", false, "print only warnings and errors")
	f.BoolVar(&a.SkipSchema, "skip-schema-validation", false, "if set, disables JSON schema validation")
	f.StringVar(&a.KubeVersion, "kube-version", "", "Kubernetes version used for capabilities and deprecation checks")
	addValueFlags(cmd, &a.Values)
	return cmd
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitDocs splits rendered YAML into documents.
func splitDocs(s string) []string {
	var out []string
	for _, d := range docSep.Split(s, -1) {
		if strings.TrimSpace(d) != "" {
			out = append(out, d)
		}
	}
	return out
}
