// Command ollamabench helps scripts/ollama/bench put ptu in front of a real
// Ollama: `serve` runs Ollama with a random-weight model of package gguf,
// `report` turns `ptu bench load` request logs into the table and chart of
// docs/benchmarks.md.
//
//	ollamabench serve -addr 127.0.0.1:18611 -dir /tmp/o -parallel 4 -model slow -name slow
//	ollamabench report -capacity 6000 -weight 4 -svg out.svg 50%=a.jsonl:60:240 300%=b.jsonl:240:480
//	ollamabench cost -weight 4 requests.jsonl
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/ptu-dev/ptu/internal/gguf"
	"github.com/ptu-dev/ptu/internal/ollamatest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ollamabench serve|report|cost [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "report":
		err = report(os.Args[2:], os.Stdout)
	case "cost":
		err = cost(os.Args[2:], os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q: serve, report or cost", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ollamabench:", err)
		os.Exit(1)
	}
}

// serve runs Ollama with one model until interrupted.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:11434", "listen address")
	dir := fs.String("dir", "", "model directory (default a temporary one)")
	parallel := fs.Int("parallel", 1, "OLLAMA_NUM_PARALLEL: calls the model runs at once")
	size := fs.String("model", "slow", "tiny (2 layers, 64 wide) or slow (8 layers, 512 wide)")
	name := fs.String("name", "", "the model's name in Ollama (default the -model value)")
	threads := fs.Int("threads", 1, "num_thread of the model")
	_ = fs.Parse(args)
	m := gguf.Slow
	switch *size {
	case "slow":
	case "tiny":
		m = gguf.Tiny
	default:
		return fmt.Errorf("-model %q: tiny or slow", *size)
	}
	if *name == "" {
		*name = *size
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "ollamabench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := ollamatest.Start(ctx, ollamatest.BinaryPath(), *dir, ollamatest.Options{Addr: *addr, Parallel: *parallel})
	if err != nil {
		return err
	}
	defer s.Stop()
	if err := s.Create(ctx, *name, m, fmt.Sprintf("num_thread %d", *threads)); err != nil {
		return fmt.Errorf("%w\n%s", err, s.Log())
	}
	fmt.Printf("ready %s/v1 model %s\n", s.URL, *name)
	<-ctx.Done()
	return nil
}

// call is what report reads of a `ptu bench load` request-log line.
type call struct {
	Start     time.Time `json:"start"`
	Outcome   string    `json:"outcome"`
	Status    int       `json:"status"`
	E2E       float64   `json:"e2e"`
	TTFT      *float64  `json:"ttft"`
	TBT       *float64  `json:"tbt"`
	Prompt    int       `json:"prompt_tokens"`
	Generated int       `json:"generated_tokens"`
}

// run is one load run's calls, from a request log, and its measured window.
type run struct {
	name     string
	calls    []call
	t0       time.Time
	from, to time.Duration
}

// cost prints the mean cost (prompt + weight × generated) of a request
// log's successful calls and their median stream speed (tokens/s).
func cost(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("cost", flag.ExitOnError)
	weight := fs.Float64("weight", 4, "output weight")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("cost needs one request log")
	}
	r, err := readRun("", fs.Arg(0))
	if err != nil {
		return err
	}
	sum, n := 0.0, 0
	var tps []float64
	for _, c := range r.calls {
		if c.Outcome == "ok" {
			sum += float64(c.Prompt) + *weight*float64(c.Generated)
			n++
			if c.TTFT != nil && c.Generated > 1 && c.E2E > *c.TTFT {
				tps = append(tps, float64(c.Generated-1)/(c.E2E-*c.TTFT))
			}
		}
	}
	if n == 0 {
		return errors.New("no successful call")
	}
	fmt.Fprintf(out, "%.0f %.1f\n", sum/float64(n), pct(tps, 50))
	return nil
}

func readRun(name, path string) (*run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &run{name: name}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r.calls = append(r.calls, c)
		if r.t0.IsZero() || c.Start.Before(r.t0) {
			r.t0 = c.Start
		}
	}
	if len(r.calls) == 0 {
		return nil, fmt.Errorf("%s: no calls", path)
	}
	return r, sc.Err()
}

// stats are a run's figures over its measured window.
type stats struct {
	offered, ok, throttled, failed int
	ttft50, ttft99, tps50, tps99   float64 // tps: the slowest 1 % of streams for p99
	acceptedTPM                    float64 // normalized tokens per minute of successful calls
	longest                        float64 // the longest successful call, seconds
}

