package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// WrkOptions configure a saturation run driven by wrk
// (https://github.com/wg/wrk), an external load generator in its own
// process: the targets are measured as a client on another machine would,
// without the Go load generator's goroutines competing with them inside one
// process's scheduler.
type WrkOptions struct {
	Path        string        // the wrk binary (Debian's package: /usr/bin/wrk)
	Connections int           // open connections (-c)
	Threads     int           // wrk threads (-t)
	Duration    time.Duration // of each target's turn in a round
	Rounds      int           // the targets take turns in each round
}

// WrkStep is one target's saturation over every round.
type WrkStep struct {
	Target     string        `json:"target"`
	Requests   int64         `json:"requests"`
	Non2xx     int64         `json:"non_2xx"`
	Errors     int64         `json:"socket_errors"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	Rate       float64       `json:"calls_per_second"`
	Rounds     []float64     `json:"round_calls_per_second"`
	CPUPerCall time.Duration `json:"cpu_per_call_ns"` // of the target's process
	Share      float64       `json:"share_of_bare_proxy"`
}

// WrkReport is a wrk saturation run.
type WrkReport struct {
	Machine     Machine   `json:"machine"`
	Connections int       `json:"connections"`
	Threads     int       `json:"threads"`
	Rounds      int       `json:"rounds"`
	Duration    string    `json:"duration_per_turn"`
	Steps       []WrkStep `json:"steps"`
	LoadAfter   string    `json:"load_average_after"`
}

// wrkScript makes every request a POST of the target's body with its headers.
func wrkScript(t target) string {
	var b strings.Builder
	b.WriteString("wrk.method = \"POST\"\n")
	fmt.Fprintf(&b, "wrk.body = %s\n", luaString(string(t.body)))
	b.WriteString("wrk.headers[\"Content-Type\"] = \"application/json\"\n")
	if t.key != "" {
		fmt.Fprintf(&b, "wrk.headers[\"api-key\"] = %s\n", luaString(t.key))
	}
	return b.String()
}

// luaString quotes s as a Lua string literal (decimal escapes for anything
// but printable ASCII, quotes and backslashes).
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := range len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in ([0-9.]+)(us|ms|s|m)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkErrors   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// wrkTurn runs wrk against t once and parses its summary.
func wrkTurn(ctx context.Context, opt WrkOptions, t target, script string) (req, non2xx, errs int64, elapsed time.Duration, err error) {
	url := t.url
	cmd := exec.CommandContext(ctx, opt.Path, "-t", strconv.Itoa(opt.Threads), "-c", strconv.Itoa(opt.Connections),
		"-d", fmt.Sprintf("%ds", int(opt.Duration.Seconds())), "-s", script, url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err = cmd.Run(); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("wrk %s: %v: %s", t.name, err, out.String())
	}
	req, non2xx, errs, elapsed, err = parseWrk(out.String())
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("wrk %s: %w", t.name, err)
	}
	return req, non2xx, errs, elapsed, nil
}

// parseWrk reads wrk's summary: requests, non-2xx answers, socket errors and
// the time they took.
func parseWrk(out string) (req, non2xx, errs int64, elapsed time.Duration, err error) {
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, 0, 0, fmt.Errorf("no summary in %q", out)
	}
	req, _ = strconv.ParseInt(m[1], 10, 64)
	v, _ := strconv.ParseFloat(m[2], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[m[3]]
	elapsed = time.Duration(v * float64(unit))
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkErrors.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			errs += n
		}
	}
	return req, non2xx, errs, elapsed, nil
}

// RunWrk drives every target but the upstream itself to saturation with wrk,
// in rounds in which the targets take turns, and reports each one's calls per
// second (2xx answers only) and its share of the bare proxy's.
func (b *Bench) RunWrk(ctx context.Context, opt WrkOptions) (*WrkReport, error) {
	if opt.Connections <= 0 {
		opt.Connections = 32
	}
	if opt.Threads <= 0 {
		opt.Threads = 2
	}
	opt.Rounds = max(1, opt.Rounds)
	if opt.Duration < time.Second {
		opt.Duration = time.Second
	}
	rep := &WrkReport{Machine: DescribeMachine(), Connections: opt.Connections, Threads: opt.Threads, Rounds: opt.Rounds, Duration: opt.Duration.String()}
	var targets []target
	for _, t := range b.targets {
		if t.name != TargetUpstream && !strings.HasSuffix(t.name, StreamSuffix) {
			targets = append(targets, t)
		}
	}
	scripts := make([]string, len(targets))
	for i, t := range targets {
		scripts[i] = filepath.Join(b.opt.WorkDir, "wrk-"+t.name+".lua")
		if err := os.WriteFile(scripts[i], []byte(wrkScript(t)), 0o644); err != nil {
			return nil, err
		}
		rep.Steps = append(rep.Steps, WrkStep{Target: t.name})
	}
	cpu := make([]time.Duration, len(targets))
	for round := range opt.Rounds {
		for i, t := range targets {
			c0, _ := t.proc.CPU()
			req, non2xx, errs, elapsed, err := wrkTurn(ctx, opt, t, scripts[i])
			if err != nil {
				return rep, err
			}
			c1, _ := t.proc.CPU()
			cpu[i] += c1 - c0
			s := &rep.Steps[i]
			s.Requests += req
			s.Non2xx += non2xx
			s.Errors += errs
			s.Elapsed += elapsed
			r := float64(req-non2xx) / elapsed.Seconds()
			s.Rounds = append(s.Rounds, r)
			if b.opt.Progress != nil {
				fmt.Fprintf(b.opt.Progress, "wrk round %d/%d  %-11s %8.0f calls/s (%d non-2xx, %d socket errors)\n", round+1, opt.Rounds, t.name, r, non2xx, errs)
			}
		}
	}
	var proxy float64
	for i := range rep.Steps {
		s := &rep.Steps[i]
		if s.Elapsed > 0 {
			s.Rate = float64(s.Requests-s.Non2xx) / s.Elapsed.Seconds()
		}
		if ok := s.Requests - s.Non2xx; ok > 0 {
			s.CPUPerCall = cpu[i] / time.Duration(ok)
		}
		if s.Target == TargetProxy {
			proxy = s.Rate
		}
	}
	for i := range rep.Steps {
		if proxy > 0 {
			rep.Steps[i].Share = rep.Steps[i].Rate / proxy
		}
	}
	rep.LoadAfter = loadAverage()
	return rep, ctx.Err()
}

// WriteTable prints the run as a table.
func (r *WrkReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "wrk, %d connections, %d threads, %d rounds of %s per target\n\n", r.Connections, r.Threads, r.Rounds, r.Duration)
	fmt.Fprintf(w, "| target | calls/s | rounds | share of bare proxy | CPU per call | non-2xx |\n|---|---:|---|---:|---:|---:|\n")
	for _, s := range r.Steps {
		var rounds []string
		for _, x := range s.Rounds {
			rounds = append(rounds, fmt.Sprintf("%.0f", x))
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %.2f | %s | %d |\n", s.Target, s.Rate, strings.Join(rounds, " · "), s.Share, fmtDur(s.CPUPerCall), s.Non2xx)
	}
	for _, c := range r.Checks() {
		fmt.Fprintf(w, "\n- %s: %s (target %s): %s", c.What, c.Got, c.Limit, map[bool]string{true: "met", false: "NOT met"}[c.Pass])
	}
	fmt.Fprintln(w)
}

// wrkShareTargets are the shares of the bare proxy's calls/s that ptu serve
// is held to with each limiter.
var wrkShareTargets = map[string]float64{TargetPTUMemory: 0.80, TargetPTURedis: 0.70}

// Checks compares each ptu target's share of the bare proxy's calls/s with
// its target.
func (r *WrkReport) Checks() []Check {
	var out []Check
	for _, s := range r.Steps {
		limit, ok := wrkShareTargets[s.Target]
		if !ok {
			continue
		}
		out = append(out, Check{What: s.Target + " calls/s over the bare proxy's (wrk)",
			Got: fmt.Sprintf("%.2f", s.Share), Limit: fmt.Sprintf("≥ %.2f", limit), Pass: s.Share >= limit})
	}
	return out
}

// WriteJSON writes the report to path.
func (r *WrkReport) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
