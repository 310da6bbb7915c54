// Package ui tests chartd's web UI in headless Chromium (Debian's
// chromium, driven by chromedp) against a chartd process on 127.0.0.1:
// what a person does, with screenshots kept as test artifacts.
package ui

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/chartd/chartd/internal/testutil/browser"
	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/procs"
)

var chartdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chartd-ui-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wd, _ := os.Getwd()
	chartdBin, err = procs.Build(filepath.Join(wd, "..", ".."), "./cmd/chartd", dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const usersConfig = `depth: 1
users:
- name: alice
  password: alice-pw
  grants: [{tenant: a, actions: ["*"]}]
- name: bob
  password: bob-pw
  grants: [{tenant: b, actions: ["*"]}]
`

// demoFiles make a chart with everything its page shows, and a README
// that tries to run script.
func demoFiles(name string) map[string]string {
	return map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: " + name + "\nversion: 0.2.0\nappVersion: \"1.25\"\ndescription: A demo web server\n" +
			"home: https://example.org/demo\nsources: [https://example.org/src]\nkeywords: [web, demo]\n" +
			"maintainers:\n- name: Ann\n  email: ann@example.org\n" +
			"dependencies:\n- name: redis\n  version: \">=17\"\n  repository: https://charts.example.org\n  condition: redis.enabled\n",
		"README.md": "# Demo chart\n\nIt serves **pages**.\n\n<script>window.__xss = 1</script>\n" +
			"<img src=\"x\" onerror=\"window.__xss = 2\">\n",
		"values.yaml":             "# how many\nreplicaCount: 2\nimage:\n  repository: nginx\n  tag: \"1.25\"\nredis:\n  enabled: false\n",
		"values.schema.json":      `{"type":"object","properties":{"replicaCount":{"type":"integer"}}}`,
		"charts/redis/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 17.0.0\n",
	}
}

type server struct {
	proc *procs.Proc
	url  string
}

func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(usersConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	p := procs.StartChartd(t, chartdBin, filepath.Join(dir, "data"), append([]string{"--config=" + cfg}, args...)...)
	s := &server{proc: p, url: p.URL}
	browser.RequireUI(t, s.url)
	s.upload(t, "alice", "a", charttest.Chart("demo", "0.1.0", nil))
	s.upload(t, "alice", "a", charttest.Chart("demo", "0.2.0", demoFiles("demo")))
	s.upload(t, "alice", "a", charttest.Chart("other", "1.0.0", nil))
	s.upload(t, "bob", "b", charttest.Chart("secret", "1.0.0", nil))
	return s
}

func (s *server) upload(t *testing.T, user, tenant string, tgz []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/api/"+tenant+"/charts", bytes.NewReader(tgz))
	req.SetBasicAuth(user, user+"-pw")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload to %s: %d", tenant, res.StatusCode)
	}
}

