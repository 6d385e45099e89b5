package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ptu-dev/ptu"
)

// ValidationError lists every problem Validate found, each naming the model,
// version and field (and the line when the catalog came from a file).
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid catalog: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid catalog (%d problems):\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

var tokenizers = []string{O200kBase, Cl100kBase}

// Validate checks every model and sku and reports all problems at once as a
// *ValidationError.
func (c *Catalog) Validate() error {
	var v validator
	type key struct{ name, version string }
	seen := map[key]string{}
	defaults := map[string][]string{} // lowercased name -> default versions
	names := map[string]string{}      // lowercased name -> first spelling and place
	for i := range c.Models {
		m := &c.Models[i]
		where := at(m.line, m.label(i))
		v.model(m, i)
		if m.Name == "" || m.Version == "" {
			continue
		}
		k := key{strings.ToLower(m.Name), m.Version}
		if first, dup := seen[k]; dup {
			v.addf("%s: duplicate of %s", where, first)
		} else {
			seen[k] = where
		}
		if _, ok := names[k.name]; !ok {
			names[k.name] = m.Name
		}
		if m.IsDefaultVersion {
			defaults[k.name] = append(defaults[k.name], m.Version)
		}
	}
	lower := make([]string, 0, len(names))
	for n := range names {
		lower = append(lower, n)
	}
	sort.Strings(lower)
	for _, n := range lower {
		switch d := defaults[n]; len(d) {
		case 1:
		case 0:
			v.addf("model '%s': no version is marked isDefaultVersion; mark exactly one", names[n])
		default:
			v.addf("model '%s': versions %s are all marked isDefaultVersion; mark exactly one", names[n], quoteList(d))
		}
	}
	return v.err()
}

// label names a model in messages.
func (m *Model) label(i int) string {
	if m.Name == "" && m.Version == "" {
		return fmt.Sprintf("models[%d]", i)
	}
	return fmt.Sprintf("model '%s' version '%s'", m.Name, m.Version)
}

// at prefixes a label with its line when known.
func at(line int, label string) string {
	if line > 0 {
		return fmt.Sprintf("line %d: %s", line, label)
	}
	return label
}

type validator struct{ problems []string }

func (v *validator) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

func (v *validator) model(m *Model, index int) {
	where := at(m.line, m.label(index))
	if m.Name == "" {
		v.addf("%s: name is missing", where)
	}
	if m.Version == "" {
		v.addf("%s: version is missing", where)
	}
	if m.Format != "OpenAI" {
		v.addf("%s: format '%s' is not supported; use OpenAI", where, m.Format)
	}
	switch m.LifecycleStatus {
	case GenerallyAvailable, Preview:
	case "":
		v.addf("%s: lifecycleStatus is missing; use %s or %s", where, GenerallyAvailable, Preview)
	default:
		v.addf("%s: lifecycleStatus '%s' is not %s or %s", where, m.LifecycleStatus, GenerallyAvailable, Preview)
	}
	if !contains(tokenizers, m.Tokenizer) {
		if m.Tokenizer == "" {
			v.addf("%s: tokenizer is missing; use one of %s", where, quoteList(tokenizers))
		} else {
			v.addf("%s: tokenizer '%s' is not one of %s", where, m.Tokenizer, quoteList(tokenizers))
		}
	}
	if m.InputTPMPerPTU <= 0 {
		v.addf("%s: inputTPMPerPTU must be more than 0 (it is %d)", where, m.InputTPMPerPTU)
	}
	if m.OutputWeight <= 0 {
		v.addf("%s: outputWeight must be more than 0 (it is %g)", where, m.OutputWeight)
	}
	if m.ContextWindow <= 0 {
		v.addf("%s: contextWindow must be more than 0 (it is %d)", where, m.ContextWindow)
	}
	if m.MaxOutputTokens <= 0 {
		v.addf("%s: maxOutputTokens must be more than 0 (it is %d)", where, m.MaxOutputTokens)
	} else if m.ContextWindow > 0 && m.MaxOutputTokens > m.ContextWindow {
		v.addf("%s: maxOutputTokens %d is more than contextWindow %d", where, m.MaxOutputTokens, m.ContextWindow)
	}
	if m.LatencyTargetTPS <= 0 {
		v.addf("%s: latencyTargetTPS must be more than 0 (it is %g)", where, m.LatencyTargetTPS)
	}
	if len(m.SKUs) == 0 {
		v.addf("%s: skus is empty; list at least one deployment type", where)
	}
	seen := map[string]bool{}
	for i := range m.SKUs {
		s := &m.SKUs[i]
		canon := ptu.CanonicalSKU(s.Name)
		line := s.line
		if line == 0 {
			line = m.line
		}
		sw := at(line, fmt.Sprintf("%s sku '%s'", m.label(index), s.Name))
		if canon == "" {
			if s.Name == "" {
				v.addf("%s: name is missing", at(line, fmt.Sprintf("%s skus[%d]", m.label(index), i)))
			} else {
				v.addf("%s: unknown deployment type; use one of %s", sw, quoteList(append(append([]string{}, ptu.ProvisionedSKUs...), ptu.StandardSKUs...)))
			}
			continue
		}
		if seen[canon] {
			v.addf("%s: listed twice", sw)
		}
		seen[canon] = true
		v.sku(s, sw)
	}
}

