// Package render is the client-side pipeline behind `helm template` and
// `helm install --dry-run`: dependency processing, render values, schema
// validation, template rendering, manifest sorting and Helm's exact stdout.
//
// Typical use by the CLI:
//
//	vals, err := valueOpts.MergeValues(ctx, nil)       // -f/--set...
//	ch, err := chart.Load(ctx, path)
//	res, err := render.Template(ctx, ch, vals, render.Options{ReleaseName: render.TemplateReleaseName})
//	if err != nil {
//		return render.TemplateCommandError(err)     // Helm's wording for `template`
//	}
//	err = render.Print(os.Stdout, res, render.PrintOptions{ShowOnly: showOnly})
package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/internal/render/releaseutil"
	"github.com/chartd/chartd/values"
)

// Sentinel errors; the messages match Helm's where Helm has one.
var (
	// ErrNotInstallable: the chart's type is neither application nor empty.
	ErrNotInstallable = errors.New("charts are not installable")
	// ErrMissingDependencies: Chart.yaml names subcharts absent from charts/.
	ErrMissingDependencies = errors.New("found in Chart.yaml, but missing in charts/ directory")
	// ErrKubeVersion: the chart's kubeVersion excludes the target cluster.
	ErrKubeVersion = errors.New("chart requires a different Kubernetes version")
	// ErrTemplateNotFound: --show-only named no rendered template.
	ErrTemplateNotFound = errors.New("could not find template")
	// ErrReleaseName: the release name is empty or not a valid name.
	ErrReleaseName = errors.New("invalid release name")
)

// releaseNameRE is Helm's rule for release names (DNS-1123 subdomain-like),
// which must also be at most 53 characters.
var releaseNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// ValidateReleaseName checks a release name with Helm's rules and message.
func ValidateReleaseName(name string) error {
	switch {
	case name == "":
		return &releaseNameError{name: name, msg: "no name provided"}
	case len(name) > 53 || !releaseNameRE.MatchString(name):
		return &releaseNameError{name: name, msg: "invalid release name, must match regex " + releaseNameRE.String() + " and the length must not be longer than 53"}
	}
	return nil
}

type releaseNameError struct{ name, msg string }

func (e *releaseNameError) Error() string { return fmt.Sprintf("release name %q: %s", e.name, e.msg) }

func (e *releaseNameError) Is(target error) bool { return target == ErrReleaseName }

// TemplateReleaseName is the release name `helm template` uses when none
// is given.
const TemplateReleaseName = "release-name"

// notesSuffix names the file whose rendering becomes the release notes.
const notesSuffix = "NOTES.txt"

// Options configure a render. Apart from ReleaseName, which is required
// (`helm template` uses "release-name"), the zero value renders like
// `helm template` without flags; Namespace defaults to "default".
type Options struct {
	ReleaseName string
	Namespace   string
	// Revision is .Release.Revision; 0 means 1.
	Revision int
	// IsUpgrade sets .Release.IsUpgrade instead of .Release.IsInstall
	// (helm template --is-upgrade).
	IsUpgrade bool

	// Capabilities replaces the defaults of helm template (Kubernetes
	// v1.37.0, Helm 3.22's API version list); install against a cluster
	// passes the cluster's. KubeVersion and APIVersions apply on top.
	Capabilities *engine.Capabilities
	// KubeVersion is --kube-version (parse it with engine.ParseKubeVersion).
	KubeVersion *engine.KubeVersion
	// APIVersions are --api-versions, added to the list.
	APIVersions []string

	// Strict fails on references to missing values.
	Strict bool
	// SkipSchemaValidation is --skip-schema-validation.
	SkipSchemaValidation bool
	// SubNotes includes subcharts' NOTES.txt in Result.Notes.
	SubNotes bool
	// EnableDNS lets getHostByName resolve (--enable-dns).
	EnableDNS bool
	// Lookup backs the lookup function; nil renders without a cluster.
	Lookup engine.Lookup
	// Coalesce receives the conflicts met while coalescing values, which
	// Helm logs on stderr; nil drops them.
	Coalesce values.WarnFunc
	// SkippedHook receives the helm.sh/hook annotation of each document
	// dropped for naming an unknown hook, which Helm logs too.
	SkippedHook func(hookTypes string)
}

