package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/chartd/chartd/internal/plugin"
	"github.com/chartd/chartd/internal/postrender"
	"github.com/chartd/chartd/internal/render"
)

// postRenderFlags are --post-renderer and --post-renderer-args. The
// renderer is an installed postrenderer/v1 plugin of that name (Helm 4),
// else an executable (Helm 3); it is looked up when the flag is parsed, so
// a missing one is a flag error, as in Helm.
type postRenderFlags struct {
	env    *Env
	name   string
	args   []string
	plugin *plugin.Plugin
	exec   *postrender.Exec
}

func (p *postRenderFlags) bind(fs *pflag.FlagSet, env *Env) {
	p.env = env
	fs.Var((*postRendererString)(p), "post-renderer", "the path to an executable to be used for post rendering. If it exists in $PATH, the binary will be used, otherwise it will try to look for the executable at the given path")
	fs.Var((*postRendererArgs)(p), "post-renderer-args", "an argument to the post-renderer (can specify multiple)")
}

// renderer is the post-renderer asked for, or nil.
func (p *postRenderFlags) renderer() postrender.Renderer {
	switch {
	case p.plugin != nil:
		return &pluginPostRenderer{runner: pluginRunner(p.env), plugin: p.plugin, args: p.args}
	case p.exec != nil:
		return &postrender.Exec{Path: p.exec.Path, Args: p.args}
	}
	return nil
}

// postRendererString and postRendererArgs carry Helm's flag type names, so
// --help reads the same.
type postRendererString postRenderFlags

func (p *postRendererString) String() string { return p.name }
func (p *postRendererString) Type() string   { return "postRendererString" }
func (p *postRendererString) Set(v string) error {
	if v == "" {
		return nil
	}
	f := (*postRenderFlags)(p)
	f.name, f.plugin, f.exec = v, nil, nil
	for _, pl := range quietPlugins(f.env) {
		if pl.Name == v && pl.Type == plugin.TypePostRenderer {
			f.plugin = pl
			return nil
		}
	}
	e, err := postrender.NewExec(v)
	if err != nil {
		return err
	}
	f.exec = e
	return nil
}

type postRendererArgs postRenderFlags

func (p *postRendererArgs) String() string     { return "[" + strings.Join(p.args, ",") + "]" }
func (p *postRendererArgs) Type() string       { return "postRendererArgsSlice" }
func (p *postRendererArgs) Set(v string) error { p.args = append(p.args, v); return nil }

// pluginPostRenderer runs a postrenderer/v1 plugin, with Helm 4's errors.
type pluginPostRenderer struct {
	runner *plugin.Runner
	plugin *plugin.Plugin
	args   []string
}

func (r *pluginPostRenderer) Run(ctx context.Context, manifests []byte) ([]byte, error) {
	out, err := r.runner.PostRender(ctx, r.plugin, manifests, r.args)
	if err != nil {
		return nil, fmt.Errorf("failed to invoke post-renderer plugin %q: %v", r.plugin.Name, err) // exits 1, not with the plugin's code
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, fmt.Errorf("post-renderer %q produced empty output", r.plugin.Name)
	}
	return out, nil
}

// postRender applies --post-renderer to a template's result.
func (a *Template) postRender(ctx context.Context, res *render.Result, opt render.PrintOptions) error {
	r := a.PostRender.renderer()
	if r == nil {
		return nil
	}
	if err := res.PostRender(ctx, r, opt); err != nil {
		// A failed post-render gets the render-phase hint in Helm.
		return &render.RenderError{Err: err}
	}
	return nil
}
