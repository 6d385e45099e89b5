package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ptu-dev/ptu/internal/clock"
)

// startRedis is how to get the server the tests need.
const startRedis = "start one with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no`, " +
	"or point PTU_TEST_REDIS at one (host:port or a redis:// URL)"

// redisOptions points at the test server: $PTU_TEST_REDIS, by default 127.0.0.1:6379.
func redisOptions(tb testing.TB) *goredis.Options {
	addr := os.Getenv("PTU_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if strings.Contains(addr, "://") {
		o, err := goredis.ParseURL(addr)
		if err != nil {
			tb.Fatalf("PTU_TEST_REDIS=%q: %v", addr, err)
		}
		return o
	}
	return &goredis.Options{Addr: addr}
}

// reachable is the outcome of pinging the test Redis, once per test binary.
var reachable struct {
	once sync.Once
	err  error
}

// testClient returns a client of the test Redis. Without a reachable server
// the test is skipped, except under CI=true, where it fails.
func testClient(tb testing.TB) *goredis.Client {
	tb.Helper()
	o := redisOptions(tb)
	reachable.once.Do(func() {
		p := *o
		p.DialTimeout, p.DialerRetries, p.MaxRetries = 2*time.Second, 1, -1
		c := goredis.NewClient(&p)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		reachable.err = c.Ping(ctx).Err()
	})
	if err := reachable.err; err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the redis limiter tests need a Redis server and none answers at %s (%v): %s", o.Addr, err, startRedis)
		}
		tb.Skipf("no Redis at %s (%v); %s", o.Addr, err, startRedis)
	}
	c := goredis.NewClient(o)
	tb.Cleanup(func() { c.Close() })
	return c
}

// testPrefix returns a key prefix of its own for one test and deletes the
// test's keys, and only those, when it ends.
func testPrefix(tb testing.TB, c *goredis.Client) string {
	tb.Helper()
	var b [8]byte
	rand.Read(b[:])
	prefix := "ptutest:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return prefix
}

// newTestLimiter returns a limiter on the test Redis with its own prefix.
func newTestLimiter(tb testing.TB, opts Options) (*Limiter, *goredis.Client) {
	tb.Helper()
	c := testClient(tb)
	opts.Prefix = testPrefix(tb, c)
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	return New(c, opts), c
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// unreachableClient returns a client of an address nothing listens on, set
// to give up at once.
func unreachableClient(t *testing.T) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", DialTimeout: time.Second, DialerRetries: 1, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// newFakeClock is a clock that moves only when told.
func newFakeClock() *clock.Fake { return clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) }

// outage is a TCP proxy in front of the test Redis that can cut it off: while
// down it drops every connection, as a Redis that has gone away would.
type outage struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newOutage(t *testing.T, target string) *outage {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &outage{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

func (p *outage) Addr() string { return p.ln.Addr().String() }

func (p *outage) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(up) {
			c.Close()
			if up != nil {
				up.Close()
			}
			continue
		}
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *outage) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *outage) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
}

func (p *outage) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
