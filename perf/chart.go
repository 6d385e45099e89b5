package perf

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var targetColors = map[string]color.RGBA{
	TargetUpstream:                 {R: 120, G: 120, B: 120, A: 255},
	TargetProxy:                    {R: 31, G: 119, B: 180, A: 255},
	TargetPTUMemory:                {R: 214, G: 39, B: 40, A: 255},
	TargetPTURedis:                 {R: 44, G: 160, B: 44, A: 255},
	TargetUpstream + StreamSuffix:  {R: 190, G: 190, B: 190, A: 255},
	TargetProxy + StreamSuffix:     {R: 23, G: 190, B: 207, A: 255},
	TargetPTUMemory + StreamSuffix: {R: 255, G: 127, B: 14, A: 255},
	TargetPTURedis + StreamSuffix:  {R: 148, G: 103, B: 189, A: 255},
}

// WriteCharts writes two PNG charts into dir against offered load (the
// open-loop steps): added-latency.png (p50 and p99 over calling the
// upstream directly) and p99.png (end-to-end p99), one line per target.
// It returns the files written.
func (r *Report) WriteCharts(dir string) ([]string, error) {
	var rates []float64
	for _, rate := range r.Rates() {
		if rate > 0 {
			rates = append(rates, rate)
		}
	}
	if len(rates) == 0 {
		return nil, nil
	}
	// Milliseconds on a log scale: the runs span microseconds (a quiet
	// proxy) to seconds (an overloaded one). Zero and negative differences
	// (noise) are drawn at 1 µs.
	us := func(d time.Duration) float64 { return max(float64(d)/float64(time.Millisecond), 0.001) }

	added := plot.New()
	added.Title.Text = "Latency added over calling the upstream directly"
	added.X.Label.Text = "offered load (calls/s)"
	added.Y.Label.Text = "added latency (ms, log scale)"
	p99 := plot.New()
	p99.Title.Text = "End-to-end p99 latency"
	p99.X.Label.Text = "offered load (calls/s)"
	p99.Y.Label.Text = "p99 (ms, log scale)"
	for _, p := range []*plot.Plot{added, p99} {
		p.Add(plotter.NewGrid())
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Legend.Top = true
		p.Legend.Left = true
	}
	for _, name := range r.Targets {
		var a50, a99, e99 plotter.XYs
		for _, rate := range rates {
			s, ok := r.step(name, rate)
			if !ok {
				continue
			}
			e99 = append(e99, plotter.XY{X: rate, Y: us(s.Latency.P99)})
			for _, row := range r.Rows {
				if row.Target == name && row.Rate == rate {
					a50 = append(a50, plotter.XY{X: rate, Y: us(row.AddedP50)})
					a99 = append(a99, plotter.XY{X: rate, Y: us(row.AddedP99)})
				}
			}
		}
		c := targetColors[name]
		if !strings.HasPrefix(name, TargetUpstream) {
			if err := addLine(added, name+" p50", a50, c, false); err != nil {
				return nil, err
			}
			if err := addLine(added, name+" p99", a99, c, true); err != nil {
				return nil, err
			}
		}
		if err := addLine(p99, name, e99, c, false); err != nil {
			return nil, err
		}
	}
	var files []string
	for _, f := range []struct {
		p    *plot.Plot
		name string
	}{{added, "added-latency.png"}, {p99, "p99.png"}} {
		path := filepath.Join(dir, f.name)
		if err := f.p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
			return files, fmt.Errorf("chart %s: %w", f.name, err)
		}
		files = append(files, path)
	}
	return files, nil
}

func addLine(p *plot.Plot, label string, xys plotter.XYs, c color.RGBA, dashed bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, pts.Color = c, c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		pts.Shape = draw.TriangleGlyph{}
	} else {
		pts.Shape = draw.CircleGlyph{}
	}
	p.Add(l, pts)
	p.Legend.Add(label, l, pts)
	return nil
}
