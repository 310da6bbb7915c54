// Package plugin reads Helm plugins and runs them as Helm does: Helm 3's
// plugin.yaml (name, command, platformCommand, hooks, downloaders) and Helm
// 4's apiVersion v1 format (type cli/v1, getter/v1 or postrenderer/v1 with
// runtime subprocess). Both are read into one Plugin, so the commands,
// getters and post-renderers built on it do not care which format a plugin
// was written in. Wasm (extism/v1) plugins are not supported.
package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"unicode"

	"github.com/Masterminds/semver/v3"
	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// FileName is the plugin manifest inside a plugin directory.
const FileName = "plugin.yaml"

// Plugin types, as Helm 4 names them; a Helm 3 plugin is cli/v1, and
// getter/v1 too when it declares downloaders.
const (
	TypeCLI          = "cli/v1"
	TypeGetter       = "getter/v1"
	TypePostRenderer = "postrenderer/v1"
)

// Hook events.
const (
	HookInstall = "install"
	HookUpdate  = "update"
	HookDelete  = "delete"
)

// Sentinels of this package.
var (
	// ErrNoCommand: no platformCommand applies to this OS and architecture.
	ErrNoCommand = errors.New("no plugin command is applicable")
	// ErrUnsupported: a format or runtime this client does not run (wasm).
	ErrUnsupported = errors.New("unsupported plugin")
)

// PlatformCommand is a command for an OS and architecture ("" matches any).
type PlatformCommand struct {
	OS      string   `json:"os" yaml:"os"`
	Arch    string   `json:"arch" yaml:"arch"`
	Command string   `json:"command" yaml:"command"`
	Args    []string `json:"args" yaml:"args"`
}

// Downloader serves URL schemes for repo add, pull and dependency update.
type Downloader struct {
	Protocols []string
	// Command is run relative to the plugin directory, unexpanded, as
	// Helm runs downloaders: "<dir>/<first word>" then the other words.
	Command []PlatformCommand
}

// Plugin is a loaded plugin, whatever the format of its plugin.yaml.
type Plugin struct {
	Dir string
	// APIVersion is "" for Helm 3's format, "v1" for Helm 4's.
	APIVersion string
	Name       string
	Version    string
	Type       string
	Usage      string // the one-line help ("usage" in Helm 3, shortHelp in v1)
	// Use is a v1 cli plugin's usage line (cobra's Use, "name [flags]");
	// "" means the name.
	Use         string
	Description string // the long help
	IgnoreFlags bool
	Command     []PlatformCommand
	// Hooks are the commands per event. Helm 3's string hooks become
	// "sh -c <hook>", not expanded by Helm (the shell expands them).
	Hooks          map[string][]PlatformCommand
	expandHookArgs bool
	Downloaders    []Downloader
}

// legacyFile is Helm 3's plugin.yaml, read strictly as Helm 3 reads it.
type legacyFile struct {
	Name            string                       `json:"name"`
	Version         string                       `json:"version"`
	Usage           string                       `json:"usage"`
	Description     string                       `json:"description"`
	PlatformCommand []PlatformCommand            `json:"platformCommand"`
	Command         string                       `json:"command"`
	IgnoreFlags     bool                         `json:"ignoreFlags"`
	PlatformHooks   map[string][]PlatformCommand `json:"platformHooks"`
	Hooks           map[string]string            `json:"hooks"`
	Downloaders     []struct {
		Protocols []string `json:"protocols"`
		Command   string   `json:"command"`
	} `json:"downloaders"`
	UseTunnel bool `json:"useTunnel,omitempty"`
}

// v1File is Helm 4's apiVersion v1 plugin.yaml.
type v1File struct {
	APIVersion    string     `yaml:"apiVersion"`
	Name          string     `yaml:"name"`
	Type          string     `yaml:"type"`
	Runtime       string     `yaml:"runtime"`
	Version       string     `yaml:"version"`
	SourceURL     string     `yaml:"sourceURL,omitempty"`
	Config        yaml3.Node `yaml:"config"`
	RuntimeConfig yaml3.Node `yaml:"runtimeConfig"`
}

type v1CLIConfig struct {
	Usage       string `yaml:"usage"`
	ShortHelp   string `yaml:"shortHelp"`
	LongHelp    string `yaml:"longHelp"`
	IgnoreFlags bool   `yaml:"ignoreFlags"`
}

type v1GetterConfig struct {
	Protocols []string `yaml:"protocols"`
}

