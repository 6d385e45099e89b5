package server_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/inmem"
	"github.com/ptu-dev/ptu/leaky"
	ptuRedis "github.com/ptu-dev/ptu/redis"
	"github.com/ptu-dev/ptu/server"
)

// TestRetryAfterSetting checks where the retry-after rule comes from: the
// flag (Options.RetryAfter) over the configuration's admission.retryAfter
// over the default, for the in-memory and the Redis limiter alike, and that
// an unknown rule stops the server from starting.
func TestRetryAfterSetting(t *testing.T) {
	def, err := os.ReadFile("../config/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(def), "retryAfter: exact") {
		t.Fatal("the default configuration does not say retryAfter: exact")
	}
	slotsCfg := filepath.Join(t.TempDir(), "slots.yaml")
	if err := os.WriteFile(slotsCfg, []byte(strings.Replace(string(def), "retryAfter: exact", "retryAfter: slots", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	rule := func(l leaky.Limiter) leaky.RetryRule {
		switch l := l.(type) {
		case *inmem.Limiter:
			return l.RetryRule()
		case *ptuRedis.Limiter:
			return l.RetryRule()
		}
		t.Fatalf("limiter %T", l)
		return 0
	}
	for _, tc := range []struct {
		name, flag, config, redis string
		want                      leaky.RetryRule
	}{
		{name: "default", want: leaky.RetryExact},
		{name: "config", config: slotsCfg, want: leaky.RetrySlots},
		{name: "flag over config", flag: "exact", config: slotsCfg, want: leaky.RetryExact},
		{name: "flag", flag: "slots", want: leaky.RetrySlots},
		{name: "redis flag", flag: "slots", redis: redisURL(t), want: leaky.RetrySlots},
		{name: "redis config", config: slotsCfg, redis: redisURL(t), want: leaky.RetrySlots},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := server.New(context.Background(), server.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(),
				ConfigPath: tc.config, RetryAfter: tc.flag, Redis: tc.redis, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := rule(s.Limiter); got != tc.want {
				t.Errorf("rule %v, want %v", got, tc.want)
			}
		})
	}
	if s, err := server.New(context.Background(), server.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), RetryAfter: "fair",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil {
		s.Close()
		t.Fatal("an unknown retry-after rule was accepted")
	}
}
