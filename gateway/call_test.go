package gateway

import (
	"context"
	"log/slog"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/inmem"
)

func TestOutcomeSpills(t *testing.T) {
	for _, tc := range []struct {
		out               outcome
		throttled, spills bool
	}{
		{answered, false, false},
		{refused, false, false},
		{contextTooLong, false, true},
		{streamLimit, true, true},
		{requestLimit, true, true},
		{tokenLimit, true, true},
		{admissionDown, false, true},
		{backendFailed, false, true},
	} {
		if tc.out.throttled() != tc.throttled || tc.out.spills() != tc.spills {
			t.Errorf("outcome %d: throttled %v, spills %v; want %v, %v", tc.out, tc.out.throttled(), tc.out.spills(), tc.throttled, tc.spills)
		}
	}
}

func TestUsageOf(t *testing.T) {
	for _, tc := range []struct {
		res  backend.Result
		want ptu.CallUsage
	}{
		{backend.Result{PromptTokens: 900, CachedTokens: 256, CompletionTokens: 7},
			ptu.CallUsage{PromptTokens: 900, CachedTokens: 256, CompletionTokens: 7, Source: ptu.UsageBackend}},
		{backend.Result{PromptTokens: 12, CompletionTokens: 3, Tokenized: true},
			ptu.CallUsage{PromptTokens: 12, CompletionTokens: 3, Source: ptu.UsageTokenizer}},
		// A cache hit is part of the prompt, never more than it.
		{backend.Result{PromptTokens: 10, CachedTokens: 64, CompletionTokens: 1},
			ptu.CallUsage{PromptTokens: 10, CachedTokens: 10, CompletionTokens: 1, Source: ptu.UsageBackend}},
	} {
		if got := usageOf(tc.res); got != tc.want {
			t.Errorf("usageOf(%+v) = %+v, want %+v", tc.res, got, tc.want)
		}
	}
	if got := cost(ptu.CallUsage{PromptTokens: 900, CachedTokens: 256, CompletionTokens: 7}, 4); got != 644+28 {
		t.Errorf("cost %v, want %v", got, 644+28)
	}
}

// stageCall is a call on dep past validate and price, whose admission
// reserves estimate.
func stageCall(g *Gateway, dep *deployment, estimate float64) *call {
	return &call{g: g, w: httptest.NewRecorder(), ctx: context.Background(), dep: dep, op: opChat, apiVersion: "2024-10-21",
		req: &request{}, estimate: estimate, priced: true}
}

// stageGateway is a gateway with an in-memory limiter whose clock stands still.
func stageGateway() *Gateway {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	now := func() time.Time { return at }
	return New(Options{Limiter: inmem.New(now), Logger: slog.New(slog.DiscardHandler), Now: now})
}

func level(t *testing.T, g *Gateway, dep *deployment) float64 {
	t.Helper()
	u, err := g.opt.Limiter.Utilization(context.Background(), dep.key, dep.capacity)
	if err != nil {
		t.Fatal(err)
	}
	return u * dep.capacity / 100
}

// Settle replaces the admitted estimate with the cost once, and does
// nothing for a call that was not admitted.
func TestSettleOnce(t *testing.T) {
	g := stageGateway()
	dep := &deployment{d: ptu.Deployment{Name: "d"}, key: "k", capacity: 1000, weight: 1}
	c := stageCall(g, dep, 500)
	if out := c.admit(); out != pending {
		t.Fatalf("admit: outcome %d", out)
	}
	if got := level(t, g, dep); got != 500 {
		t.Fatalf("admitted: bucket holds %v, want the estimate 500", got)
	}
	c.settle(120)
	c.settle(0) // as the deferred settle after a normal end
	if got := level(t, g, dep); math.Abs(got-120) > 1e-9 || c.rec.Actual != 120 {
		t.Errorf("settled: bucket holds %v, record %v; want 120", got, c.rec.Actual)
	}
	stageCall(g, dep, 500).settle(300) // never admitted
	if got := level(t, g, dep); math.Abs(got-120) > 1e-9 {
		t.Errorf("a call never admitted moved the bucket to %v", got)
	}
}

// A Standard call the bucket refuses gives back the request it counted in
// its window, and says so in x-ratelimit-remaining-requests.
func TestAdmitRefundsRequest(t *testing.T) {
	g := stageGateway()
	dep := &deployment{d: ptu.Deployment{Name: "std", Capacity: 1}, key: "std", capacity: 1000, weight: 1, rpm: 12} // 2 calls a window
	first := stageCall(g, dep, 1000)
	if out := first.admit(); out != pending {
		t.Fatalf("first call: outcome %d", out)
	}
	second := stageCall(g, dep, 10)
	if out := second.admit(); out != tokenLimit {
		t.Fatalf("second call: outcome %d, want tokenLimit", out)
	}
	h := second.w.Header()
	if got := h.Get("x-ratelimit-remaining-requests"); got != "1" {
		t.Errorf("x-ratelimit-remaining-requests %q after the refund, want 1", got)
	}
	if second.rec.Status != 429 || h.Get("retry-after") == "" {
		t.Errorf("status %d, retry-after %q; want 429 with retry-after", second.rec.Status, h.Get("retry-after"))
	}
	if out := stageCall(g, dep, 10).countRequest(); out != pending {
		t.Errorf("the refunded request: outcome %d, want it counted", out)
	}
	if out := stageCall(g, dep, 10).countRequest(); out != requestLimit {
		t.Errorf("a third request in the window: outcome %d, want requestLimit", out)
	}
}
