package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ptu-dev/ptu"
	ptuRedis "github.com/ptu-dev/ptu/redis"
)

// readyTimeout bounds each check of /readyz.
const readyTimeout = time.Second

// ready answers GET /readyz: 200 while this replica can admit calls, 503
// with the reasons while it cannot: it is draining, its database does not
// answer, or Redis does not answer and admission fails closed (a fail-open
// replica still admits, against its share). /healthz stays a liveness check:
// the process serves HTTP.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	var reasons []string
	if s.draining.Load() {
		reasons = append(reasons, "draining")
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.Store.View(ctx, func(tx ptu.Tx) error { _, err := tx.Regions().List(); return err }); err != nil {
		reasons = append(reasons, "database unreachable: "+err.Error())
	}
	if l, ok := s.Limiter.(*ptuRedis.Limiter); ok && l.FailureMode() == ptuRedis.FailClosed {
		if err := l.Ping(ctx); err != nil {
			reasons = append(reasons, "redis unreachable (fail-closed admission refuses every call): "+err.Error())
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(reasons) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: "+strings.Join(reasons, "; "))
		return
	}
	fmt.Fprintln(w, "ready")
}

// redisLogger sends the Redis client's own lines to the server's logger, in
// its format, through the same repeat suppression.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client: "+strings.TrimSpace(fmt.Sprintf(format, v...)))
}

// repeatHandler logs a warning or error once per interval when it repeats
// with the same message and attributes (a request id aside): the repeats in between are counted, and
// the next line logged for it says how many there were ("repeated").
// Lower levels pass through.
type repeatHandler struct {
	slog.Handler
	interval time.Duration
	now      func() time.Time
	state    *repeatState
	attrs    string // err values of attributes added with WithAttrs
}

type repeatState struct {
	mu   sync.Mutex
	seen map[string]*repeat
}

type repeat struct {
	last  time.Time // when it was last written
	count int       // repeats not written since
}

// maxRepeatKeys bounds the suppression table; past it the table restarts.
const maxRepeatKeys = 4096

func newRepeatHandler(h slog.Handler, interval time.Duration, now func() time.Time) *repeatHandler {
	return &repeatHandler{Handler: h, interval: interval, now: now, state: &repeatState{seen: map[string]*repeat{}}}
}

func (h *repeatHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.Handler.Handle(ctx, r)
	}
	key := r.Level.String() + "\x00" + r.Message + "\x00" + h.attrs
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "request_id" { // one per call: not what makes an error new
			key += "\x00" + a.Key + "=" + a.Value.String()
		}
		return true
	})
	now := h.now()
	h.state.mu.Lock()
	rp, ok := h.state.seen[key]
	if ok && now.Sub(rp.last) < h.interval {
		rp.count++
		h.state.mu.Unlock()
		return nil
	}
	n := 0
	if ok {
		n = rp.count
	} else {
		if len(h.state.seen) >= maxRepeatKeys {
			clear(h.state.seen)
		}
		rp = &repeat{}
		h.state.seen[key] = rp
	}
	rp.last, rp.count = now, 0
	h.state.mu.Unlock()
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", n), slog.String("repeated_over", h.interval.String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *repeatHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.Handler = h.Handler.WithAttrs(as)
	for _, a := range as {
		c.attrs += a.Key + "=" + a.Value.String() + ";"
	}
	return &c
}

func (h *repeatHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.Handler = h.Handler.WithGroup(name)
	c.attrs += "[" + name + "]"
	return &c
}
