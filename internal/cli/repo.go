package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gosuri/uitable"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/registry"
	"github.com/chartd/chartd/repo"
)

// Sentinel errors with Helm's wording.
var (
	errNoRepositories       = errors.New("no repositories found. You must add one before updating")
	errNoRepositoriesToShow = errors.New("no repositories to show")
)

// deprecatedRepos are the retired official repositories Helm refuses to add.
var deprecatedRepos = map[string]string{
	"//kubernetes-charts.storage.googleapis.com":           "https://charts.helm.sh/stable",
	"//kubernetes-charts-incubator.storage.googleapis.com": "https://charts.helm.sh/incubator",
}

func newRepoCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repo add|remove|list|index|update [ARGS]",
		Short: "add, list, remove, update, and index chart repositories",
		Long: `
This command consists of multiple subcommands to interact with chart repositories.

It can be used to add, remove, list, and index chart repositories.
`,
		Args: noArgs,
	}
	cmd.AddCommand(newRepoAddCmd(env), newRepoListCmd(env), newRepoRemoveCmd(env), newRepoIndexCmd(env), newRepoUpdateCmd(env))
	return cmd
}

// RepoAdd is `helm repo add NAME URL`.
type RepoAdd struct {
	Env                   *Env
	Name, URL             string
	Username, Password    string
	PasswordFromStdin     bool
	PassCredentialsAll    bool
	ForceUpdate           bool
	AllowDeprecatedRepos  bool
	CertFile, KeyFile     string
	CAFile                string
	InsecureSkipTLSVerify bool
	Timeout               time.Duration
	NoUpdate              bool
	PlainHTTP             bool
}

