package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is one headless chromium tab with everything its page wrote to
// the console.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("chromium not found: apt-get install -y chromium")
	return ""
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// hash moves the single-page app to another view.
func (b *browser) hash(h string) {
	b.t.Helper()
	b.eval(fmt.Sprintf("location.hash = %q", h))
}

// waitFor evaluates js (an expression giving a string) until it gives want,
// and fails with the last value when the deadline passes.
func (b *browser) waitFor(what, js, want string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got string
	for {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
		if err == nil {
			got = v
			if got == want {
				return
			}
		} else {
			got = "error: " + err.Error()
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: got %q, want %q", what, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// messages returns what the page wrote to the console so far.
func (b *browser) messages() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.console...)
}

// noConsole fails on any console message, exception or browser log entry,
// except those expected says are the result of what the test provoked.
func (b *browser) noConsole(expected func(chromedp.ConsoleMessage) bool) {
	b.t.Helper()
	var bad []string
	for _, m := range b.messages() {
		if expected != nil && expected(m) {
			b.t.Logf("expected console message: %s (%s)", m, m.URL)
			continue
		}
		bad = append(bad, fmt.Sprintf("%s (%s %s:%d)", m, m.Source, m.URL, m.Line))
	}
	if len(bad) > 0 {
		b.t.Errorf("console messages:\n%s", strings.Join(bad, "\n"))
	}
}

// screenshot saves the whole page as $SLUICE_ARTIFACTS/<name>.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("SLUICE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatalf("artifacts: %v", err)
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.t.Logf("screenshot %s", path)
}
