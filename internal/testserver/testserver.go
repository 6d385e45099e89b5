// Package testserver starts ptu's server in-process for tests: on a free
// port of 127.0.0.1, in a temporary data directory, serving until the test
// ends, with an admin client for its control plane.
package testserver

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ptu-dev/ptu/client"
	"github.com/ptu-dev/ptu/internal/testenv"
	"github.com/ptu-dev/ptu/server"
)

// Server is a ptu server serving in this process.
type Server struct {
	*server.Server
	// Endpoint is where it listens (http:// or https://), and Token its
	// admin token.
	Endpoint, Token string
	// Client is a control-plane client with the admin token; with
	// TLSSelfSigned it trusts the server's certificate.
	Client *client.Client
	// HTTP is the HTTP client Client uses.
	HTTP *http.Client

	stop func()
}

// Start starts a server with opt and the client options copts. The zero
// values of opt's Addr, DataDir and Logger are 127.0.0.1:0, a temporary
// directory and a logger that discards. The server stops when the test
// ends, or at Stop.
func Start(t testing.TB, opt server.Options, copts ...client.Option) *Server {
	t.Helper()
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if opt.DataDir == "" {
		opt.DataDir = t.TempDir()
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, opt)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	ts := &Server{Server: s, Endpoint: s.URL, Token: s.AdminToken, HTTP: http.DefaultClient,
		stop: sync.OnceFunc(func() { cancel(); <-done; s.Close() })}
	t.Cleanup(ts.stop)
	if opt.TLSSelfSigned {
		pool, err := server.CertPool(filepath.Join(opt.DataDir, "tls-cert.pem"))
		if err != nil {
			t.Fatal(err)
		}
		ts.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: server.ClientTLS(pool), ForceAttemptHTTP2: true}}
		t.Cleanup(ts.HTTP.CloseIdleConnections)
	}
	copts = append([]client.Option{client.WithEndpoint(s.URL), client.WithToken(s.AdminToken), client.WithHTTPClient(ts.HTTP)}, copts...)
	if ts.Client, err = client.New(copts...); err != nil {
		t.Fatal(err)
	}
	return ts
}

// Stop stops the server and waits until it has (it also stops when the test
// ends); a test restarting on the same data directory calls it first.
func (s *Server) Stop() { s.stop() }

// Log is a log kept in memory, safe for concurrent writers.
type Log = testenv.Log

// NewLog returns a Log that t prints, under title, when it fails.
func NewLog(t testing.TB, title string) *Log { return testenv.NewLog(t, title) }
