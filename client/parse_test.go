package client

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		ms, s string
		want  time.Duration
	}{
		{"1500", "2", 1500 * time.Millisecond}, // retry-after-ms wins
		{"", "2", 2 * time.Second},
		{"", "0.5", 500 * time.Millisecond},
		{"12.5", "", 12500 * time.Microsecond},
		{"0", "3", 3 * time.Second}, // a zero ms value says nothing
		{"abc", "", 0},
		{"", "-1", 0},
		{"", now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{"", now.Add(-7 * time.Second).Format(http.TimeFormat), 0},
		{"", "soon", 0},
	} {
		h := http.Header{}
		if tc.ms != "" {
			h.Set("retry-after-ms", tc.ms)
		}
		if tc.s != "" {
			h.Set("retry-after", tc.s)
		}
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("retry-after-ms %q, retry-after %q: %v, want %v", tc.ms, tc.s, got, tc.want)
		}
	}
}

func TestParseError(t *testing.T) {
	h := http.Header{}
	h.Set("apim-request-id", "req-1")
	h.Set("retry-after-ms", "250")
	for name, tc := range map[string]struct {
		status int
		body   string
		code   string
		msg    string
	}{
		"arm":          {400, `{"error":{"code":"InsufficientQuota","message":"too big","target":"sku.capacity"}}`, "InsufficientQuota", "too big"},
		"azure 429":    {429, `{"error":{"code":"429","message":"Requests ... exceeded"}}`, "429", "Requests ... exceeded"},
		"openai":       {400, `{"error":{"message":"bad","type":"invalid_request_error","param":"messages","code":null}}`, "invalid_request_error", "bad"},
		"numeric code": {429, `{"error":{"code":429,"message":"slow down"}}`, "429", "slow down"},
		"unwrapped":    {409, `{"code":"Conflict","message":"decided"}`, "Conflict", "decided"},
		"not json":     {502, `<html>bad gateway</html>`, "502", "<html>bad gateway</html>"},
		"empty":        {503, ``, "503", "Service Unavailable"},
	} {
		e := parseError(tc.status, h, []byte(tc.body), time.Now())
		if e.Code != tc.code || e.Message != tc.msg || e.StatusCode != tc.status || e.RequestID != "req-1" || e.RetryAfter != 250*time.Millisecond {
			t.Errorf("%s: %+v", name, e)
		}
	}
}

func TestBackoffLimit(t *testing.T) {
	s := defaults()
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for n, w := range want {
		if got := s.backoffLimit(n); got != w {
			t.Errorf("backoffLimit(%d) = %v, want %v", n, got, w)
		}
	}
	if got := s.backoffLimit(1000); got != DefaultMaxBackoff {
		t.Errorf("backoffLimit(1000) = %v", got)
	}
	for range 1000 {
		if d := fullJitter(time.Second); d < 0 || d > time.Second {
			t.Fatalf("fullJitter(1s) = %v", d)
		}
	}
}

func FuzzEventReader(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: x\ndata: y\r\n\r\n: c\nevent: e\n"))
	f.Add([]byte("data\n\ndata:\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newEventReader(bytes.NewReader(b))
		for i := 0; i <= len(b); i++ {
			data, err := r.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				return
			}
			if len(data) > len(b) {
				t.Fatalf("event of %d bytes from %d bytes of input", len(data), len(b))
			}
		}
		t.Fatalf("more events than input bytes")
	})
}

func FuzzParseError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"code":"X","message":"m"}}`), "12")
	f.Add(429, []byte(`{"error":{"code":429}}`), "Mon, 02 Jan 2006 15:04:05 GMT")
	f.Add(500, []byte(`{"code":"","message":""}`), "-5")
	f.Fuzz(func(t *testing.T, status int, body []byte, ra string) {
		h := http.Header{}
		h.Set("retry-after", ra)
		h.Set("retry-after-ms", ra)
		e := parseError(status, h, body, time.Now())
		if e.Code == "" || e.Message == "" && (len(bytes.TrimSpace(body)) > 0 || http.StatusText(status) != "") {
			t.Fatalf("parseError(%d, %q) = %+v: empty code or message", status, body, e)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative retry-after %v from %q", e.RetryAfter, ra)
		}
		_ = e.Error()
	})
}