// Result is a rendered release.
type Result struct {
	// Chart is the processed chart tree (aliases applied, disabled
	// subcharts removed); the caller's chart is not modified.
	Chart *chart.Chart
	// Values are the render values: Values, Release, Chart, Capabilities.
	Values values.Values
	// Manifests are the non-hook documents in install order.
	Manifests []releaseutil.Manifest
	// Hooks are the hook documents in install order (by kind only).
	Hooks []*releaseutil.Hook
	// CRDs are the files of crds/ directories, parent chart first.
	CRDs []CRD
	// Notes is the rendered NOTES.txt (plus subcharts' with SubNotes).
	Notes string
	// Files are the rendered templates by name, partials and NOTES.txt
	// excluded (what `helm template --debug` dumps when the output is not
	// valid YAML).
	Files map[string]string

	// postRendered replaces the manifest once PostRender ran.
	postRendered *string
}

// CRD is a file from a chart's crds/ directory.
type CRD struct {
	// Filename is its path in the tree, e.g. "mychart/charts/sub/crds/a.yaml".
	Filename string
	Data     []byte
}

// RenderError marks failures of the render phase proper (kubeVersion,
// templates, YAML of the output). Helm reports those with a release
// attached, which `helm template` turns into an extra hint; see
// TemplateCommandError.
type RenderError struct{ Err error }

func (e *RenderError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *RenderError) Unwrap() error { return e.Err }

// TemplateCommandError returns err as `helm template` (without --debug)
// reports it: render-phase failures get "\n\nUse --debug flag to render out
// invalid YAML" appended. Other errors are returned unchanged.
func TemplateCommandError(err error) error {
	var re *RenderError
	if errors.As(err, &re) {
		return fmt.Errorf("%w\n\nUse --debug flag to render out invalid YAML", err)
	}
	return err
}

// Template renders a chart as `helm template` and `helm install
// --dry-run` do, given the user's merged values (values.Options.MergeValues).
// Steps, in Helm's order: installability, declared dependencies present,
// release name, dependency processing (conditions, tags, aliases,
// import-values), render values and schema validation, kubeVersion check,
// rendering, NOTES extraction, sorting into hooks and manifests.
//
// Errors carry Helm's messages. Failures of the last three steps are
// *RenderError and come with the partial Result (Files is set when the
// templates rendered but their output is not valid YAML).
func Template(ctx context.Context, ch *chart.Chart, vals values.Values, opt Options) (*Result, error) {
	if ch == nil || ch.Metadata == nil {
		return nil, errors.New("chart has no metadata")
	}
	switch ch.Metadata.Type {
	case "", "application":
	default:
		return nil, fmt.Errorf("%s %w", ch.Metadata.Type, ErrNotInstallable)
	}
	if err := MissingDependencies(ch); err != nil {
		return nil, err
	}
	if err := ValidateReleaseName(opt.ReleaseName); err != nil {
		return nil, err
	}
	ch = copyTree(ch)
	if vals == nil {
		vals = values.Values{}
	}
	co := values.Coalescer{Warn: opt.Coalesce}
	if err := ProcessDependencies(ch, vals, co); err != nil {
		return nil, err
	}
	caps := capabilities(opt)
	top, err := ToRenderValues(ch, vals, releaseOptions(opt), caps, opt.SkipSchemaValidation, co)
	if err != nil {
		return nil, err
	}
	res := &Result{Chart: ch, Values: top}
	if err := res.render(ctx, ch, top, caps, opt); err != nil {
		return res, &RenderError{Err: err}
	}
	return res, nil
}

// MissingDependencies reports, with Helm's advice, the dependencies ch
// declares that its charts/ lacks; nil when all are there.
func MissingDependencies(ch *chart.Chart) error {
	if ch.Metadata.Dependencies == nil {
		return nil
	}
	if err := CheckDependencies(ch); err != nil {
		return fmt.Errorf("An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: %w", err) //nolint:staticcheck // Helm's message
	}
	return nil
}

