package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/client"
)

// TestBurstOf429s is the SDK's promise in real time: a burst of calls on a
// full deployment all succeed with the default settings (two retries, each
// after the retry-after-ms the service gives).
func TestBurstOf429s(t *testing.T) {
	e := newEnv(t, false)
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
