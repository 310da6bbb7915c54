package helmpath_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/helmpath"
)

func TestPathsPrecedence(t *testing.T) {
	tests := []struct {
		name             string
		env              map[string]string
		goos             string
		cache, cfg, data string
	}{
		{
			name: "defaults linux", goos: "linux",
			env:   map[string]string{"HOME": "/home/u"},
			cache: "/home/u/.cache/helm", cfg: "/home/u/.config/helm", data: "/home/u/.local/share/helm",
		},
		{
			name: "xdg", goos: "linux",
			env:   map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xc", "XDG_CONFIG_HOME": "/xf", "XDG_DATA_HOME": "/xd"},
			cache: "/xc/helm", cfg: "/xf/helm", data: "/xd/helm",
		},
		{
			name: "helm vars win and get no helm suffix", goos: "linux",
			env:   map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xc", "HELM_CACHE_HOME": "/hc", "HELM_CONFIG_HOME": "/hf", "HELM_DATA_HOME": "/hd"},
			cache: "/hc", cfg: "/hf", data: "/hd",
		},
		{
			name: "empty helm var is ignored", goos: "linux",
			env:   map[string]string{"HOME": "/home/u", "HELM_CACHE_HOME": ""},
			cache: "/home/u/.cache/helm", cfg: "/home/u/.config/helm", data: "/home/u/.local/share/helm",
		},
		{
			name: "darwin", goos: "darwin",
			env:   map[string]string{"HOME": "/Users/u"},
			cache: "/Users/u/Library/Caches/helm", cfg: "/Users/u/Library/Preferences/helm", data: "/Users/u/Library/helm",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := helmpath.NewPaths(helmpath.MapLookup(tt.env), tt.goos)
			got := []string{p.CachePath(""), p.ConfigPath(""), p.DataPath("")}
			if diff := cmp.Diff([]string{tt.cache, tt.cfg, tt.data}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettingsFromEnv(t *testing.T) {
	s := helmpath.FromEnv(helmpath.MapLookup(map[string]string{
		"HOME":                   "/h",
		"HELM_REPOSITORY_CONFIG": "/r.yaml",
		"HELM_DEBUG":             "yes-ish", // unparsable: false, as in Helm
		"HELM_MAX_HISTORY":       "x",       // unparsable: default
		"HELM_BURST_LIMIT":       "7",
		"HELM_QPS":               "2.5",
		"HELM_KUBEASGROUPS":      ",a,b,",
		"HELM_NAMESPACE":         "ns",
	}))
	if s.RepositoryConfig != "/r.yaml" || s.RepositoryCache != "/h/.cache/helm/repository" ||
		s.RegistryConfig != "/h/.config/helm/registry/config.json" || s.PluginsDirectory != "/h/.local/share/helm/plugins" {
		t.Errorf("paths: %+v", s)
	}
	if s.Debug || s.MaxHistory != 10 || s.BurstLimit != 7 || s.QPS != 2.5 || s.NamespaceOrDefault() != "ns" {
		t.Errorf("values: %+v", s)
	}
	vars := s.EnvVars()
	if vars["HELM_KUBEASGROUPS"] != "a,b" || vars["HELM_QPS"] != "2.50" || vars["HELM_DEBUG"] != "false" {
		t.Errorf("EnvVars: %v", vars)
	}
	if _, ok := vars["KUBECONFIG"]; ok {
		t.Error("KUBECONFIG listed without being set")
	}
}

func ExampleSettings_EnvVars() {
	s := helmpath.FromEnv(helmpath.MapLookup(map[string]string{"HOME": "/home/me", "XDG_CONFIG_HOME": "/etc/me"}))
	vars := s.EnvVars()
	for _, k := range []string{"HELM_CONFIG_HOME", "HELM_REPOSITORY_CONFIG", "HELM_REPOSITORY_CACHE"} {
		fmt.Printf("%s=%q\n", k, vars[k])
	}
	// Output:
	// HELM_CONFIG_HOME="/etc/me/helm"
	// HELM_REPOSITORY_CONFIG="/etc/me/helm/repositories.yaml"
	// HELM_REPOSITORY_CACHE="/home/me/.cache/helm/repository"
}
