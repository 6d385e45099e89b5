package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ptu-dev/ptu/internal/clock"
)

// MaxRetryTime is the most time one call spends on retries with
// RetryExponential, counted from its first attempt (azure-openai-benchmark's
// MAX_RETRY_SECONDS).
const MaxRetryTime = 60 * time.Second

// Retry modes.
const (
	RetryNone        = "none"        // a 429 ends the call, counted as throttled; the next call replaces it
	RetryExponential = "exponential" // a 429 waits retry-after-ms and tries again; connection errors back off with full jitter
)

// Response headers read from every answer.
const (
	headerUtilization = "azure-openai-deployment-utilization"
	// headerBucket is ptu's admission bucket level (gateway.HeaderBucketUtilization);
	// other servers do not send it.
	headerBucket       = "ptu-bucket-utilization"
	headerRetryAfterMs = "retry-after-ms"
	headerRetryAfter   = "retry-after"
	headerRequestID    = "apim-request-id"
)

// attempt is one HTTP exchange of a call.
type attempt struct {
	Status     int           // 0 when no answer came
	RetryAfter time.Duration // what a 429 asked to wait (0 when it did not say)
	Wait       time.Duration // what the call waited after this attempt
	RequestID  string
}

// result is one call: its attempts and, when one succeeded, its stream.
type result struct {
	Start           time.Time // first attempt sent
	End             time.Time // last byte of the answer read (or the call given up)
	Status          int       // of the last attempt; 0 when none answered
	Err             string    // why a call failed, when it did
	Attempts        []attempt
	RetryWait       time.Duration // time waited between attempts
	FirstToken      time.Time     // the first generated text arrived
	ContextTokens   int           // prompt tokens sent, counted with the model's tokenizer
	PromptTokens    int           // as the server reported them (usage), 0 when it did not
	CachedTokens    int           // prompt tokens the server served from its cache (usage)
	GeneratedTokens int           // usage.completion_tokens, else the chunks that carried text
	Util            float64       // the last utilization header, percent
	UtilAt          time.Time     // when it arrived
	HasUtil         bool
	// Trend is what the sweep watches for a deployment falling behind: ptu's
	// bucket level when the server sends it, else the utilization header.
	Trend    float64
	streamed bool // the stream ended cleanly
}

func (r *result) ok() bool { return r.Status == http.StatusOK && r.streamed && r.Err == "" }

// caller sends calls to the run's endpoints, in turn.
type caller struct {
	urls         []string
	next         atomic.Uint64
	header       http.Header
	http         *http.Client
	clock        clock.Clock
	retry        string
	includeUsage bool

	mu  sync.Mutex
	rng *rand.Rand // backoff jitter
}

// do sends one call until it succeeds, fails, or the retry mode gives up.
// It returns nil when ctx ended first.
func (c *caller) do(ctx context.Context, body []byte, contextTokens int) *result {
	r := &result{Start: c.clock.Now(), ContextTokens: contextTokens}
	backoffs := 0
	for {
		resp, err := c.send(ctx, body)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return nil
		}
		a := attempt{}
		var wait time.Duration
		retry := false
		if err != nil {
			r.Status, r.Err = 0, err.Error()
			// Connection errors back off exponentially with full jitter.
			wait, retry = c.backoff(backoffs), c.retry == RetryExponential
			backoffs++
		} else {
			a.Status, a.RequestID = resp.StatusCode, resp.Header.Get(headerRequestID)
			r.Status, r.Err = resp.StatusCode, ""
			if u, ok := parseUtilization(resp.Header.Get(headerUtilization)); ok {
				r.Util, r.UtilAt, r.HasUtil, r.Trend = u, c.clock.Now(), true, u
				if b, ok := parseUtilization(resp.Header.Get(headerBucket)); ok {
					r.Trend = b
				}
			}
			switch {
			case resp.StatusCode == http.StatusOK:
				c.stream(resp, r)
				r.Attempts = append(r.Attempts, a)
				r.End = c.clock.Now()
				if ctx.Err() != nil {
					return nil
				}
				return r
			case resp.StatusCode == http.StatusTooManyRequests:
				a.RetryAfter = retryAfter(resp.Header)
				r.Err = "throttled"
				retry = c.retry == RetryExponential
				if a.RetryAfter > 0 {
					wait = a.RetryAfter
				} else {
					// No retry-after: back off as for a connection error.
					wait = c.backoff(backoffs)
					backoffs++
				}
			default:
				r.Err = errorMessage(resp)
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		}
		now := c.clock.Now()
		if !retry || now.Add(wait).Sub(r.Start) > MaxRetryTime {
			r.Attempts = append(r.Attempts, a)
			r.End = now
			return r
		}
		a.Wait = wait
		r.Attempts = append(r.Attempts, a)
		r.RetryWait += wait
		if c.clock.Sleep(ctx, wait) != nil {
			return nil
		}
	}
}

