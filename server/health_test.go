package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

func get(t *testing.T, u string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestReadyzFollowsRedisInFailClosedMode: with Redis unreachable and
// admission failing closed, /readyz answers 503 (every call would be
// refused) while /healthz stays 200; once Redis answers, /readyz is 200.
// The repeated refusals of the outage are logged once, with a count, in the
// server's log format.
func TestReadyzFollowsRedisInFailClosedMode(t *testing.T) {
	real, err := url.Parse(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	// A port where Redis will be, once a proxy to the real one listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	proxied := *real
	proxied.Host = addr

	logs := &lockedBuffer{}
	ctx := context.Background()
	s := testserver.Start(t, server.Options{Redis: proxied.String(), RedisFailureMode: "fail-closed", Logger: slog.New(slog.NewJSONHandler(logs, nil))}).Server

	if code, _ := get(t, s.URL+"/healthz"); code != 200 {
		t.Fatalf("/healthz %d during the outage, want 200 (liveness)", code)
	}
	if code, body := get(t, s.URL+"/readyz"); code != 503 || !strings.Contains(body, "redis") {
		t.Fatalf("/readyz with Redis down in fail-closed mode: %d %q, want 503 naming redis", code, body)
	}
	// Calls refused during the outage: one log line for all of them.
	sub := s.Config.Subscriptions[0].ID
	a, _, err := s.Control.PutAccount(ctx, sub, "rg", "ready", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	capacity := 15
	if _, _, err := s.Control.PutDeployment(ctx, sub, "rg", "ready", "gpt-4o", control.DeploymentInput{
		Model: ptu.ModelRef{Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalProvisionedManaged, Capacity: &capacity}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		req, _ := http.NewRequest("POST", s.Control.Endpoint(a)+"openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
			strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`))
		req.Header.Set("api-key", a.Key1)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 503 {
			t.Fatalf("call during the outage: %d, want 503", res.StatusCode)
		}
	}
	// One line per distinct error (the first refusal's, then the backoff's).
	if n := strings.Count(logs.String(), `"msg":"admission unavailable"`); n < 1 || n > 2 {
		t.Errorf("%d lines for 5 refusals, want one per distinct error:\n%s", n, logs.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("a log line not in the JSON format: %s", line)
		}
	}

	// Redis comes back.
	proxy, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	go func() {
		for {
			c, err := proxy.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r, err := net.Dial("tcp", real.Host)
				if err != nil {
					return
				}
				defer r.Close()
				go io.Copy(r, c)
				io.Copy(c, r)
			}()
		}
	}()
	if code, body := get(t, s.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz with Redis back: %d %q, want 200", code, body)
	}
}

// TestFailedAuthenticationsAreCounted: wrong API keys and wrong ARM tokens
// show in /metrics by plane and reason, and in the log with their source.
func TestFailedAuthenticationsAreCounted(t *testing.T) {
	logs := &lockedBuffer{}
	ctx := context.Background()
	s := testserver.Start(t, server.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}).Server
	a, _, err := s.Control.PutAccount(ctx, s.Config.Subscriptions[0].ID, "rg", "auth", control.AccountInput{Location: "eastus"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		req, _ := http.NewRequest("GET", s.Control.Endpoint(a)+"openai/v1/models", nil)
		req.Header.Set("api-key", fmt.Sprintf("wrong-%d", i))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("wrong key: %d", res.StatusCode)
		}
	}
	for range 2 {
		if code, _ := get(t, s.URL+"/subscriptions?api-version=2024-10-01", "Authorization", "Bearer nope"); code != 401 {
			t.Fatalf("wrong ARM token: %d", code)
		}
	}
	if code, _ := get(t, s.URL+"/subscriptions?api-version=2024-10-01"); code != 401 {
		t.Fatalf("no ARM token: %d", code)
	}
	_, m := get(t, s.URL+"/metrics")
	for _, want := range []string{`ptu_auth_failures_total{plane="data",reason="wrong_key"} 30`,
		`ptu_auth_failures_total{plane="arm",reason="invalid_token"} 2`, `ptu_auth_failures_total{plane="arm",reason="no_credential"} 1`} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The log is bounded: at most 10 lines an interval, repeats counted later.
	if n := strings.Count(logs.String(), `msg="authentication failed"`); n < 1 || n > 10 {
		t.Errorf("%d failed-authentication lines for 33 failures, want 1 to 10:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "source=127.0.0.1") {
		t.Errorf("no source address in the log:\n%s", logs.String())
	}
}