type v1Subprocess struct {
	PlatformCommand  []PlatformCommand            `yaml:"platformCommand"`
	PlatformHooks    map[string][]PlatformCommand `yaml:"platformHooks"`
	ProtocolCommands []struct {
		Protocols       []string          `yaml:"protocols"`
		PlatformCommand []PlatformCommand `yaml:"platformCommand"`
	} `yaml:"protocolCommands,omitempty"`
}

// validName is Helm's rule for plugin names.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// LoadDir loads the plugin in dir, with Helm's error messages.
func LoadDir(dir string) (*Plugin, error) {
	file := filepath.Join(dir, FileName)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("failed to read plugin at %q: %w", file, err)
	}
	p, err := Parse(data, file)
	if err != nil {
		return nil, err
	}
	p.Dir = dir
	return p, nil
}

// Parse reads a plugin.yaml; file names it in errors.
func Parse(data []byte, file string) (*Plugin, error) {
	var peek struct {
		APIVersion string `yaml:"apiVersion"`
	}
	if err := yaml3.Unmarshal(data, &peek); err != nil {
		return nil, fmt.Errorf("failed to load plugin at %q: %w", file, err)
	}
	switch peek.APIVersion {
	case "":
		return parseLegacy(data, file)
	case "v1":
		p, err := parseV1(data)
		if err != nil {
			return nil, fmt.Errorf("failed to load plugin at %q: %w", file, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("failed to load plugin at %q: invalid plugin apiVersion: %q", file, peek.APIVersion)
}

func parseLegacy(data []byte, file string) (*Plugin, error) {
	var m legacyFile
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		return nil, fmt.Errorf("failed to load plugin at %q: %w", file, err)
	}
	if !validName.MatchString(m.Name) {
		return nil, fmt.Errorf("invalid plugin name at %q", file)
	}
	p := &Plugin{
		Name: m.Name, Version: m.Version, Type: TypeCLI, Usage: sanitize(m.Usage), Description: m.Description,
		IgnoreFlags: m.IgnoreFlags, Command: m.PlatformCommand, Hooks: m.PlatformHooks, expandHookArgs: true,
	}
	if len(p.Command) == 0 && m.Command != "" {
		p.Command = []PlatformCommand{{Command: m.Command}}
	}
	if len(p.Hooks) == 0 && len(m.Hooks) > 0 {
		p.Hooks = map[string][]PlatformCommand{}
		for event, cmd := range m.Hooks {
			if cmd != "" {
				p.Hooks[event] = []PlatformCommand{{Command: "sh", Args: []string{"-c", cmd}}}
			}
		}
		p.expandHookArgs = false
	}
	for _, d := range m.Downloaders {
		p.Downloaders = append(p.Downloaders, Downloader{Protocols: d.Protocols, Command: []PlatformCommand{{Command: d.Command}}})
	}
	if len(p.Downloaders) > 0 && len(p.Command) == 0 {
		p.Type = TypeGetter
	}
	return p, nil
}

func parseV1(data []byte) (*Plugin, error) {
	var m v1File
	if err := decodeStrict(data, &m); err != nil {
		return nil, err
	}
	var errs []error
	if !validName.MatchString(m.Name) {
		errs = append(errs, errors.New("invalid plugin `name`"))
	}
	if m.Version == "" {
		errs = append(errs, errors.New("plugin `version` is required"))
	} else if _, err := semver.StrictNewVersion(m.Version); err != nil {
		errs = append(errs, fmt.Errorf("invalid plugin `version` %q: must be valid semver", m.Version))
	}
	if m.Type == "" {
		errs = append(errs, errors.New("`type` missing"))
	}
	if m.Runtime == "" {
		errs = append(errs, errors.New("`runtime` missing"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if m.Runtime != "subprocess" {
		return nil, fmt.Errorf("%w: runtime %q (only subprocess plugins run in this client)", ErrUnsupported, m.Runtime)
	}
	var rc v1Subprocess
	if err := decodeNode(&m.RuntimeConfig, &rc); err != nil {
		return nil, fmt.Errorf("runtimeConfig: %w", err)
	}
	p := &Plugin{
		APIVersion: "v1", Name: m.Name, Version: m.Version, Type: m.Type,
		Command: rc.PlatformCommand, Hooks: rc.PlatformHooks, expandHookArgs: true,
	}
	switch m.Type {
	case TypeCLI:
		var c v1CLIConfig
		if err := decodeNode(&m.Config, &c); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		p.Use, p.Usage, p.Description, p.IgnoreFlags = c.Usage, sanitize(c.ShortHelp), c.LongHelp, c.IgnoreFlags
	case TypeGetter:
		var c v1GetterConfig
		if err := decodeNode(&m.Config, &c); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if len(c.Protocols) == 0 {
			return nil, errors.New("getter has no protocols")
		}
		// protocolCommands are Helm 4's compatibility form; without them
		// the plugin's command serves all its protocols.
		for _, pc := range rc.ProtocolCommands {
			p.Downloaders = append(p.Downloaders, Downloader{Protocols: pc.Protocols, Command: pc.PlatformCommand})
		}
		if len(p.Downloaders) == 0 {
			p.Downloaders = []Downloader{{Protocols: c.Protocols, Command: rc.PlatformCommand}}
		}
	case TypePostRenderer:
		if m.Config.Kind != 0 && len(m.Config.Content) > 0 {
			return nil, errors.New("config: postrenderer/v1 takes no configuration")
		}
	default:
		return nil, fmt.Errorf("unknown plugin type %q", m.Type)
	}
	return p, nil
}

func decodeStrict(data []byte, v any) error {
	d := yaml3.NewDecoder(bytes.NewReader(data))
	d.KnownFields(true)
	return d.Decode(v)
}

// decodeNode decodes n strictly (yaml.Node.Decode cannot refuse unknown
// fields, so the node goes through its text).
func decodeNode(n *yaml3.Node, v any) error {
	if n.Kind == 0 {
		return nil
	}
	b, err := yaml3.Marshal(n)
	if err != nil {
		return err
	}
	return decodeStrict(b, v)
}

// sanitize makes help text one line of printable characters, as Helm does.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
}

// LoadAll loads the plugins of every directory in dirs (a path list, as
// $HELM_PLUGINS may be), one level deep, refusing two with the same name.
func LoadAll(dirs string) ([]*Plugin, error) {
	var found []*Plugin
	for _, base := range filepath.SplitList(dirs) {
		matches, err := filepath.Glob(filepath.Join(base, "*", FileName))
		if err != nil {
			return found, fmt.Errorf("failed to find plugins in %q: %w", base, err)
		}
		for _, m := range matches {
			p, err := LoadDir(filepath.Dir(m))
			if err != nil {
				return found, err
			}
			found = append(found, p)
		}
	}
	seen := map[string]string{}
	for _, p := range found {
		if old, ok := seen[p.Name]; ok {
			return found, fmt.Errorf("two plugins claim the name %q at %q and %q", p.Name, old, p.Dir)
		}
		seen[p.Name] = p.Dir
	}
	return found, nil
}

// Find returns the installed plugin called name, or nil.
func Find(plugins []*Plugin, name string) *Plugin {
	for _, p := range plugins {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// selectCommand picks the command for goos/goarch by Helm's rules: an exact
// OS and arch match wins; else the first entry for the OS with no arch;
// else the first entry with neither. The command string is split on
// spaces.
func selectCommand(cmds []PlatformCommand, goos, goarch string) ([]string, []string) {
	var command, args []string
	found, foundOS := false, false
	eq := strings.EqualFold
	for _, c := range cmds {
		if eq(c.OS, goos) && eq(c.Arch, goarch) {
			return strings.Split(c.Command, " "), c.Args
		}
		if (c.OS != "" && !eq(c.OS, goos)) || c.Arch != "" {
			continue
		}
		if !foundOS && c.OS != "" {
			command, args, found, foundOS = strings.Split(c.Command, " "), c.Args, true, true
		} else if !found {
			command, args, found = strings.Split(c.Command, " "), c.Args, true
		}
	}
	return command, args
}

// prepare returns the program and arguments for cmds on this platform, with
// $VARS expanded from env (the program always; the arguments when expand),
// then extra appended unexpanded.
func prepare(cmds []PlatformCommand, expand bool, extra []string, env map[string]string) (string, []string, error) {
	parts, args := selectCommand(cmds, runtime.GOOS, runtime.GOARCH)
	if len(parts) == 0 || parts[0] == "" {
		return "", nil, ErrNoCommand
	}
	mapping := func(k string) string { return env[k] }
	argv := []string{}
	for _, a := range append(parts[1:], args...) {
		if expand {
			a = os.Expand(a, mapping)
		}
		argv = append(argv, a)
	}
	return os.Expand(parts[0], mapping), append(argv, extra...), nil
}