// Run adds the repository after downloading its index.
func (a *RepoAdd) Run(ctx context.Context, out io.Writer) error {
	if !a.AllowDeprecatedRepos {
		for old, repl := range deprecatedRepos {
			if strings.Contains(a.URL, old) {
				return fmt.Errorf("repo %q is no longer available; try %q instead", a.URL, repl)
			}
		}
	}
	s := a.Env.Settings
	unlock, err := repo.Lock(ctx, s.RepositoryConfig)
	if err != nil {
		return err
	}
	defer unlock()

	rf, err := loadRepoFiles(s)
	if err != nil {
		return err
	}
	f := rf.http
	if a.Username != "" && a.Password == "" {
		if a.PasswordFromStdin {
			if a.Password, err = readSecret(a.Env.In); err != nil {
				return err
			}
		} else {
			fmt.Fprint(out, "Password: ")
			pw, err := readPassword(a.Env.In)
			fmt.Fprintln(out)
			if err != nil {
				return fmt.Errorf("read password: %w", err)
			}
			a.Password = pw
		}
	}
	e := &repo.Entry{
		Name: a.Name, URL: a.URL, Username: a.Username, Password: a.Password,
		PassCredentialsAll: a.PassCredentialsAll, CertFile: a.CertFile, KeyFile: a.KeyFile,
		CAFile: a.CAFile, InsecureSkipTLSVerify: a.InsecureSkipTLSVerify,
	}
	if strings.Contains(a.Name, "/") {
		return fmt.Errorf("repository name (%s) contains '/', please specify a different name without '/'", a.Name)
	}
	if registry.IsOCI(a.URL) {
		e.PlainHTTP = a.PlainHTTP
		return a.addOCI(ctx, out, rf, e)
	}
	if a.PlainHTTP {
		return errors.New("--plain-http applies to oci:// repositories only")
	}
	if rf.oci.Has(a.Name) {
		return fmt.Errorf("repository name (%s) already exists, please specify a different name", a.Name)
	}
	if existing := f.Get(a.Name); existing != nil && !a.ForceUpdate {
		if *existing != *e {
			return fmt.Errorf("repository name (%s) already exists, please specify a different name", a.Name)
		}
		fmt.Fprintf(out, "%q already exists with the same configuration, skipping\n", a.Name)
		return nil
	}
	if err := checkRepoScheme(a.Env, a.URL); err != nil {
		return err
	}
	cache := repo.Cache{Dir: s.RepositoryCache, Logger: a.Env.Logger, Open: openerFor(a.Env)}
	if _, err := cache.Update(ctx, e, a.Timeout); err != nil {
		return fmt.Errorf("looks like %q is not a valid chart repository or cannot be reached: %w", a.URL, err)
	}
	f.Update(e)
	if err := f.WriteFile(s.RepositoryConfig, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(out, "%q has been added to your repositories\n", a.Name)
	return nil
}

func newRepoAddCmd(env *Env) *cobra.Command {
	a := &RepoAdd{Env: env}
	cmd := &cobra.Command{
		Use:   "add [NAME] [URL]",
		Short: "add a chart repository",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name, a.URL = args[0], args[1]
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Username, "username", "", "chart repository username")
	f.StringVar(&a.Password, "password", "", "chart repository password")
	f.BoolVarP(&a.PasswordFromStdin, "password-stdin", "", false, "read chart repository password from stdin")
	f.BoolVar(&a.ForceUpdate, "force-update", false, "replace (overwrite) the repo if it already exists")
	f.BoolVar(&a.NoUpdate, "no-update", false, "Ignored. Formerly, it would disabled forced updates. It is deprecated by force-update.")
	f.StringVar(&a.CertFile, "cert-file", "", "identify HTTPS client using this SSL certificate file")
	f.StringVar(&a.KeyFile, "key-file", "", "identify HTTPS client using this SSL key file")
	f.StringVar(&a.CAFile, "ca-file", "", "verify certificates of HTTPS-enabled servers using this CA bundle")
	f.BoolVar(&a.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "skip tls certificate checks for the repository")
	f.BoolVar(&a.AllowDeprecatedRepos, "allow-deprecated-repos", false, "by default, this command will not allow adding official repos that have been permanently deleted. This disables that behavior")
	f.BoolVar(&a.PassCredentialsAll, "pass-credentials", false, "pass credentials to all domains")
	f.BoolVar(&a.PlainHTTP, "plain-http", false, "use insecure HTTP connections for an oci:// repository (not in real Helm, which cannot add OCI repositories)")
	f.DurationVar(&a.Timeout, "timeout", 120*time.Second, "time to wait for the index file download to complete")
	return cmd
}

// RepoUpdate is `helm repo update [REPO...]`.
type RepoUpdate struct {
	Env                  *Env
	Names                []string
	FailOnRepoUpdateFail bool
	Timeout              time.Duration
}

// Run refreshes the cached indexes in parallel.
func (a *RepoUpdate) Run(ctx context.Context, out io.Writer) error {
	s := a.Env.Settings
	rf, err := loadRepoFiles(s)
	if err != nil {
		return fmt.Errorf("failed loading file: %s: %w", s.RepositoryConfig, err)
	}
	all := rf.all()
	if len(all) == 0 {
		return errNoRepositories
	}
	for _, n := range a.Names {
		if rf.get(n) == nil {
			return fmt.Errorf("no repositories found matching '%s'.  Nothing will be updated", n)
		}
	}
	var entries []*repo.Entry
	for _, e := range all {
		if len(a.Names) == 0 || slices.Contains(a.Names, e.Name) {
			entries = append(entries, e)
		}
	}
	fmt.Fprintln(out, "Hang tight while we grab the latest from your chart repositories...")
	cache := repo.Cache{Dir: s.RepositoryCache, Logger: a.Env.Logger, Open: openerFor(a.Env)}
	var (
		mu     sync.Mutex
		failed []string
		wg     sync.WaitGroup
	)
	for _, e := range entries {
		wg.Go(func() {
			err := updateEntry(ctx, a.Env, cache, e, a.Timeout)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fmt.Fprintf(out, "...Unable to get an update from the %q chart repository (%s):\n\t%s\n", e.Name, e.URL, err)
				failed = append(failed, e.URL)
				return
			}
			fmt.Fprintf(out, "...Successfully got an update from the %q chart repository\n", e.Name)
		})
	}
	wg.Wait()
	if err := cache.Prune(); err != nil {
		a.Env.Logger.Debug("prune parsed caches", "err", err)
	}
	if len(failed) > 0 && a.FailOnRepoUpdateFail {
		return fmt.Errorf("Failed to update the following repositories: %s", failed) //nolint:staticcheck // Helm's text
	}
	fmt.Fprintln(out, "Update Complete. ⎈Happy Helming!⎈")
	return nil
}