func (c *caller) send(ctx context.Context, body []byte) (*http.Response, error) {
	u := c.urls[0]
	if len(c.urls) > 1 {
		u = c.urls[(c.next.Add(1)-1)%uint64(len(c.urls))]
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	return c.http.Do(req)
}

// backoff is the n-th exponential wait with full jitter: uniform in
// [0, min(2ⁿ s, 32 s)], as Python's backoff.expo with full_jitter.
func (c *caller) backoff(n int) time.Duration {
	ceiling := time.Duration(math.Min(math.Pow(2, float64(n)), 32) * float64(time.Second))
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.rng.Int64N(int64(ceiling) + 1))
}

// retryAfter reads retry-after-ms, else retry-after in seconds.
func retryAfter(h http.Header) time.Duration {
	if v := h.Get(headerRetryAfterMs); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && !math.IsInf(ms, 0) {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := h.Get(headerRetryAfter); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 && !math.IsInf(s, 0) {
			return time.Duration(s * float64(time.Second))
		}
	}
	return 0
}

// parseUtilization reads "89.3%".
func parseUtilization(v string) (float64, bool) {
	s, ok := strings.CutSuffix(strings.TrimSpace(v), "%")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// errorMessage summarizes an error answer: status and the service's message.
func errorMessage(resp *http.Response) string {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var e struct {
		Error struct {
			Code    any    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
		// Azure's data plane says code "401" on a 401: name it once.
		if c := fmt.Sprint(e.Error.Code); e.Error.Code != nil && c != strconv.Itoa(resp.StatusCode) {
			msg = fmt.Sprintf("%s: %s", c, msg)
		}
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, msg)
}

// chunk is what a stream's events are read for.
type chunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		Text string `json:"text"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
	Error *struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

var (
	dataPrefix = []byte("data:")
	doneData   = []byte("[DONE]")
	// Events holding these are decoded; the others (nearly all: one per
	// token) are read for text without decoding them.
	decodeKeys = [][]byte{[]byte(`"usage":{`), []byte(`"usage": {`), []byte(`"error"`)}
	textKeys   = [][]byte{[]byte(`"content":`), []byte(`"text":`)}
)

// stream reads a streamed answer's server-sent events to the end: when the
// first text arrives, how many tokens came, and the usage if sent.
func (c *caller) stream(resp *http.Response, r *result) {
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 4096)
	var long []byte // a line longer than the buffer, assembled
	chunks := 0
	usage, done := false, false
	for !done {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if len(line) > 0 {
			var fail string
			done, fail = c.event(bytes.TrimSpace(line), r, &chunks, &usage)
			if fail != "" {
				r.Err = fail
				return
			}
		}
		if err != nil && !done {
			if errors.Is(err, io.EOF) {
				r.Err = "stream: ended before data: [DONE]"
			} else {
				r.Err = "stream: " + err.Error()
			}
			return
		}
	}
	// Reading to the end lets the connection be used again.
	_, _ = io.Copy(io.Discard, io.LimitReader(br, 1<<16))
	if !usage {
		r.GeneratedTokens = chunks
	}
	r.streamed = true
}

// event handles one line of the stream. It reports the end of the stream,
// or why the call failed.
func (c *caller) event(line []byte, r *result, chunks *int, usage *bool) (done bool, fail string) {
	data, ok := bytes.CutPrefix(line, dataPrefix)
	if !ok {
		return false, ""
	}
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, doneData) {
		return true, ""
	}
	decode := false
	for _, k := range decodeKeys {
		decode = decode || bytes.Contains(data, k)
	}
	if !decode {
		if carriesText(data) {
			c.gotText(r, chunks)
		} else if !json.Valid(data) {
			return false, "stream: an event is not JSON"
		}
		return false, ""
	}
	var ch chunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return false, "stream: an event is not JSON: " + err.Error()
	}
	if ch.Error != nil {
		return false, fmt.Sprintf("stream error: %v: %s", ch.Error.Code, ch.Error.Message)
	}
	text := false
	for _, choice := range ch.Choices {
		if choice.Delta.Content != "" || choice.Text != "" {
			text = true
		}
	}
	if text {
		c.gotText(r, chunks)
	}
	if ch.Usage != nil {
		*usage = true
		r.PromptTokens = ch.Usage.PromptTokens
		r.GeneratedTokens = ch.Usage.CompletionTokens
		if d := ch.Usage.PromptTokensDetails; d != nil {
			r.CachedTokens = d.CachedTokens
		}
	}
	return false, ""
}

func (c *caller) gotText(r *result, chunks *int) {
	*chunks++
	if r.FirstToken.IsZero() {
		r.FirstToken = c.clock.Now()
	}
}

// carriesText reports whether an event has a non-empty "content" (chat) or
// "text" (completions) string, without decoding it: one of those keys
// followed, after optional blanks, by a string that does not end at once.
// Keys such as "content_filter_results" do not match: the colon is part of
// the key searched for.
func carriesText(data []byte) bool {
	for _, k := range textKeys {
		rest := data
		for {
			i := bytes.Index(rest, k)
			if i < 0 {
				break
			}
			rest = rest[i+len(k):]
			v := bytes.TrimLeft(rest, " \t")
			if len(v) >= 2 && v[0] == '"' && v[1] != '"' {
				return true
			}
		}
	}
	return false
}
