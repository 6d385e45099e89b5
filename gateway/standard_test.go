package gateway_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/server"
)

// TestStandardLimits: a 2-unit Standard deployment (2,000 tokens and 12
// requests a minute) admits 2 calls per 10-second window, reports what is
// left in x-ratelimit-remaining-*, and refuses the rest with a 429 naming
// the limit and the time until the next window. Tokens count 1:1 (no
// output weight). The clock stands still except where the test moves it.
func TestStandardLimits(t *testing.T) {
	e := newEnv(t, server.Options{})
	d := e.deploy("std", ptu.GlobalStandard, 2)
	clk := newClock()
	// Windows are aligned on the clock's 10-second marks: it stands at :07.
	g := e.gateway(newSimBackends(e.s.Catalog, sim.Config{TimeScale: fastSim}), clk.Now)
	key := e.key()
	prompt := chatCount(tokenMsg("user", "hi"))
	post := func(maxTokens int) call {
		return do(t, "POST", chatURL(g.endpoint, "std"),
			strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":`+strconv.Itoa(maxTokens)+`}`), "api-key", key)
	}

	r := post(5)
	if r.status != 200 || r.header.Get("x-ratelimit-remaining-requests") != "1" {
		t.Fatalf("first call: status %d, remaining requests %q; want 200 and 1", r.status, r.header.Get("x-ratelimit-remaining-requests"))
	}
	if got, want := r.header.Get("x-ratelimit-remaining-tokens"), strconv.Itoa(2000-prompt-5); got != want {
		t.Errorf("remaining tokens %s, want %s (2,000 − prompt − max_tokens, output weight 1)", got, want)
	}
	if r := post(5); r.status != 200 || r.header.Get("x-ratelimit-remaining-requests") != "0" {
		t.Fatalf("second call: status %d, remaining %q; want 200 and 0", r.status, r.header.Get("x-ratelimit-remaining-requests"))
	}
	r = post(5)
	if r.status != 429 || r.header.Get("retry-after") != "3" || r.header.Get("retry-after-ms") != "3000" ||
		!strings.Contains(azureErrMessage(t, r.body), "call rate limit") {
		t.Fatalf("third call: status %d retry-after %q/%q: %s; want 429 until the window ends in 3 s",
			r.status, r.header.Get("retry-after"), r.header.Get("retry-after-ms"), r.body)
	}
	// The next window admits again; a call asking for more tokens than are
	// left is refused by the token limit, and does not use up a request.
	clk.Advance(3 * time.Second)
	tokensBucket := bucket{key: strings.ToLower(d.ID()), capacity: 2000}
	inFlight := fill(t, g, tokensBucket, 2000-utilization(t, g.lim, tokensBucket)*20) // full: calls in flight hold every token
	r = post(5)
	if r.status != 429 || !strings.Contains(azureErrMessage(t, r.body), "token rate limit") || r.header.Get("x-ratelimit-remaining-requests") != "2" {
		t.Fatalf("token-limited call: status %d remaining requests %q: %s", r.status, r.header.Get("x-ratelimit-remaining-requests"), r.body)
	}
	if r.header.Get("x-ratelimit-remaining-tokens") != "0" {
		t.Errorf("remaining tokens %q on a full bucket, want 0", r.header.Get("x-ratelimit-remaining-tokens"))
	}
	// The calls in flight end having used nothing.
	if err := inFlight.Reservation.Cancel(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if r := post(5); r.status != 200 {
			t.Errorf("call %d of the window: status %d, want 200: the token-refused call used no request", i, r.status)
		}
	}
}

func azureErrMessage(t *testing.T, b []byte) string {
	t.Helper()
	m, _ := decode(t, b)["error"].(map[string]any)
	s, _ := m["message"].(string)
	return s
}
