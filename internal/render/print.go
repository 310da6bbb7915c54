package render

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/chartd/chartd/internal/render/releaseutil"
)

// PrintOptions are the output flags of `helm template`.
type PrintOptions struct {
	// ShowOnly is --show-only: glob patterns matched against template
	// paths without the chart name ("templates/cm.yaml").
	ShowOnly []string
	// OutputDir is --output-dir: write each template's documents to
	// <dir>/<template path> instead of stdout, announcing each file with a
	// "wrote <path>" line on the writer.
	OutputDir string
	// Dir is where a relative OutputDir is resolved; "" means the
	// process's working directory. The "wrote" lines show OutputDir as given.
	Dir string
	// UseReleaseName is --release-name: put files under <dir>/<release>.
	UseReleaseName bool
	// IncludeCRDs is --include-crds: crds/ files come first.
	IncludeCRDs bool
	// SkipTests is --skip-tests: drop test hooks.
	SkipTests bool
	// DisableHooks is --no-hooks: drop all hooks.
	DisableHooks bool
	// HideSecret is --hide-secret: replace v1 Secrets with a comment.
	HideSecret bool
}

// ManifestText is the release manifest as Helm stores and prints it:
// every non-hook document as "---\n# Source: <template>\n<doc>\n", in
// install order, preceded by the CRDs when includeCRDs.
func (res *Result) ManifestText(includeCRDs, hideSecret bool) string {
	if res.postRendered != nil {
		return *res.postRendered
	}
	var b strings.Builder
	if includeCRDs {
		for _, c := range res.CRDs {
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", c.Filename, c.Data)
		}
	}
	for _, m := range res.Manifests {
		if hideSecret && m.Kind == "Secret" && m.APIVersion == "v1" {
			fmt.Fprintf(&b, "---\n# Source: %s\n# HIDDEN: The Secret output has been suppressed\n", m.Name)
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return b.String()
}

func (res *Result) releaseName() string {
	if r, ok := res.Values["Release"].(map[string]interface{}); ok {
		if n, ok := r["Name"].(string); ok {
			return n
		}
	}
	return ""
}

// Print writes what `helm template` prints on stdout for a rendered
// release (and, with OutputDir, the files it writes), byte for byte.
func Print(w io.Writer, res *Result, opt PrintOptions) error {
	var buf strings.Builder
	if opt.OutputDir == "" {
		buf.WriteString(strings.TrimSpace(res.ManifestText(opt.IncludeCRDs, opt.HideSecret)))
		buf.WriteString("\n")
	} else {
		if err := writeFiles(w, res, opt); err != nil {
			return err
		}
		// Helm still prints the manifest, empty unless post-rendered.
		if res.postRendered != nil {
			buf.WriteString(strings.TrimSpace(*res.postRendered))
		}
		buf.WriteString("\n")
	}
	if !opt.DisableHooks {
		written := map[string]bool{}
		for _, h := range res.Hooks {
			if opt.SkipTests && h.IsTest() {
				continue
			}
			if opt.OutputDir == "" {
				fmt.Fprintf(&buf, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
				continue
			}
			dir := outDir(res, opt)
			// Hooks append to a file that already exists, even from an
			// earlier run, as in Helm.
			if _, err := os.Stat(opt.resolve(filepath.Join(dir, h.Path))); err == nil {
				written[h.Path] = true
			}
			if err := writeToFile(w, opt, dir, h.Path, h.Manifest, written[h.Path]); err != nil {
				return err
			}
		}
	}
	if len(opt.ShowOnly) == 0 {
		_, err := io.WriteString(w, buf.String())
		return err
	}
	docs := releaseutil.SplitManifests(buf.String())
	var out []string
	for _, f := range opt.ShowOnly {
		f = filepath.ToSlash(f)
		missing := true
		for _, doc := range docs {
			sub := sourceRE.FindStringSubmatch(doc)
			if len(sub) == 0 {
				continue
			}
			if ok, _ := filepath.Match(f, sub[1]); !ok {
				continue
			}
			out = append(out, doc)
			missing = false
		}
		if missing {
			return fmt.Errorf("%w %s in chart", ErrTemplateNotFound, f)
		}
	}
	for _, doc := range out {
		if _, err := fmt.Fprintf(w, "---\n%s\n", doc); err != nil {
			return err
		}
	}
	return nil
}

// sourceRE takes the template path without the chart name from a
// document's "# Source:" line.
var sourceRE = regexp.MustCompile("# Source: [^/]+/(.+)")

func (opt PrintOptions) resolve(p string) string {
	if opt.Dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(opt.Dir, p)
}

func outDir(res *Result, opt PrintOptions) string {
	if opt.UseReleaseName {
		return filepath.Join(opt.OutputDir, res.releaseName())
	}
	return opt.OutputDir
}

// writeFiles writes CRDs (with IncludeCRDs) and manifests under OutputDir.
// CRDs ignore UseReleaseName, as in Helm.
func writeFiles(w io.Writer, res *Result, opt PrintOptions) error {
	written := map[string]bool{}
	if opt.IncludeCRDs {
		for _, c := range res.CRDs {
			if err := writeToFile(w, opt, opt.OutputDir, c.Filename, string(c.Data), written[c.Filename]); err != nil {
				return err
			}
			written[c.Filename] = true
		}
	}
	dir := outDir(res, opt)
	for _, m := range res.Manifests {
		if err := writeToFile(w, opt, dir, m.Name, m.Content, written[m.Name]); err != nil {
			return err
		}
		written[m.Name] = true
	}
	return nil
}

// writeToFile writes one document to dir/name (appending when the file was
// already written) and announces it on w. The path is joined by string, not
// cleaned, so the announcement matches Helm's exactly.
func writeToFile(w io.Writer, opt PrintOptions, dir, name, data string, appendTo bool) error {
	file := dir + string(filepath.Separator) + name
	target := opt.resolve(file)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	var f *os.File
	var err error
	if appendTo {
		f, err = os.OpenFile(target, os.O_APPEND|os.O_WRONLY, 0o600)
	} else {
		f, err = os.Create(target)
	}
	if err != nil {
		return err
	}
	_, werr := fmt.Fprintf(f, "---\n# Source: %s\n%s\n", name, data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	_, err = fmt.Fprintf(w, "wrote %s\n", file)
	return err
}
