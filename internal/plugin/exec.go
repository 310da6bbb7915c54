package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// ExitError is a plugin that exited non-zero; helm exits with its code.
type ExitError struct {
	// Name is what the message names: the plugin, or a downloader's command.
	Name string
	Code int
}

func (e *ExitError) Error() string { return fmt.Sprintf("plugin %q exited with error", e.Name) }

// ExitCode is the plugin's exit status.
func (e *ExitError) ExitCode() int { return e.Code }

// Runner runs plugins in Helm's environment: the parent's environment, then
// every variable `helm env` prints (Vars), then HELM_PLUGIN_NAME and
// HELM_PLUGIN_DIR.
type Runner struct {
	Environ []string
	Vars    map[string]string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

func (r *Runner) env(p *Plugin, extra map[string]string) map[string]string {
	m := map[string]string{}
	for _, kv := range r.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	maps.Copy(m, r.Vars)
	m["HELM_PLUGIN_NAME"] = p.Name
	m["HELM_PLUGIN_DIR"] = p.Dir
	maps.Copy(m, extra)
	return m
}

func format(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// run starts cmd and maps a non-zero exit to an ExitError naming name.
func (r *Runner) run(cmd *exec.Cmd, name string) error {
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Name: name, Code: ee.ExitCode()}
	}
	return err
}

// Run runs p as `helm <name> args...`: args are appended to the plugin's
// command unless it ignores flags.
func (r *Runner) Run(ctx context.Context, p *Plugin, args []string) error {
	env := r.env(p, nil)
	if p.IgnoreFlags {
		args = nil
	}
	main, argv, err := prepare(p.Command, true, args, env)
	if err != nil {
		// Helm prints the reason bare on stderr, then fails as a plugin.
		fmt.Fprint(r.Stderr, err.Error())
		return &ExitError{Name: p.Name, Code: 1}
	}
	cmd := exec.CommandContext(ctx, main, argv...)
	cmd.Env = format(env)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.Stdin, r.Stdout, r.Stderr
	return r.run(cmd, p.Name)
}

// Hook runs p's command for event, if it has one for this platform.
func (r *Runner) Hook(ctx context.Context, p *Plugin, event string) error {
	env := r.env(p, nil)
	main, argv, err := prepare(p.Hooks[event], p.expandHookArgs, nil, env)
	if err != nil {
		return nil // no hook for this event or platform
	}
	cmd := exec.CommandContext(ctx, main, argv...)
	cmd.Env = format(env)
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stderr
	if err := r.run(cmd, p.Name); err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("plugin %s hook for %q exited with error", event, p.Name)
		}
		return err
	}
	return nil
}

// GetOptions are what a downloader receives besides the URL.
type GetOptions struct {
	CertFile, KeyFile, CAFile string
	Username, Password        string
	PassCredentialsAll        bool
}

// Downloader returns p's downloader for the URL scheme, or nil.
func (p *Plugin) Downloader(scheme string) *Downloader {
	for i, d := range p.Downloaders {
		if slices.Contains(d.Protocols, scheme) {
			return &p.Downloaders[i]
		}
	}
	return nil
}

// Get runs downloader d of p for href as Helm does: "<plugin dir>/<command>
// <its words> certFile keyFile caFile href", credentials in
// HELM_PLUGIN_USERNAME/PASSWORD/PASS_CREDENTIALS_ALL; the content is what
// it writes on stdout, its stderr goes to ours.
func (r *Runner) Get(ctx context.Context, p *Plugin, d *Downloader, href string, o GetOptions) ([]byte, error) {
	env := r.env(p, map[string]string{
		"HELM_PLUGIN_USERNAME":             o.Username,
		"HELM_PLUGIN_PASSWORD":             o.Password,
		"HELM_PLUGIN_PASS_CREDENTIALS_ALL": strconv.FormatBool(o.PassCredentialsAll),
	})
	parts, args := selectCommand(d.Command, runtime.GOOS, runtime.GOARCH)
	if len(parts) == 0 || parts[0] == "" {
		return nil, fmt.Errorf("plugin %q: %w", p.Name, ErrNoCommand)
	}
	// Helm 3 runs a downloader's program unexpanded, Helm 4 expands it;
	// neither expands the arguments.
	main := parts[0]
	if p.APIVersion != "" {
		main = os.Expand(main, func(k string) string { return env[k] })
	}
	argv := append(slices.Clone(parts[1:]), args...)
	argv = append(argv, o.CertFile, o.KeyFile, o.CAFile, href)
	cmd := exec.CommandContext(ctx, filepath.Join(p.Dir, main), argv...)
	cmd.Env = format(env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, r.Stderr
	name := p.Name
	if p.APIVersion == "" {
		name = commandString(d.Command)
	}
	if err := r.run(cmd, name); err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			// Helm exits 1 when a download fails, whatever the plugin's code.
			return nil, errors.New(ee.Error())
		}
		return nil, err
	}
	return out.Bytes(), nil
}

func commandString(cmds []PlatformCommand) string {
	if len(cmds) == 0 {
		return ""
	}
	return cmds[0].Command
}

// PostRender runs a postrenderer/v1 plugin: the manifests on its stdin,
// the result read from its stdout, args (--post-renderer-args) appended.
func (r *Runner) PostRender(ctx context.Context, p *Plugin, manifests []byte, args []string) ([]byte, error) {
	env := r.env(p, nil)
	main, argv, err := prepare(p.Command, true, args, env)
	if err != nil {
		return nil, fmt.Errorf("failed to prepare plugin command: %w", err)
	}
	cmd := exec.CommandContext(ctx, main, argv...)
	cmd.Env = format(env)
	cmd.Stdin = bytes.NewReader(manifests)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := r.run(cmd, p.Name); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