// run runs steps, failing the test with a screenshot of where they stopped.
func run(t *testing.T, ctx context.Context, shots, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		if serr := browser.TryScreenshot(ctx, shots, "failed-"+strings.ReplaceAll(what, " ", "-")); serr != nil {
			t.Log(serr)
		}
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// clear empties a field as selecting its text and deleting it would,
// input event included. Setting the value alone left the page's state
// holding the old text, and any re-render before the next key (an effect
// after a search's answer) put it back: "sec" then "dem" searched for
// "secdem" on a slow CI machine.
func clear(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.focus(); e.select(); e.value = "";
  e.dispatchEvent(new InputEvent("input", {bubbles: true, inputType: "deleteContentBackward"})); })()`, sel)
		_, err := chromedp.Evaluate[chromedp.Void](js)(ctx, t)
		return err
	})
}

// waitFor polls a JavaScript predicate (bounded by the step's context).
func waitFor(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(15*time.Second))
}

func TestBrowseLogInAndIsolation(t *testing.T) {
	s := startServer(t)
	shots := browser.ArtifactsDir(t)
	ctx := browser.New(t, 2*time.Minute)
	u := s.url + "/ui/"

	// Anonymous read is off: the home page lists nothing and offers a login.
	run(t, ctx, shots, "open home",
		chromedp.Navigate(u),
		waitFor(`document.body.dataset.ready === "home"`),
		chromedp.WaitVisible(chromedp.CSS(`header a[href*="/ui/login"]`)),
	)
	if n := eval[int](t, ctx, `document.querySelectorAll("a.result").length`); n != 0 {
		t.Errorf("an anonymous caller sees %d charts", n)
	}
	browser.Screenshot(t, ctx, shots, "01-home-anonymous")

	// Log in through chartd's own auth: a wrong password first.
	run(t, ctx, shots, "open login",
		chromedp.Click(chromedp.CSS(`header a[href*="/ui/login"]`)),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "wrong"),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
		waitFor(`(document.querySelector("form.login [role=alert]")?.textContent ?? "").includes("Wrong user name or password")`),
	)
	browser.Screenshot(t, ctx, shots, "02-login-refused")
	run(t, ctx, shots, "log in",
		clear("#password"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-pw"),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
		waitFor(`document.querySelectorAll("a.result").length === 2`),
	)
	if got := eval[string](t, ctx, `sessionStorage.getItem("chartd.login")`); !strings.Contains(got, `"Bearer `) || strings.Contains(got, "alice-pw") {
		t.Errorf("the login is not a token, or keeps the password: %s", got)
	}
	browser.Screenshot(t, ctx, shots, "03-home-alice")

	// Search as you type: "sec" finds nothing of bob's, "dem" finds demo.
	run(t, ctx, shots, "search secret",
		chromedp.SendKeys(chromedp.ID("search"), "sec"),
		waitFor(`(document.querySelector("#results")?.textContent ?? "").includes("No chart matches “sec”")`),
	)
	run(t, ctx, shots, "search demo",
		clear("#search"),
		chromedp.SendKeys(chromedp.ID("search"), "dem"),
		waitFor(`location.search === "?q=dem" && document.querySelectorAll("a.result").length === 1`),
	)
	if got := eval[string](t, ctx, `document.querySelector("a.result").textContent`); !strings.Contains(got, "demo") || !strings.Contains(got, "0.2.0") {
		t.Errorf("search result: %q", got)
	}
	browser.Screenshot(t, ctx, shots, "04-search")

	// Keyboard only: ArrowDown from the search box to the result, Enter opens it.
	run(t, ctx, shots, "open chart by keyboard",
		chromedp.Focus(chromedp.ID("search")),
		chromedp.KeyEvent(kb.ArrowDown),
		waitFor(`document.activeElement.classList.contains("result")`),
		chromedp.KeyEvent(kb.Enter),
		waitFor(`document.body.dataset.ready === "chart"`),
	)
	if p := eval[string](t, ctx, `location.pathname`); p != "/ui/charts/a/demo" {
		t.Errorf("chart page URL: %s", p)
	}
	browser.Screenshot(t, ctx, shots, "05-chart")

	// The README is rendered and sanitised, the values highlighted.
	checks := map[string]string{
		`document.querySelector(".readme h1").textContent`:                              "Demo chart",
		`document.querySelector(".readme strong").textContent`:                          "pages",
		`String(document.querySelectorAll(".readme script, .readme [onerror]").length)`: "0",
		`String(window.__xss)`: "undefined",
		`Array.from(document.querySelectorAll(".yaml .y-key")).map(e => e.textContent).join(",")`:                          "replicaCount,image,repository,tag,redis,enabled",
		`document.querySelector(".yaml .y-comment").textContent`:                                                           "# how many",
		`document.querySelector(".yaml .y-number").textContent`:                                                            "2",
		`document.querySelector("[aria-label='values.schema.json']").textContent.includes('"replicaCount"') ? "ok" : "no"`: "ok",
		`document.querySelector("#deps-title + table tbody td").textContent`:                                               "redis",
		`document.querySelector("#maint-title + ul").textContent.includes("ann@example.org") ? "ok" : "no"`:                "ok",
		`document.querySelector("a[href='https://example.org/src']") ? "ok" : "no"`:                                        "ok",
		`document.querySelector(".digest").textContent.startsWith("sha256:") ? "ok" : "no"`:                                "ok",
		`document.querySelector("dl.details").textContent.includes("Not signed") ? "ok" : "no"`:                            "ok",
		`String(document.querySelectorAll("table.versions tbody tr").length)`:                                              "2",
	}
	for js, want := range checks {
		if got := eval[string](t, ctx, js); got != want {
			t.Errorf("%s = %q, want %q", js, got, want)
		}
	}

	// Copy a snippet: the clipboard holds exactly the snippet shown.
	origin := s.url
	for _, p := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: p}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin,
		}); err != nil {
			t.Fatalf("grant %s: %v", p, err)
		}
	}
	want := fmt.Sprintf("helm repo add a %s/a\nhelm install my-demo a/demo --version 0.2.0", s.url)
	if got := eval[string](t, ctx, `document.getElementById("snippet-repo").textContent`); got != want {
		t.Errorf("repo snippet:\n%s\nwant:\n%s", got, want)
	}
	oci := fmt.Sprintf("helm install my-demo oci://%s/a/demo --version 0.2.0", strings.TrimPrefix(s.url, "http://"))
	if got := eval[string](t, ctx, `document.getElementById("snippet-oci").textContent`); got != oci {
		t.Errorf("oci snippet: %q, want %q", got, oci)
	}
	run(t, ctx, shots, "copy",
		chromedp.Click(chromedp.CSS(`button[data-copy="snippet-repo"]`)),
		waitFor(`(document.querySelector(".snippet .status")?.textContent ?? "") === "Copied"`),
	)
	if got := eval[string](t, ctx, `navigator.clipboard.readText()`); got != want {
		t.Errorf("clipboard: %q, want %q", got, want)
	}
	browser.Screenshot(t, ctx, shots, "06-copied")

	// The download link serves the archive with the login.
	if n := eval[int](t, ctx, `fetch("/a/charts/demo-0.2.0.tgz", {credentials: "omit", headers: {Authorization: JSON.parse(sessionStorage.getItem("chartd.login")).header}}).then(r => r.status)`); n != 200 {
		t.Errorf("download with the login: %d", n)
	}

	// The repository page: figures and recent pushes, no global storage.
	run(t, ctx, shots, "repository page",
		chromedp.Click(chromedp.CSS(`.crumbs a`)),
		waitFor(`document.body.dataset.ready === "repo"`),
	)
	if got := eval[string](t, ctx, `document.querySelector("#recent-title + ul li a").textContent`); got != "other 1.0.0" {
		t.Errorf("newest push: %q", got)
	}
	if eval[bool](t, ctx, `!!document.getElementById("storage-title")`) {
		t.Error("alice, no global admin, is shown the global storage figures")
	}
	browser.Screenshot(t, ctx, shots, "07-repository")

	// Another tenant's chart is not reachable: not by its URL in the UI…
	run(t, ctx, shots, "open bob's chart",
		chromedp.Navigate(s.url+"/ui/charts/b/secret"),
		waitFor(`!!document.querySelector("main [role=alert]")`),
	)
	if got := eval[string](t, ctx, `document.querySelector("main").textContent`); strings.Contains(got, "1.0.0") || !strings.Contains(got, "does not reach") {
		t.Errorf("bob's chart page for alice: %q", got)
	}
	browser.Screenshot(t, ctx, shots, "08-other-tenant")
	// …nor through the API with the UI's own login.
	for _, p := range []string{"/api/v1/charts/secret/latest?repo=b", "/api/v1/charts/secret?repo=b", "/api/v1/repository?repo=b", "/api/v1/charts?repo=b"} {
		js := fmt.Sprintf(`fetch(%q, {credentials: "omit", headers: {Authorization: JSON.parse(sessionStorage.getItem("chartd.login")).header}}).then(r => r.status)`, p)
		if n := eval[int](t, ctx, js); n != http.StatusUnauthorized {
			t.Errorf("alice's UI token, GET %s: %d, want 401", p, n)
		}
	}
	js := `fetch("/api/v1/charts?q=secret", {credentials: "omit", headers: {Authorization: JSON.parse(sessionStorage.getItem("chartd.login")).header}}).then(r => r.text())`
	if got := eval[string](t, ctx, js); strings.Contains(got, "secret\"") || !strings.Contains(got, `"charts":[]`) {
		t.Errorf("alice's search for secret: %s", got)
	}

	// Logging out forgets the token.
	run(t, ctx, shots, "log out",
		chromedp.Navigate(u),
		waitFor(`document.querySelectorAll("a.result").length === 2`),
		chromedp.Click(chromedp.CSS(`header nav button`)),
		waitFor(`sessionStorage.getItem("chartd.login") === null && document.querySelectorAll("a.result").length === 0`),
	)
}

// With anonymous read on, the UI browses without a login; a global admin
// sees the storage figures.
func TestAnonymousBrowsingAndAdmin(t *testing.T) {
	s := startServer(t, "--auth-anonymous-get")
	shots := browser.ArtifactsDir(t)
	ctx := browser.New(t, time.Minute)
	run(t, ctx, shots, "home",
		chromedp.Navigate(s.url+"/ui/"),
		waitFor(`document.querySelectorAll("a.result").length === 3`),
		waitFor(`(document.querySelector("header")?.textContent ?? "").includes("Browsing anonymously")`),
	)
	browser.Screenshot(t, ctx, shots, "01-home-anonymous")
	run(t, ctx, shots, "chart",
		chromedp.Navigate(s.url+"/ui/charts/a/demo?version=0.1.0"),
		waitFor(`document.body.dataset.ready === "chart"`),
	)
	if got := eval[string](t, ctx, `document.querySelector("h1").textContent`); got != "demo 0.1.0" {
		t.Errorf("title: %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("a.button[download]").getAttribute("href")`); got != "/a/charts/demo-0.1.0.tgz" {
		t.Errorf("download link: %q", got)
	}
	browser.Screenshot(t, ctx, shots, "02-chart-anonymous")
}
