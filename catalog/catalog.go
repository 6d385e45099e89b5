// Package catalog is the model catalog: the model versions ptu can deploy,
// their deployment types with size rules, throughput per PTU, tokenizer and
// list prices. The default catalog is embedded (models.yaml); an operator file
// of the same shape replaces or adds entries.
package catalog

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/ptu-dev/ptu"
	"go.yaml.in/yaml/v3"
)

//go:embed models.yaml
var embedded []byte

// Lifecycle states of a model version.
const (
	GenerallyAvailable = "GenerallyAvailable"
	Preview            = "Preview"
)

// Tokenizers (tiktoken encoding names) a model may use.
const (
	O200kBase  = "o200k_base"  // gpt-4o and later, o-series, gpt-5
	Cl100kBase = "cl100k_base" // gpt-4, gpt-3.5
)

// DefaultMaximum is the largest single provisioned deployment when a file
// gives no maximum. No public source publishes one; 10000 PTUs is ours.
const DefaultMaximum = 10000

// Catalog is the set of deployable model versions.
type Catalog struct {
	Models []Model `yaml:"models"`
}

// Model is one version of a model with its sizing numbers.
type Model struct {
	Format           string  `yaml:"format"` // OpenAI
	Name             string  `yaml:"name"`
	Version          string  `yaml:"version"`
	IsDefaultVersion bool    `yaml:"isDefaultVersion"`
	LifecycleStatus  string  `yaml:"lifecycleStatus"`  // GenerallyAvailable | Preview
	Tokenizer        string  `yaml:"tokenizer"`        // o200k_base | cl100k_base
	InputTPMPerPTU   int     `yaml:"inputTPMPerPTU"`   // input tokens per minute one PTU serves
	OutputWeight     float64 `yaml:"outputWeight"`     // input tokens one output token counts as
	ContextWindow    int     `yaml:"contextWindow"`    // on a provisioned deployment
	MaxOutputTokens  int     `yaml:"maxOutputTokens"`  // per call
	LatencyTargetTPS float64 `yaml:"latencyTargetTPS"` // per-stream output tokens/s target
	Assumed          bool    `yaml:"assumed"`          // numbers chosen by us, not published by the vendor
	Notes            string  `yaml:"notes"`
	SKUs             []SKU   `yaml:"skus"`

	line int // in the file it was parsed from; 0 when unknown
}

// SKU is a deployment type a model version can be deployed as, with its
// capacity rules. Capacity counts PTUs for provisioned types and units of
// 1,000 tokens per minute for Standard types.
type SKU struct {
	Name      string `yaml:"name"`      // ptu.GlobalProvisionedManaged, ...
	UsageName string `yaml:"usageName"` // OpenAI.GlobalProvisionedManaged, OpenAI.Standard.<model>, ...
	Minimum   int    `yaml:"minimum"`
	Step      int    `yaml:"step"`
	Maximum   int    `yaml:"maximum"`
	Default   int    `yaml:"default"`
	// PricePerPTUHourMicros is the hourly list price of one PTU in
	// micro-dollars (provisioned types only).
	PricePerPTUHourMicros int64 `yaml:"pricePerPTUHourMicros"`
	// Per-token list prices in micro-dollars per 1M tokens (Standard types only).
	// A cached-input price of 0 means the model has none: see CachedInputPrice.
	InputPer1MMicros       int64 `yaml:"inputPer1MMicros"`
	CachedInputPer1MMicros int64 `yaml:"cachedInputPer1MMicros"`
	OutputPer1MMicros      int64 `yaml:"outputPer1MMicros"`

	model string // name of the model it belongs to, for messages
	line  int
}

var parsedDefault = sync.OnceValues(func() (*Catalog, error) {
	c, err := Parse(embedded)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
})

// Default returns the embedded catalog. Each call returns a fresh copy the
// caller may change. It panics only if the embedded file is broken, which
// the package's tests rule out.
func Default() *Catalog {
	c, err := parsedDefault()
	if err != nil {
		panic("catalog: embedded models.yaml: " + err.Error())
	}
	c = c.clone()
	// Lines in messages about a merged catalog refer to the operator's file.
	for i := range c.Models {
		c.Models[i].line = 0
		for j := range c.Models[i].SKUs {
			c.Models[i].SKUs[j].line = 0
		}
	}
	return c
}

