package bench_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/bench"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/server"
)

type logLine struct {
	Start        time.Time `json:"start"`
	Outcome      string    `json:"outcome"`
	CachedTokens int       `json:"cached_tokens"`
	PromptTokens int       `json:"prompt_tokens"`
}

func readLog(t *testing.T, log string) []logLine {
	t.Helper()
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// TestArrivals: a paced run makes calls at the rate asked for, with
// either arrival process (their spacing is TestSchedule's).
func TestArrivals(t *testing.T) {
	m, _ := catalog.Default().Lookup("gpt-4o", "")
	eng, err := server.SimEngine(m, 1000, speed)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.NewServer(map[string]*sim.Engine{"gpt-4o": eng}))
	t.Cleanup(srv.Close)
	for _, arrivals := range []string{bench.ArrivalsConstant, bench.ArrivalsPoisson} {
		rep, err := bench.Run(context.Background(), bench.Config{
			Endpoint: srv.URL, Deployment: "gpt-4o", APIStyle: bench.StyleOpenAI, Clients: 50,
			Rate: 240, Arrivals: arrivals, Duration: 30 * time.Second,
			Shape: bench.Shape{ContextTokens: 50, MaxTokens: 5}, Clock: clock.NewScaled(speed), Seed: 5,
		})
		if err != nil {
			t.Fatal(err)
		}
		// 120 calls are expected in 30 s at 4 a second; Poisson counts
		// spread by √120 ≈ 11.
		if n := rep.Summary.Calls; n < 85 || n > 155 || rep.Summary.Succeeded != n {
			t.Errorf("%s: %d calls (%d succeeded) in 30 s at 240 a minute", arrivals, n, rep.Summary.Succeeded)
		}
	}
}

// TestCacheRate: with --cache-rate 0.75 of a 2,000-token prompt shared by
// every call, ptu's prompt cache serves the longest remembered block prefix
// of it (1,024 + 128·k tokens, at most 1,500), and those tokens are not
// counted as PTU load.
func TestCacheRate(t *testing.T) {
	e := newEnv(t, speed)
	e.deploy("gpt-4o", deploymentPTU)
	var log syncBuffer
	cfg := e.load(0, 0, bench.RetryNone)
	cfg.Rate, cfg.Clients, cfg.Requests = 0, 1, 5
	cfg.Shape, cfg.CacheRate, cfg.RequestLog = bench.Shape{ContextTokens: 2000, MaxTokens: 5}, 0.75, &log
	rep, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := readLog(t, log.String())
	if len(lines) != 5 {
		t.Fatalf("%d calls", len(lines))
	}
	for i, l := range lines {
		want := 1408
		if i == 0 {
			want = 0 // nothing remembered yet
		}
		if l.Outcome != "ok" || l.PromptTokens != 2000 || l.CachedTokens != want {
			t.Errorf("call %d: %+v, want 2,000 prompt tokens of which %d cached", i, l, want)
		}
	}
	if s := rep.Summary; s.CachedTPM <= 0 || s.Sizing.NormalizedTPM >= s.ContextTPM+4*s.GeneratedTPM {
		t.Errorf("cached tokens do not lower the load: %+v %+v", s, s.Sizing)
	}
}
