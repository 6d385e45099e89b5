package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ptu-dev/ptu/calc"
	"github.com/ptu-dev/ptu/catalog"
	"github.com/ptu-dev/ptu/internal/clock"
	"github.com/ptu-dev/ptu/tokens"
)

// API styles.
const (
	StyleAzure  = "azure"  // {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…, api-key header
	StyleOpenAI = "openai" // {endpoint}[/v1]/chat/completions with "model": deployment, Authorization: Bearer
)

// Arrival processes for a paced run (Rate > 0).
const (
	ArrivalsConstant = "constant" // evenly spaced calls
	ArrivalsPoisson  = "poisson"  // exponential gaps with the same mean: bursts as independent users make them
)

// Output formats of the per-second statistics.
const (
	FormatHuman = "human"
	FormatJSONL = "jsonl"
)

// DefaultAPIVersion is azure-openai-benchmark's default api-version.
const DefaultAPIVersion = "2023-05-15"

// Config is one load run. The zero values of the optional fields are
// azure-openai-benchmark's defaults.
type Config struct {
	Endpoint   string `json:"endpoint"`    // the resource endpoint (azure) or the server's base URL (openai)
	Deployment string `json:"deployment"`  // the deployment, or the model name of an OpenAI-style server
	APIKey     string `json:"-"`           // sent as api-key (azure) or a bearer token (openai, when set)
	APIStyle   string `json:"api_style"`   // azure (default) or openai
	APIVersion string `json:"api_version"` // azure only; default 2023-05-15
	// MoreEndpoints are further endpoints of the same deployment (replicas
	// of one ptu cluster, say); calls go to Endpoint and these in turn.
	MoreEndpoints []string `json:"more_endpoints,omitempty"`

	Clients  int           `json:"clients"`     // concurrent calls at most; default 20
	Requests int           `json:"requests"`    // calls to make; 0 until Duration ends or the run is cancelled
	Duration time.Duration `json:"duration_ns"` // how long to start calls for; 0 until Requests are made or the run is cancelled
	Rate     float64       `json:"rate"`        // calls per minute; 0 as fast as Clients allow
	Arrivals string        `json:"arrivals"`    // constant (default) or poisson, when Rate is set

	AggregationWindow time.Duration `json:"aggregation_window_ns"` // sliding window of the per-second statistics; default 60 s

	Shape       Shape   `json:"shape"`       // prompt and max_tokens of every call
	CacheRate   float64 `json:"cache_rate"`  // share of each prompt that is the same in every call (0 to 1)
	Completions int     `json:"completions"` // n; default 1
	// Optional sampling parameters, sent when set.
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`

	Retry string `json:"retry"` // none (default) or exponential

	// Model names the catalog model behind the deployment, NAME or
	// NAME@VERSION: its tokenizer counts prompts and its sizing numbers turn
	// the measured traffic into PTUs. "" tries the deployment name, and
	// counts with o200k_base (or the name's tokenizer) when it is not a
	// catalog model.
	Model string `json:"model,omitempty"`
	// PTU is the deployment's size, when known: the summary then says how
	// much of it the traffic used.
	PTU int `json:"ptu,omitempty"`

	// IncludeUsage asks for the usage chunk (stream_options.include_usage),
	// which gives exact generated and cached token counts. Nil decides by
	// the API: always for openai, and for azure api-versions from 2024-09-01.
	IncludeUsage *bool `json:"include_usage,omitempty"`

	OutputFormat string    `json:"output_format"` // human (default) or jsonl
	Output       io.Writer `json:"-"`             // per-second statistics, as OutputFormat says; nil discards them
	StatsLog     io.Writer `json:"-"`             // per-second statistics as JSON lines, whatever OutputFormat says; nil writes none
	Log          io.Writer `json:"-"`             // warnings and progress messages; nil discards them
	RequestLog   io.Writer `json:"-"`             // one JSON line per call; nil writes none

	Clock      clock.Clock  `json:"-"`    // default the wall clock; tests give a run and the server it calls one faster clock
	HTTPClient *http.Client `json:"-"`    // default: a client tuned for Clients concurrent streams
	Seed       uint64       `json:"seed"` // prompt words; 0 is random
}

// Resolved facts about a run's model.
type modelInfo struct {
	model    *catalog.Model // nil when the deployment is not a catalog model
	encoding string
}

// withDefaults fills the zero values and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.APIStyle == "" {
		c.APIStyle = StyleAzure
	}
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if c.Clients == 0 {
		c.Clients = 20
	}
	if c.Arrivals == "" {
		c.Arrivals = ArrivalsConstant
	}
	if c.AggregationWindow == 0 {
		c.AggregationWindow = time.Minute
	}
	if c.Completions == 0 {
		c.Completions = 1
	}
	if c.Retry == "" {
		c.Retry = RetryNone
	}
	if c.OutputFormat == "" {
		c.OutputFormat = FormatHuman
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Endpoint == "" {
		bad("the endpoint is required")
	}
	for _, e := range c.endpoints() {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("endpoint %q is not an http(s) URL", e)
		}
	}
	if c.Deployment == "" {
		bad("the deployment is required")
	}
	switch c.APIStyle {
	case StyleAzure:
		if c.APIKey == "" {
			bad("an API key is required for an Azure-style endpoint")
		}
		if !apiVersionRE.MatchString(c.APIVersion) {
			bad("api-version %q is not a version such as 2024-10-21 or 2025-04-01-preview", c.APIVersion)
		}
	case StyleOpenAI:
	default:
		bad("api-style %q: choose azure or openai", c.APIStyle)
	}
	if c.Clients < 1 {
		bad("clients must be at least 1")
	}
	if c.Requests < 0 {
		bad("requests must not be negative")
	}
	if c.Duration < 0 {
		bad("duration must not be negative")
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		bad("rate must be a number of calls per minute of at least 0")
	}
	if c.Arrivals != ArrivalsConstant && c.Arrivals != ArrivalsPoisson {
		bad("arrivals %q: choose constant or poisson", c.Arrivals)
	}
	if c.AggregationWindow < time.Second {
		bad("the aggregation window must be at least 1 s")
	}
	if c.Shape.ContextTokens < 1 {
		bad("context tokens must be at least 1")
	}
	if c.Shape.MaxTokens < 0 {
		bad("max tokens must not be negative")
	}
	if c.Completions < 1 {
		bad("completions must be at least 1")
	}
	if math.IsNaN(c.CacheRate) || c.CacheRate < 0 || c.CacheRate > 1 {
		bad("cache rate must be between 0 and 1")
	}
	for _, p := range []struct {
		name     string
		v        *float64
		min, max float64
	}{
		{"frequency-penalty", c.FrequencyPenalty, -2, 2},
		{"presence-penalty", c.PresencePenalty, -2, 2},
		{"temperature", c.Temperature, 0, 2},
		{"top-p", c.TopP, 0, 1},
	} {
		if p.v != nil && !(*p.v >= p.min && *p.v <= p.max) {
			bad("%s must be between %v and %v", p.name, p.min, p.max)
		}
	}
	if c.Retry != RetryNone && c.Retry != RetryExponential {
		bad("retry %q: choose none or exponential", c.Retry)
	}
	if c.OutputFormat != FormatHuman && c.OutputFormat != FormatJSONL {
		bad("output format %q: choose human or jsonl", c.OutputFormat)
	}
	if c.PTU < 0 {
		bad("ptu must not be negative")
	}
	return c, errors.Join(errs...)
}

var apiVersionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$|^(preview|latest|v1)$`)

