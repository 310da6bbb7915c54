// Package chartd_test guards the direction of imports that the design
// (README "Layout") promises, for non-test code, in the style of
// go-containerregistry's depcheck_test.go: a rule broken by a new import
// fails here, naming the chain, instead of surfacing as a 20 MB cloud SDK in
// the client or a server package that cannot be built without the client.
package chartd_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/chartd/chartd"

// rule forbids the packages matching From to import anything matching
// Forbid. Patterns are import paths (mod makes them the module's); a
// trailing "/..." matches the path and everything below it.
type rule struct {
	Name string
	From []string
	// Except are packages matching From that the rule spares.
	Except []string
	Forbid []string
	// Direct checks only a package's own imports; otherwise everything it
	// links (its transitive dependencies) counts.
	Direct bool
}

// client is the Helm-compatible client: it shares index, provenance, the
// chart loader and Helm's OCI layout with chartd, and nothing else.
var client = mod(
	"cmd/helm", "internal/cli/...", "chart/...", "engine/...", "values/...", "lint/...", "repo/...", "registry/...", "internal/render/...",
	"action/...", "kube/...", "release/...", "downloader/...", "internal/plugin/...", "internal/postrender/...",
)

// future are patterns for packages the design plans; they may match
// nothing yet. Any other pattern that matches nothing is a typo or a
// rename, and fails the test.
var future = mod("action/...", "kube/...", "release/...", "downloader/...")

// ioPackages are the standard packages through which a package does I/O of
// its own. index and provenance take bytes and readers and return results:
// they import none of these (today they import bufio, bytes, context,
// crypto, encoding/*, errors, fmt, io, log/slog, net/url, path, slices,
// sort, strconv, strings, time and unicode, besides semver, go-crypto,
// sigs.k8s.io/yaml, chart and internal/ctxio).
var ioPackages = []string{
	"os/...", "net", "net/http/...", "net/rpc/...", "net/smtp", "net/mail", "net/netip", "io/ioutil", "io/fs",
	"path/filepath", "syscall", "os/exec", "database/sql/...", "plugin", "log/syslog", "crypto/rand",
}

// cloudSDKs are the storage drivers' SDKs, which only chartd needs.
var cloudSDKs = []string{
	"gocloud.dev/...", "github.com/aws/...", "github.com/Azure/...", "github.com/AzureAD/...",
	"cloud.google.com/...", "google.golang.org/api/...", "google.golang.org/grpc/...",
}

// rules is the table; releases work adds its rows here.
var rules = []rule{
	{
		Name:   "nothing imports the server or a command",
		From:   mod("..."),
		Except: mod("cmd/..."),
		Forbid: mod("server/...", "cmd/..."),
	},
	{
		Name:   "only cmd/chartd imports the server",
		From:   mod("cmd/..."),
		Except: mod("cmd/chartd"),
		Forbid: mod("server/..."),
	},
	{
		Name:   "the client never links the server, the registry's server side or storage",
		From:   client,
		Forbid: mod("server/...", "oci/...", "storage/..."),
	},
	{
		Name:   "the client links no cloud SDK",
		From:   client,
		Forbid: cloudSDKs,
	},
	{
		Name:   "index and provenance do no I/O of their own",
		From:   mod("index", "provenance"),
		Forbid: append(mod("storage/...", "repo/...", "registry/...", "oci/...", "server/..."), ioPackages...),
		Direct: true,
	},
	{
		Name:   "kube deals in manifests and resources, not charts or releases",
		From:   mod("kube/..."),
		Forbid: mod("chart/...", "release/..."),
	},
	{
		Name:   "action holds no streams or flags: it does not import the CLI",
		From:   mod("action/..."),
		Forbid: append(mod("internal/cli/..."), "github.com/spf13/cobra/..."),
	},
	{
		Name:   "no production code links the test helpers",
		From:   mod("..."),
		Except: mod("internal/testutil/...", "test/..."),
		Forbid: mod("internal/testutil/..."),
	},
}

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

func TestDependencyRules(t *testing.T) {
	pkgs := listPackages(t)
	if err := checkPatterns(pkgs); err != nil {
		t.Fatal(err)
	}
	for _, v := range violations(rules, pkgs) {
		t.Error(v)
	}
}

