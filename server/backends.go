package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/backend"
	"github.com/ptu-dev/ptu/backend/sim"
	"github.com/ptu-dev/ptu/backend/upstream"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/config"
	"github.com/ptu-dev/ptu/contentfilter"
	"github.com/ptu-dev/ptu/gateway"
	"github.com/ptu-dev/ptu/tokens"
)

// simBackends serves every pool whose backend is "sim" with a simulated
// engine rated at the pool's PTUs, pools naming an upstream group with that
// group, and Standard deployments with one shared engine per region and model.
type simBackends struct {
	cat       *catalog.Catalog
	timeScale float64
	upstreams map[string]*upstream.Group // by lowercased group name
	// standardPTU rates the shared engine behind Standard deployments.
	standardPTU int

	mu       sync.Mutex
	pools    map[string]*poolEngine
	standard map[string]*sim.Engine
}

type poolEngine struct {
	rated int
	eng   *sim.Engine
}

var _ gateway.Backends = (*simBackends)(nil)

func newSimBackends(cat *catalog.Catalog, timeScale float64) *simBackends {
	return &simBackends{cat: cat, timeScale: timeScale, standardPTU: 1000, upstreams: map[string]*upstream.Group{},
		pools: map[string]*poolEngine{}, standard: map[string]*sim.Engine{}}
}

// newBackends serves pools with the simulated engine or the upstream groups
// of the configuration, probing the groups' endpoints until ctx ends.
// wrap wraps the groups' transports (tracing; nil leaves them).
func newBackends(ctx context.Context, cat *catalog.Catalog, timeScale float64, groups []config.Backend, wrap func(http.RoundTripper) http.RoundTripper) (*simBackends, error) {
	b := newSimBackends(cat, timeScale)
	for _, c := range groups {
		eps := make([]upstream.Endpoint, len(c.Endpoints))
		for i, e := range c.Endpoints {
			eps[i] = upstream.Endpoint{URL: e.URL, APIKey: e.Key()}
		}
		g, err := upstream.New(upstream.Config{Name: c.Name, Kind: c.Kind, Endpoints: eps, Models: c.Models, APIVersion: c.APIVersion,
			ConnectTimeout: c.ConnectTimeout, FirstByteTimeout: c.FirstByteTimeout, RequestTimeout: c.RequestTimeout,
			MaxConnections: c.MaxConnections, FailureThreshold: c.FailureThreshold, Cooldown: c.Cooldown,
			HealthPath: c.HealthPath, HealthInterval: c.HealthInterval, HealthModel: c.HealthModel, HealthTimeout: c.HealthTimeout, Wrap: wrap})
		if err != nil {
			return nil, err
		}
		b.upstreams[strings.ToLower(c.Name)] = g
		go g.Run(ctx)
	}
	return b, nil
}

func (b *simBackends) engine(m *catalog.Model, ptus int) (*sim.Engine, error) {
	return SimEngine(m, ptus, b.timeScale)
}

// SimHeadroom is how far past its PTU rating a simulated pool saturates. The
// throughput per PTU of the catalog is what a deployment sustains while still
// meeting the model's latency target, not the hardware's ceiling: a replica
// set run at 100 % of its ceiling has no room to drain a queue, and its
// latency grows without bound (queueing at utilization 1). A pool whose
// engines saturate 25 % above the PTUs placed on it keeps admitted calls at
// full speed when admission holds a deployment at 100 % of its PTUs
// (docs/benchmarks.md, "The promise").
const SimHeadroom = 1.25

// SimEngine returns a simulated engine for model m rated at ptus PTUs: its
// aggregate rate is SimHeadroom × ptus × the model's input TPM per PTU, its
// streams decode at 1.5× the model's latency target, it speaks the model's
// tokenizer, and timeScale speeds it up (1 is real time).
func SimEngine(m *catalog.Model, ptus int, timeScale float64) (*sim.Engine, error) {
	enc, err := tokens.Get(m.Tokenizer)
	if err != nil {
		return nil, err
	}
	return sim.New(sim.Config{
		RatedTPM:     SimHeadroom * float64(max(ptus, 1)*m.InputTPMPerPTU),
		OutputWeight: m.OutputWeight,
		// Streams run 1.5× faster than the latency target when the pool is
		// within its rating, as a well-sized GPU deployment does.
		DecodeTPS: 1.5 * m.LatencyTargetTPS,
		TimeScale: timeScale,
		Tokenizer: enc,
		MaxOutput: m.MaxOutputTokens,
	})
}

// Pool returns the engine of a pool, making a new one when the pool's rating
// changed (calls in flight finish on the old one).
func (b *simBackends) Pool(p ptu.Pool) (backend.Backend, error) {
	m, ok := b.cat.Lookup(p.Model, p.Version)
	if !ok {
		return nil, fmt.Errorf("pool %s: model %s %s is not in the catalog", p.ID, p.Model, p.Version)
	}
	if p.Backend != config.DefaultBackend {
		g, ok := b.upstreams[strings.ToLower(p.Backend)]
		if !ok {
			return nil, fmt.Errorf("pool %s: backend %q is neither the simulated engine (sim) nor a configured upstream group", p.ID, p.Backend)
		}
		enc, err := tokens.Get(m.Tokenizer)
		if err != nil {
			return nil, err
		}
		return g.For(m.Name, enc), nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if pe, ok := b.pools[p.ID]; ok && pe.rated == p.RatedPTU {
		return pe.eng, nil
	}
	eng, err := b.engine(m, p.RatedPTU)
	if err != nil {
		return nil, err
	}
	b.pools[p.ID] = &poolEngine{rated: p.RatedPTU, eng: eng}
	return eng, nil
}

// Standard returns the shared engine serving pay-per-token deployments of m in region.
func (b *simBackends) Standard(region string, m *catalog.Model) (backend.Backend, error) {
	key := region + "/" + m.Name + "/" + m.Version
	b.mu.Lock()
	defer b.mu.Unlock()
	if eng, ok := b.standard[key]; ok {
		return eng, nil
	}
	eng, err := b.engine(m, b.standardPTU)
	if err != nil {
		return nil, err
	}
	b.standard[key] = eng
	return eng, nil
}

// classifier is the content filter's category classifier the configuration
// names, or nil.
func classifier(c config.ContentFilter) contentfilter.Classifier {
	if c.Moderation == nil {
		return nil
	}
	return &contentfilter.Moderation{URL: c.Moderation.URL, APIKey: os.Getenv(c.Moderation.APIKeyEnv), Model: c.Moderation.Model}
}
