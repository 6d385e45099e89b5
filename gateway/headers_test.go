package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// An answer, short or longer than net/http's 2 KB buffer, goes out with its
// length, not chunked, and its headers are the canonical ones clients read.
func TestWriteJSONLength(t *testing.T) {
	for _, n := range []int{10, 185, 186, 1000} { // 186 × 11 bytes and the JSON around them pass 2,048
		t.Run(strconv.Itoa(n), func(t *testing.T) { testWriteJSONLength(t, n) })
	}
}

func testWriteJSONLength(t *testing.T, words int) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeader(w.Header(), hdrUtilization, percent(12.345))
		writeJSON(w, http.StatusOK, map[string]string{"text": strings.Repeat("lighthouse ", words)})
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
	if len(res.TransferEncoding) != 0 || res.ContentLength <= 0 {
		t.Errorf("transfer encoding %v, length %d: want the whole length, not chunked", res.TransferEncoding, res.ContentLength)
	}
	if n, _ := strconv.Atoi(res.Header.Get("Content-Length")); int64(n) != res.ContentLength || len(got["text"]) != 11*words {
		t.Errorf("Content-Length %q for a body of text %d", res.Header.Get("Content-Length"), len(got["text"]))
	}
	if ct := res.Header.Get("content-type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if u := res.Header.Get("azure-openai-deployment-utilization"); u != "12.3%" {
		t.Errorf("utilization header %q, want 12.3%%", u)
	}
}
