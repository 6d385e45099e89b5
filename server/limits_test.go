package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// TestTLSHTTP2AndCertificateReuse checks that a client negotiates HTTP/2 over
// TLS, and that a restart serves the same self-signed certificate, so clients
// that trust it keep working.
func TestTLSHTTP2AndCertificateReuse(t *testing.T) {
	dir := t.TempDir()
	served := func() []byte {
		s := testserver.Start(t, server.Options{DataDir: dir, TLSSelfSigned: true})
		defer s.Stop()
		pool, err := server.CertPool(filepath.Join(dir, "tls-cert.pem"))
		if err != nil {
			t.Fatal(err)
		}
		c := s.HTTP
		resp, err := c.Get(s.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
			t.Fatalf("healthz over TLS: %d %s (ALPN %v)", resp.StatusCode, resp.Proto, resp.TLS)
		}
		// A client that offers only HTTP/1.1 still gets it.
		c1 := &http.Client{Transport: &http.Transport{TLSClientConfig: server.ClientTLS(pool)}}
		c1.Transport.(*http.Transport).TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		resp1, err := c1.Get(s.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp1.Body.Close()
		c1.CloseIdleConnections()
		if resp1.ProtoMajor != 1 {
			t.Fatalf("HTTP/1.1 client got %s", resp1.Proto)
		}
		return resp.TLS.PeerCertificates[0].Raw
	}
	first := served()
	pemBytes, err := os.ReadFile(filepath.Join(dir, "tls-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || !bytes.Equal(block.Bytes, first) {
		t.Fatal("the served certificate is not the one in the data directory")
	}
	if _, err := x509.ParseCertificate(first); err != nil {
		t.Fatal(err)
	}
	second := served()
	if !bytes.Equal(first, second) {
		t.Fatal("a restart made a new self-signed certificate; clients trusting the old one break")
	}
}

// slowSend writes msg one byte per tick and reports on done whether it got
// all of it out before the server closed the connection.
func slowSend(c net.Conn, msg string, tick time.Duration) <-chan bool {
	done := make(chan bool, 1)
	go func() {
		for i := range len(msg) {
			if _, err := c.Write([]byte{msg[i]}); err != nil {
				done <- false
				return
			}
			time.Sleep(tick)
		}
		done <- true
	}()
	return done
}

// TestSlowHeadersAreCutOff sends headers a byte at a time: the connection is
// closed at the header timeout, long before the client would have finished.
func TestSlowHeadersAreCutOff(t *testing.T) {
	s := testserver.Start(t, server.Options{ReadHeaderTimeout: 200 * time.Millisecond}).Server
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 200) + "\r\n\r\n" // ~12 s at the tick
	sent := slowSend(c, msg, 50*time.Millisecond)
	c.SetReadDeadline(time.Now().Add(8 * time.Second))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept waiting for slow headers")
	}
	if strings.Contains(string(b), "200 OK") {
		t.Fatalf("the slow request was served: %q", b)
	}
	c.Close()
	if all := <-sent; all {
		t.Fatal("the client sent all its headers before being cut off")
	}
}

// TestSlowBodyIsCutOff sends a request body a byte at a time: once the read
// timeout passes the request is refused with a clear 400 and nothing is
// created.
func TestSlowBodyIsCutOff(t *testing.T) {
	s := testserver.Start(t, server.Options{ReadTimeout: 300 * time.Millisecond}).Server
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub := s.Config.Subscriptions[0].ID
	body := `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"},"tags":{"pad":"` + strings.Repeat("a", 200) + `"}}`
	path := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/slow?api-version=2024-10-01"
	head := "PUT " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.AdminToken +
		"\r\nContent-Type: application/json\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n"
	if _, err := c.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	sent := slowSend(c, body, 50*time.Millisecond)
	c.SetReadDeadline(time.Now().Add(8 * time.Second))
	b, _ := io.ReadAll(c)
	resp := string(b)
	if !strings.HasPrefix(resp, "HTTP/1.1 400") || !strings.Contains(resp, "InvalidRequestContent") {
		t.Fatalf("slow body: %q", resp)
	}
	c.Close()
	if all := <-sent; all {
		t.Fatal("the client sent its whole body before being cut off")
	}
	if _, err := s.Control.GetAccount(context.Background(), sub, "rg", "slow"); err == nil {
		t.Fatal("the account of the cut-off request was created")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSizeLimits refuses oversized headers (431) and bodies (413 in Azure's
// shape on both planes).
func TestSizeLimits(t *testing.T) {
	s := testserver.Start(t, server.Options{MaxHeaderBytes: 4 << 10, MaxARMBody: 1 << 10, MaxInferenceBody: 2 << 10}).Server
	sub := s.Config.Subscriptions[0].ID
	req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("oversized headers: %d, want 431", resp.StatusCode)
	}

	acct := s.URL + "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/big?api-version=2024-10-01"
	big := `{"location":"eastus","kind":"OpenAI","sku":{"name":"S0"},"tags":{"pad":"` + strings.Repeat("a", 2<<10) + `"}}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(strings.NewReader(big)) // no Content-Length: sent chunked
		}
		req, _ = http.NewRequest("PUT", acct, body)
		req.Header.Set("Authorization", "Bearer "+s.AdminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error struct{ Code, Message string }
		}
		if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal(b, &e) != nil || e.Error.Code != "RequestEntityTooLarge" || !strings.Contains(e.Error.Message, "1024 bytes") {
			t.Fatalf("oversized ARM body (chunked %v): %d %s", chunked, resp.StatusCode, b)
		}
	}
	if _, err := s.Control.GetAccount(context.Background(), sub, "rg", "big"); err == nil {
		t.Fatal("the account of the refused request was created")
	}
	// The same body fits the default ARM limit of another server.
	s2 := testserver.Start(t, server.Options{}).Server
	req, _ = http.NewRequest("PUT", strings.Replace(acct, s.URL, s2.URL, 1), strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+s2.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("a 2 KiB body under the default limit: %d", resp.StatusCode)
	}
}
