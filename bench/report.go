package bench

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// WriteHTML writes a self-contained report of the run: its settings, the
// summary, and charts of throughput, tokens, utilization and latency over
// time drawn as inline SVG. It fetches nothing when opened.
func (rep *Report) WriteHTML(w io.Writer) error {
	var sum bytes.Buffer
	rep.Summary.Write(&sum, rep.Config.Retry)
	data := reportData{
		Title:    fmt.Sprintf("ptu bench: %s at %s", rep.Config.Deployment, strings.Join(rep.Config.endpoints(), ", ")),
		Started:  rep.Start.Local().Format("2006-01-02 15:04:05 MST"),
		Settings: rep.settings(),
		Summary:  strings.TrimLeft(sum.String(), "\n"),
	}
	if rep.Interrupted {
		data.Notes = append(data.Notes, "The run was interrupted: the numbers cover it until then.")
	}
	x := make([]float64, len(rep.Stats))
	for i, s := range rep.Stats {
		x[i] = s.At.Sub(rep.Start).Seconds()
	}
	window := rep.Config.AggregationWindow
	get := func(f func(Stats) *float64) []*float64 {
		out := make([]*float64, len(rep.Stats))
		for i, s := range rep.Stats {
			out[i] = f(s)
		}
		return out
	}
	data.Charts = []template.HTML{
		lineChart("Calls per minute", "calls/min", x, []series{
			{"succeeded (rpm)", "#1f77b4", get(func(s Stats) *float64 { return s.RPM })},
			{"throttled", "#d62728", rep.ratePerMinute(window, func(s Stats) int { return s.Throttled })},
			{"429 answers (retried or not)", "#ff9896", rep.ratePerMinute(window, func(s Stats) int { return s.Answers429 })},
			{"failed (other)", "#7f7f7f", rep.ratePerMinute(window, func(s Stats) int { return s.Failures - s.Throttled })},
		}, 0),
		lineChart("Tokens per minute", "tokens/min", x, []series{
			{"prompt (context)", "#2ca02c", get(func(s Stats) *float64 { return s.TPM.Context })},
			{"generated", "#ff7f0e", get(func(s Stats) *float64 { return s.TPM.Gen })},
		}, 0),
		lineChart("Deployment utilization (azure-openai-deployment-utilization)", "%", x, []series{
			{"average", "#9467bd", get(func(s Stats) *float64 { return s.Util.Avg })},
			{"95th percentile", "#e377c2", get(func(s Stats) *float64 { return s.Util.P95 })},
		}, 100),
		lineChart("Latency", "seconds", x, []series{
			{"e2e average", "#1f77b4", get(func(s Stats) *float64 { return s.E2E.Avg })},
			{"e2e 95th", "#aec7e8", get(func(s Stats) *float64 { return s.E2E.P95 })},
			{"time to first token average", "#ff7f0e", get(func(s Stats) *float64 { return s.TTFT.Avg })},
			{"time to first token 95th", "#ffbb78", get(func(s Stats) *float64 { return s.TTFT.P95 })},
		}, 0),
	}
	data.Window = fmt.Sprint(window)
	return reportTemplate.Execute(w, data)
}

// ratePerMinute turns a cumulative count into a per-minute rate over the
// aggregation window, like the rpm beside it.
func (rep *Report) ratePerMinute(window time.Duration, count func(Stats) int) []*float64 {
	out := make([]*float64, len(rep.Stats))
	j := 0
	for i, s := range rep.Stats {
		for j < i && s.At.Sub(rep.Stats[j].At) > window {
			j++
		}
		base, from := 0, rep.Start
		if j > 0 {
			base, from = count(rep.Stats[j-1]), rep.Stats[j-1].At
		}
		span := s.At.Sub(from).Seconds()
		if span <= 0 {
			continue
		}
		out[i] = ptr(60 * float64(count(s)-base) / span)
	}
	return out
}

func (rep *Report) settings() [][2]string {
	c := rep.Config
	rows := [][2]string{
		{"endpoint", strings.Join(c.endpoints(), ", ")},
		{"deployment", c.Deployment},
		{"api style", c.APIStyle},
	}
	if c.APIStyle == StyleAzure {
		rows = append(rows, [2]string{"api-version", c.APIVersion})
	}
	rate := "as fast as the clients allow"
	if c.Rate > 0 {
		rate = fmt.Sprintf("%g calls/min, %s arrivals", c.Rate, c.Arrivals)
	}
	maxTok := "unset"
	if c.Shape.MaxTokens > 0 {
		maxTok = fmt.Sprint(c.Shape.MaxTokens)
	}
	rows = append(rows,
		[2]string{"clients", fmt.Sprint(c.Clients)},
		[2]string{"rate", rate},
		[2]string{"shape", fmt.Sprintf("%d context tokens (%s), max_tokens %s, n %d, cache rate %g", c.Shape.ContextTokens, rep.Encoding, maxTok, c.Completions, c.CacheRate)},
		[2]string{"retry", c.Retry},
		[2]string{"aggregation window", fmt.Sprint(c.AggregationWindow)},
	)
	if rep.ModelName != "" {
		rows = append(rows, [2]string{"model (sizing)", rep.ModelName})
	}
	if c.PTU > 0 {
		rows = append(rows, [2]string{"deployment size", fmt.Sprintf("%d PTU", c.PTU)})
	}
	return rows
}

