package statuspage_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which test/run.sh installs when it is
// missing and names in TEKBOT_CHROMIUM.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("TEKBOT_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no Chromium at %s (test/run.sh installs Debian's chromium; or set TEKBOT_CHROMIUM): %v", path, err)
	}
	return path
}

// artifactDir is where screenshots go: TEKBOT_TEST_ARTIFACTS (test/run.sh
// sets it, in the cache folder) or the test's temporary folder.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TEKBOT_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is a headless Chromium for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1100, 900),
	)
	ctx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// A person opens the page in a browser: it shows today's captain, the
// failing pipeline, the open page and a recent action; the inline style
// passes the CSP; hostile texts are text, not elements, and run nothing;
// on a phone's width nothing scrolls sideways.
func TestStatusPageInChromium(t *testing.T) {
	t.Parallel()
	w := seedWorld(t)
	w.page.Refresh()
	srv := httptest.NewServer(w.page)
	defer srv.Close()
	ctx := browser(t)

	var captain, runs, pages, actions, pipeline, warnColour, flaky string
	var elements int
	var pwned, phoneOverflow bool
	var desktop, phone []byte
	text := func(dst *string, css string) chromedp.Action[chromedp.Void] {
		return into(dst, chromedp.Text(chromedp.CSS(css)))
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/?token="+viewerToken),
		chromedp.WaitVisible(chromedp.CSS("#captain-today")),
		text(&captain, "#captain-today"),
		text(&runs, "#runs"),
		text(&pages, "#pages"),
		text(&actions, "#actions"),
		text(&flaky, "#flakes"),
		text(&pipeline, "table.runs tr.run td"),
		into(&elements, chromedp.Evaluate[int](`document.querySelectorAll("img, script, iframe, object").length`)),
		into(&pwned, chromedp.Evaluate[bool](`typeof window.pwned !== "undefined"`)),
		// The style only applies if the CSP's hash matches the sheet.
		into(&warnColour, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".warn")).backgroundColor`)),
		into(&desktop, chromedp.FullScreenshot(100)),
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#captain-today")),
		into(&phoneOverflow, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)),
		into(&phone, chromedp.FullScreenshot(100)),
	)
	if err != nil {
		t.Fatal(err)
	}
	dir := artifactDir(t)
	for name, png := range map[string][]byte{"statuspage.png": desktop, "statuspage-phone.png": phone} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d KB)", path, len(png)/1024)
	}

	checks := []struct {
		what, got, want string
	}{
		{"today's captain", captain, "andrea"},
		{"the failing pipeline", runs, "unit-tests-7f3k"},
		{"its state", runs, "failed"},
		{"the open page", pages, "dogfooding cluster is down"},
		{"its escalation", pages, "past its escalation time"},
		{"a recent action", actions, "rerun unit-tests-7f3k"},
		{"the hostile page reason, as text", pages, "<script>window.pwned=1</script> nightly is broken"},
		{"the hostile pipeline name, as text", pipeline, `"><img src=x onerror="window.pwned=2">`},
		{"the hostile argument, as text", actions, `"><img src=x onerror=window.pwned=3>`},
		{"the inline style under the CSP", warnColour, "rgb(255, 244, 206)"},
		{"the flakiest pipeline, with its count", flaky, "pipeline\tunit-tests\tany\t2"},
		{"a flaky task", flaky, "unit-tests\te2e\t1"},
		{"the hostile flaky pipeline, as text", flaky, hostilePipeline},
	}
	for _, c := range checks {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s: %q lacks %q", c.what, c.got, c.want)
		}
	}
	if elements != 0 || pwned {
		t.Errorf("hostile text became markup: %d img/script elements, script ran: %v", elements, pwned)
	}
	if phoneOverflow {
		t.Errorf("on a phone the page scrolls sideways")
	}
}

// into runs a and keeps its value in dst, so that one Do runs the whole
// visit.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}
