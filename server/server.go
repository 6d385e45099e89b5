// Package server assembles ptu's parts (store, control plane, ARM API, data
// plane) into one HTTP listener. cmd/ptu only parses flags and calls it.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/arm"
	"github.com/ptu-dev/ptu/billing"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/inmem"
	"github.com/ptu-dev/ptu/leaky"
	"github.com/ptu-dev/ptu/metrics"
	"github.com/ptu-dev/ptu/portal"
	"github.com/ptu-dev/ptu/postgres"
	ptuRedis "github.com/ptu-dev/ptu/redis"
	"github.com/ptu-dev/ptu/sqlite"
	"github.com/ptu-dev/ptu/tracing"
)

// Options are the settings of `ptu serve`; each has a flag and an environment variable.
type Options struct {
	Addr       string // listen address, default 127.0.0.1:8080
	DataDir    string // where the SQLite file, admin token and self-signed certificate live
	ConfigPath string // YAML configuration; "" uses the embedded default
	AdminToken string // "" reads <data-dir>/admin-token, creating it once
	Database   string // SQLite path or postgres:// URL; "" is <data-dir>/ptu.db
	Redis      string // redis:// URL for the shared limiter; "" keeps buckets in memory
	// RedisFailureMode is what admission does while Redis is unreachable:
	// "fail-closed" (the default: 503 with retry-after) or "fail-open" (admit
	// against a local bucket holding this replica's share, 1/Replicas).
	RedisFailureMode string
	Replicas         int // replicas sharing the Redis limiter; 1 when 0
	// RetryAfter is the retry-after rule of a 429, "exact" or "slots"; ""
	// takes the configuration's admission.retryAfter, else
	// leaky.DefaultRetryRule (exact).
	RetryAfter    string
	TLSCert       string
	TLSKey        string
	TLSSelfSigned bool
	// SimTimeScale speeds up the simulated engine (10 = ten times real time); 1 when 0.
	SimTimeScale float64

	// Limits against oversized and slow clients; the Default* constants when
	// 0 (a negative duration or count turns a limit off). docs/hardening.md.
	MaxHeaderBytes    int           // request line and headers
	MaxARMBody        int64         // ARM request bodies (413 RequestEntityTooLarge beyond)
	MaxInferenceBody  int64         // data-plane request bodies (413 beyond); gateway.DefaultMaxBody when 0
	ReadHeaderTimeout time.Duration // to send the request line and headers
	ReadTimeout       time.Duration // to send a request body, once the headers are in
	WriteTimeout      time.Duration // for each write of a response to be taken; renewed per stream chunk
	IdleTimeout       time.Duration // a keep-alive connection waiting for its next request
	MaxStreams        int           // concurrent streamed calls per deployment (429 beyond)
	// DrainTimeout is how long Serve lets calls in flight finish after its
	// context ends; calls still running then are cut off and settled.
	DrainTimeout time.Duration
	// ProvisioningDelay overrides the configuration's provisioningDelay when
	// not 0; negative answers creations synchronously (for a Now that stands
	// still, on which provisioning would never end).
	ProvisioningDelay time.Duration

	// Tracing exports OpenTelemetry traces of every call (tracing.FromEnv);
	// nil is off.
	Tracing *tracing.Tracing

	// DecodeBudget bounds the bytes of inference bodies read and parsed at
	// once (gateway.DefaultDecodeBudget when 0; no bound when negative).
	DecodeBudget int64
	// LogRepeatInterval: a warning or error repeated with the same message
	// and error is logged once per interval, with the count of repeats
	// (DefaultLogRepeatInterval when 0; every line when negative).
	LogRepeatInterval time.Duration

	Logger *slog.Logger
	Now    func() time.Time
}

// Server is a configured, listening ptu server.
type Server struct {
	Options
	Config          *config.Config
	Catalog         *catalog.Catalog
	Store           ptu.Database // every concern: control-plane state, metric points, token usage, activity log
	Control         *control.Service
	Gateway         *gateway.Gateway
	Limiter         leaky.Limiter
	Metrics         *metrics.Recorder     // every inference call: Prometheus, per-minute series; Serve runs its flusher
	AccessLog       *metrics.AccessLog    // one line per inference call
	Billing         *billing.Service      // prices, reservations, chargeback reports (ARM billing routes)
	BillingRecorder *billing.Recorder     // hourly token counts of Standard deployments; Serve runs its flusher
	MetricsReader   *metrics.Reader       // the Azure Monitor metrics API over the series
	URL             string                // base URL clients use
	AdminTokenFile  string                // where the admin token is kept ("" when given by flag)
	AuthFailures    *metrics.AuthFailures // failed authentications of both planes
	listener        net.Listener
	draining        atomic.Bool
	redis           *goredis.Client
	http            *http.Server
}

