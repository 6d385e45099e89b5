package gateway_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/server"
)

// TestRetryAfterRules replays the case behind the retry-after setting: a
// full 15-PTU deployment (625 tokens/s) that opens again in 17 s refuses a
// 4,000-token stream whose client never comes back; a second caller asks a
// second later. Under the default rule (exact) it is told the 16 s left,
// which is when the deployment admits it, as Azure documents retry-after-ms
// ("the time until utilization drops below 100%"). Under slots it is told to
// wait behind the stream's slot as well, 16 s plus the stream's estimate's
// drain time, though nobody uses that slot.
func TestRetryAfterRules(t *testing.T) {
	for _, rule := range []string{"", "exact", "slots"} {
		t.Run("rule="+rule, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, server.Options{Now: clk.Now, RetryAfter: rule})
			d := e.deploy("small", ptu.GlobalProvisionedManaged, 15)
			b := e.bucket(d)
			w := e.model(d).OutputWeight
			key := e.key()
			// 17 s of drain over 100 %.
			if _, err := e.s.Limiter.Admit(context.Background(), b.key, b.capacity, b.capacity+17*625); err != nil {
				t.Fatal(err)
			}
			stream := do(t, "POST", chatURL(e.endpoint, "small"), strings.NewReader(
				`{"messages":[{"role":"user","content":"write a long story"}],"max_tokens":4000,"stream":true}`), "api-key", key)
			// The opening is the first instant the level is below 100 %: a
			// nanosecond past the 17 s, 17,001 ms in whole milliseconds.
			if stream.status != 429 || stream.header.Get("retry-after-ms") != "17001" {
				t.Fatalf("stream: %d, retry-after-ms %q; want 429 told the 17 s to the opening", stream.status, stream.header.Get("retry-after-ms"))
			}
			clk.Advance(time.Second)
			small := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`
			r := do(t, "POST", chatURL(e.endpoint, "small"), strings.NewReader(small), "api-key", key)
			ms, _ := strconv.ParseInt(r.header.Get("retry-after-ms"), 10, 64)
			// The stream's estimate: its prompt + 4 × 4,000, about 26 s of drain.
			slot := (float64(chatCount(tokenMsg("user", "write a long story"))) + w*4000) / 625 * 1000
			switch rule {
			case "slots":
				if want := 16_001 + int64(slot); r.status != 429 || ms < want || ms > want+2 {
					t.Fatalf("second caller: %d, retry-after-ms %d; want 429 told %d (16 s + the stream's slot)", r.status, ms, want)
				}
			default:
				if r.status != 429 || ms != 16_001 || r.header.Get("retry-after") != "17" {
					t.Fatalf("second caller: %d, retry-after-ms %d, retry-after %q; want 429 told the 16 s to the opening",
						r.status, ms, r.header.Get("retry-after"))
				}
				clk.Advance(time.Duration(ms) * time.Millisecond)
				if r := do(t, "POST", chatURL(e.endpoint, "small"), strings.NewReader(small), "api-key", key); r.status != 200 {
					t.Fatalf("at the told instant: %d %s, want 200", r.status, r.body)
				}
			}
		})
	}
}
