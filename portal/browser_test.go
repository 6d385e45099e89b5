package portal_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/server"
)

// needs reports a missing tool: a failure under CI=true, a skip elsewhere.
func needs(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (scripts/test installs it)", what)
	}
	t.Skipf("%s; run ./scripts/test, or: apt-get install -y chromium && npm ci --prefix portal/e2e", what)
}

// TestBrowserWalkthrough runs portal/e2e/portal.test.mjs in Debian's Chromium
// against a real server: sign in, create resources, deploy through the
// wizard with its pricing confirmation, recover from a capacity shortage by
// switching resource, see the quota bars move, use the calculator, request
// quota, send traffic and see the utilization chart, buy a reservation and
// read the bill. Screenshots are kept in $PTU_ARTIFACTS (default
// portal/e2e/artifacts).
func TestBrowserWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	chromium := os.Getenv("PTU_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, err := os.Stat(chromium)
	needs(t, err == nil, "Chromium is not installed at "+chromium)
	node, err := exec.LookPath("node")
	needs(t, err == nil, "node is not installed")
	_, err = os.Stat("e2e/node_modules/playwright-core/package.json")
	needs(t, err == nil, "portal/e2e/node_modules is missing")

	artifacts := os.Getenv("PTU_ARTIFACTS")
	if artifacts == "" {
		artifacts, _ = filepath.Abs("e2e/artifacts")
	}
	shots := filepath.Join(artifacts, "screenshots")
	os.RemoveAll(shots)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	logf, err := os.Create(filepath.Join(artifacts, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s, err := server.New(ctx, server.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), SimTimeScale: 20,
		Logger: slog.New(slog.NewTextHandler(logf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() {
		cancel()
		<-done
		s.Close()
	}()

	// The metric minutes are written two minutes after they end; the test
	// writes them at once (as the server does when it stops) when told to.
	flush := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Metrics.FlushAll(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer flush.Close()

	run, stop := context.WithTimeout(ctx, 4*time.Minute)
	defer stop()
	cmd := exec.CommandContext(run, node, "e2e/portal.test.mjs")
	cmd.Env = append(os.Environ(), "PTU_URL="+s.URL, "PTU_TOKEN="+s.AdminToken, "PTU_FLUSH_URL="+flush.URL,
		"PTU_SCREENSHOTS="+shots, "PTU_CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser test output:\n%s", out)
	if err != nil {
		if b, rerr := os.ReadFile(logf.Name()); rerr == nil && len(b) > 0 {
			tail := b[max(0, len(b)-4000):]
			t.Logf("server log (end):\n%s", tail)
		}
		t.Fatalf("browser test failed: %v (screenshots in %s)", err, shots)
	}
	entries, _ := os.ReadDir(shots)
	if len(entries) < 8 {
		t.Errorf("expected the walk-through's screenshots in %s, found %d", shots, len(entries))
	}
	t.Logf("screenshots: %s", shots)
}