// Load returns the default catalog merged with the operator file at path:
// entries with the same name (case-insensitive) and version replace the
// default entry, others are added. An entry marked isDefaultVersion becomes
// the default version of its name in place of the embedded one. The result
// is validated. An empty path returns the default catalog.
func Load(path string) (*Catalog, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	override, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := override.checkDuplicates(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := Default()
	c.merge(override)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s merged with the default catalog: %w", path, err)
	}
	return c, nil
}

// Parse decodes a catalog file strictly: unknown fields are errors that name
// their line. It fills what can be derived (format OpenAI, usage names,
// default capacity = minimum, maximum) but does not validate, because an
// override file is only valid once merged; call Validate.
func Parse(data []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		recordLines(&c, &root)
	}
	for i := range c.Models {
		c.Models[i].fill()
	}
	return &c, nil
}

// recordLines notes the line of every model and sku entry, for messages.
func recordLines(c *Catalog, root *yaml.Node) {
	models := mappingValue(root, "models")
	if models == nil || models.Kind != yaml.SequenceNode {
		return
	}
	for i, mn := range models.Content {
		if i >= len(c.Models) {
			return
		}
		c.Models[i].line = mn.Line
		skus := mappingValue(mn, "skus")
		if skus == nil || skus.Kind != yaml.SequenceNode {
			continue
		}
		for j, sn := range skus.Content {
			if j < len(c.Models[i].SKUs) {
				c.Models[i].SKUs[j].line = sn.Line
			}
		}
	}
}

// mappingValue returns the value of key in a mapping node (or a document
// holding one), or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// fill derives the fields a file may leave out.
func (m *Model) fill() {
	if m.Format == "" {
		m.Format = "OpenAI"
	}
	for i := range m.SKUs {
		s := &m.SKUs[i]
		s.model = m.Name
		if canon := ptu.CanonicalSKU(s.Name); canon != "" {
			s.Name = canon
		}
		if s.UsageName == "" && ptu.CanonicalSKU(s.Name) != "" {
			s.UsageName = usageName(m.Format, s.Name, m.Name)
		}
		if s.Maximum == 0 {
			s.Maximum = DefaultMaximum
		}
		if s.Default == 0 {
			s.Default = s.Minimum
		}
	}
}

// usageName is the quota a sku's capacity counts against: provisioned quota
// is one pool per type shared by all models, Standard quota is per model.
func usageName(format, sku, model string) string {
	if ptu.IsProvisioned(sku) {
		return format + "." + sku
	}
	return format + "." + sku + "." + model
}

// checkDuplicates reports entries with the same name and version, which a
// merge would otherwise collapse silently.
func (c *Catalog) checkDuplicates() error {
	var v validator
	seen := map[string]string{}
	for i := range c.Models {
		m := &c.Models[i]
		k := strings.ToLower(m.Name) + "\x00" + m.Version
		where := at(m.line, m.label(i))
		if first, dup := seen[k]; dup {
			v.addf("%s: duplicate of %s", where, first)
		} else {
			seen[k] = where
		}
	}
	return v.err()
}

// merge applies override entries to c.
func (c *Catalog) merge(override *Catalog) {
	for _, om := range override.Models {
		if om.IsDefaultVersion {
			for i := range c.Models {
				if strings.EqualFold(c.Models[i].Name, om.Name) {
					c.Models[i].IsDefaultVersion = false
				}
			}
		}
		om = om.clone()
		replaced := false
		for i := range c.Models {
			if strings.EqualFold(c.Models[i].Name, om.Name) && c.Models[i].Version == om.Version {
				c.Models[i] = om
				replaced = true
				break
			}
		}
		if !replaced {
			c.Models = append(c.Models, om)
		}
	}
}

