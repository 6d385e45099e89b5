package main

import (
	"context"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/client"
)

func TestChatCommand(t *testing.T) {
	e := newCLIEnv(t)
	ctx := context.Background()
	e.mustPTU("cognitiveservices", "account", "create", "-n", "demo-aoai", "-g", "demo", "-l", "eastus", "--kind", "OpenAI", "--sku", "S0")
	for _, d := range []string{"primary", "backup"} {
		e.mustPTU("cognitiveservices", "account", "deployment", "create", "-n", "demo-aoai", "-g", "demo", "--deployment-name", d,
			"--model-name", "gpt-4o", "--model-version", "2024-08-06", "--model-format", "OpenAI", "--sku-name", "GlobalProvisionedManaged", "--sku-capacity", "15")
	}

	// The account found by its deployment; the answer streamed to stdout.
	out, errOut, err := ptu(t, "", "chat", "--deployment", "primary", "--max-tokens", "20", "Does", "Azure", "OpenAI", "support", "customer", "managed", "keys?")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, errOut)
	}
	if len(strings.TrimSpace(out)) == 0 || !strings.HasSuffix(out, "\n") || errOut != "" {
		t.Errorf("chat printed %q, stderr %q", out, errOut)
	}
	// The account named; the question on stdin; no streaming.
	out, _, err = ptu(t, "Name three rivers.", "chat", "-n", "demo-aoai", "-g", "demo", "--deployment", "backup", "--no-stream", "--max-tokens", "10")
	if err != nil || len(strings.TrimSpace(out)) == 0 {
		t.Errorf("chat from stdin: %q, %v", out, err)
	}
	// Straight to the inference endpoint with a key.
	c, err := client.New(client.WithEndpoint(e.url), client.WithToken(e.s.AdminToken))
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.GetAccount(ctx, "demo", "demo-aoai")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.ListKeys(ctx, "demo", "demo-aoai")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = ptu(t, "", "chat", "--azure-endpoint", a.Properties.Endpoint, "--api-key", keys.Key2, "-d", "primary", "--max-tokens", "5", "hi")
	if err != nil || len(strings.TrimSpace(out)) == 0 {
		t.Errorf("chat with --azure-endpoint: %q, %v", out, err)
	}

	// The primary deployment full (the server's clock stands still, so it
	// stays full): --failover goes to the backup at once and says so.
	d, err := c.GetDeployment(ctx, "demo", "demo-aoai", "primary")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.s.Catalog.Lookup("gpt-4o", "2024-08-06")
	capacity := float64(d.Capacity() * m.InputTPMPerPTU)
	if _, err := e.s.Limiter.Admit(ctx, strings.ToLower(d.ID), capacity, 2*capacity); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = ptu(t, "", "chat", "--deployment", "primary", "--failover", "backup", "--max-tokens", "5", "hi")
	if err != nil || len(strings.TrimSpace(out)) == 0 {
		t.Fatalf("chat with failover: %q, %v", out, err)
	}
	if !strings.Contains(errOut, "failed over to backup after primary: 429") {
		t.Errorf("stderr %q does not report the failover", errOut)
	}
	// Without failover and retries the 429 is the answer.
	_, _, err = ptu(t, "", "chat", "--deployment", "primary", "--max-retries", "0", "hi")
	if err == nil || !strings.HasPrefix(err.Error(), "(429) Requests to the ChatCompletions_Create Operation") {
		t.Errorf("throttled chat: %v", err)
	}
}
