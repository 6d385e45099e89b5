package contentfilter_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/contentfilter"
)

// moderationServer answers like OpenAI's /v1/moderations with fixed scores.
func moderationServer(t *testing.T, scores map[string]float64, flagged map[string]bool) (*httptest.Server, *string) {
	var input string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/moderations" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "wrong call", http.StatusBadRequest)
			return
		}
		var in struct {
			Input string `json:"input"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		input = in.Input
		_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{map[string]any{"categories": flagged, "category_scores": scores}}})
	}))
	t.Cleanup(srv.Close)
	return srv, &input
}

func TestModeration(t *testing.T) {
	srv, input := moderationServer(t,
		map[string]float64{"hate": 0.1, "hate/threatening": 0.6, "violence": 0.05, "self-harm": 0.3, "sexual": 0.01, "illicit": 0.9},
		map[string]bool{"hate/threatening": true, "self-harm": true})
	m := &contentfilter.Moderation{URL: srv.URL + "/v1", APIKey: "k"}
	cats, err := m.Classify(context.Background(), "some text")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"hate": "medium", "violence": "safe", "self_harm": "medium", "sexual": "safe"}
	if len(cats) != len(want) {
		t.Errorf("categories %v, want %v", cats, want)
	}
	for k, v := range want {
		if cats[k].Severity != v {
			t.Errorf("%s: %q, want %q", k, cats[k].Severity, v)
		}
	}
	if *input != "some text" {
		t.Errorf("sent %q", *input)
	}
	if _, err := (&contentfilter.Moderation{URL: srv.URL + "/v1", APIKey: "wrong"}).Classify(context.Background(), "x"); err == nil {
		t.Error("a refused moderation call gave no error")
	}
}

func TestPromptCategories(t *testing.T) {
	srv, _ := moderationServer(t, map[string]float64{"hate": 0.6, "violence": 0.3}, nil)
	cl := &contentfilter.Moderation{URL: srv.URL + "/v1", APIKey: "k"}
	policy := ptu.RAIPolicy{Name: "p", ContentFilters: []ptu.RAIContentFilter{
		{Name: "Hate", Enabled: true, Blocking: true, SeverityThreshold: "High", Source: ptu.RAISourcePrompt},
		{Name: "Violence", Enabled: true, Blocking: true, SeverityThreshold: "Low", Source: ptu.RAISourcePrompt},
		{Name: "Jailbreak", Enabled: true, Blocking: true, Source: ptu.RAISourcePrompt}, // the endpoint does not score it
		{Name: "Sexual", Enabled: false, Blocking: true, Source: ptu.RAISourcePrompt},
	}}
	p, err := contentfilter.Compile(policy, nil, cl)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.CheckPrompt(context.Background(), "text")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Blocked {
		t.Error("violence at low with a Low threshold did not block")
	}
	a := res.Annotations()
	if string(a["hate"]) != `{"filtered":false,"severity":"medium"}` || string(a["violence"]) != `{"filtered":true,"severity":"low"}` {
		t.Errorf("annotations %v", a)
	}
	if _, ok := a["jailbreak"]; ok {
		t.Error("jailbreak reported though nothing evaluated it")
	}
	if _, ok := a["sexual"]; ok {
		t.Error("a disabled filter reported")
	}
	// Without a classifier, category filters are neither run nor reported.
	p, err = contentfilter.Compile(policy, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.EvaluatesPrompt() {
		t.Error("a policy with only category filters and no classifier claims to evaluate prompts")
	}
}

func TestCompletionAcrossEvents(t *testing.T) {
	p, err := contentfilter.Compile(ptu.RAIPolicy{CustomBlocklists: []ptu.RAIBlocklistRef{{BlocklistName: "l", Blocking: true, Source: ptu.RAISourceCompletion}}},
		[]ptu.RAIBlocklist{{Name: "l", Items: []ptu.RAIBlocklistItem{{Name: "a", Pattern: "Top Secret"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.EvaluatesPrompt() || !p.EvaluatesCompletion() {
		t.Fatal("sources mixed up")
	}
	if p.CheckCompletion("this is top", " sec").Blocked {
		t.Error("blocked on a partial term")
	}
	if !p.CheckCompletion("this is top sec", "ret, really").Blocked {
		t.Error("a term split across events was not found")
	}
}