func newRepoUpdateCmd(env *Env) *cobra.Command {
	a := &RepoUpdate{Env: env}
	cmd := &cobra.Command{
		Use:     "update [REPO1 [REPO2 ...]]",
		Aliases: []string{"up"},
		Short:   "update information of available charts locally from chart repositories",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Names = args
			return a.Run(cmd.Context(), env.Out)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.FailOnRepoUpdateFail, "fail-on-repo-update-fail", false, "update fails if any of the repository updates fail")
	f.DurationVar(&a.Timeout, "timeout", 120*time.Second, "time to wait for the index file download to complete")
	return cmd
}

// RepoList is `helm repo list`.
type RepoList struct {
	Env    *Env
	Output outputFormat
	// NoHeaders is Helm 4's --no-headers.
	NoHeaders bool
}

type repoListElement struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Run lists the configured repositories.
func (a *RepoList) Run(_ context.Context, out io.Writer) error {
	rf, err := loadRepoFiles(a.Env.Settings)
	if err != nil {
		return err
	}
	all := rf.all()
	if len(all) == 0 && a.Output == formatTable {
		return errNoRepositoriesToShow
	}
	list := make([]repoListElement, 0, len(all))
	for _, e := range all {
		list = append(list, repoListElement{e.Name, e.URL})
	}
	switch a.Output {
	case formatJSON:
		return json.NewEncoder(out).Encode(list)
	case formatYAML:
		return writeYAML(out, list)
	}
	t := uitable.New()
	if !a.NoHeaders {
		t.AddRow("NAME", "URL")
	}
	for _, e := range list {
		t.AddRow(e.Name, e.URL)
	}
	return writeTable(out, t)
}

func writeYAML(out io.Writer, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("unable to write YAML output: %w", err)
	}
	_, err = out.Write(b)
	return err
}

func writeTable(out io.Writer, t *uitable.Table) error {
	_, err := out.Write(append(t.Bytes(), '\n'))
	return err
}

func newRepoListCmd(env *Env) *cobra.Command {
	a := &RepoList{Env: env}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "list chart repositories",
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.Run(cmd.Context(), env.Out) },
	}
	bindOutputFlag(cmd.Flags(), &a.Output)
	// Helm 4's flag, hidden so that help reads as Helm 3's.
	cmd.Flags().BoolVar(&a.NoHeaders, "no-headers", false, "suppress headers in the output")
	_ = cmd.Flags().MarkHidden("no-headers")
	return cmd
}

// RepoRemove is `helm repo remove NAME...`.
type RepoRemove struct {
	Env   *Env
	Names []string
}

// Run removes the repositories and their cache files.
func (a *RepoRemove) Run(ctx context.Context, out io.Writer) error {
	s := a.Env.Settings
	unlock, err := repo.Lock(ctx, s.RepositoryConfig)
	if err != nil {
		return err
	}
	defer unlock()
	rf, err := loadRepoFiles(s)
	if err != nil {
		return err
	}
	if len(rf.all()) == 0 {
		return repo.ErrNoRepositories
	}
	cache := repo.Cache{Dir: s.RepositoryCache}
	for _, n := range a.Names {
		f, path := rf.http, rf.httpPath
		if !f.Has(n) {
			f, path = rf.oci, rf.ociPath
		}
		if !f.Remove(n) {
			return fmt.Errorf("no repo named %q found", n)
		}
		if err := f.WriteFile(path, 0o600); err != nil {
			return err
		}
		if err := cache.Remove(n); err != nil {
			return err
		}
		fmt.Fprintf(out, "%q has been removed from your repositories\n", n)
	}
	if err := cache.Prune(); err != nil {
		a.Env.Logger.Debug("prune parsed caches", "err", err)
	}
	return nil
}

func newRepoRemoveCmd(env *Env) *cobra.Command {
	a := &RepoRemove{Env: env}
	return &cobra.Command{
		Use:     "remove [REPO1 [REPO2 ...]]",
		Aliases: []string{"rm"},
		Short:   "remove one or more chart repositories",
		Args:    minimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Names = args
			return a.Run(cmd.Context(), env.Out)
		},
	}
}

// readPassword reads a password without echoing it when in is a terminal,
// as Helm does; otherwise (a pipe, a test) it reads one line.
func readPassword(in io.Reader) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		return string(b), err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