// TestDependencyRulesCatchViolations runs the rules over a made-up module
// that breaks each kind of rule, so the guard cannot pass by matching
// nothing.
func TestDependencyRulesCatchViolations(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	pkgs := []pkg{
		{ImportPath: m("cmd/chartd"), Imports: []string{m("server")}, Deps: []string{m("server"), m("storage")}},
		{ImportPath: m("cmd/helm"), Imports: []string{m("internal/cli")}, Deps: []string{m("internal/cli"), m("repo"), m("oci"), "gocloud.dev/blob"}},
		{ImportPath: m("internal/cli"), Imports: []string{m("repo")}, Deps: []string{m("repo"), m("oci"), "gocloud.dev/blob"}},
		{ImportPath: m("repo"), Imports: []string{m("oci")}, Deps: []string{m("oci"), "gocloud.dev/blob"}},
		{ImportPath: m("oci"), Imports: []string{"gocloud.dev/blob"}, Deps: []string{"gocloud.dev/blob"}},
		{ImportPath: m("index"), Imports: []string{"os", "net/http"}, Deps: []string{"os", "net/http"}},
		{ImportPath: m("provenance"), Imports: []string{m("chart")}, Deps: []string{m("chart"), "os"}},
		{ImportPath: m("kube"), Imports: []string{m("chart")}, Deps: []string{m("chart")}},
		{ImportPath: m("action"), Imports: []string{m("internal/cli")}, Deps: []string{m("internal/cli")}},
		{ImportPath: m("storage"), Imports: []string{m("internal/testutil/peers")}, Deps: []string{m("internal/testutil/peers")}},
		{ImportPath: m("internal/testutil/ocitest"), Imports: []string{m("oci")}, Deps: []string{m("oci")}},
		{ImportPath: m("server"), Imports: []string{m("cmd/helm")}, Deps: []string{m("cmd/helm")}},
		{ImportPath: m("chart")},
	}
	got := violations(rules, pkgs)
	for _, want := range []string{
		"server: imports cmd/helm",
		"repo: imports oci",
		"internal/cli: links oci (via repo)",
		"cmd/helm: links gocloud.dev/blob (via internal/cli)",
		"index: imports os",
		"index: imports net/http",
		"kube: imports chart",
		"action: imports internal/cli",
		"storage: imports internal/testutil/peers",
	} {
		if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, want) }) {
			t.Errorf("no violation %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
	for _, v := range got {
		// provenance reaches os only through chart: not its own I/O.
		// cmd/chartd may import the server; ocitest may import oci.
		if strings.Contains(v, "provenance:") || strings.Contains(v, "cmd/chartd:") || strings.Contains(v, "ocitest:") {
			t.Errorf("false positive: %s", v)
		}
	}
}

// listPackages runs `go list` over the module's non-test packages.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps,Error", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// checkPatterns fails on a From pattern that matches no package and is not
// a planned one.
func checkPatterns(pkgs []pkg) error {
	var errs []error
	for _, r := range rules {
		for _, pat := range r.From {
			if slices.Contains(future, pat) {
				continue
			}
			if !slices.ContainsFunc(pkgs, func(p pkg) bool { return match(pat, p.ImportPath) }) {
				errs = append(errs, fmt.Errorf("rule %q: pattern %q matches no package", r.Name, pat))
			}
		}
	}
	return errors.Join(errs...)
}

// violations applies the rules, naming for each transitive violation the
// direct import it comes through.
func violations(rules []rule, pkgs []pkg) []string {
	byPath := map[string]pkg{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	var out []string
	for _, r := range rules {
		for _, p := range pkgs {
			if !matchAny(r.From, p.ImportPath) || matchAny(r.Except, p.ImportPath) {
				continue
			}
			deps, verb := p.Deps, "links"
			if r.Direct {
				deps, verb = p.Imports, "imports"
			}
			for _, d := range deps {
				if d == p.ImportPath || !matchAny(r.Forbid, d) {
					continue
				}
				v := fmt.Sprintf("%s: %s: %s %s", r.Name, rel(p.ImportPath), verb, rel(d))
				if slices.Contains(p.Imports, d) {
					v = fmt.Sprintf("%s: %s: imports %s", r.Name, rel(p.ImportPath), rel(d))
				} else if via := through(byPath, p, d); via != "" {
					v += " (via " + rel(via) + ")"
				}
				out = append(out, v)
			}
		}
	}
	return out
}

// through returns the direct import of p that brings in d.
func through(byPath map[string]pkg, p pkg, d string) string {
	for _, imp := range p.Imports {
		if slices.Contains(byPath[imp].Deps, d) || slices.Contains(byPath[imp].Imports, d) {
			return imp
		}
	}
	return ""
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(pat string) bool { return match(pat, path) })
}

// mod turns module-relative patterns into import paths.
func mod(pats ...string) []string {
	out := make([]string, len(pats))
	for i, p := range pats {
		out[i] = module + "/" + p
	}
	return out
}

// match reports whether path matches pat (see rule).
func match(pat, path string) bool {
	if base, ok := strings.CutSuffix(pat, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pat
}

func rel(path string) string {
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r
	}
	return path
}