func (c *Catalog) clone() *Catalog {
	out := &Catalog{Models: make([]Model, len(c.Models))}
	for i, m := range c.Models {
		out.Models[i] = m.clone()
	}
	return out
}

func (m Model) clone() Model {
	m.SKUs = append([]SKU(nil), m.SKUs...)
	return m
}

// Lookup finds a model version. The name matches case-insensitively (ARM
// requests write "GPT-4"); an empty version means the default version.
func (c *Catalog) Lookup(name, version string) (*Model, bool) {
	for i := range c.Models {
		m := &c.Models[i]
		if !strings.EqualFold(m.Name, name) {
			continue
		}
		if version == "" && m.IsDefaultVersion || version != "" && strings.EqualFold(m.Version, version) {
			return m, true
		}
	}
	return nil, false
}

// Versions returns every version of the named model (case-insensitive),
// oldest first.
func (c *Catalog) Versions(name string) []*Model {
	var out []*Model
	for i := range c.Models {
		if strings.EqualFold(c.Models[i].Name, name) {
			out = append(out, &c.Models[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// SKU returns the model's deployment type called name (case-insensitive).
func (m *Model) SKU(name string) (*SKU, bool) {
	for i := range m.SKUs {
		if strings.EqualFold(m.SKUs[i].Name, name) {
			return &m.SKUs[i], true
		}
	}
	return nil, false
}

// Ref names the model version as ARM does.
func (m *Model) Ref() ptu.ModelRef {
	return ptu.ModelRef{Format: m.Format, Name: m.Name, Version: m.Version}
}

// TokensPerMinute is the input tokens per minute ptus PTUs serve.
func (m *Model) TokensPerMinute(ptus int) int {
	return ptus * m.InputTPMPerPTU
}

// Provisioned reports whether the sku is a provisioned (PTU) deployment type.
func (s *SKU) Provisioned() bool { return ptu.IsProvisioned(s.Name) }

// CachedInputPrice is the price of 1M cached input tokens in micro-dollars:
// the cached-input price, or the input price for models that have none.
func (s *SKU) CachedInputPrice() int64 {
	if s.CachedInputPer1MMicros == 0 {
		return s.InputPer1MMicros
	}
	return s.CachedInputPer1MMicros
}

// CheckCapacity reports whether capacity is a valid size for a deployment of
// this type: a multiple of the step, at least the minimum and at most the
// maximum. The error is a *ptu.Error with code InvalidCapacity that says
// which sizes are valid.
func (s *SKU) CheckCapacity(capacity int) error {
	if capacity >= s.Minimum && capacity <= s.Maximum && s.Step > 0 && capacity%s.Step == 0 {
		return nil
	}
	model := ""
	if s.model != "" {
		model = fmt.Sprintf(" for model '%s'", s.model)
	}
	var rule string
	if s.Step <= 1 {
		rule = fmt.Sprintf("must be between %d and %d.", s.Minimum, s.Maximum)
	} else {
		rule = fmt.Sprintf("must be at least %d and a multiple of %d (valid: %d, %d, %d, ...); the most is %d.",
			s.Minimum, s.Step, s.Minimum, s.Minimum+s.Step, s.Minimum+2*s.Step, s.Maximum)
	}
	e := ptu.Errorf(ptu.CodeInvalidCapacity, "The specified capacity '%d' of deployment type '%s'%s %s",
		capacity, s.Name, model, rule)
	e.Target = "sku.capacity"
	return e
}

// Deployable rounds a raw PTU (or capacity) estimate up to a size this type
// can deploy: the next multiple of the step, and at least the minimum. It is
// not capped at the maximum, so an estimate that needs several deployments
// stays visible.
func (s *SKU) Deployable(raw float64) int {
	step := max(s.Step, 1)
	if math.IsNaN(raw) || raw <= 0 {
		return s.Minimum
	}
	const ceiling = 1e15 // far above any maximum; keeps the int conversion defined
	raw = min(raw, ceiling)
	// A tolerance keeps float noise (110.00000000001) from adding a step.
	units := int(math.Ceil(raw/float64(step) - 1e-9))
	return max(units*step, s.Minimum)
}
