package server

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRepeatHandler: an error repeated within the interval is written once;
// the next one after the interval carries the count of those not written.
// Other errors, and info lines, pass.
func TestRepeatHandler(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var buf bytes.Buffer
	log := slog.New(newRepeatHandler(slog.NewTextHandler(&buf, nil), 10*time.Second, func() time.Time { return at }))
	down := errors.New("redis down")
	for i := range 5 {
		log.Error("admission unavailable", "request_id", i, "err", down)
		log.Info("inference", "request_id", i)
	}
	log.Error("admission unavailable", "err", errors.New("another"))
	at = at.Add(11 * time.Second)
	log.Error("admission unavailable", "request_id", 9, "err", down)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var errs []string
	for _, l := range lines {
		if strings.Contains(l, "level=ERROR") {
			errs = append(errs, l)
		}
	}
	if len(lines)-len(errs) != 5 || len(errs) != 3 {
		t.Fatalf("%d info and %d error lines, want 5 and 3:\n%s", len(lines)-len(errs), len(errs), buf.String())
	}
	if strings.Contains(errs[0], "repeated") || !strings.Contains(errs[1], "another") || !strings.Contains(errs[2], "repeated=4") {
		t.Fatalf("error lines:\n%s", strings.Join(errs, "\n"))
	}
}
