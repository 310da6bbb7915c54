// Package engine renders chart templates the way Helm 3's engine does:
// Go text/template with Helm's function map, one template namespace for the
// whole chart tree (so subcharts can include their parents' and each
// other's named templates), per-chart value scoping and Helm's error
// messages.
package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/values"
)

// Lookup fetches objects from a cluster for the lookup template function.
// name "" lists. A not-found object must be returned as an empty map.
type Lookup interface {
	Lookup(ctx context.Context, apiVersion, kind, namespace, name string) (map[string]interface{}, error)
}

// Warner receives the messages Helm logs while rendering in lint mode.
type Warner interface {
	Warn(n LintNote)
}

// LintNoteKind tells which lint-mode branch of required or fail spoke.
// Helm logs each from its own source line, and users' scripts see that
// line in the prefix, so the kinds are kept apart.
type LintNoteKind int

// The lint-mode notes.
const (
	NoteRequiredNil   LintNoteKind = iota + 1 // required got nil
	NoteRequiredEmpty                         // required got ""
	NoteFail                                  // fail was called
)

// LintNote is a required or fail call that lint mode let pass.
type LintNote struct {
	Kind LintNoteKind
	// Text is the message given to required or fail.
	Text string
}

// String is the message as Helm logs it (without its log prefix).
func (n LintNote) String() string {
	if n.Kind == NoteFail {
		return "[INFO] Fail: " + n.Text
	}
	return "[INFO] Missing required value: " + n.Text
}

// Engine renders templates. The zero value renders like `helm template`:
// no cluster (lookup returns empty maps), no DNS, missing keys print as "".
type Engine struct {
	// Strict makes a reference to a missing value an error.
	Strict bool
	// LintMode makes required and fail log instead of failing.
	LintMode bool
	// EnableDNS lets getHostByName resolve names; otherwise it returns "".
	EnableDNS bool
	// Lookup backs the lookup function; nil means no cluster.
	Lookup Lookup
	// Warn receives lint-mode messages; nil discards them.
	Warn Warner
}

// recursionMaxNums bounds how often one named template may be included
// within itself, so runaway recursion ends with an error, not a crash.
const recursionMaxNums = 1000

// required and fail wrap their messages in these markers so that the
// message can be recovered intact from text/template's wrapped errors.
const (
	warnStart = "HELM_ERR_START"
	warnEnd   = "HELM_ERR_END"
)

var warnRE = regexp.MustCompile(warnStart + `((?s).*)` + warnEnd)

// renderable is one template file and the scope it executes in.
type renderable struct {
	tpl      string
	vals     map[string]interface{}
	basePath string
}

// Render executes every template of the chart tree with top-level values
// as built by render.ToRenderValues (keys Values, Release, Chart,
// Capabilities). It returns the output of each non-partial template keyed by
// its full name, e.g. "parent/charts/child/templates/cm.yaml", with
// "<no value>" removed as Helm does.
//
// Each chart sees .Values scoped to its own table, .Chart with its own
// metadata (plus IsRoot), .Files of its own, and .Subcharts holding its
// children's scopes. Library charts contribute only their partials.
func (e Engine) Render(ctx context.Context, ch *chart.Chart, top values.Values) (map[string]string, error) {
	tpls := map[string]renderable{}
	allTemplates(ch, tpls, top)
	return e.render(ctx, tpls)
}

// allTemplates collects the templates of c and its subcharts and builds
// each chart's scope; it returns c's scope for the parent's .Subcharts.
func allTemplates(c *chart.Chart, tpls map[string]renderable, parent map[string]interface{}) map[string]interface{} {
	subcharts := map[string]interface{}{}
	md := chart.Metadata{}
	if c.Metadata != nil {
		md = *c.Metadata
	}
	next := map[string]interface{}{
		"Chart": struct {
			chart.Metadata
			IsRoot bool
		}{md, c.IsRoot()},
		"Files":        NewFiles(c.Files),
		"Release":      parent["Release"],
		"Capabilities": parent["Capabilities"],
		"Values":       values.Values{},
		"Subcharts":    subcharts,
	}
	if c.IsRoot() {
		next["Values"] = parent["Values"]
	} else if pv, ok := asValues(parent["Values"]); ok {
		if vs, err := pv.Table(c.Name()); err == nil {
			next["Values"] = vs
		}
	}
	for _, dep := range c.Dependencies() {
		subcharts[dep.Name()] = allTemplates(dep, tpls, next)
	}
	prefix := c.ChartFullPath()
	for _, t := range c.Templates {
		if t == nil {
			continue
		}
		if c.IsLibrary() && !strings.HasPrefix(path.Base(t.Name), "_") {
			continue
		}
		tpls[path.Join(prefix, t.Name)] = renderable{
			tpl:      string(t.Data),
			vals:     next,
			basePath: path.Join(prefix, "templates"),
		}
	}
	return next
}

func asValues(v interface{}) (values.Values, bool) {
	switch t := v.(type) {
	case values.Values:
		return t, true
	case map[string]interface{}:
		return t, true
	}
	return nil, false
}

// renderState is what the template functions of one render share.
type renderState struct {
	e        Engine
	ctx      context.Context
	included map[string]int
}

