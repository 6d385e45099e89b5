// Package contentfilter applies an account's content filter policy
// (ARM raiPolicies) to prompts and completions: custom blocklists of exact
// terms and regular expressions, evaluated here, and category filters (hate,
// sexual, violence, self_harm, …) evaluated by a pluggable Classifier.
//
// Results report only what was really evaluated: a blocklist appears in
// custom_blocklists only when it was checked, and a category appears only
// when a classifier scored it. Nothing is reported with a severity nobody
// computed.
package contentfilter

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/oai"
)

// Severities, in increasing order.
var severities = []string{"safe", "low", "medium", "high"}

func severityRank(s string) int {
	for i, v := range severities {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// Category is a classifier's finding for one category.
type Category struct {
	Severity string // safe | low | medium | high
}

// Classifier scores text by category. Keys are Azure's annotation names:
// hate, sexual, violence, self_harm (and jailbreak, if it detects it).
type Classifier interface {
	Classify(ctx context.Context, text string) (map[string]Category, error)
}

// blocklist is a compiled custom blocklist.
type blocklist struct {
	name     string
	terms    []string // lowercased exact terms
	patterns []*regexp.Regexp
	longest  int // the longest term, in bytes
}

func compileList(l ptu.RAIBlocklist) (*blocklist, error) {
	b := &blocklist{name: l.Name}
	for _, it := range l.Items {
		if it.IsRegex {
			re, err := regexp.Compile("(?i)" + it.Pattern) // matching ignores case, as for terms
			if err != nil {
				return nil, fmt.Errorf("blocklist %s item %s: %w", l.Name, it.Name, err)
			}
			b.patterns = append(b.patterns, re)
			continue
		}
		t := strings.ToLower(it.Pattern)
		b.terms = append(b.terms, t)
		b.longest = max(b.longest, len(t))
	}
	return b, nil
}

// match reports whether text holds a term (case-insensitively) or matches a pattern.
func (b *blocklist) match(text string) bool {
	if len(b.terms) > 0 {
		lower := strings.ToLower(text)
		for _, t := range b.terms {
			if strings.Contains(lower, t) {
				return true
			}
		}
	}
	for _, re := range b.patterns {
		if re.MatchString(text) {
			return true
		}
	}
	return false
}

type listUse struct {
	list     *blocklist
	blocking bool
}

// filterUse is a category filter of the policy for one source.
type filterUse struct {
	category  string // annotation name: hate, sexual, violence, self_harm, jailbreak, …
	blocking  bool
	threshold int // severity rank at or above which content is filtered
}

// Policy is a compiled content filter policy.
type Policy struct {
	Name       string
	prompt     []listUse
	completion []listUse
	promptCat  []filterUse
	complCat   []filterUse
	classifier Classifier
}

// category names ARM uses → annotation names.
func annotationName(filter string) string {
	switch strings.ToLower(strings.ReplaceAll(filter, "_", "")) {
	case "selfharm":
		return "self_harm"
	case "protectedmaterialtext":
		return "protected_material_text"
	case "protectedmaterialcode":
		return "protected_material_code"
	default:
		return strings.ToLower(filter)
	}
}

// Compile builds a policy from its record and the account's blocklists it
// names. classifier may be nil: category filters are then not evaluated (and
// not reported).
func Compile(p ptu.RAIPolicy, lists []ptu.RAIBlocklist, classifier Classifier) (*Policy, error) {
	out := &Policy{Name: p.Name, classifier: classifier}
	byName := map[string]*blocklist{}
	for _, l := range lists {
		b, err := compileList(l)
		if err != nil {
			return nil, err
		}
		byName[strings.ToLower(l.Name)] = b
	}
	for _, ref := range p.CustomBlocklists {
		b, ok := byName[strings.ToLower(ref.BlocklistName)]
		if !ok {
			continue
		}
		u := listUse{list: b, blocking: ref.Blocking}
		if strings.EqualFold(ref.Source, ptu.RAISourceCompletion) {
			out.completion = append(out.completion, u)
		} else {
			out.prompt = append(out.prompt, u)
		}
	}
	if classifier != nil {
		for _, f := range p.ContentFilters {
			if !f.Enabled {
				continue
			}
			th := severityRank(f.SeverityThreshold)
			if th < 1 {
				th = severityRank("medium") // Azure's default threshold
			}
			u := filterUse{category: annotationName(f.Name), blocking: f.Blocking, threshold: th}
			if strings.EqualFold(f.Source, ptu.RAISourceCompletion) {
				out.complCat = append(out.complCat, u)
			} else {
				out.promptCat = append(out.promptCat, u)
			}
		}
	}
	return out, nil
}

// BlocklistResult is one blocklist's entry in custom_blocklists.details.
type BlocklistResult = oai.ContentFilterIDResult

// CategoryResult is one category's annotation.
type CategoryResult struct {
	Filtered bool   `json:"filtered"`
	Severity string `json:"severity"`
}

// Result is what evaluating one text found.
type Result struct {
	Blocked    bool
	Blocklists []BlocklistResult
	Categories map[string]CategoryResult
}

// Annotations renders r as Azure's content_filter_results.
func (r Result) Annotations() oai.ContentFilterResults {
	out := oai.ContentFilterResults{}
	for k, v := range r.Categories {
		out[k], _ = json.Marshal(v)
	}
	if len(r.Blocklists) > 0 {
		lists := oai.ContentFilterDetailedResults{Details: r.Blocklists}
		for _, b := range r.Blocklists {
			lists.Filtered = lists.Filtered || b.Filtered
		}
		out["custom_blocklists"], _ = json.Marshal(lists)
	}
	return out
}

func checkLists(uses []listUse, text string, r *Result) {
	for _, u := range uses {
		hit := u.list.match(text)
		r.Blocklists = append(r.Blocklists, BlocklistResult{Filtered: hit && u.blocking, ID: u.list.name})
		r.Blocked = r.Blocked || hit && u.blocking
	}
}

// EvaluatesPrompt reports whether the policy checks prompts at all.
func (p *Policy) EvaluatesPrompt() bool {
	return p != nil && (len(p.prompt) > 0 || len(p.promptCat) > 0)
}

// EvaluatesCompletion reports whether the policy checks completions at all.
func (p *Policy) EvaluatesCompletion() bool { return p != nil && len(p.completion) > 0 }

// CheckPrompt evaluates a prompt: blocklists first (no classifier call is
// needed when one already blocks), then the classifier's categories.
func (p *Policy) CheckPrompt(ctx context.Context, text string) (Result, error) {
	var r Result
	if p == nil {
		return r, nil
	}
	checkLists(p.prompt, text, &r)
	if r.Blocked || len(p.promptCat) == 0 {
		return r, nil
	}
	return r, p.classify(ctx, p.promptCat, text, &r)
}

func (p *Policy) classify(ctx context.Context, uses []filterUse, text string, r *Result) error {
	cats, err := p.classifier.Classify(ctx, text)
	if err != nil {
		return err
	}
	r.Categories = map[string]CategoryResult{}
	for _, f := range uses {
		c, ok := cats[f.category]
		if !ok {
			continue // not evaluated: not reported
		}
		filtered := f.blocking && severityRank(c.Severity) >= f.threshold
		r.Categories[f.category] = CategoryResult{Filtered: filtered, Severity: strings.ToLower(c.Severity)}
		r.Blocked = r.Blocked || filtered
	}
	return nil
}

// ClassifiesCompletion reports whether the policy has completion category
// filters and a classifier to run them.
func (p *Policy) ClassifiesCompletion() bool { return p != nil && len(p.complCat) > 0 }

// ClassifyCompletion runs the completion category filters over a whole
// choice (answers that are not streamed; streamed ones are checked against
// blocklists only).
func (p *Policy) ClassifyCompletion(ctx context.Context, text string) (Result, error) {
	var r Result
	if !p.ClassifiesCompletion() {
		return r, nil
	}
	return r, p.classify(ctx, p.complCat, text, &r)
}

// CompletionWindow is how much already-checked text a completion check
// looks back over, so a term split across stream events is still found.
const CompletionWindow = 2048

// CheckCompletion evaluates the text a choice has produced: seen is the text
// already checked (only its last CompletionWindow bytes matter), next is new.
func (p *Policy) CheckCompletion(seen, next string) Result {
	var r Result
	if p == nil {
		return r
	}
	if len(seen) > CompletionWindow {
		seen = seen[len(seen)-CompletionWindow:]
	}
	checkLists(p.completion, seen+next, &r)
	return r
}