func (res *Result) render(ctx context.Context, ch *chart.Chart, top values.Values, caps *engine.Capabilities, opt Options) error {
	if kv := ch.Metadata.KubeVersion; kv != "" && !IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return &KubeVersionError{Constraint: kv, Version: caps.KubeVersion.String()}
	}
	e := engine.Engine{Strict: opt.Strict, EnableDNS: opt.EnableDNS, Lookup: opt.Lookup}
	files, err := e.Render(ctx, ch, top)
	if err != nil {
		return err
	}
	// NOTES.txt files are rendered like templates but are neither
	// resources nor hooks.
	var notes strings.Builder
	for _, k := range sortedKeys(files) {
		if !strings.HasSuffix(k, notesSuffix) {
			continue
		}
		if opt.SubNotes || k == path.Join(ch.Name(), "templates", notesSuffix) {
			if notes.Len() > 0 {
				notes.WriteString("\n")
			}
			notes.WriteString(files[k])
		}
		delete(files, k)
	}
	res.Notes = notes.String()
	res.Files = files
	res.CRDs = crdObjects(ch)
	res.Hooks, res.Manifests, err = releaseutil.SortManifestsFunc(files, releaseutil.InstallOrder(), opt.SkippedHook)
	return err
}

// KubeVersionError is a failed kubeVersion constraint, with Helm's message.
type KubeVersionError struct {
	Constraint string // the chart's kubeVersion
	Version    string // the target Kubernetes version
}

func (e *KubeVersionError) Error() string {
	return fmt.Sprintf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", e.Constraint, e.Version)
}

// Is makes errors.Is(err, ErrKubeVersion) true.
func (e *KubeVersionError) Is(target error) bool { return target == ErrKubeVersion }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// crdObjects lists crds/*.yaml|yml|json of the tree, parent first.
func crdObjects(c *chart.Chart) []CRD {
	var out []CRD
	for _, f := range c.Files {
		if strings.HasPrefix(f.Name, "crds/") && hasManifestExt(f.Name) {
			out = append(out, CRD{Filename: filepath.Join(c.ChartFullPath(), f.Name), Data: f.Data})
		}
	}
	for _, d := range c.Dependencies() {
		out = append(out, crdObjects(d)...)
	}
	return out
}

func hasManifestExt(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml" || ext == ".json"
}

func capabilities(opt Options) *engine.Capabilities {
	base := opt.Capabilities
	if base == nil {
		base = engine.DefaultCapabilities()
	}
	caps := base.Copy()
	if opt.KubeVersion != nil {
		caps.KubeVersion = *opt.KubeVersion
	}
	caps.APIVersions = append(caps.APIVersions, opt.APIVersions...)
	return caps
}

// ReleaseOptions are the fields of .Release.
type ReleaseOptions struct {
	Name      string
	Namespace string
	Revision  int
	IsUpgrade bool
	IsInstall bool
}

func releaseOptions(opt Options) ReleaseOptions {
	r := ReleaseOptions{
		Name: opt.ReleaseName, Namespace: opt.Namespace, Revision: opt.Revision,
		IsUpgrade: opt.IsUpgrade, IsInstall: !opt.IsUpgrade,
	}
	if r.Namespace == "" {
		r.Namespace = "default"
	}
	if r.Revision == 0 {
		r.Revision = 1
	}
	return r
}

// ToRenderValues builds the top-level template data: .Values (user values
// coalesced with the chart tree's defaults, validated against the
// schemas unless skipSchema), .Release, .Chart and .Capabilities.
func ToRenderValues(ch *chart.Chart, vals map[string]interface{}, rel ReleaseOptions, caps *engine.Capabilities, skipSchema bool, co values.Coalescer) (values.Values, error) {
	if caps == nil {
		caps = engine.DefaultCapabilities()
	}
	top := values.Values{
		"Chart":        ch.Metadata,
		"Capabilities": caps,
		"Release": map[string]interface{}{
			"Name":      rel.Name,
			"Namespace": rel.Namespace,
			"IsUpgrade": rel.IsUpgrade,
			"IsInstall": rel.IsInstall,
			"Revision":  rel.Revision,
			"Service":   "Helm",
		},
	}
	vs, err := co.CoalesceValues(ch, vals)
	if err != nil {
		return top, err
	}
	if !skipSchema {
		if err := values.ValidateAgainstSchema(ch, vs); err != nil {
			return top, fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%w", err)
		}
	}
	top["Values"] = vs
	return top, nil
}
