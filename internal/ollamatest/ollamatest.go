// Package ollamatest runs real Ollama servers for tests and benchmarks: it
// finds the binary scripts/test builds, starts `ollama serve` on a loopback
// port with its own model directory, and creates models from the GGUF files
// package gguf writes (`ollama create NAME -f Modelfile`).
//
// The binary is $PTU_OLLAMA, else the one scripts/test caches at
// ${XDG_CACHE_HOME:-$HOME/.cache}/ptu-tools/ollama-<Version>/ollama. Without
// it a test skips, except under CI=true, where it fails.
package ollamatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ptu-dev/ptu/internal/testenv"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/internal/gguf"
)

// Version is the Ollama release scripts/test builds and the tests were written against.
const Version = "0.17.4"

// Template is the chat template of the models created here, in Ollama's Go
// template syntax (https://github.com/ollama/ollama/blob/main/docs/template.md).
const Template = `{{- range .Messages }}<|{{ .Role }}|>
{{ .Content }}
{{ end }}<|assistant|>
`

// BinaryPath returns where the Ollama binary is expected: $PTU_OLLAMA, else
// the cache directory scripts/test builds it into.
func BinaryPath() string {
	if p := os.Getenv("PTU_OLLAMA"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "ptu-tools", "ollama-"+Version, "ollama")
}

// Binary returns the Ollama binary, or skips the test (fails it under CI=true).
func Binary(t testing.TB) string {
	t.Helper()
	p := BinaryPath()
	if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		msg := "no Ollama " + Version + " binary at " + p + " (./scripts/test builds it; or set PTU_OLLAMA)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Options tune a server.
type Options struct {
	// Parallel is OLLAMA_NUM_PARALLEL, the calls a model runs at once; default 1.
	Parallel int
	// Env adds environment variables (KEY=value).
	Env []string
	// Log receives the server's output too (Server.Log returns all of it).
	Log io.Writer
	// Addr is the address to listen on; default a free loopback port.
	Addr string
}

// Server is a running `ollama serve`.
type Server struct {
	// URL is the server's root (http://127.0.0.1:PORT); its OpenAI-compatible
	// API is under URL + "/v1".
	URL  string
	Addr string
	bin  string
	dir  string // the model directory and HOME
	env  []string
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}

	mu      sync.Mutex
	stopped bool
}

// Start runs `ollama serve` on a free loopback port with an empty model
// directory under dir, and waits until it answers. Stop ends it (and its
// model runners).
func Start(ctx context.Context, bin, dir string, opt Options) (*Server, error) {
	if opt.Parallel == 0 {
		opt.Parallel = 1
	}
	addr := opt.Addr
	if addr == "" {
		var err error
		if addr, err = freePort(); err != nil {
			return nil, err
		}
	}
	s := &Server{URL: "http://" + addr, Addr: addr, bin: bin, dir: dir, log: &lockedBuffer{}, done: make(chan struct{})}
	s.env = append(os.Environ(),
		"OLLAMA_HOST="+addr,
		"OLLAMA_MODELS="+filepath.Join(dir, "models"),
		"HOME="+dir, // Ollama writes its key pair under $HOME/.ollama
		"OLLAMA_NUM_PARALLEL="+strconv.Itoa(opt.Parallel),
		"OLLAMA_MAX_LOADED_MODELS=2",
		"OLLAMA_KEEP_ALIVE=-1", // the model stays loaded between calls
		"OLLAMA_NOPRUNE=1",
	)
	s.env = append(s.env, opt.Env...)
	var out io.Writer = s.log
	if opt.Log != nil {
		out = io.MultiWriter(s.log, opt.Log)
	}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = out, out
	// Its own process group, so that the model runners it starts are
	// frozen, thawed and killed with it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v, err := s.Version(ctx); err == nil && v != "" {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("ollama serve exited at start:\n%s", s.Log())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("ollama serve did not answer in 30s:\n%s", s.Log())
		}
	}
}

// StartT starts a server for a test, stopped when the test ends; its log is
// printed if the test fails.
func StartT(t testing.TB, opt Options) *Server {
	t.Helper()
	bin := Binary(t)
	s, err := Start(context.Background(), bin, t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("ollama log (%s):\n%s", s.Addr, tail(s.Log(), 8000))
		}
	})
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// Log returns what the server has printed.
func (s *Server) Log() string { return s.log.String() }

// Version asks the server its version (GET /api/version).
func (s *Server) Version(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/version", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var v struct{ Version string }
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		return "", err
	}
	return v.Version, nil
}

// Create writes model as a GGUF file and creates it in the server as name
// with `ollama create`, with the chat Template and the given parameters
// (e.g. "num_thread 1"), then loads it by asking for one token.
func (s *Server) Create(ctx context.Context, name string, model gguf.Llama, params ...string) error {
	dir, err := os.MkdirTemp(s.dir, "create-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := WriteModel(filepath.Join(dir, "model.gguf"), model); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Modelfile"), []byte(Modelfile("./model.gguf", params...)), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, s.bin, "create", name, "-f", "Modelfile")
	cmd.Dir, cmd.Env = dir, s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ollama create %s: %w: %s", name, err, out)
	}
	return s.Load(ctx, name)
}

// CreateT is Create for a test.
func (s *Server) CreateT(t testing.TB, name string, model gguf.Llama, params ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.Create(ctx, name, model, params...); err != nil {
		t.Fatal(err)
	}
}

// Load starts the model's runner and waits for it, by generating one token.
func (s *Server) Load(ctx context.Context, name string) error {
	body := fmt.Sprintf(`{"model":%q,"prompt":"hello","stream":false,"options":{"num_predict":1}}`, name)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/generate", strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("loading %s: %w", name, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("loading %s: status %d: %s", name, res.StatusCode, b)
	}
	return nil
}

// Modelfile is the Modelfile of a model created from the GGUF file at path.
func Modelfile(path string, params ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\nTEMPLATE \"\"\"%s\"\"\"\n", path, Template)
	for _, p := range params {
		fmt.Fprintf(&b, "PARAMETER %s\n", p)
	}
	return b.String()
}

// WriteModel writes model as a GGUF file at path.
func WriteModel(path string, model gguf.Llama) error {
	f, err := model.File()
	if err != nil {
		return err
	}
	w, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.WriteTo(w); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// Freeze stops the server and its runners (SIGSTOP): connections are
// accepted by the kernel but nothing answers.
func (s *Server) Freeze() error { return s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() error { return s.signal(syscall.SIGCONT) }

// Kill ends the server and its runners at once (SIGKILL) and waits for it.
func (s *Server) Kill() error {
	err := s.signal(syscall.SIGKILL)
	<-s.done
	return err
}

func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("ollamatest: server already stopped")
	}
	if sig == syscall.SIGKILL {
		s.stopped = true
	}
	return syscall.Kill(-s.cmd.Process.Pid, sig)
}

// Stop ends the server and its runners and waits for it; a frozen server is
// thawed first. Stopping twice is harmless.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.stopped = true
	pg := -s.cmd.Process.Pid
	_ = syscall.Kill(pg, syscall.SIGCONT)
	_ = syscall.Kill(pg, syscall.SIGTERM)
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(pg, syscall.SIGKILL) // runners left behind
	<-s.done
}

// freePort returns a loopback address with a port that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer = testenv.Log
