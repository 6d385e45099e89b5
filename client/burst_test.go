package client_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/server"
)

// TestBurstOf429s is the SDK's promise in real time: a burst of calls on a
// full deployment all succeed with the client's default settings (two
// retries, each after the retry-after-ms the service gives) when the server
// hands rejected calls retry slots (--retry-after slots). Under the default,
// exact, the burst is told one instant and the retries compete for it, as
// on Azure: TestBurstOf429sExact.
func TestBurstOf429s(t *testing.T) {
	e := newEnvWith(t, false, server.Options{RetryAfter: "slots"})
	ctx := context.Background()
	_, ac := e.account("rg", "acct", "eastus")
	d := e.deploy("rg", "acct", "chat")
	e.fill(t, d, time.Second) // long enough for the whole burst to arrive while full

	const calls = 10
	var wg sync.WaitGroup
	results := make([]*client.ChatCompletion, calls)
	errs := make([]error, calls)
	for i := range calls {
		wg.Go(func() {
			results[i], errs[i] = ac.ChatCompletion(ctx, "chat", chatReq("hello"))
		})
	}
	wg.Wait()
	throttled := 0
	for i := range calls {
		if errs[i] != nil {
			t.Errorf("call %d: %v", i, errs[i])
			continue
		}
		for _, a := range results[i].Response.Attempts {
			if a.StatusCode == 429 {
				throttled++
				if a.Wait != a.RetryAfter {
					t.Errorf("call %d waited %v after a 429 saying %v", i, a.Wait, a.RetryAfter)
				}
			}
		}
	}
	if throttled < calls {
		t.Errorf("%d 429s in a burst of %d calls on a full deployment", throttled, calls)
	}
}

// TestBurstOf429sExact is the same burst under the default rule: every 429
// says the exact time the deployment admits again, and each wait is what
// the service said; the calls that lose the race to the opening get their
// 429 after their two retries, quickly, rather than queueing.
func TestBurstOf429sExact(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	_, ac := e.account("rg", "acct", "eastus")
	d := e.deploy("rg", "acct", "chat")
	e.fill(t, d, time.Second)

	const calls = 10
	var wg sync.WaitGroup
	results := make([]*client.ChatCompletion, calls)
	errs := make([]error, calls)
	for i := range calls {
		wg.Go(func() {
			results[i], errs[i] = ac.ChatCompletion(ctx, "chat", chatReq("hello"))
		})
	}
	wg.Wait()
	served := 0
	for i := range calls {
		var ce *client.Error
		switch {
		case errs[i] == nil:
			served++
		case errors.As(errs[i], &ce) && ce.StatusCode == 429:
			if ce.RetryAfter <= 0 || ce.RetryAfter > 2*time.Second {
				t.Errorf("call %d: last 429 said retry after %v, want the short time to the next opening", i, ce.RetryAfter)
			}
		default:
			t.Errorf("call %d: %v", i, errs[i])
		}
	}
	if served == 0 {
		t.Error("no call of the burst was served")
	}
}
