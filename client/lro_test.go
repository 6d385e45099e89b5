package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ptu-dev/ptu/client"
)

// A creation whose operation fails: the client polls the operation on its
// own endpoint (whatever host the header names), waits what retry-after-ms
// says, and returns the operation's error.
func TestCreationOperationFails(t *testing.T) {
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut:
			w.Header().Set("Azure-AsyncOperation", "https://elsewhere.invalid/subscriptions/s/providers/Microsoft.CognitiveServices/locations/eastus/operationStatuses/op1?api-version=2024-10-01")
			w.Header().Set("retry-after-ms", "250")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"name":"acct","properties":{"provisioningState":"Creating"}}`))
		case strings.HasSuffix(r.URL.Path, "/operationStatuses/op1"):
			if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Query().Get("api-version") != "2024-10-01" {
				t.Errorf("poll without the token or api-version: %v %s", r.Header, r.URL)
			}
			if polls.Add(1) == 1 {
				w.Header().Set("retry-after-ms", "400")
				w.Write([]byte(`{"status":"InProgress"}`))
				return
			}
			w.Write([]byte(`{"status":"Failed","error":{"code":"InsufficientResourcesAvailable","message":"no room"}}`))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	clk := newFakeClock()
	c, err := client.New(client.WithEndpoint(srv.URL), client.WithToken("tok"), client.WithSubscription("s"), client.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAccount(context.Background(), "rg", "acct", client.AccountCreate{Location: "eastus"})
	var e *client.Error
	if !errors.As(err, &e) || e.Code != "InsufficientResourcesAvailable" || e.Message != "no room" {
		t.Fatalf("err = %v", err)
	}
	if got := clk.Slept(); len(got) != 2 || got[0].Milliseconds() != 250 || got[1].Milliseconds() != 400 {
		t.Errorf("waits %v, want 250ms then 400ms", got)
	}
}
