package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/repo"
)

var httpURL = regexp.MustCompile(`^https?://`)

// cmEnv fills the ChartMuseum settings the flags left empty from cm-push's
// variables (HELM_REPO_USERNAME, _PASSWORD, _ACCESS_TOKEN, _AUTH_HEADER,
// _CONTEXT_PATH).
func (a *Push) cmEnv() {
	for _, v := range []struct {
		dst *string
		key string
	}{
		{&a.Username, "HELM_REPO_USERNAME"}, {&a.Password, "HELM_REPO_PASSWORD"},
		{&a.AccessToken, "HELM_REPO_ACCESS_TOKEN"}, {&a.AuthHeader, "HELM_REPO_AUTH_HEADER"},
		{&a.ContextPath, "HELM_REPO_CONTEXT_PATH"},
	} {
		if s, ok := a.Env.Lookup(v.key); ok && *v.dst == "" {
			*v.dst = s
		}
	}
}

// archive returns the file to upload, its name and its provenance: the
// archive as it is, or, for a chart directory or a version override, the
// chart packaged on the fly (as cm-push does; then there is no .prov that
// could match it).
func (a *Push) archive(ctx context.Context) (name string, data, prov []byte, err error) {
	fi, err := os.Stat(a.Chart)
	if err != nil {
		return "", nil, nil, err
	}
	if !fi.IsDir() && a.Version == "" && a.AppVersion == "" {
		if data, err = os.ReadFile(a.Chart); err != nil {
			return "", nil, nil, err
		}
		if _, err := chart.ReadArchiveMetadata(ctx, bytes.NewReader(data), chart.Limits{}); err != nil {
			return "", nil, nil, err
		}
		if p, err := os.ReadFile(a.Chart + ".prov"); err == nil {
			prov = p
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", nil, nil, err
		}
		return filepath.Base(a.Chart), data, prov, nil
	}
	ch, err := chart.Load(ctx, a.Chart)
	if err != nil {
		return "", nil, nil, err
	}
	if a.Version != "" {
		if _, err := semver.StrictNewVersion(a.Version); err != nil {
			return "", nil, nil, ErrInvalidVersion
		}
		ch.Metadata.Version = a.Version
	}
	if a.AppVersion != "" {
		ch.Metadata.AppVersion = a.AppVersion
	}
	tmp, err := os.MkdirTemp("", "helm-push-")
	if err != nil {
		return "", nil, nil, err
	}
	defer os.RemoveAll(tmp)
	p, err := chart.Save(ctx, ch, tmp)
	if err != nil {
		return "", nil, nil, fmt.Errorf("failed to save: %w", err)
	}
	if data, err = os.ReadFile(p); err != nil {
		return "", nil, nil, err
	}
	return filepath.Base(p), data, nil, nil
}

// cmAuth authenticates requests as cm-push does: basic auth when there are
// both a username and a password (the repository's, overridden by flags
// and variables), else the access token, as "Authorization: Bearer
// <token>" or, with --auth-header, as is in that header.
type cmAuth struct{ username, password, token, header string }

func (c cmAuth) apply(req *http.Request) {
	switch {
	case c.username != "" && c.password != "":
		req.SetBasicAuth(c.username, c.password)
	case c.token != "" && c.header != "":
		req.Header.Set(c.header, c.token)
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// pushChartMuseum is the cm-push plugin's behaviour, built in: find the
// server's context path (the cached index of a configured repository, else
// the server's index), then POST the archive (and .prov) as multipart
// fields "chart" and "prov" to <ctx>/api/<repo path>/charts.
func (a *Push) pushChartMuseum(ctx context.Context, out io.Writer) error {
	a.cmEnv()
	e := &repo.Entry{Name: a.Remote, URL: a.Remote}
	named := !httpURL.MatchString(a.Remote)
	if named {
		f, _ := repo.LoadFile(a.Env.Settings.RepositoryConfig)
		if e = f.Get(a.Remote); e == nil {
			return fmt.Errorf("no repo named %q found", a.Remote)
		}
	}
	name, data, prov, err := a.archive(ctx)
	if err != nil {
		return err
	}
	opts := repo.OptionsFor(e)
	opts.Timeout = a.Timeout
	if a.CertFile != "" || a.KeyFile != "" || a.CAFile != "" {
		opts.CertFile, opts.KeyFile, opts.CAFile = a.CertFile, a.KeyFile, a.CAFile
	}
	opts.InsecureSkipTLSVerify = opts.InsecureSkipTLSVerify || a.InsecureSkipTLSVerify
	auth := cmAuth{username: e.Username, password: e.Password, token: a.AccessToken, header: a.AuthHeader}
	if a.Username != "" {
		auth.username = a.Username
	}
	if a.Password != "" {
		auth.password = a.Password
	}
	g, err := repo.NewGetter(opts)
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(e.URL, "/")
	contextPath := a.ContextPath
	if contextPath == "" {
		if contextPath, err = a.contextPath(ctx, g.Client(), auth, e, named); err != nil {
			return err
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("invalid repository URL %q: %w", base, err)
	}
	u.Path = path.Join("/", contextPath, "api", strings.TrimPrefix(u.Path, contextPath), "charts")
	u.RawPath = ""
	if a.Force {
		u.RawQuery = "force"
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := addFormFile(mw, "chart", name, data); err != nil {
		return err
	}
	if prov != nil {
		if err := addFormFile(mw, "prov", name+".prov", prov); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("User-Agent", repo.UserAgent)
	auth.apply(req)
	fmt.Fprintf(out, "Pushing %s to %s...\n", name, a.Remote)
	resp, err := g.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var cmErr struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &cmErr) != nil || cmErr.Error == "" {
			return &UploadError{Code: resp.StatusCode, Message: "could not properly parse response JSON: " + string(b)}
		}
		return &UploadError{Code: resp.StatusCode, Message: cmErr.Error}
	}
	fmt.Fprintln(out, "Done.")
	return nil
}

// contextPath is serverInfo.contextPath: from the cached index of a
// configured repository, as cm-push reads it, or the server's index (also
// when the cache is missing).
func (a *Push) contextPath(ctx context.Context, c *http.Client, auth cmAuth, e *repo.Entry, named bool) (string, error) {
	if named {
		if idx, err := (repo.Cache{Dir: a.Env.Settings.RepositoryCache, Logger: a.Env.Logger}).Load(e.Name); err == nil {
			return idx.ContextPath, nil
		}
	}
	u, err := repo.ResolveReferenceURL(e.URL, "index.yaml")
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", repo.UserAgent)
	auth.apply(req)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &repo.StatusError{URL: u, Status: resp.Status, Code: resp.StatusCode}
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	idx, err := index.LoadCompact(b)
	if err != nil {
		return "", err
	}
	return idx.ContextPath, nil
}

func addFormFile(mw *multipart.Writer, field, name string, data []byte) error {
	w, err := mw.CreateFormFile(field, name)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