func (r *run) stats(from, to time.Duration, weight float64) stats {
	var s stats
	var ttfts, tps []float64
	for _, c := range r.calls {
		at := c.Start.Sub(r.t0)
		if at < from || at >= to {
			continue
		}
		s.offered++
		switch c.Outcome {
		case "ok":
			s.ok++
			s.acceptedTPM += float64(c.Prompt) + weight*float64(c.Generated)
			s.longest = max(s.longest, c.E2E)
			if c.TTFT != nil {
				ttfts = append(ttfts, *c.TTFT)
				if c.Generated > 1 && c.E2E > *c.TTFT {
					tps = append(tps, float64(c.Generated-1)/(c.E2E-*c.TTFT))
				}
			}
		case "throttled":
			s.throttled++
		default:
			s.failed++
		}
	}
	s.acceptedTPM /= (to - from).Minutes()
	s.ttft50, s.ttft99 = pct(ttfts, 50), pct(ttfts, 99)
	s.tps50, s.tps99 = pct(tps, 50), pct(tps, 1)
	return s
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	i := int(math.Ceil(p/100*float64(len(v)))) - 1
	return v[min(max(i, 0), len(v)-1)]
}

func report(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	capacity := fs.Float64("capacity", 0, "the deployment's normalized tokens per minute (PTUs × input TPM per PTU)")
	weight := fs.Float64("weight", 4, "output weight")
	svg := fs.String("svg", "", "write a chart of time to first token over each run here")
	_ = fs.Parse(args)
	if *capacity <= 0 || fs.NArg() == 0 {
		return errors.New("report needs -capacity and NAME=REQUEST_LOG:FROM:TO arguments")
	}
	var runs []*run
	for _, a := range fs.Args() {
		name, rest, ok := strings.Cut(a, "=")
		parts := strings.Split(rest, ":")
		if !ok || len(parts) != 3 {
			return fmt.Errorf("argument %q: NAME=REQUEST_LOG:FROM:TO (seconds into the run)", a)
		}
		r, err := readRun(name, parts[0])
		if err != nil {
			return err
		}
		from, err1 := strconv.ParseFloat(parts[1], 64)
		to, err2 := strconv.ParseFloat(parts[2], 64)
		if err1 != nil || err2 != nil || to <= from {
			return fmt.Errorf("argument %q: bad window", a)
		}
		r.from, r.to = time.Duration(from*float64(time.Second)), time.Duration(to*float64(time.Second))
		runs = append(runs, r)
	}
	fmt.Fprintf(out, "| run | measured | calls | throttled | failed | TTFT p50 | TTFT p99 | tokens/s p50 | tokens/s p1 (slowest 1 %%) | accepted | longest call |\n")
	fmt.Fprintf(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		s := r.stats(r.from, r.to, *weight)
		fmt.Fprintf(out, "| %s | %g–%g s | %d | %.1f %% | %d | %.3f s | %.3f s | %.1f | %.1f | %.1f %% | %.1f s |\n", r.name,
			r.from.Seconds(), r.to.Seconds(), s.offered,
			100*float64(s.throttled)/math.Max(1, float64(s.offered)), s.failed, s.ttft50, s.ttft99, s.tps50, s.tps99,
			100*s.acceptedTPM/(*capacity), s.longest)
	}
	if *svg != "" {
		return chart(runs, *svg)
	}
	return nil
}

// chart plots each successful call's time to first token against when it
// started, one series per run, with the latest measured window's start marked.
func chart(runs []*run, path string) error {
	from := 0.0
	for _, r := range runs {
		from = max(from, r.from.Seconds())
	}
	p := plot.New()
	p.Title.Text = "Time to first token of successful calls, ptu in front of Ollama"
	p.X.Label.Text = "call start (s into the run)"
	p.Y.Label.Text = "time to first token (s, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	colors := []color.Color{color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}}
	ymax := 0.0
	for i, r := range runs {
		var pts plotter.XYs
		for _, c := range r.calls {
			if c.Outcome == "ok" && c.TTFT != nil {
				pts = append(pts, plotter.XY{X: c.Start.Sub(r.t0).Seconds(), Y: math.Max(*c.TTFT, 1e-3)})
				ymax = max(ymax, *c.TTFT)
			}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = colors[i%len(colors)]
		sc.GlyphStyle.Radius = vg.Points(1.2)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add(r.name, sc)
	}
	if from > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: from, Y: 1e-3}, {X: from, Y: math.Max(ymax, 1)}})
		if err != nil {
			return err
		}
		l.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		l.LineStyle.Color = color.Gray{Y: 0x80}
		p.Add(l)
		p.Legend.Add("measured from here", l)
	}
	return p.Save(9*vg.Inch, 5*vg.Inch, path)
}
