package testserver_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// A started server answers its admin client, over TLS too, until Stop; a
// second start on the same data directory keeps the admin token.
func TestStartServesUntilStopped(t *testing.T) {
	for _, tls := range []bool{false, true} {
		dir := t.TempDir()
		s := testserver.Start(t, server.Options{DataDir: dir, TLSSelfSigned: tls})
		if scheme := strings.SplitN(s.Endpoint, ":", 2)[0]; scheme != map[bool]string{false: "http", true: "https"}[tls] {
			t.Fatalf("tls %v: endpoint %s", tls, s.Endpoint)
		}
		if _, err := s.Client.CreateAccount(context.Background(), "rg", "acct", client.AccountCreate{Location: "eastus"}); err != nil {
			t.Fatalf("tls %v: %v", tls, err)
		}
		s.Stop()
		if _, err := s.HTTP.Get(s.Endpoint + "/healthz"); err == nil {
			t.Fatalf("tls %v: the server answers after Stop", tls)
		}
		again := testserver.Start(t, server.Options{DataDir: dir, TLSSelfSigned: tls})
		if again.Token != s.Token {
			t.Errorf("tls %v: admin token %q after a restart, want %q", tls, again.Token, s.Token)
		}
		resp, err := again.HTTP.Get(again.Endpoint + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("tls %v: /healthz %d after a restart", tls, resp.StatusCode)
		}
	}
}
