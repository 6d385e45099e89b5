package perf

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Step is one target driven at one rate (0: closed-loop saturation).
type Step struct {
	Target             string        `json:"target"`
	Rate               float64       `json:"offered_calls_per_s"` // 0 for saturation
	Sent               int           `json:"sent"`
	OK                 int           `json:"ok"`
	Throttled          int           `json:"throttled"`
	Failed             int           `json:"failed"`
	Achieved           float64       `json:"answered_calls_per_s"`
	Latency            Latency       `json:"latency"`
	CPUPerCall         time.Duration `json:"cpu_per_call_ns"`          // of the target's process
	UpstreamCPUPerCall time.Duration `json:"upstream_cpu_per_call_ns"` // of the upstream, when it is behind the target
	RSS                int64         `json:"rss_bytes"`
	LastError          string        `json:"last_error,omitempty"`
}

// Row compares one target with the upstream and the bare proxy at one rate.
type Row struct {
	Target string  `json:"target"`
	Rate   float64 `json:"offered_calls_per_s"`
	// Added latency over calling the upstream directly.
	AddedP50 time.Duration `json:"added_p50_ns"`
	AddedP99 time.Duration `json:"added_p99_ns"`
	// Latency over the bare proxy's (ptu targets only).
	OverProxyP50 time.Duration `json:"over_proxy_p50_ns"`
	OverProxyP99 time.Duration `json:"over_proxy_p99_ns"`
	// Answered calls per second over the bare proxy's (saturation).
	ThroughputRatio float64 `json:"throughput_ratio,omitempty"`
}

// Check is one target of the issue, met or not.
type Check struct {
	What  string `json:"what"`
	Got   string `json:"got"`
	Limit string `json:"limit"`
	Pass  bool   `json:"pass"`
}

// Report is the result of an overhead run.
type Report struct {
	Machine   Machine       `json:"machine"`
	Started   time.Time     `json:"started"`
	Finished  time.Time     `json:"finished"`
	LoadAfter string        `json:"load_average_after"`
	Duration  time.Duration `json:"step_duration_ns"`
	Workers   int           `json:"saturation_callers"`
	Rounds    int           `json:"saturation_rounds,omitempty"`
	MaxTokens int           `json:"max_tokens"`
	Targets   []string      `json:"targets"`
	Steps     []Step        `json:"steps"`
	Rows      []Row         `json:"comparison"`
	Checks    []Check       `json:"checks"`
}

// Machine describes where a run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	Model     string `json:"cpu_model"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
	Load      string `json:"load_average_before"`
}

// DescribeMachine reads the CPU model and load average from /proc.
func DescribeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Load: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fs := strings.Fields(string(b))
	if len(fs) < 3 {
		return ""
	}
	return strings.Join(fs[:3], " ")
}

// step returns the step of target at rate, if the run has one.
func (r *Report) step(target string, rate float64) (Step, bool) {
	for _, s := range r.Steps {
		if s.Target == target && s.Rate == rate {
			return s, true
		}
	}
	return Step{}, false
}

// Rates are the offered rates of the run, in order, then 0 for saturation if run.
func (r *Report) Rates() []float64 {
	var out []float64
	seen := map[float64]bool{}
	for _, s := range r.Steps {
		if !seen[s.Rate] {
			seen[s.Rate] = true
			out = append(out, s.Rate)
		}
	}
	return out
}

