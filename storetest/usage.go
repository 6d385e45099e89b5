package storetest

import (
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// RunUsage runs the token usage part of the contract. open returns a new,
// empty store for each subtest and closes it when the subtest ends
// (t.Cleanup).
func RunUsage(t *testing.T, open func(t *testing.T) ptu.UsageStore) {
	t.Run("TokenUsage", func(t *testing.T) { testTokenUsage(t, open(t)) })
}

func tokenUsage(rg, acct, dep string, hour time.Time, calls, prompt, cached, completion int64) ptu.TokenUsage {
	return ptu.TokenUsage{SubscriptionID: sub1, ResourceGroup: rg, AccountName: acct, Deployment: dep, Region: "eastus",
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: ptu.GlobalStandard,
		Hour: hour, Calls: calls, PromptTokens: prompt, CachedTokens: cached, CompletionTokens: completion}
}

func listTokenUsage(t *testing.T, s ptu.UsageStore, f ptu.TokenUsageFilter) []ptu.TokenUsage {
	t.Helper()
	out, err := s.ListTokenUsage(t.Context(), f)
	must(t, err)
	return out
}

func testTokenUsage(t *testing.T, s ptu.UsageStore) {
	a := tokenUsage("RG1", "Acct1", "Std", billingHour, 2, 1000, 200, 300)
	b := tokenUsage("RG1", "Acct1", "Std", billingHour.Add(time.Hour), 1, 10, 0, 5)
	c := tokenUsage("rg2", "acct2", "std2", billingHour, 1, 7, 0, 1)
	must(t, s.AddTokenUsage(t.Context(), []ptu.TokenUsage{a, b, c}))

	// The same key in other casing adds to the row and keeps the first casing.
	a2 := tokenUsage("rg1", "ACCT1", "std", billingHour, 3, 500, 100, 50)
	// Another deployment type or model version is another row.
	d := a2
	d.SKUName, d.Calls = ptu.Standard, 1
	must(t, s.AddTokenUsage(t.Context(), []ptu.TokenUsage{a2, d}))
	must(t, s.AddTokenUsage(t.Context(), nil))

	merged := a
	merged.Calls, merged.PromptTokens, merged.CachedTokens, merged.CompletionTokens = 5, 1500, 300, 350
	equal(t, "token usage", listTokenUsage(t, s, ptu.TokenUsageFilter{SubscriptionID: sub1}),
		[]ptu.TokenUsage{merged, d, c, b})
	equal(t, "one deployment", listTokenUsage(t, s, ptu.TokenUsageFilter{SubscriptionID: sub1, ResourceGroup: "rg1",
		Account: "acct1", Deployment: "STD", From: billingHour.Add(time.Hour)}), []ptu.TokenUsage{b})
	equal(t, "before a time (exclusive)", listTokenUsage(t, s, ptu.TokenUsageFilter{SubscriptionID: sub1,
		To: billingHour.Add(time.Hour), ResourceGroup: "RG2"}), []ptu.TokenUsage{c})
	equal(t, "another subscription", len(listTokenUsage(t, s, ptu.TokenUsageFilter{SubscriptionID: sub2})), 0)
}
