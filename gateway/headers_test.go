package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// An answer longer than net/http's 2 KB buffer still goes out with its
// length, not chunked, and its headers are the canonical ones clients read.
func TestWriteJSONLength(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeader(w.Header(), hdrUtilization, percent(12.345))
		writeJSON(w, http.StatusOK, map[string]string{"text": strings.Repeat("lighthouse ", 1000)})
	}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got map[string]string
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(res.TransferEncoding) != 0 || res.ContentLength <= 2048 {
		t.Errorf("transfer encoding %v, length %d: want the whole length, not chunked", res.TransferEncoding, res.ContentLength)
	}
	if n, _ := strconv.Atoi(res.Header.Get("Content-Length")); int64(n) != res.ContentLength || len(got["text"]) != 11000 {
		t.Errorf("Content-Length %q for a body of text %d", res.Header.Get("Content-Length"), len(got["text"]))
	}
	if ct := res.Header.Get("content-type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if u := res.Header.Get("azure-openai-deployment-utilization"); u != "12.3%" {
		t.Errorf("utilization header %q, want 12.3%%", u)
	}
}