func (v *validator) sku(s *SKU, where string) {
	if s.UsageName == "" {
		v.addf("%s: usageName is missing", where)
	}
	if s.Minimum <= 0 {
		v.addf("%s: minimum must be more than 0 (it is %d)", where, s.Minimum)
	}
	if s.Step <= 0 {
		v.addf("%s: step must be more than 0 (it is %d)", where, s.Step)
	} else {
		if s.Minimum > 0 && s.Minimum%s.Step != 0 {
			v.addf("%s: minimum %d is not a multiple of step %d", where, s.Minimum, s.Step)
		}
		if s.Maximum%s.Step != 0 {
			v.addf("%s: maximum %d is not a multiple of step %d", where, s.Maximum, s.Step)
		}
		if s.Default%s.Step != 0 {
			v.addf("%s: default %d is not a multiple of step %d", where, s.Default, s.Step)
		}
	}
	if s.Maximum < s.Minimum {
		v.addf("%s: maximum %d is less than minimum %d", where, s.Maximum, s.Minimum)
	}
	if s.Default < s.Minimum || s.Default > s.Maximum {
		v.addf("%s: default %d is not between minimum %d and maximum %d", where, s.Default, s.Minimum, s.Maximum)
	}
	tokenPrices := s.InputPer1MMicros != 0 || s.CachedInputPer1MMicros != 0 || s.OutputPer1MMicros != 0
	if s.Provisioned() {
		if s.PricePerPTUHourMicros <= 0 {
			v.addf("%s: pricePerPTUHourMicros must be more than 0 (it is %d)", where, s.PricePerPTUHourMicros)
		}
		if tokenPrices {
			v.addf("%s: per-token prices (inputPer1MMicros, cachedInputPer1MMicros, outputPer1MMicros) apply to Standard types only", where)
		}
		return
	}
	if s.PricePerPTUHourMicros != 0 {
		v.addf("%s: pricePerPTUHourMicros applies to provisioned types only", where)
	}
	if s.InputPer1MMicros <= 0 {
		v.addf("%s: inputPer1MMicros must be more than 0 (it is %d)", where, s.InputPer1MMicros)
	}
	if s.OutputPer1MMicros <= 0 {
		v.addf("%s: outputPer1MMicros must be more than 0 (it is %d)", where, s.OutputPer1MMicros)
	}
	if s.CachedInputPer1MMicros < 0 {
		v.addf("%s: cachedInputPer1MMicros must not be negative (it is %d)", where, s.CachedInputPer1MMicros)
	} else if s.CachedInputPer1MMicros > s.InputPer1MMicros && s.InputPer1MMicros > 0 {
		v.addf("%s: cachedInputPer1MMicros %d is more than inputPer1MMicros %d", where, s.CachedInputPer1MMicros, s.InputPer1MMicros)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = "'" + s + "'"
	}
	return strings.Join(q, ", ")
}
