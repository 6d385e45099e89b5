package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testenv"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// postgresSchemaURL is a fresh schema, dropped when the test ends, of the
// test PostgreSQL (internal/testenv).
func postgresSchemaURL(t *testing.T) string { return testenv.PostgresSchema(t) }

func randomHex(n int) string { return testenv.RandomHex(n) }

// cluster is three replicas sharing one PostgreSQL schema and one Redis.
type cluster struct {
	t        *testing.T
	replicas []*server.Server
	token    string
	sub      string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	redis := redisURL(t)
	db := postgresSchemaURL(t)
	c := &cluster{t: t, token: randomHex(16)}
	for range 3 {
		s := testserver.Start(t, server.Options{AdminToken: c.token, Database: db, Redis: redis, Replicas: 3, SimTimeScale: 50}).Server
		c.replicas = append(c.replicas, s)
	}
	c.sub = c.replicas[0].Config.Subscriptions[0].ID
	return c
}

// arm sends an ARM request to replica i and decodes the answer into out (if not nil).
func (c *cluster) arm(i int, method, path, body string, out any) (int, string) {
	c.t.Helper()
	return testenv.ARM(c.t, c.replicas[i].URL, c.token, method, path, body, out)
}

func (c *cluster) accountPath(rg, name string) string {
	return "/subscriptions/" + c.sub + "/resourceGroups/" + rg + "/providers/Microsoft.CognitiveServices/accounts/" + name
}

// call sends one small chat completion to a deployment through replica i.
func (c *cluster) call(i int, a ptu.Account, deployment, key string) int {
	u := c.replicas[i].URL + "/accounts/" + strings.ToLower(a.CustomSubDomain) + "/openai/deployments/" + deployment +
		"/chat/completions?api-version=2024-10-21"
	req, _ := http.NewRequest("POST", u, strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`))
	if strings.HasPrefix(key, control.TokenPrefix) {
		req.Header.Set("Authorization", "Bearer "+key) // a principal's token
	} else {
		req.Header.Set("api-key", key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// 100 deployment PUTs at once, spread round-robin over three replicas, never
// take more than the quota (eastus: 500 PTUs of ProvisionedManaged, 50 each)
// or a pool's rating (westus3: one 50-PTU pool of gpt-4o 2024-11-20).
func TestClusterConcurrentPutsHoldQuotaAndCapacity(t *testing.T) {
	c := startCluster(t)
	ctx := t.Context()
	rg := "rg-" + randomHex(4)
	east, west := "east-"+randomHex(4), "west-"+randomHex(4)
	for _, a := range []struct{ name, location string }{{east, "eastus"}, {west, "westus3"}} {
		if _, _, err := c.replicas[0].Control.PutAccount(ctx, c.sub, rg, a.name, control.AccountInput{Location: a.location}); err != nil {
			t.Fatal(err)
		}
	}

	const puts = 100
	type result struct {
		account string
		status  int
		body    string
	}
	results := make([]result, puts)
	var wg sync.WaitGroup
	for i := range puts {
		wg.Go(func() {
			acct := east
			if i%2 == 1 {
				acct = west
			}
			body := `{"sku":{"name":"ProvisionedManaged","capacity":50},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-11-20"}}}`
			status, b := c.arm(i%3, "PUT", c.accountPath(rg, acct)+fmt.Sprintf("/deployments/d%03d", i), body, nil)
			results[i] = result{acct, status, b}
		})
	}
	wg.Wait()

	created := map[string]int{}
	for i, r := range results {
		switch {
		case r.status == http.StatusOK || r.status == http.StatusCreated:
			created[r.account]++
		case r.status >= 500:
			t.Errorf("PUT d%03d: %d %s", i, r.status, r.body)
		case r.account == east && !strings.Contains(r.body, "InsufficientQuota"):
			t.Errorf("PUT d%03d in eastus refused with %d %s, want InsufficientQuota", i, r.status, r.body)
		case r.account == west && !strings.Contains(r.body, "InsufficientResourcesAvailable"):
			t.Errorf("PUT d%03d in westus3 refused with %d %s, want InsufficientResourcesAvailable", i, r.status, r.body)
		}
	}
	// Serialized, each PUT sees the ones before it: exactly as many fit as the limits allow.
	if created[east] != 10 || created[west] != 1 {
		t.Errorf("created %d in eastus (want 10 = 500/50) and %d in westus3 (want 1 = 50/50)", created[east], created[west])
	}
	// Every replica reports the same state, within the limits.
	for i, s := range c.replicas {
		for _, a := range []string{east, west} {
			ds, err := s.Control.ListDeployments(ctx, c.sub, rg, a)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != created[a] {
				t.Errorf("replica %d lists %d deployments in %s, want %d", i, len(ds), a, created[a])
			}
		}
		pools, err := s.Control.ListPools(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pools {
			if p.Allocated > p.RatedPTU {
				t.Errorf("replica %d: pool %s has %d PTUs allocated, rated %d", i, p.ID, p.Allocated, p.RatedPTU)
			}
		}
		usages, err := s.Control.Usages(ctx, c.sub, "eastus")
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range usages {
			if u.CurrentValue > u.Limit {
				t.Errorf("replica %d: usage %s is %d, over its limit %d", i, u.Name, u.CurrentValue, u.Limit)
			}
		}
	}
}

