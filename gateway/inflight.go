package gateway

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

// inflight counts the calls being served, so a shutdown can wait until every
// admitted call has settled its bucket.
type inflight struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0
}

func (f *inflight) add() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.zero = make(chan struct{})
	}
	f.n++
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 {
		close(f.zero)
	}
}

func (f *inflight) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *inflight) wait(ctx context.Context) error {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	zero := f.zero
	f.mu.Unlock()
	select {
	case <-zero:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d calls in flight: %w", f.count(), ctx.Err())
	}
}

// track counts the request as in flight and ends its context when the
// gateway is aborted.
func (g *Gateway) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.calls.add()
		defer g.calls.done()
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(g.aborted, cancel)
		defer stop()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// InFlight is the number of data-plane calls being served.
func (g *Gateway) InFlight() int { return g.calls.count() }

// Abort ends every call in flight, and every call that starts later: their
// generation stops, and each settles its bucket with what it produced. A
// shutdown calls it when its drain time is up.
func (g *Gateway) Abort() { g.abort() }

// Wait returns once no call is in flight (every admitted call has settled),
// or with an error when ctx ends first.
func (g *Gateway) Wait(ctx context.Context) error { return g.calls.wait(ctx) }

// streamSlots counts each deployment's streamed calls in flight against
// Options.MaxStreams.
type streamSlots struct {
	mu sync.Mutex
	n  map[string]int
}

// acquire takes a slot of key; false when all limit slots are taken.
func (s *streamSlots) acquire(key string, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	if s.n[key] >= limit {
		return false
	}
	s.n[key]++
	return true
}

func (s *streamSlots) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[key]--; s.n[key] <= 0 {
		delete(s.n, key)
	}
}
