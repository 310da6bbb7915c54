package plugin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       *Plugin
		err        string
	}{
		{
			name: "helm 3 command and string hooks",
			yaml: "name: a\nversion: 1.0.0\nusage: \"one\\ttwo\"\ndescription: d\ncommand: \"$HELM_PLUGIN_DIR/x --y\"\nhooks:\n  install: echo hi\n",
			want: &Plugin{Name: "a", Version: "1.0.0", Type: TypeCLI, Usage: "one two", Description: "d",
				Command: []PlatformCommand{{Command: "$HELM_PLUGIN_DIR/x --y"}},
				Hooks:   map[string][]PlatformCommand{"install": {{Command: "sh", Args: []string{"-c", "echo hi"}}}}},
		},
		{
			name: "helm 3 downloader only",
			yaml: "name: s3\nversion: 0.1.0\ndownloaders:\n- command: bin/get\n  protocols: [s3]\nuseTunnel: false\n",
			want: &Plugin{Name: "s3", Version: "0.1.0", Type: TypeGetter, expandHookArgs: true,
				Downloaders: []Downloader{{Protocols: []string{"s3"}, Command: []PlatformCommand{{Command: "bin/get"}}}}},
		},
		{
			name: "helm 4 cli",
			yaml: "apiVersion: v1\nname: c\ntype: cli/v1\nruntime: subprocess\nversion: 1.2.3\nconfig:\n  shortHelp: s\n  longHelp: l\n  ignoreFlags: true\nruntimeConfig:\n  platformCommand:\n  - command: run\n    args: [a]\n",
			want: &Plugin{APIVersion: "v1", Name: "c", Version: "1.2.3", Type: TypeCLI, Usage: "s", Description: "l", IgnoreFlags: true,
				Command: []PlatformCommand{{Command: "run", Args: []string{"a"}}}, expandHookArgs: true},
		},
		{
			name: "helm 4 getter without protocolCommands",
			yaml: "apiVersion: v1\nname: g\ntype: getter/v1\nruntime: subprocess\nversion: 1.0.0\nconfig:\n  protocols: [x, y]\nruntimeConfig:\n  platformCommand:\n  - command: get\n",
			want: &Plugin{APIVersion: "v1", Name: "g", Version: "1.0.0", Type: TypeGetter, expandHookArgs: true,
				Command:     []PlatformCommand{{Command: "get"}},
				Downloaders: []Downloader{{Protocols: []string{"x", "y"}, Command: []PlatformCommand{{Command: "get"}}}}},
		},
		{name: "helm 3 unknown field", yaml: "name: a\ncomand: x\n", err: `unknown field "comand"`},
		{name: "helm 3 bad name", yaml: "name: a b\n", err: `invalid plugin name at "f/plugin.yaml"`},
		{name: "helm 4 unknown field", yaml: "apiVersion: v1\nname: a\ntype: cli/v1\nruntime: subprocess\nversion: 1.0.0\nusage: x\n", err: "field usage not found"},
		{name: "helm 4 every problem", yaml: "apiVersion: v1\nname: a b\nversion: one\n", err: "invalid plugin `name`\ninvalid plugin `version` \"one\": must be valid semver\n`type` missing\n`runtime` missing"},
		{name: "helm 4 wasm", yaml: "apiVersion: v1\nname: w\ntype: cli/v1\nruntime: extism/v1\nversion: 1.0.0\n", err: "unsupported plugin"},
		{name: "helm 4 unknown type", yaml: "apiVersion: v1\nname: w\ntype: x/v1\nruntime: subprocess\nversion: 1.0.0\n", err: `unknown plugin type "x/v1"`},
		{name: "helm 4 getter without protocols", yaml: "apiVersion: v1\nname: w\ntype: getter/v1\nruntime: subprocess\nversion: 1.0.0\n", err: "getter has no protocols"},
		{name: "other apiVersion", yaml: "apiVersion: v2\nname: w\n", err: `invalid plugin apiVersion: "v2"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml), "f/plugin.yaml")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Hooks == nil && got.Hooks != nil && len(got.Hooks) == 0 {
				got.Hooks = nil
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Plugin{}), cmpopts.EquateEmpty(),
				cmpopts.IgnoreFields(Plugin{}, "expandHookArgs")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelectCommand(t *testing.T) {
	any := PlatformCommand{Command: "any"}
	osOnly := PlatformCommand{OS: "linux", Command: "os"}
	exact := PlatformCommand{OS: "Linux", Arch: "AMD64", Command: "exact x"}
	other := PlatformCommand{OS: "darwin", Command: "other"}
	archOnly := PlatformCommand{Arch: "amd64", Command: "arch-only"}
	for _, tt := range []struct {
		name string
		cmds []PlatformCommand
		want []string
	}{
		{"exact wins, case-insensitively", []PlatformCommand{any, osOnly, exact}, []string{"exact", "x"}},
		{"os beats any", []PlatformCommand{any, osOnly}, []string{"os"}},
		{"first any", []PlatformCommand{any, {Command: "second"}}, []string{"any"}},
		{"arch needs an os", []PlatformCommand{archOnly}, nil},
		{"no match", []PlatformCommand{other}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := selectCommand(tt.cmds, "linux", "amd64")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrepareExpands(t *testing.T) {
	env := map[string]string{"HELM_PLUGIN_DIR": "/p", "X": "x"}
	cmds := []PlatformCommand{{Command: "$HELM_PLUGIN_DIR/run ${X}", Args: []string{"$X", "lit"}}}
	main, argv, err := prepare(cmds, true, []string{"$X"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if main != "/p/run" || !cmp.Equal(argv, []string{"x", "x", "lit", "$X"}) {
		t.Errorf("got %q %q", main, argv)
	}
	_, argv, _ = prepare(cmds, false, nil, env)
	if !cmp.Equal(argv, []string{"${X}", "$X", "lit"}) {
		t.Errorf("unexpanded: %q", argv)
	}
	if _, _, err := prepare([]PlatformCommand{{OS: "plan9", Command: "x"}}, true, nil, env); !errors.Is(err, ErrNoCommand) {
		t.Errorf("no command: %v", err)
	}
}

func TestPluginName(t *testing.T) {
	for in, want := range map[string]string{
		"https://x/diff-3.9.0.tgz":        "diff",
		"/tmp/helm-secrets-v4.6.0.tar.gz": "helm-secrets-v4.6.0",
		"https://x/s3_0.16.2.tgz?x=1":     "s3_0.16.2",
		"plain.tgz":                       "plain",
	} {
		if got := pluginName(in); got != want {
			t.Errorf("pluginName(%q) = %q, want %q", in, got, want)
		}
	}
}

func tarball(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len("data"))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte("data"))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestExtractRefusesEscapes(t *testing.T) {
	for name, h := range map[string]*tar.Header{
		"parent":   {Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644},
		"absolute": {Name: "/etc/evil", Typeflag: tar.TypeReg, Mode: 0o644},
		"colon":    {Name: "c:evil", Typeflag: tar.TypeReg, Mode: 0o644},
		"symlink":  {Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Extract(tarball(t, h), filepath.Join(dir, "x")); err == nil {
				t.Fatal("extracted")
			}
			if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
				t.Error("wrote outside the target")
			}
		})
	}
	dir := t.TempDir()
	ok := tarball(t, &tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "p/plugin.yaml", Typeflag: tar.TypeReg, Mode: 0o644})
	if err := Extract(ok, dir); err != nil {
		t.Fatal(err)
	}
	if root, err := pluginRoot(dir); err != nil || root != filepath.Join(dir, "p") {
		t.Errorf("pluginRoot = %q, %v", root, err)
	}
}

// FuzzParse: no plugin.yaml makes Parse panic, and what it accepts has a
// valid name and a known type.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name: a\ncommand: x\n",
		"name: a\nplatformCommand:\n- os: linux\n  command: x\n  args: [y]\nplatformHooks:\n  install:\n  - command: z\n",
		"name: s3\ndownloaders:\n- command: bin/get\n  protocols: [s3]\n",
		"apiVersion: v1\nname: c\ntype: cli/v1\nruntime: subprocess\nversion: 1.2.3\nconfig:\n  shortHelp: s\n",
		"apiVersion: v1\nname: g\ntype: getter/v1\nruntime: subprocess\nversion: 1.0.0\nconfig:\n  protocols: [x]\nruntimeConfig:\n  protocolCommands:\n  - protocols: [x]\n    platformCommand:\n    - command: get\n",
		"apiVersion: v1\nname: p\ntype: postrenderer/v1\nruntime: subprocess\nversion: 1.0.0\n",
		"apiVersion: [",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "plugin.yaml")
		if err != nil {
			return
		}
		if !validName.MatchString(p.Name) {
			t.Errorf("accepted name %q", p.Name)
		}
		switch p.Type {
		case TypeCLI, TypeGetter, TypePostRenderer:
		default:
			t.Errorf("accepted type %q", p.Type)
		}
	})
}

// FuzzExtract: no archive makes Extract panic or write outside its
// directory.
func FuzzExtract(f *testing.F) {
	f.Add([]byte{})
	for _, h := range []*tar.Header{
		{Name: "plugin.yaml", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "../x", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755},
	} {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		if h.Typeflag == tar.TypeReg {
			h.Size = 1
		}
		_ = tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte("x"))
		}
		tw.Close()
		zw.Close()
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		_ = Extract(data, filepath.Join(parent, "in"))
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "in" {
				t.Errorf("wrote %q outside the target directory", e.Name())
			}
		}
	})
}