// A deployment created through one replica is callable through the others,
// and a key regenerated through one stops working on all within a second.
func TestClusterReplicasStayInStep(t *testing.T) {
	c := startCluster(t)
	ctx := t.Context()
	rg, name := "rg-"+randomHex(4), "acct-"+randomHex(4)
	var acct struct {
		Properties struct {
			Endpoint string `json:"endpoint"`
		} `json:"properties"`
	}
	if status, body := c.arm(0, "PUT", c.accountPath(rg, name), `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"},"properties":{"customSubDomainName":"`+name+`"}}`, &acct); status >= 300 {
		t.Fatalf("account PUT: %d %s", status, body)
	}
	if status, body := c.arm(1, "PUT", c.accountPath(rg, name)+"/deployments/gpt-4o",
		`{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`, nil); status >= 300 {
		t.Fatalf("deployment PUT: %d %s", status, body)
	}
	a, err := c.replicas[2].Control.GetAccount(ctx, c.sub, rg, name)
	if err != nil {
		t.Fatal(err)
	}
	old := a.Key1
	// Each replica answers, and so caches the account with its key.
	for i := range c.replicas {
		if status := c.call(i, a, "gpt-4o", old); status != http.StatusOK {
			t.Fatalf("replica %d: call to a deployment created on replica 1: %d", i, status)
		}
	}

	var keys struct{ Key1 string }
	if status, body := c.arm(0, "POST", c.accountPath(rg, name)+"/regenerateKey", `{"keyName":"Key1"}`, &keys); status != http.StatusOK {
		t.Fatalf("regenerateKey: %d %s", status, body)
	}
	if keys.Key1 == "" || keys.Key1 == old {
		t.Fatalf("regenerated key1 %q (old %q)", keys.Key1, old)
	}
	regenerated := time.Now()
	for i := range c.replicas {
		for c.call(i, a, "gpt-4o", old) != http.StatusUnauthorized {
			if time.Since(regenerated) > time.Second {
				t.Fatalf("replica %d still accepts the old key %s after the regeneration", i, time.Since(regenerated))
			}
			time.Sleep(10 * time.Millisecond)
		}
		if status := c.call(i, a, "gpt-4o", keys.Key1); status != http.StatusOK {
			t.Errorf("replica %d: call with the new key: %d", i, status)
		}
	}
	t.Logf("old key refused everywhere %s after the regeneration", time.Since(regenerated))

	// A principal created through one replica calls through every replica;
	// deleted through another, its token is refused everywhere within a second.
	p, token, err := c.replicas[0].Control.CreatePrincipal(ctx, "app-"+randomHex(4), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.replicas[0].Control.PutRoleAssignment(ctx, control.NewUUID(), control.RoleAssignmentInput{
		Scope: a.ID(), RoleDefinitionID: "Cognitive Services OpenAI User", PrincipalID: p.ID}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range c.replicas {
		for c.call(i, a, "gpt-4o", token) != http.StatusOK {
			if time.Since(start) > time.Second {
				t.Fatalf("replica %d refuses a principal assigned on replica 0", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, err := c.replicas[1].Control.DeletePrincipal(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	for i := range c.replicas {
		for c.call(i, a, "gpt-4o", token) != http.StatusUnauthorized {
			if time.Since(deleted) > time.Second {
				t.Fatalf("replica %d still accepts a deleted principal's token", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
