package contentfilter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Moderation is a Classifier that calls an OpenAI-compatible moderation
// endpoint (POST {URL}/moderations, as OpenAI serves it) and maps its
// categories to Azure's annotation names. Severities come from the
// endpoint's scores: below 0.2 safe, below 0.5 low, below 0.8 medium, else
// high — a category the endpoint flags is at least medium.
type Moderation struct {
	URL    string // base URL ending in /v1
	APIKey string
	Model  string // "" lets the endpoint choose
	Client *http.Client
}

var _ Classifier = (*Moderation)(nil)

// azureCategory maps OpenAI moderation categories to Azure's.
func azureCategory(c string) string {
	switch {
	case strings.HasPrefix(c, "hate"), strings.HasPrefix(c, "harassment"):
		return "hate"
	case strings.HasPrefix(c, "sexual"):
		return "sexual"
	case strings.HasPrefix(c, "violence"):
		return "violence"
	case strings.HasPrefix(c, "self-harm"), strings.HasPrefix(c, "self_harm"):
		return "self_harm"
	}
	return ""
}

func severityOf(score float64, flagged bool) string {
	s := "high"
	switch {
	case score < 0.2:
		s = "safe"
	case score < 0.5:
		s = "low"
	case score < 0.8:
		s = "medium"
	}
	if flagged && severityRank(s) < severityRank("medium") {
		s = "medium"
	}
	return s
}

// Classify implements Classifier.
func (m *Moderation) Classify(ctx context.Context, text string) (map[string]Category, error) {
	body := map[string]any{"input": text}
	if m.Model != "" {
		body["model"] = m.Model
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(m.URL, "/")+"/moderations", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if m.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+m.APIKey)
	}
	client := m.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("moderation: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return nil, fmt.Errorf("moderation: status %d: %s", res.StatusCode, strings.TrimSpace(string(msg)))
	}
	var out struct {
		Results []struct {
			Categories     map[string]bool    `json:"categories"`
			CategoryScores map[string]float64 `json:"category_scores"`
		} `json:"results"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("moderation: %w", err)
	}
	if len(out.Results) == 0 {
		return nil, fmt.Errorf("moderation: no result")
	}
	r := out.Results[0]
	cats := map[string]Category{}
	for name, score := range r.CategoryScores {
		az := azureCategory(name)
		if az == "" {
			continue
		}
		s := severityOf(score, r.Categories[name])
		if cur, ok := cats[az]; !ok || severityRank(s) > severityRank(cur.Severity) {
			cats[az] = Category{Severity: s}
		}
	}
	return cats, nil
}
