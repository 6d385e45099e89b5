package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Backend is a group of upstream OpenAI-compatible servers (vLLM, llama.cpp
// server, Ollama, TGI, OpenAI) or Azure OpenAI deployments that pools name in
// their backend field.
type Backend struct {
	Name string `yaml:"name"`
	// Kind is "openai" (the default: POST {url}/chat/completions with the
	// model in the body) or "azure" (POST {url}/openai/deployments/{model}/…).
	Kind      string            `yaml:"kind"`
	Endpoints []BackendEndpoint `yaml:"endpoints"`
	// Models maps catalog model names to the upstream's names (Azure:
	// deployment names); a model not listed keeps its catalog name.
	Models     map[string]string `yaml:"models"`
	APIVersion string            `yaml:"apiVersion"` // azure only; default 2024-10-21

	ConnectTimeout   time.Duration `yaml:"connectTimeout"`   // default 5s
	FirstByteTimeout time.Duration `yaml:"firstByteTimeout"` // until response headers; default 60s
	RequestTimeout   time.Duration `yaml:"requestTimeout"`   // a whole call; default 10m
	MaxConnections   int           `yaml:"maxConnections"`   // per endpoint; 0 is unlimited

	FailureThreshold int           `yaml:"failureThreshold"` // consecutive failures that eject an endpoint; default 3
	Cooldown         time.Duration `yaml:"cooldown"`         // how long an ejected endpoint stays out; default 30s
	HealthPath       string        `yaml:"healthPath"`       // GET probe; default /models (openai), none (azure)
	HealthInterval   time.Duration `yaml:"healthInterval"`   // default 10s
	// HealthModel, when set, is an upstream model name each probe asks for
	// one token: an endpoint that answers healthPath but no longer generates
	// is ejected. HealthTimeout bounds each probe request (default
	// firstByteTimeout).
	HealthModel   string        `yaml:"healthModel"`
	HealthTimeout time.Duration `yaml:"healthTimeout"`
}

// BackendEndpoint is one upstream server. The key is given inline (apiKey)
// or, better, named by an environment variable (apiKeyEnv).
type BackendEndpoint struct {
	URL       string `yaml:"url"`
	APIKey    string `yaml:"apiKey"`
	APIKeyEnv string `yaml:"apiKeyEnv"`
}

// Key returns the endpoint's key, reading apiKeyEnv when set.
func (e BackendEndpoint) Key() string {
	if e.APIKeyEnv != "" {
		return os.Getenv(e.APIKeyEnv)
	}
	return e.APIKey
}

func (c *Config) validateBackends(v *validator) map[string]bool {
	names := map[string]bool{}
	for i, b := range c.Backends {
		place := fmt.Sprintf("backends[%d]", i)
		switch {
		case b.Name == "":
			v.addf(place, "", "name is missing")
		case strings.EqualFold(b.Name, DefaultBackend):
			v.addf(place, b.Name, "name %q is reserved for the simulated engine", b.Name)
		case !backendPattern.MatchString(b.Name):
			v.addf(place, b.Name, "name %q must be letters, digits, '.', '_', '-'", b.Name)
		case names[strings.ToLower(b.Name)]:
			v.addf(place, b.Name, "duplicate backend name")
		}
		names[strings.ToLower(b.Name)] = true
		if b.Kind != "" && b.Kind != "openai" && b.Kind != "azure" {
			v.addf(place, b.Name, "kind %q must be openai or azure", b.Kind)
		}
		if len(b.Endpoints) == 0 {
			v.addf(place, b.Name, "endpoints is empty; list at least one url")
		}
		for j, e := range b.Endpoints {
			u, err := url.Parse(e.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.addf(place, b.Name, "endpoints[%d].url %q must be an http:// or https:// URL", j, e.URL)
			}
			if e.APIKey != "" && e.APIKeyEnv != "" {
				v.addf(place, b.Name, "endpoints[%d] sets both apiKey and apiKeyEnv; keep one", j)
			}
		}
		for _, d := range []struct {
			name string
			d    time.Duration
		}{{"connectTimeout", b.ConnectTimeout}, {"firstByteTimeout", b.FirstByteTimeout}, {"requestTimeout", b.RequestTimeout},
			{"cooldown", b.Cooldown}, {"healthInterval", b.HealthInterval}, {"healthTimeout", b.HealthTimeout}} {
			if d.d < 0 {
				v.addf(place, b.Name, "%s must not be negative", d.name)
			}
		}
		if b.MaxConnections < 0 || b.FailureThreshold < 0 {
			v.addf(place, b.Name, "maxConnections and failureThreshold must not be negative")
		}
	}
	return names
}

// ContentFilter configures how content filter policies are evaluated.
type ContentFilter struct {
	// Moderation, when set, evaluates the category filters (hate, sexual,
	// violence, self_harm) of policies with an OpenAI-compatible moderation
	// endpoint. Without it only custom blocklists are applied.
	Moderation *Moderation `yaml:"moderation"`
}

// Moderation is an OpenAI-compatible moderation endpoint: POST {url}/moderations.
type Moderation struct {
	URL       string `yaml:"url"` // ending in /v1
	APIKeyEnv string `yaml:"apiKeyEnv"`
	Model     string `yaml:"model"`
}

func (c *Config) validateContentFilter(v *validator) {
	m := c.ContentFilter.Moderation
	if m == nil {
		return
	}
	if u, err := url.Parse(m.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.addf("contentFilter.moderation", "", "url %q must be an http:// or https:// URL", m.URL)
	}
}
