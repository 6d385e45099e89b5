package perf

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Proc is a subprocess serving HTTP at Addr.
type Proc struct {
	Name string
	Addr string // host:port
	cmd  *exec.Cmd
	log  *os.File
	done chan error
}

// FreeAddr returns a loopback address nothing listens on right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start runs exe with args (which must make it listen at addr), its output
// going to logPath, and waits until addr accepts connections.
func Start(ctx context.Context, name, exe, addr, logPath string, args ...string) (*Proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &Proc{Name: name, Addr: addr, cmd: cmd, log: f, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case err := <-p.done:
			f.Close()
			return nil, fmt.Errorf("%s exited before listening (%v); see %s", name, err, logPath)
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s: not listening at %s after 30 s; see %s", name, addr, logPath)
		}
	}
}

// Pid is the subprocess's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stop ends the subprocess (interrupt, then kill after 10 s) and waits for it.
func (p *Proc) Stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
}

// CPU is the user plus system CPU time the process has used so far.
func (p *Proc) CPU() (time.Duration, error) { return procCPU(p.Pid()) }

// RSS is the process's resident set size now, in bytes.
func (p *Proc) RSS() (int64, error) { return ProcRSS(p.Pid()) }

// ProcRSS reads VmRSS of process pid from /proc.
func ProcRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return parseKB(v)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// parseKB reads "  1234 kB" as bytes.
func parseKB(v string) (int64, error) {
	fs := strings.Fields(v)
	if len(fs) != 2 || fs[1] != "kB" {
		return 0, fmt.Errorf("unexpected memory field %q", v)
	}
	n, err := strconv.ParseInt(fs[0], 10, 64)
	return n * 1024, err
}

// procCPU reads utime+stime of process pid from /proc/pid/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// clockTicks is USER_HZ, 100 on every Linux platform Go supports.
const clockTicks = 100

func parseStatCPU(stat string) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat %q", stat)
	}
	fs := strings.Fields(stat[i+1:])
	// fs[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fs) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat %q", stat)
	}
	u, err1 := strconv.ParseInt(fs[11], 10, 64)
	s, err2 := strconv.ParseInt(fs[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc stat %q", stat)
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// NewBareProxy is the baseline: the standard library's reverse proxy to
// upstream with a connection pool sized for benchmarks, and nothing else.
func NewBareProxy(upstream *url.URL) http.Handler {
	p := httputil.NewSingleHostReverseProxy(upstream)
	p.Transport = &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}
	return p
}
