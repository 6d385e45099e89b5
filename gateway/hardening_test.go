package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/server"
)

// sse is one streamed call as its client reads it.
type sse struct {
	t   testing.TB
	res *http.Response
	rd  *bufio.Reader
}

// openStream starts a streamed chat call with its own connection and checks
// that it was accepted.
func openStream(t testing.TB, e *env, dep, body string) *sse {
	t.Helper()
	req, err := http.NewRequest("POST", chatURL(e.endpoint, dep), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-key", e.key())
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Fatalf("stream refused: %d %s", res.StatusCode, b)
	}
	return &sse{t: t, res: res, rd: bufio.NewReader(res.Body)}
}

// next returns the next event's data; ok is false when the stream ended.
func (s *sse) next() (string, bool) {
	for {
		line, err := s.rd.ReadString('\n')
		if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			return d, true
		}
		if err != nil {
			return "", false
		}
	}
}

// rest reads the stream to its end and returns its events.
func (s *sse) rest() []string {
	var evs []string
	for {
		d, ok := s.next()
		if !ok {
			s.res.Body.Close()
			return evs
		}
		evs = append(evs, d)
	}
}

func streamBody(tag string, maxTokens int) string {
	return fmt.Sprintf(`{"messages":[{"role":"user","content":"%s tell a long story"}],"max_tokens":%d,"stream":true,"stream_options":{"include_usage":true}}`, tag, maxTokens)
}