type reportData struct {
	Title, Started, Summary, Window string
	Settings                        [][2]string
	Notes                           []string
	Charts                          []template.HTML
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
h1 { font-size: 1.4em; }
h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; }
td { padding: 2px 12px 2px 0; vertical-align: top; }
td:first-child { color: #555; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 1.5em 0; }
figcaption { font-weight: 600; margin-bottom: 0.3em; }
.note { color: #8a4b00; }
svg text { font-size: 11px; fill: #444; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Started {{.Started}}. Rates and percentiles per second over a sliding window of {{.Window}}, as azure-openai-benchmark computes them.</p>
{{range .Notes}}<p class="note">{{.}}</p>{{end}}
<h2>Settings</h2>
<table>{{range .Settings}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table>
<h2>Summary</h2>
<pre>{{.Summary}}</pre>
<h2>Over time</h2>
{{range .Charts}}{{.}}{{end}}
</body>
</html>
`))

// series is one line of a chart; nil values are gaps.
type series struct {
	name  string
	color string
	y     []*float64
}

// lineChart draws series against x as an SVG figure. A positive mark draws
// a dashed horizontal line at that value (100 % on utilization).
func lineChart(title, unit string, x []float64, ss []series, mark float64) template.HTML {
	const (
		width, height          = 940, 280
		left, right, top, base = 64, 16, 12, 36
	)
	pw, ph := float64(width-left-right), float64(height-top-base)
	xmax := 1.0
	for _, v := range x {
		xmax = max(xmax, v)
	}
	ymax := mark
	for _, s := range ss {
		for _, v := range s.y {
			if v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
				ymax = max(ymax, *v)
			}
		}
	}
	yticks := niceTicks(ymax)
	ytop := yticks[len(yticks)-1]
	if ytop <= 0 {
		ytop = 1
	}
	px := func(v float64) float64 { return float64(left) + v/xmax*pw }
	py := func(v float64) float64 { return float64(top) + ph - v/ytop*ph }

	var b strings.Builder
	fmt.Fprintf(&b, `<figure><figcaption>%s</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		template.HTMLEscapeString(title), width, height, width, height, template.HTMLEscapeString(title))
	// Grid and axes.
	for _, t := range yticks {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`, left, y, width-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, left-6, y+4, tickLabel(t))
	}
	for _, t := range niceTicks(xmax) {
		if t > xmax {
			break
		}
		xp := px(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#f0f0f0"/>`, xp, top, xp, height-base)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, xp, height-base+16, tickLabel(t))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, left, height-base, width-right, height-base)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, left, top, left, height-base)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">seconds</text>`, width-right, height-4)
	fmt.Fprintf(&b, `<text x="12" y="%d" transform="rotate(-90 12 %d)" text-anchor="middle">%s</text>`, top+int(ph/2), top+int(ph/2), template.HTMLEscapeString(unit))
	if mark > 0 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d62728" stroke-dasharray="6 4"/>`, left, py(mark), width-right, py(mark))
	}
	// Lines, broken where a value is missing.
	for _, s := range ss {
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, s.color, strings.Join(pts, " "))
			} else if len(pts) == 1 {
				xy := strings.Split(pts[0], ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="1.6" fill="%s"/>`, xy[0], xy[1], s.color)
			}
			pts = pts[:0]
		}
		for i, v := range s.y {
			if i >= len(x) || v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(x[i]), py(*v)))
		}
		flush()
	}
	// Legend.
	lx := left + 8
	for _, s := range ss {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="3" fill="%s"/><text x="%d" y="%d">%s</text>`,
			lx, top+6, s.color, lx+16, top+10, template.HTMLEscapeString(s.name))
		lx += 28 + 7*len(s.name)
	}
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

// niceTicks returns evenly spaced round values from 0 covering v.
func niceTicks(v float64) []float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return []float64{0, 1}
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for t := 0.0; ; t += step {
		out = append(out, t)
		if t >= v {
			break
		}
	}
	return out
}

func tickLabel(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", math.Round(v/1e4)/100)
	case v >= 1e4:
		return fmt.Sprintf("%gk", math.Round(v/10)/100)
	}
	return fmt.Sprintf("%g", math.Round(v*1000)/1000)
}

// statusList formats status counts, most frequent first.
func statusList(m map[int]int) string {
	type kv struct{ k, v int }
	var l []kv
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v || l[i].v == l[j].v && l[i].k < l[j].k })
	var parts []string
	for _, e := range l {
		name := fmt.Sprint(e.k)
		if e.k == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", name, e.v))
	}
	return strings.Join(parts, ", ")
}