func (e Engine) render(ctx context.Context, tpls map[string]renderable) (rendered map[string]string, err error) {
	// text/template and sprig can panic on bad input (e.g. a nil map
	// index); Helm turns that into an error, and so do we.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rendering template failed: %v", r)
		}
	}()
	t := template.New("gotpl")
	e.setMissingKey(t)
	st := &renderState{e: e, ctx: ctx, included: map[string]int{}}
	t.Funcs(st.funcMap(t))

	keys := sortTemplates(tpls)
	for _, name := range keys {
		if _, err := t.New(name).Parse(tpls[name].tpl); err != nil {
			return map[string]string{}, cleanupParseError(name, err)
		}
	}

	rendered = make(map[string]string, len(keys))
	for _, name := range keys {
		if err := ctx.Err(); err != nil {
			return map[string]string{}, err
		}
		if strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		r := tpls[name]
		// .Template is per file, but the scope map is shared by the
		// chart's files, exactly as in Helm: set it just before executing.
		r.vals["Template"] = values.Values{"Name": name, "BasePath": r.basePath}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, name, r.vals); err != nil {
			return map[string]string{}, cleanupExecError(name, err)
		}
		// missingkey=zero still prints "<no value>" for interface values.
		rendered[name] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return rendered, nil
}

func (e Engine) setMissingKey(t *template.Template) {
	if e.Strict {
		t.Option("missingkey=error")
	} else {
		t.Option("missingkey=zero")
	}
}

func (st *renderState) funcMap(t *template.Template) template.FuncMap {
	f := FuncMap()
	f["include"] = st.include(t)
	f["tpl"] = st.tpl(t)
	f["required"] = func(warn string, val interface{}) (interface{}, error) {
		kind := NoteRequiredNil
		if s, isStr := val.(string); isStr && s == "" {
			kind = NoteRequiredEmpty
		} else if val != nil {
			return val, nil
		}
		if st.e.LintMode {
			st.note(LintNote{Kind: kind, Text: warn})
			return "", nil
		}
		return val, errors.New(warnStart + warn + warnEnd)
	}
	f["fail"] = func(msg string) (string, error) {
		if st.e.LintMode {
			st.note(LintNote{Kind: NoteFail, Text: msg})
			return "", nil
		}
		return "", errors.New(warnStart + msg + warnEnd)
	}
	if st.e.Lookup != nil && !st.e.LintMode {
		f["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
			return st.e.Lookup.Lookup(st.ctx, apiVersion, kind, namespace, name)
		}
	}
	if !st.e.EnableDNS {
		f["getHostByName"] = func(string) string { return "" }
	}
	return f
}

func (st *renderState) note(n LintNote) {
	if st.e.Warn != nil {
		st.e.Warn.Warn(n)
	}
}

// include executes a named template into a string, so its output can be
// piped (indent, nindent...), which the template action cannot do.
func (st *renderState) include(t *template.Template) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		if st.included[name] > recursionMaxNums {
			return "", fmt.Errorf("rendering template has a nested reference name: %s: %w", name, errors.New("unable to execute template"))
		}
		st.included[name]++
		defer func() { st.included[name]-- }()
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
}

// tpl renders a string as a template in a clone of the current namespace,
// so it sees every named template, and defines it makes are visible to
// its own nested include and tpl calls only.
func (st *renderState) tpl(parent *template.Template) func(string, interface{}) (string, error) {
	return func(text string, data interface{}) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %w", err)
		}
		// Clone loses the missingkey option (golang/go#43022).
		st.e.setMissingKey(t)
		t.Funcs(template.FuncMap{"include": st.include(t), "tpl": st.tpl(t)})
		// A fresh template: text holding only defines would otherwise
		// leave the clone's main template unchanged.
		t, err = t.New(parent.Name()).Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", text, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

// cleanupParseError shortens text/template's parse errors to Helm's
// "parse error at (file:line): message".
func cleanupParseError(name string, err error) error {
	tokens := strings.Split(err.Error(), ": ")
	if len(tokens) == 1 {
		return fmt.Errorf("parse error in (%s): %s", name, err)
	}
	return fmt.Errorf("parse error at (%s): %s", tokens[1], tokens[len(tokens)-1])
}

// cleanupExecError turns required/fail messages into Helm's
// "execution error at (file:line:col): message"; other execution errors are
// kept whole.
func cleanupExecError(name string, err error) error {
	// Only a top-level ExecError has the "template: loc: msg" shape.
	if _, ok := err.(template.ExecError); !ok { //nolint:errorlint // shape check, not a cause check
		return err
	}
	tokens := strings.SplitN(err.Error(), ": ", 3)
	if len(tokens) != 3 {
		return fmt.Errorf("execution error in (%s): %s", name, err)
	}
	if parts := warnRE.FindStringSubmatch(tokens[2]); len(parts) >= 2 {
		return fmt.Errorf("execution error at (%s): %s", tokens[1], parts[1])
	}
	return err
}

// sortTemplates orders templates for parsing and execution like Helm:
// deepest paths first, reverse lexical within a depth. Parsing order
// decides which of two same-named defines wins (the last parsed: the
// top-level chart's), and execution order decides which error is reported.
func sortTemplates(tpls map[string]renderable) []string {
	keys := make([]string, 0, len(tpls))
	for k := range tpls {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		ca, cb := strings.Count(a, "/"), strings.Count(b, "/")
		if ca != cb {
			return ca > cb
		}
		return a > b
	})
	return keys
}
