package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// A request body costs memory while it is read and decoded: the bytes
// themselves, the strings decoded from them, and the prompt's tokens. The
// decode budget bounds the bytes of bodies in that stage across the server:
// a large body waits (first come, first served) for room before it is read,
// for up to DecodeWait, and is then refused with 503 and retry-after, never
// having cost the server its size. Bodies of SmallBody bytes or less pass
// without waiting, so small calls never queue behind large ones.
const (
	DefaultDecodeBudget = 64 << 20
	DefaultDecodeWait   = 2 * time.Second
	SmallBody           = 256 << 10
)

// budget is a first-come, first-served semaphore over bytes.
type budget struct {
	mu      sync.Mutex
	size    int64
	used    int64
	waiters []*budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

// acquire takes n bytes of the budget, waiting until ctx ends. A request
// larger than the whole budget waits for all of it.
func (b *budget) acquire(ctx context.Context, n int64) bool {
	n = min(n, b.size)
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return true
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return true
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.used -= n
			b.grant()
			return false
		default:
		}
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
		b.grant() // the head may have been this one, holding up others
		return false
	}
}

func (b *budget) release(n int64) {
	n = min(n, b.size)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.grant()
}

// grant wakes the waiters that fit, in order. Called with mu held.
func (b *budget) grant() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used+w.n > b.size {
			return
		}
		b.used += w.n
		close(w.ready)
		b.waiters = b.waiters[1:]
	}
}

// bodyHold is a request's share of the decode budget, returned once its
// body has been parsed (or the call ends).
type bodyHold struct {
	once sync.Once
	b    *budget
	n    int64
}

func (h *bodyHold) release() {
	if h != nil && h.n > 0 {
		h.once.Do(func() { h.b.release(h.n) })
	}
}

type holdKey struct{}

// releaseBody returns the decode budget the request's body holds, if any.
func releaseBody(ctx context.Context) {
	if h, ok := ctx.Value(holdKey{}).(*bodyHold); ok {
		h.release()
	}
}

// holdBody takes the decode budget for r's body before it is read; nil
// (and the 503 written) when none came free within DecodeWait.
func (g *Gateway) holdBody(w http.ResponseWriter, r *http.Request) (*bodyHold, bool) {
	n := r.ContentLength
	if n < 0 || n > g.opt.MaxBody {
		n = g.opt.MaxBody // unknown length: the most it may be
	}
	if g.opt.DecodeBudget <= 0 || n <= SmallBody {
		return &bodyHold{}, true
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.opt.DecodeWait)
	defer cancel()
	if !g.decode.acquire(ctx, n) {
		g.opt.Logger.Debug("request body refused: decode budget full", "content_length", r.ContentLength)
		setRetryAfter(w.Header(), 1, 1000)
		writeAzureError(w, http.StatusServiceUnavailable, "ServiceUnavailable",
			"The server is busy reading other large requests; retry shortly.")
		return nil, false
	}
	return &bodyHold{b: &g.decode, n: n}, true
}

// DecodeInUse is the bytes of the decode budget held by bodies being read
// and parsed.
func (g *Gateway) DecodeInUse() int64 {
	g.decode.mu.Lock()
	defer g.decode.mu.Unlock()
	return g.decode.used
}
