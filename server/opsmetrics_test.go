package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// TestOperationsMetrics scrapes what the alerting rules read besides the
// calls' series: each upstream endpoint's health, and quota use per
// subscription, region and type, which a new deployment moves.
func TestOperationsMetrics(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[]}`)
	}))
	defer up.Close()
	cfg := filepath.Join(t.TempDir(), "ptu.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(traceUpstreamConfig, up.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testserver.Start(t, server.Options{ConfigPath: cfg}).Server
	sub := s.Config.Subscriptions[0].ID
	ctx := context.Background()
	if _, _, err := s.Control.PutAccount(ctx, sub, "rg", "ops", control.AccountInput{Location: "eastus"}); err != nil {
		t.Fatal(err)
	}
	capacity := 15
	if _, _, err := s.Control.PutDeployment(ctx, sub, "rg", "ops", "gpt-4o", control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &capacity}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	q := `{quota="OpenAI.GlobalProvisionedManaged",region="eastus",subscription="` + sub + `"}`
	for _, want := range []string{
		"ptu_quota_used" + q + " 15\n",
		"ptu_quota_limit" + q + " 500\n",
		`ptu_upstream_endpoint_ejected{endpoint="` + up.URL + `/v1",group="vllm"} 0` + "\n",
		`ptu_upstream_endpoint_consecutive_failures{endpoint="` + up.URL + `/v1",group="vllm"} 0` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in /metrics", strings.TrimSpace(want))
		}
	}
}
