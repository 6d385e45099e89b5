package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	ptutypes "github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// TestMain lets a test start this binary as `ptu` itself: with PTU_TEST_RUN_MAIN=1
// the process runs main with the arguments it was given (used to run `ptu sim`
// as a separate process).
func TestMain(m *testing.M) {
	if os.Getenv("PTU_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startSimProcess runs `ptu sim` in its own process and returns its base URL.
func startSimProcess(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"sim", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "PTU_TEST_RUN_MAIN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case line <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-line:
		m := regexp.MustCompile(`(http://\S+)/v1`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("ptu sim printed %q", l)
		}
		return m[1]
	case <-time.After(20 * time.Second):
		t.Fatal("ptu sim did not start")
	}
	return ""
}

const lanesConfig = `
regions:
  - {name: eastus, displayName: East US, dataZone: us}
defaultQuota: {GlobalProvisionedManaged: 500}
subscriptions:
  - {id: 5a0e1c2d-7b3f-4c8e-9d1a-2b4c6e8f0a12, displayName: lanes}
pools:
  - {region: eastus, model: gpt-4o, version: "2024-08-06", ptu: 100, backend: vllm}
backends:
  - name: vllm
    endpoints: [{url: "%s/v1"}]
`

// The whole picture: a vLLM-style server (`ptu sim`, a separate process)
// behind a PTU deployment with a Standard spillover target and a blocklist
// policy. Under a burst the caller never sees a 429, the blocklist holds, and
// the metrics show which lane served what.
func TestLanesUnderABurst(t *testing.T) {
	simURL := startSimProcess(t, "--model", "gpt-4o=100", "--time-scale", "50")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ptu.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(lanesConfig, simURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := testserver.Start(t, server.Options{DataDir: dir, ConfigPath: cfg, SimTimeScale: 50})

	sub := s.Config.Subscriptions[0].ID
	svc := s.Control
	a, _, err := svc.PutAccount(ctx, sub, "rg", "lanes", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutRAIBlocklist(ctx, sub, "rg", "lanes", "secrets", "project names"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutRAIBlocklistItems(ctx, sub, "rg", "lanes", "secrets", []ptutypes.RAIBlocklistItem{
		{Name: "codename", Pattern: "bluebird"}, {Name: "ticket", Pattern: `PRJ-\d{4}`, IsRegex: true}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutRAIPolicy(ctx, sub, "rg", "lanes", "strict", control.RAIPolicyInput{
		BasePolicyName: "Microsoft.DefaultV2", Mode: "Default",
		CustomBlocklists: []ptutypes.RAIBlocklistRef{{BlocklistName: "secrets", Blocking: true, Source: ptutypes.RAISourcePrompt}}}); err != nil {
		t.Fatal(err)
	}
	std, provisioned := 1000, 15
	model := ptutypes.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}
	if _, _, err := svc.PutDeployment(ctx, sub, "rg", "lanes", "std", control.DeploymentInput{Model: model, SKUName: ptutypes.GlobalStandard, Capacity: &std}); err != nil {
		t.Fatal(err)
	}
	spill := "std"
	if _, _, err := svc.PutDeployment(ctx, sub, "rg", "lanes", "ptu", control.DeploymentInput{Model: model, SKUName: ptutypes.GlobalProvisionedManaged,
		Capacity: &provisioned, RAIPolicyName: "strict", SpilloverDeploymentName: &spill}); err != nil {
		t.Fatal(err)
	}
	url := svc.Endpoint(a) + "openai/deployments/ptu/chat/completions?api-version=2024-10-21"
	post := func(body string) (int, http.Header, string) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("api-key", a.Key1)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}

	// The blocklist holds on the provisioned lane.
	status, _, body := post(`{"messages":[{"role":"user","content":"status of PRJ-1234?"}],"max_tokens":10}`)
	if status != 400 || !strings.Contains(body, `"content_filter"`) || !strings.Contains(body, "ResponsibleAIPolicyViolation") || !strings.Contains(body, "secrets") {
		t.Fatalf("blocked prompt: %d %s", status, body)
	}

	// A burst well past 15 PTUs (37,500 tokens a minute): each call reserves 4 × 2,000 tokens.
	const n = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	lanes := map[string]int{}
	for range n {
		wg.Go(func() {
			status, h, body := post(`{"messages":[{"role":"user","content":"write a story"}],"max_tokens":2000}`)
			mu.Lock()
			defer mu.Unlock()
			if status != 200 {
				t.Errorf("a call of the burst got %d: %s", status, body)
				return
			}
			lanes[h.Get("x-ms-deployment-name")]++
		})
	}
	wg.Wait()
	if lanes["ptu"] == 0 || lanes["std"] == 0 || lanes["ptu"]+lanes["std"] != n {
		t.Fatalf("lanes = %v; want both the provisioned and the spillover lane to serve", lanes)
	}

	// Prometheus shows the lanes: the provisioned deployment's 429s (which spilled) and the
	// Standard deployment's 200s.
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	counter := func(dep, code string) string {
		re := regexp.MustCompile(`(?m)^ptu_requests_total\{[^}]*code="` + code + `"[^}]*deployment="` + dep + `"[^}]*\} (\d+)`)
		if m := re.FindSubmatch(text); m != nil {
			return string(m[1])
		}
		re = regexp.MustCompile(`(?m)^ptu_requests_total\{[^}]*deployment="` + dep + `"[^}]*code="` + code + `"[^}]*\} (\d+)`)
		if m := re.FindSubmatch(text); m != nil {
			return string(m[1])
		}
		return "0"
	}
	if got := counter("std", "200"); got != fmt.Sprint(lanes["std"]) {
		t.Errorf("ptu_requests_total for std/200 = %s, want %d", got, lanes["std"])
	}
	if got := counter("ptu", "429"); got != fmt.Sprint(lanes["std"]) {
		t.Errorf("ptu_requests_total for ptu/429 = %s, want %d (each spilled call was first refused)", got, lanes["std"])
	}
}
