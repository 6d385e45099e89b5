package arm_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cognitiveservices/armcognitiveservices"

	"github.com/ptu-dev/ptu/catalog"
)

// TestSDKRAI manages blocklists, their items and a content filter policy
// with the official SDK's clients.
func TestSDKRAI(t *testing.T) {
	ctx := context.Background()
	e := newEnvWith(t, catalog.Default())
	f := sdkClients(t, e, adminToken)
	poller, err := f.NewAccountsClient().BeginCreate(ctx, "rg1", "acct1", armcognitiveservices.Account{
		Location: to.Ptr("eastus"), Kind: to.Ptr("OpenAI"), SKU: &armcognitiveservices.SKU{Name: to.Ptr("S0")},
		Properties: &armcognitiveservices.AccountProperties{CustomSubDomainName: to.Ptr("acct1")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := poller.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}

	lists := f.NewRaiBlocklistsClient()
	bl, err := lists.CreateOrUpdate(ctx, "rg1", "acct1", "words", armcognitiveservices.RaiBlocklist{
		Properties: &armcognitiveservices.RaiBlocklistProperties{Description: to.Ptr("internal names")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *bl.Name != "words" || *bl.Properties.Description != "internal names" || *bl.Type != "Microsoft.CognitiveServices/accounts/raiBlocklists" {
		t.Errorf("blocklist %+v", bl)
	}
	items := f.NewRaiBlocklistItemsClient()
	if _, err := items.CreateOrUpdate(ctx, "rg1", "acct1", "words", "codename", armcognitiveservices.RaiBlocklistItem{
		Properties: &armcognitiveservices.RaiBlocklistItemProperties{Pattern: to.Ptr("Bluebird"), IsRegex: to.Ptr(false)}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := items.BatchAdd(ctx, "rg1", "acct1", "words", []*armcognitiveservices.RaiBlocklistItemBulkRequest{
		{Name: to.Ptr("tickets"), Properties: &armcognitiveservices.RaiBlocklistItemProperties{Pattern: to.Ptr(`PROJ-\d+`), IsRegex: to.Ptr(true)}},
		{Name: to.Ptr("spare"), Properties: &armcognitiveservices.RaiBlocklistItemProperties{Pattern: to.Ptr("x"), IsRegex: to.Ptr(false)}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := items.BatchDelete(ctx, "rg1", "acct1", "words", []string{"spare"}, nil); err != nil {
		t.Fatal(err)
	}
	var names []string
	for pager := items.NewListPager("rg1", "acct1", "words", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Value {
			names = append(names, *it.Name+"="+*it.Properties.Pattern)
		}
	}
	if len(names) != 2 || names[0] != "codename=Bluebird" || names[1] != `tickets=PROJ-\d+` {
		t.Errorf("items %v", names)
	}
	// A bad regular expression is refused.
	_, err = items.CreateOrUpdate(ctx, "rg1", "acct1", "words", "bad", armcognitiveservices.RaiBlocklistItem{
		Properties: &armcognitiveservices.RaiBlocklistItemProperties{Pattern: to.Ptr("(unclosed"), IsRegex: to.Ptr(true)}}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		t.Errorf("bad regex: %v, want 400", err)
	}

	policies := f.NewRaiPoliciesClient()
	pol, err := policies.CreateOrUpdate(ctx, "rg1", "acct1", "strict", armcognitiveservices.RaiPolicy{
		Properties: &armcognitiveservices.RaiPolicyProperties{
			BasePolicyName: to.Ptr("Microsoft.DefaultV2"), Mode: to.Ptr(armcognitiveservices.RaiPolicyModeBlocking),
			ContentFilters: []*armcognitiveservices.RaiPolicyContentFilter{{Name: to.Ptr("Hate"), Enabled: to.Ptr(true), Blocking: to.Ptr(true),
				SeverityThreshold: to.Ptr(armcognitiveservices.ContentLevelMedium), Source: to.Ptr(armcognitiveservices.RaiPolicyContentSourcePrompt)}},
			CustomBlocklists: []*armcognitiveservices.CustomBlocklistConfig{
				{BlocklistName: to.Ptr("words"), Blocking: to.Ptr(true), Source: to.Ptr(armcognitiveservices.RaiPolicyContentSourcePrompt)},
				{BlocklistName: to.Ptr("words"), Blocking: to.Ptr(true), Source: to.Ptr(armcognitiveservices.RaiPolicyContentSourceCompletion)},
			}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *pol.Properties.Mode != armcognitiveservices.RaiPolicyModeBlocking || len(pol.Properties.CustomBlocklists) != 2 ||
		*pol.Properties.ContentFilters[0].SeverityThreshold != armcognitiveservices.ContentLevelMedium || *pol.Properties.Type != armcognitiveservices.RaiPolicyTypeUserManaged {
		t.Errorf("policy %+v", pol.Properties)
	}
	// A policy naming a blocklist that does not exist is refused.
	_, err = policies.CreateOrUpdate(ctx, "rg1", "acct1", "broken", armcognitiveservices.RaiPolicy{
		Properties: &armcognitiveservices.RaiPolicyProperties{CustomBlocklists: []*armcognitiveservices.CustomBlocklistConfig{
			{BlocklistName: to.Ptr("nope"), Blocking: to.Ptr(true), Source: to.Ptr(armcognitiveservices.RaiPolicyContentSourcePrompt)}}}}, nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown blocklist: %v, want 400", err)
	}
	// A blocklist in use cannot be deleted; once the policy is gone it can.
	if del, err := lists.BeginDelete(ctx, "rg1", "acct1", "words", nil); err == nil {
		_, err = del.PollUntilDone(ctx, nil)
		if !errors.As(err, &re) || re.StatusCode != http.StatusConflict {
			t.Errorf("deleting a blocklist in use: %v, want 409", err)
		}
	} else if !errors.As(err, &re) || re.StatusCode != http.StatusConflict {
		t.Errorf("deleting a blocklist in use: %v, want 409", err)
	}
	del, err := policies.BeginDelete(ctx, "rg1", "acct1", "strict", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := policies.Get(ctx, "rg1", "acct1", "strict", nil); !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
		t.Errorf("get after delete: %v, want 404", err)
	}
	dl, err := lists.BeginDelete(ctx, "rg1", "acct1", "words", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dl.PollUntilDone(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