// resolveModel finds the catalog model and tokenizer for a run.
func resolveModel(c Config) (modelInfo, error) {
	cat := catalog.Default()
	if c.Model != "" {
		name, version, _ := strings.Cut(c.Model, "@")
		m, ok := cat.Lookup(name, version)
		if !ok {
			return modelInfo{}, fmt.Errorf("model %q is not in the catalog", c.Model)
		}
		return modelInfo{model: m, encoding: m.Tokenizer}, nil
	}
	if m, ok := cat.Lookup(c.Deployment, ""); ok {
		return modelInfo{model: m, encoding: m.Tokenizer}, nil
	}
	enc, _ := tokens.EncodingForModel(c.Deployment)
	return modelInfo{encoding: enc}, nil
}

// endpoints lists Endpoint and MoreEndpoints, skipping empty ones.
func (c Config) endpoints() []string {
	var es []string
	for _, e := range append([]string{c.Endpoint}, c.MoreEndpoints...) {
		if e != "" {
			es = append(es, e)
		}
	}
	return es
}

// target is where a run's calls go, one URL per endpoint, and how.
func (c Config) target() ([]string, http.Header) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "ptu-bench")
	if c.APIStyle == StyleOpenAI {
		if c.APIKey != "" {
			h.Set("Authorization", "Bearer "+c.APIKey)
		}
	} else {
		h.Set("api-key", c.APIKey)
		h.Set("x-ms-useragent", "ptu-bench")
	}
	var urls []string
	for _, e := range c.endpoints() {
		base := strings.TrimRight(e, "/")
		if c.APIStyle == StyleOpenAI {
			if !strings.HasSuffix(base, "/v1") {
				base += "/v1"
			}
			urls = append(urls, base+"/chat/completions")
			continue
		}
		urls = append(urls, base+"/openai/deployments/"+url.PathEscape(c.Deployment)+"/chat/completions?api-version="+url.QueryEscape(c.APIVersion))
	}
	return urls, h
}

// includeUsage reports whether calls ask for the usage chunk.
func (c Config) includeUsage() bool {
	if c.IncludeUsage != nil {
		return *c.IncludeUsage
	}
	if c.APIStyle == StyleOpenAI {
		return true
	}
	// Azure accepts stream_options from api-version 2024-09-01-preview on.
	return len(c.APIVersion) >= 10 && c.APIVersion[:10] >= "2024-09-01"
}

// rates returns the sizing numbers of the run's model, if known.
func (m modelInfo) rates() (calc.Rates, bool) {
	if m.model == nil {
		return calc.Rates{}, false
	}
	return calc.RatesOf(m.model), true
}