// usageOf finds the usage chunk of a finished stream.
func usageOf(t testing.TB, evs []string) (prompt, cached, completion int) {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("stream did not end with [DONE]: %d events, last %q", len(evs), evs[max(0, len(evs)-1):])
	}
	for _, ev := range evs {
		var c struct {
			Usage *struct {
				PromptTokens        int `json:"prompt_tokens"`
				CompletionTokens    int `json:"completion_tokens"`
				PromptTokensDetails struct {
					CachedTokens int `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
			} `json:"usage"`
		}
		if json.Unmarshal([]byte(ev), &c) == nil && c.Usage != nil {
			return c.Usage.PromptTokens, c.Usage.PromptTokensDetails.CachedTokens, c.Usage.CompletionTokens
		}
	}
	t.Fatal("stream carried no usage")
	return
}

// consumed reads ptu_deployment_consumed_tokens_total of a deployment: the
// settled cost of its calls.
func consumed(t testing.TB, e *env, dep string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	e.s.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "ptu_deployment_consumed_tokens_total{") && strings.Contains(line, `deployment="`+dep+`"`) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	return 0
}

// bucketLevel is the deployment's bucket level in input-equivalent tokens.
func bucketLevel(t testing.TB, e *env, d ptu.Deployment) float64 {
	b := e.bucket(d)
	return utilization(t, e.s.Limiter, b) * b.capacity / 100
}

// TestShutdownDrainsStreams stops the server while streams are in flight:
// they run to their end, and the bucket holds exactly what the calls
// consumed (the clock stands still, so nothing leaks out of it), so no
// reservation is left behind.
func TestShutdownDrainsStreams(t *testing.T) {
	clk := newClock()
	e := newEnv(t, server.Options{Now: clk.Now, SimTimeScale: 5, DrainTimeout: time.Minute})
	d := e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	var streams []*sse
	for i := range 3 {
		s := openStream(t, e, "ptu", streamBody(fmt.Sprintf("drain%d", i), 300))
		if _, ok := s.next(); !ok {
			t.Fatal("stream ended before its first event")
		}
		streams = append(streams, s)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- e.stop() }()

	want := 0.0
	weight := e.model(d).OutputWeight
	for _, s := range streams {
		prompt, cached, completion := usageOf(t, s.rest()) // ended with [DONE]
		want += float64(prompt-cached) + weight*float64(completion)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if got := bucketLevel(t, e, d); math.Abs(got-want) > 1e-6*want {
		t.Fatalf("bucket level after the drain = %.3f, want %.3f (what the streams consumed)", got, want)
	}
	if got := consumed(t, e, "ptu"); math.Abs(got-want) > 1e-6*want {
		t.Fatalf("consumed counter = %.3f, want %.3f", got, want)
	}
	if _, err := http.Get(e.s.URL + "/healthz"); err == nil {
		t.Fatal("the server still accepts connections after shutdown")
	}
}

// TestShutdownCutsOffAtDrainTimeout stops the server while streams that would
// run for many seconds are in flight: at the drain timeout they are cut off,
// and each settles its bucket with what it generated, leaving no reservation.
func TestShutdownCutsOffAtDrainTimeout(t *testing.T) {
	clk := newClock()
	e := newEnv(t, server.Options{Now: clk.Now, SimTimeScale: 1, DrainTimeout: 300 * time.Millisecond})
	d := e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	var streams []*sse
	for i := range 2 {
		s := openStream(t, e, "ptu", streamBody(fmt.Sprintf("cut%d", i), 4000))
		if _, ok := s.next(); !ok {
			t.Fatal("stream ended before its first event")
		}
		streams = append(streams, s)
	}
	reserved := bucketLevel(t, e, d)
	if err := e.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	for _, s := range streams {
		evs := s.rest()
		if len(evs) == 0 || evs[len(evs)-1] == "[DONE]" {
			t.Fatal("a stream of 4000 tokens at real speed finished within the drain timeout")
		}
		// The cut stream says so: its last event is an error in Azure's shape.
		var last struct {
			Error *struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(evs[len(evs)-1]), &last); err != nil || last.Error == nil ||
			last.Error.Code != "ServiceUnavailable" || last.Error.Message == "" {
			t.Fatalf("a stream cut at the drain timeout ends with %q, want an error event", evs[len(evs)-1])
		}
	}
	if n := strings.Count(e.logs.String(), "cut=drain"); n != len(streams) {
		t.Errorf("%d access log lines say cut=drain, want %d:\n%s", n, len(streams), e.logs.String())
	}
	spent := consumed(t, e, "ptu")
	if spent <= 0 {
		t.Fatal("the cut-off calls recorded no consumption")
	}
	got := bucketLevel(t, e, d)
	if math.Abs(got-spent) > 1e-6*spent {
		t.Fatalf("bucket level after the cut-off = %.3f, want %.3f (what the calls consumed; %.0f was reserved)", got, spent, reserved)
	}
	if got >= reserved {
		t.Fatalf("bucket level %.0f is not below the reservations %.0f: the cut-off calls were not settled", got, reserved)
	}
}

// TestMaxStreamsPerDeployment fills a deployment's stream slots: the next
// stream gets 429 with retry-after in Azure's shape, a call that does not
// stream still runs, and a slot comes back when a stream's client goes away
// and when a stream ends.
func TestMaxStreamsPerDeployment(t *testing.T) {
	e := newEnv(t, server.Options{SimTimeScale: 1, MaxStreams: 2})
	e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	e.deploy("other", ptu.GlobalProvisionedManaged, 15)
	key := e.key()
	a := openStream(t, e, "ptu", streamBody("a", 4000))
	b := openStream(t, e, "ptu", streamBody("b", 4000))
	for _, s := range []*sse{a, b} {
		if _, ok := s.next(); !ok {
			t.Fatal("stream ended before its first event")
		}
	}
	r := do(t, "POST", chatURL(e.endpoint, "ptu"), strings.NewReader(streamBody("c", 10)), "api-key", key)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("third stream: status %d, want 429: %s", r.status, r.body)
	}
	if code := azureErr(t, r.body); code != "429" {
		t.Errorf("code %q, want 429", code)
	}
	if r.header.Get("retry-after") != "1" || r.header.Get("retry-after-ms") != "1000" {
		t.Errorf("retry-after %q, retry-after-ms %q", r.header.Get("retry-after"), r.header.Get("retry-after-ms"))
	}
	if !strings.Contains(string(r.body), "concurrent streams") {
		t.Errorf("message does not name the limit: %s", r.body)
	}
	// Calls that do not stream, and other deployments, are not limited.
	if r := do(t, "POST", chatURL(e.endpoint, "ptu"), strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":3}`), "api-key", key); r.status != 200 {
		t.Fatalf("call without streaming: %d %s", r.status, r.body)
	}
	c := openStream(t, e, "other", streamBody("c", 5))
	c.rest()

	// The client of a goes away: its slot comes back.
	a.res.Body.Close()
	d := waitForSlot(t, e, "ptu", streamBody("d", 5))
	if _, ok := d.next(); !ok {
		t.Fatal("stream d ended before its first event")
	}
	// d and b hold both slots; when d ends, its slot comes back.
	if r := do(t, "POST", chatURL(e.endpoint, "ptu"), strings.NewReader(streamBody("x", 5)), "api-key", key); r.status != 429 {
		t.Fatalf("with b and d in flight: status %d, want 429", r.status)
	}
	usageOf(t, d.rest())
	waitForSlot(t, e, "ptu", streamBody("f", 5)).rest()
	b.res.Body.Close()
}

// waitForSlot retries a stream until the deployment has a free slot (the
// server frees one as soon as it notices the stream is over).
func waitForSlot(t testing.TB, e *env, dep, body string) *sse {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := http.NewRequest("POST", chatURL(e.endpoint, dep), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("api-key", e.key())
		r.Header.Set("Content-Type", "application/json")
		res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(r)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == http.StatusOK {
			return &sse{t: t, res: res, rd: bufio.NewReader(res.Body)}
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("no stream slot came back: status %d", res.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLongStreamOutlivesWriteTimeout streams for much longer than the write
// timeout: the deadline is renewed per chunk, so the stream runs to its end.
func TestLongStreamOutlivesWriteTimeout(t *testing.T) {
	e := newEnv(t, server.Options{SimTimeScale: 1, WriteTimeout: 100 * time.Millisecond, ReadTimeout: 100 * time.Millisecond})
	e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	start := time.Now()
	s := openStream(t, e, "ptu", streamBody("long", 30))
	_, _, completion := usageOf(t, s.rest())
	took := time.Since(start)
	t.Logf("%d tokens streamed in %v", completion, took)
	if took < 300*time.Millisecond {
		t.Fatalf("the stream took only %v; it did not outlast the write timeout", took)
	}
}

// TestDecodeBudget: while large bodies fill the server's decode budget, the
// next large body is refused with 503 and retry-after before it is read,
// small calls still run, and a prompt far past the context window is
// refused with context_length_exceeded.
func TestDecodeBudget(t *testing.T) {
	e := newEnv(t, server.Options{DecodeBudget: 1 << 20})
	e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	key := e.key()
	prose := `{"messages":[{"role":"user","content":"` + strings.Repeat("all work and no play ", 900<<10/21) + `"}],"max_tokens":5}`

	// A large body whose client is slow to send it holds the budget.
	pr, pw := io.Pipe()
	slow, err := http.NewRequest("POST", chatURL(e.endpoint, "ptu"), pr)
	if err != nil {
		t.Fatal(err)
	}
	slow.ContentLength = int64(len(prose))
	slow.Header.Set("api-key", key)
	slow.Header.Set("Content-Type", "application/json")
	slowDone := make(chan *http.Response, 1)
	go func() {
		res, err := http.DefaultClient.Do(slow)
		if err != nil {
			t.Error(err)
			slowDone <- nil
			return
		}
		slowDone <- res
	}()
	if _, err := pw.Write([]byte(prose[:10])); err != nil {
		t.Fatal(err)
	}
	for e.s.Gateway.DecodeInUse() == 0 { // until the server holds the budget for it
		time.Sleep(5 * time.Millisecond)
	}

	r := do(t, "POST", chatURL(e.endpoint, "ptu"), strings.NewReader(prose), "api-key", key)
	if r.status != http.StatusServiceUnavailable || r.header.Get("retry-after") == "" {
		t.Fatalf("a large body while the budget is full: %d (retry-after %q), want 503 with retry-after: %s", r.status, r.header.Get("retry-after"), r.body)
	}
	if code := azureErr(t, r.body); code != "ServiceUnavailable" {
		t.Errorf("code %q", code)
	}
	if r := do(t, "POST", chatURL(e.endpoint, "ptu"), strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`), "api-key", key); r.status != 200 {
		t.Fatalf("a small call while the budget is full: %d: %s", r.status, r.body)
	}

	if _, err := pw.Write([]byte(prose[10:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-slowDone
	if res == nil {
		return
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(body), "context_length_exceeded") || !strings.Contains(string(body), "at least") {
		t.Fatalf("a prompt far past the context window: %d: %.300s", res.StatusCode, body)
	}
	// The budget is free again.
	if r := do(t, "POST", chatURL(e.endpoint, "ptu"), strings.NewReader(prose), "api-key", key); r.status != 400 {
		t.Fatalf("a large body once the budget is free: %d: %.300s", r.status, r.body)
	}
}
