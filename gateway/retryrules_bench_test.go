package gateway_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/server"
)

// BenchmarkRetryRules runs real openai-go clients against `ptu serve` under
// each retry-after rule, on the wall clock: 40 clients in a closed loop
// (think about 7 s, call, wait for the answer) on a 15-PTU gpt-4o
// deployment (625 input-equivalent tokens a second), more than it serves,
// for retryRulesWindow. "sdk" clients
// keep openai-go's default retries (MaxRetries 2, waiting retry-after-ms);
// "never" ones set MaxRetries 0. It reports the share of calls whose client
// got a 429 in the end, the p50 and p99 time of the calls served (retries
// included), and the mean retry-after-ms the 429s said. The numbers are in
// docs/benchmarks.md; run it with
//
//	go test -run '^$' -bench RetryRules -benchtime 1x ./gateway/
func BenchmarkRetryRules(b *testing.B) {
	for _, rule := range []string{"exact", "slots"} {
		for _, clients := range []string{"sdk", "never"} {
			b.Run(rule+"/"+clients, func(b *testing.B) {
				for range b.N {
					retryRulesRun(b, rule, clients == "sdk")
				}
			})
		}
	}
}

const retryRulesWindow = 30 * time.Second

func retryRulesRun(b *testing.B, rule string, retries bool) {
	e := newEnv(b, server.Options{RetryAfter: rule, SimTimeScale: 1000})
	e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	var mu sync.Mutex
	var told []float64
	record := func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		res, err := next(req)
		if err == nil && res.StatusCode == 429 {
			ms, _ := strconv.ParseFloat(res.Header.Get("retry-after-ms"), 64)
			mu.Lock()
			told = append(told, ms)
			mu.Unlock()
		}
		return res, err
	}
	opts := []option.RequestOption{option.WithMiddleware(record), option.WithHTTPClient(benchClient)}
	if !retries {
		opts = append(opts, option.WithMaxRetries(0))
	}
	c := azureClient(e.endpoint, e.key(), opts...)
	ctx, cancel := context.WithTimeout(context.Background(), retryRulesWindow)
	defer cancel()
	var served []time.Duration
	calls, refused := 0, 0
	var wg sync.WaitGroup
	for i := range 40 {
		r := rand.New(rand.NewPCG(uint64(i), 1))
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Duration(r.ExpFloat64() * float64(7*time.Second))):
				}
				start := time.Now()
				_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "ptu",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}, MaxTokens: openai.Int(100)})
				d := time.Since(start)
				if ctx.Err() != nil {
					return // ended past the window: not counted
				}
				var apiErr *openai.Error
				mu.Lock()
				calls++
				switch {
				case err == nil:
					served = append(served, d)
				case errors.As(err, &apiErr) && apiErr.StatusCode == 429:
					refused++
				default:
					b.Errorf("call: %v", err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(served)
	at := func(p float64) float64 {
		if len(served) == 0 {
			return 0
		}
		return served[min(len(served)-1, int(p*float64(len(served))))].Seconds()
	}
	mean := 0.0
	for _, ms := range told {
		mean += ms / float64(len(told))
	}
	b.ReportMetric(float64(calls), "calls")
	b.ReportMetric(float64(len(served))/retryRulesWindow.Seconds(), "served/s")
	b.ReportMetric(100*float64(refused)/float64(max(1, calls)), "%refused")
	b.ReportMetric(at(0.5), "s-p50")
	b.ReportMetric(at(0.99), "s-p99")
	b.ReportMetric(mean/1000, "s-told")
}