// Compare fills Rows and Checks from Steps.
func (r *Report) Compare() {
	r.Rows = r.Rows[:0]
	for _, rate := range r.Rates() {
		for _, name := range r.Targets {
			// Each target is compared with the upstream and the bare proxy
			// called the same way (streaming or not).
			kind := ""
			if strings.HasSuffix(name, StreamSuffix) {
				kind = StreamSuffix
			}
			if name == TargetUpstream+kind {
				continue
			}
			up, hasUp := r.step(TargetUpstream+kind, rate)
			px, hasPx := r.step(TargetProxy+kind, rate)
			s, ok := r.step(name, rate)
			if !ok {
				continue
			}
			row := Row{Target: name, Rate: rate}
			if hasUp {
				row.AddedP50, row.AddedP99 = s.Latency.P50-up.Latency.P50, s.Latency.P99-up.Latency.P99
			}
			if hasPx && name != TargetProxy+kind {
				row.OverProxyP50, row.OverProxyP99 = s.Latency.P50-px.Latency.P50, s.Latency.P99-px.Latency.P99
				if rate == 0 && px.Achieved > 0 {
					row.ThroughputRatio = s.Achieved / px.Achieved
				}
			}
			r.Rows = append(r.Rows, row)
		}
	}
	r.Checks = r.Checks[:0]
	for _, row := range r.Rows {
		switch {
		case row.Target == TargetProxy || strings.HasSuffix(row.Target, StreamSuffix):
		case row.Rate == 0:
			r.Checks = append(r.Checks, Check{What: row.Target + " saturation calls/s over the bare proxy's",
				Got: fmt.Sprintf("%.0f %%", row.ThroughputRatio*100), Limit: "≥ 60 %", Pass: row.ThroughputRatio >= 0.6})
		case row.Rate == 1000:
			limit := 150 * time.Microsecond
			if row.Target == TargetPTURedis {
				limit = 500 * time.Microsecond
			}
			r.Checks = append(r.Checks, Check{What: row.Target + " p50 over the bare proxy's at 1,000 calls/s",
				Got: fmtDur(row.OverProxyP50), Limit: "≤ " + fmtDur(limit), Pass: row.OverProxyP50 <= limit})
		}
	}
}

// fmtDur prints a duration in µs below 10 ms, in ms above.
func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDur(-d)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

func rateName(rate float64) string {
	if rate == 0 {
		return "saturation"
	}
	return strconv.FormatFloat(rate, 'f', -1, 64)
}

// WriteTable prints the steps and the comparison as Markdown tables.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| offered calls/s\t| target\t| answered calls/s\t| p50\t| p99\t| max\t| failed\t| CPU/call\t| upstream CPU/call\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "| %s\t| %s\t| %.0f\t| %s\t| %s\t| %s\t| %d\t| %s\t| %s\t|\n", rateName(s.Rate), s.Target, s.Achieved,
			fmtDur(s.Latency.P50), fmtDur(s.Latency.P99), fmtDur(s.Latency.Max), s.Failed, fmtDur(s.CPUPerCall), fmtDur(s.UpstreamCPUPerCall))
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "| offered calls/s\t| target\t| added p50\t| added p99\t| p50 over bare proxy\t| p99 over bare proxy\t| calls/s / bare proxy's\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---:\t|---:\t|---:\t|---:\t|---:\t|")
	for _, row := range r.Rows {
		over50, over99, ratio := "", "", ""
		if !strings.HasPrefix(row.Target, TargetProxy) {
			over50, over99 = fmtDur(row.OverProxyP50), fmtDur(row.OverProxyP99)
		}
		if row.ThroughputRatio > 0 {
			ratio = fmt.Sprintf("%.0f %%", row.ThroughputRatio*100)
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t|\n", rateName(row.Rate), row.Target,
			fmtDur(row.AddedP50), fmtDur(row.AddedP99), over50, over99, ratio)
	}
	tw.Flush()
	if len(r.Checks) > 0 {
		fmt.Fprintln(w)
		for _, c := range r.Checks {
			mark := "met"
			if !c.Pass {
				mark = "NOT MET"
			}
			fmt.Fprintf(w, "- %s: %s (target %s): %s\n", c.What, c.Got, c.Limit, mark)
		}
	}
}

// WriteFiles writes results.json and results.csv into dir.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(dir+"/results.json", append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(dir + "/results.csv")
	if err != nil {
		return err
	}
	defer f.Close()
	cw := csv.NewWriter(f)
	_ = cw.Write([]string{"offered_calls_per_s", "target", "sent", "ok", "throttled", "failed", "answered_calls_per_s",
		"p50_us", "p90_us", "p99_us", "max_us", "cpu_per_call_us", "upstream_cpu_per_call_us", "rss_bytes"})
	us := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) }
	for _, s := range r.Steps {
		_ = cw.Write([]string{rateName(s.Rate), s.Target, strconv.Itoa(s.Sent), strconv.Itoa(s.OK), strconv.Itoa(s.Throttled),
			strconv.Itoa(s.Failed), strconv.FormatFloat(s.Achieved, 'f', 1, 64), us(s.Latency.P50), us(s.Latency.P90),
			us(s.Latency.P99), us(s.Latency.Max), us(s.CPUPerCall), us(s.UpstreamCPUPerCall), strconv.FormatInt(s.RSS, 10)})
	}
	cw.Flush()
	return cw.Error()
}

// ReadReport reads a results.json written by WriteFiles.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
