// Package lint examines a chart for problems the way `helm lint` does:
// the same rules, in the same order, with the same messages, so that a
// pipeline matching on Helm's report reads ours alike. The rules are split
// by file as Helm's pkg/lint/rules are: chartfile, values, templates (with
// names and deprecations), dependencies and Helm 4's crds.
//
// The package reports; printing the report and deciding the exit code are
// the command's business (see Result.Failed).
package lint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/values"
)

// Severity ranks a message; the names print as Helm prints them.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota + 1
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "INFO"
	case Warning:
		return "WARNING"
	case Error:
		return "ERROR"
	}
	return "UNKNOWN"
}

// Message is one finding: a rule failed for a file (or directory) of the
// chart.
type Message struct {
	Severity Severity
	// Path is relative to the chart ("Chart.yaml", "templates/",
	// "templates/cm.yaml"), except for the dependency rules, which name the
	// chart's absolute directory as Helm does.
	Path string
	Err  error
}

// String is Helm's line: "[SEVERITY] path: message".
func (m Message) String() string { return fmt.Sprintf("[%s] %s: %s", m.Severity, m.Path, m.Err) }

// Options configure a lint run. The zero value lints as `helm lint`
// without flags, except that Namespace should be set to the command's
// namespace ("default" when empty).
type Options struct {
	Namespace string
	// KubeVersion is --kube-version: the version the deprecation rule
	// checks against and .Capabilities.KubeVersion. Nil means the
	// client's default (engine.DefaultCapabilities).
	KubeVersion *engine.KubeVersion
	// SkipSchemaValidation is --skip-schema-validation.
	SkipSchemaValidation bool
	// CRDs runs Helm 4's rule on crds/ (Helm 3 has none).
	CRDs bool
	// Notes receives what `required` and `fail` would have failed with;
	// Helm logs those on stderr. Nil drops them.
	Notes engine.Warner
	// Coalesce receives the value conflicts coalescing resolved by
	// dropping a value; Helm logs those on stderr too. Nil drops them.
	Coalesce values.WarnFunc
}

// Result is the outcome of linting one path.
type Result struct {
	Messages []Message
	// Err is set when the path could not be linted at all (not a chart,
	// an unreadable archive); Messages is then empty.
	Err error
}

// Failed reports whether the chart fails: it could not be linted, or a
// message is an error (with strict, a warning).
func (r Result) Failed(strict bool) bool {
	tolerance := Error
	if strict {
		tolerance = Warning
	}
	if r.Err != nil {
		return true
	}
	for _, m := range r.Messages {
		if m.Severity >= tolerance {
			return true
		}
	}
	return false
}

// Noisy reports whether there is anything above INFO to show: what
// --quiet still prints.
func (r Result) Noisy(strict bool) bool {
	if r.Failed(strict) {
		return true
	}
	for _, m := range r.Messages {
		if m.Severity > Info {
			return true
		}
	}
	return false
}

// Path lints the chart at path, a directory or a .tgz/.tar.gz archive,
// with the user's values.
func Path(ctx context.Context, path string, vals values.Values, opt Options) Result {
	dir := path
	if strings.HasSuffix(path, ".tgz") || strings.HasSuffix(path, ".tar.gz") {
		tmp, err := os.MkdirTemp("", "helm-lint")
		if err != nil {
			return Result{Err: fmt.Errorf("unable to create temp dir to extract tarball: %w", err)}
		}
		defer os.RemoveAll(tmp)
		if dir, err = expand(ctx, path, tmp); err != nil {
			return Result{Err: err}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		return Result{Err: fmt.Errorf("unable to check Chart.yaml file in chart: %w", err)}
	}
	return Result{Messages: Dir(ctx, dir, vals, opt)}
}

func expand(ctx context.Context, archive, tmp string) (string, error) {
	data, err := os.ReadFile(archive)
	if err != nil {
		return "", fmt.Errorf("unable to open tarball: %w", err)
	}
	if err := chart.Expand(ctx, tmp, bytes.NewReader(data)); err != nil {
		return "", fmt.Errorf("unable to extract tarball: %w", err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return "", fmt.Errorf("unable to read temporary output directory %s: %w", tmp, err)
	}
	if len(entries) == 0 {
		return "", fmt.Errorf("unable to extract tarball: %w", errors.New("no files in archive"))
	}
	if !entries[0].IsDir() {
		return "", fmt.Errorf("unexpected file %s in temporary output directory %s", entries[0].Name(), tmp)
	}
	return filepath.Join(tmp, entries[0].Name()), nil
}

// Dir runs every rule on an unpacked chart directory, in Helm's order.
func Dir(ctx context.Context, dir string, vals values.Values, opt Options) []Message {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	l := &linter{dir: abs}
	co := values.Coalescer{Warn: opt.Coalesce}
	l.chartfile()
	l.values(vals, co)
	l.templates(ctx, vals, opt, co)
	l.dependencies(ctx)
	if opt.CRDs {
		l.crds(ctx)
	}
	return l.msgs
}

// linter collects the messages of one chart's rules.
type linter struct {
	dir  string
	msgs []Message
}

// run records err, if any, and reports whether the rule passed.
func (l *linter) run(sev Severity, path string, err error) bool {
	if err != nil {
		l.msgs = append(l.msgs, Message{Severity: sev, Path: path, Err: err})
	}
	return err == nil
}