// DefaultDataDir is $PTU_DATA_DIR's default: $XDG_DATA_HOME/ptu or ~/.local/share/ptu.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ptu")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "ptu")
	}
	return "ptu-data"
}

// New opens the store, bootstraps it from the configuration and starts listening.
// Call Serve to answer requests and Close when done.
func New(ctx context.Context, opt Options) (*Server, error) {
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:8080"
	}
	if opt.DataDir == "" {
		opt.DataDir = DefaultDataDir()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if iv := orDefault(opt.LogRepeatInterval, DefaultLogRepeatInterval); iv > 0 {
		opt.Logger = slog.New(newRepeatHandler(opt.Logger.Handler(), iv, time.Now))
	}
	if err := os.MkdirAll(opt.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	s := &Server{Options: opt}

	cfg, err := config.Load(opt.ConfigPath)
	if err != nil {
		return nil, err
	}
	cat := catalog.Default()
	if cfg.Catalog != "" {
		if cat, err = catalog.Load(cfg.Catalog); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(cat); err != nil {
		return nil, err
	}
	s.Config, s.Catalog = cfg, cat

	if s.AdminToken == "" {
		s.AdminTokenFile = filepath.Join(opt.DataDir, "admin-token")
		if s.AdminToken, err = loadOrCreateToken(s.AdminTokenFile); err != nil {
			return nil, err
		}
	}

	var tlsConfig *tls.Config
	switch {
	case opt.TLSCert != "" || opt.TLSKey != "":
		if opt.TLSCert == "" || opt.TLSKey == "" {
			return nil, errors.New("--tls-cert and --tls-key go together")
		}
	case opt.TLSSelfSigned:
		host, _, _ := net.SplitHostPort(opt.Addr)
		if s.TLSCert, s.TLSKey, err = SelfSigned(opt.DataDir, []string{host}); err != nil {
			return nil, err
		}
	}
	if s.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		// ServeTLS offers HTTP/2 (h2) and HTTP/1.1 by ALPN on top of this.
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	if s.Store, err = openStore(ctx, opt); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opt.Addr)
	if err != nil {
		s.Store.Close()
		return nil, err
	}
	s.listener = ln // Serve speaks TLS over it (ServeTLS) when tlsConfig is set
	s.URL = cfg.PublicURL
	if s.URL == "" {
		scheme := "http"
		if tlsConfig != nil {
			scheme = "https"
		}
		s.URL = scheme + "://" + ln.Addr().String()
	}

	s.Control = control.New(s.Store, cat, control.Options{Now: opt.Now, PublicURL: s.URL, DefaultQuota: cfg.DefaultQuota})
	if err := s.Control.Bootstrap(ctx, cfg); err != nil {
		s.Close()
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if s.Limiter, err = s.openLimiter(ctx); err != nil {
		s.Close()
		return nil, err
	}
	scale := opt.SimTimeScale
	if scale == 0 {
		scale = 1
	}
	retention := cfg.Metrics.Retention()
	s.Metrics = metrics.NewRecorder(metrics.Options{Store: s.Store, Catalog: cat, Limiter: s.Limiter,
		Logger: opt.Logger, Now: opt.Now, Retention: retention})
	if l, ok := s.Limiter.(*ptuRedis.Limiter); ok {
		s.Metrics.Registry().MustRegister(l.Collector())
	}
	s.AuthFailures = metrics.NewAuthFailures(s.Metrics.Registry(), opt.Logger, time.Now)
	s.MetricsReader = metrics.NewReader(s.Store, metrics.ReaderOptions{Now: opt.Now, Retention: retention})
	s.Billing = billing.New(s.Store, cat, billing.Options{Now: opt.Now})
	s.BillingRecorder = billing.NewRecorder(s.Store, billing.RecorderOptions{Logger: opt.Logger})
	s.AccessLog = metrics.NewAccessLog(opt.Logger)
	backends, err := newBackends(ctx, cat, scale, cfg.Backends, opt.Tracing.Transport)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Metrics.Registry().MustRegister(&opsCollector{svc: s.Control, upstreams: backends.upstreams})
	s.Gateway = gateway.New(gateway.Options{Control: s.Control, Limiter: s.Limiter,
		Backends: backends, Classifier: classifier(cfg.ContentFilter), Recorder: callRecorders{s.BillingRecorder, s.AccessLog, s.Metrics}, Logger: opt.Logger, Now: opt.Now,
		MaxBody: orDefault(opt.MaxInferenceBody, gateway.DefaultMaxBody), MaxStreams: orDefault(opt.MaxStreams, DefaultMaxStreams),
		DecodeBudget: opt.DecodeBudget, OnAuthFailure: s.AuthFailures.Fail})
	s.http = &http.Server{
		Handler: withDeadlines(s.Handler(), orDefault(opt.ReadTimeout, DefaultReadTimeout),
			orDefault(opt.WriteTimeout, DefaultWriteTimeout)),
		MaxHeaderBytes:    int(orDefault(opt.MaxHeaderBytes, DefaultMaxHeaderBytes)),
		ReadHeaderTimeout: orDefault(opt.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		IdleTimeout:       orDefault(opt.IdleTimeout, DefaultIdleTimeout),
		ErrorLog:          slog.NewLogLogger(opt.Logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	return s, nil
}

// callRecorders hands the record of each inference call to every recorder
// in turn. The server's are, in this order: billing (token counts of
// Standard deployments), the access log, and metrics (Prometheus and the
// per-minute series).
type callRecorders []ptu.CallRecorder

func (rs callRecorders) Record(rec ptu.CallRecord) {
	for _, r := range rs {
		r.Record(rec)
	}
}

// orDefault is v, or def when v is 0; a negative v turns the limit off (0).
func orDefault[T int | int64 | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// openLimiter returns the shared Redis limiter when --redis is set, else the
// in-memory one.
func (s *Server) openLimiter(ctx context.Context) (leaky.Limiter, error) {
	setting := s.RetryAfter
	if setting == "" {
		setting = s.Config.Admission.RetryAfter
	}
	rule, err := leaky.ParseRetryRule(setting)
	if err != nil {
		return nil, fmt.Errorf("--retry-after: %w", err)
	}
	if s.Redis == "" {
		return inmem.New(s.Now, inmem.WithRetryRule(rule)), nil
	}
	ro, err := ptuRedis.ClientOptions(s.Redis)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	mode := ptuRedis.FailClosed
	if s.RedisFailureMode != "" {
		if mode, err = ptuRedis.ParseFailureMode(s.RedisFailureMode); err != nil {
			return nil, err
		}
	}
	goredis.SetLogger(redisLogger{s.Logger}) // the client's own lines, in --log-format
	s.redis = goredis.NewClient(ro)
	if err := s.redis.Ping(ctx).Err(); err != nil {
		s.Logger.Warn("Redis is not reachable; admission follows the failure mode until it is", "redis", ro.Addr, "failure_mode", mode.String(), "err", err)
	}
	return ptuRedis.New(s.redis, ptuRedis.Options{FailureMode: mode, Replicas: max(1, s.Replicas), Logger: s.Logger, RetryRule: rule}), nil
}

func openStore(ctx context.Context, opt Options) (ptu.Database, error) {
	db := opt.Database
	switch {
	case db == "":
		return sqlite.Open(filepath.Join(opt.DataDir, "ptu.db"))
	case strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://"):
		return postgres.Open(ctx, db)
	default:
		return sqlite.Open(strings.TrimPrefix(db, "sqlite://"))
	}
}

func loadOrCreateToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	return t, nil
}

// Handler is the whole HTTP surface: health, Prometheus metrics, the data
// plane under each account's endpoint, the web portal at /portal/, and the
// ARM API at the root.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", s.Metrics.Handler())
	mux.Handle("/accounts/", s.Gateway.Handler())
	api := arm.New(arm.ServicesOf(s.Control), arm.Options{AdminToken: s.AdminToken, Logger: s.Logger, Metrics: s.MetricsReader, Billing: s.Billing,
		MaxBody: orDefault(s.MaxARMBody, DefaultMaxARMBody), TenantID: s.Config.Tenant(),
		ProvisioningDelay: orDefault(s.ProvisioningDelay, s.Config.Provisioning()), PublicURL: s.Config.PublicURL, Now: s.Now,
		OnAuthFailure: s.AuthFailures.Fail})
	mux.Handle("/", api)
	mux.Handle(portal.Prefix, portal.Must(portal.Options{API: api, Logger: s.Logger, SecureCookies: s.TLSCert != ""}))
	// The token service and cloud metadata the real az logs in with.
	idp := arm.Identity(s.Control, arm.IdentityOptions{AdminToken: s.AdminToken, TenantID: s.Config.Tenant(),
		PublicURL: s.Config.PublicURL, Now: s.Now})
	mux.Handle("/adfs/", idp)
	mux.Handle("/metadata/endpoints", idp)
	return s.Tracing.Handler(singleLeadingSlash(mux))
}

// singleLeadingSlash serves a path that starts with several slashes as the
// path with one, where ServeMux would redirect it: az asks
// {resourceManager}/metadata/endpoints with the endpoint's trailing slash kept
// ("//metadata/endpoints"), and ARM clients join paths the same way.
func singleLeadingSlash(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "//") {
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + strings.TrimLeft(r.URL.Path, "/")
			if r.URL.RawPath != "" {
				r2.URL.RawPath = "/" + strings.TrimLeft(r.URL.RawPath, "/")
			}
			r = r2
		}
		h.ServeHTTP(w, r)
	})
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Serve answers requests until ctx is done, then shuts down gracefully. It
// runs the metrics flusher alongside and stops it last, so the calls that
// finish during the shutdown are written too.
func (s *Server) Serve(ctx context.Context) error {
	flushCtx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
	flushed := make(chan struct{})
	go func() {
		s.Metrics.Run(flushCtx)
		close(flushed)
	}()
	billed := make(chan struct{})
	go func() {
		s.BillingRecorder.Run(flushCtx)
		close(billed)
	}()
	defer func() {
		stopFlush()
		<-flushed
		<-billed
	}()

	// A shared store tells of changes other replicas commit; the caches of
	// this one must not outlive them.
	if l, ok := s.Store.(interface {
		Listen(context.Context, func()) error
	}); ok {
		listenCtx, stopListen := context.WithCancel(ctx)
		listening := make(chan struct{})
		go func() {
			l.Listen(listenCtx, s.Control.Invalidate)
			close(listening)
		}()
		defer func() { stopListen(); <-listening }()
	}

	errc := make(chan error, 1)
	go func() {
		if s.http.TLSConfig != nil {
			errc <- s.http.ServeTLS(s.listener, "", "")
			return
		}
		errc <- s.http.Serve(s.listener)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return s.drain(errc)
}

// drain stops accepting connections and lets the calls in flight finish for
// up to DrainTimeout. Calls still running then are cut off: their generation
// stops, the connections close, and each settles its bucket with what it
// produced before drain returns, so no reservation outlives the server.
func (s *Server) drain(errc <-chan error) error {
	s.draining.Store(true)
	timeout := orDefault(s.DrainTimeout, DefaultDrainTimeout)
	shutdown, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.http.Shutdown(shutdown)
	if err != nil {
		s.Logger.Warn("drain timeout reached; cutting off the calls still running", "drain_timeout", timeout, "in_flight", s.Gateway.InFlight())
		s.Gateway.Abort()
		// The calls cut off write their error event before the
		// connections close.
		grace, stop := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Gateway.Wait(grace)
		stop()
		s.http.Close()
		err = nil
	}
	<-errc
	// Handlers may still be settling after Close; wait for every admitted call.
	settled, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if werr := s.Gateway.Wait(settled); werr != nil {
		err = fmt.Errorf("calls still unsettled after the drain: %w", werr)
	}
	return err
}

// Close releases the store, the listener and the Redis client, once the
// Redis limiter's queued settles are written.
func (s *Server) Close() error {
	if s.listener != nil {
		s.listener.Close()
	}
	if s.redis != nil {
		// The Redis limiter writes settles in the background: the last
		// calls' corrections go out before the client closes.
		if l, ok := s.Limiter.(*ptuRedis.Limiter); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := l.Flush(ctx); err != nil {
				s.Logger.Warn("settles not written to Redis before shutdown", "err", err)
			}
			cancel()
		}
		s.redis.Close()
	}
	if s.Store != nil {
		return s.Store.Close()
	}
	return nil
}
