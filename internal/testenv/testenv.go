// Package testenv gives tests the PostgreSQL and Redis servers of the machine
// they run on: PTU_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres)
// and PTU_TEST_REDIS (default 127.0.0.1:6379). Without a server a test skips
// with the way to start one, except under CI=true, where it fails: CI must
// never pass by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// missing skips the test, or fails it under CI=true.
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Postgres returns the URL of the test PostgreSQL after checking that it answers.
func Postgres(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PTU_TEST_POSTGRES")
	if u == "" {
		u = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		missing(t, "no PostgreSQL at "+u+" (start one: pg_ctlcluster 15 main start, or docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres; or set PTU_TEST_POSTGRES): "+err.Error())
	}
	conn.Close(ctx)
	return u
}

// PostgresSchema creates a fresh schema in the test PostgreSQL, dropped when
// the test ends, and returns a URL whose search_path selects it.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := Postgres(t)
	schema := "ptu_test_" + RandomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RedisAddr returns host:port of the test Redis after checking that it listens.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := strings.TrimPrefix(os.Getenv("PTU_TEST_REDIS"), "redis://")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		missing(t, "no Redis at "+addr+" (start one: redis-server --daemonize yes --port 6379 --save '' --appendonly no; or set PTU_TEST_REDIS): "+err.Error())
	}
	c.Close()
	return addr
}

// Redis returns the redis:// URL of the test Redis (database 0).
func Redis(t testing.TB) string { return "redis://" + RedisAddr(t) + "/0" }

// RandomHex returns n random bytes in hex, for names tests must not share.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ARM sends an ARM request (api-version 2024-10-01) with a bearer token to
// base+path and decodes a 2xx answer into out (if not nil). It returns the
// status and the body.
func ARM(t testing.TB, base, token, method, path, body string, out any) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path+"?api-version=2024-10-01", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}
