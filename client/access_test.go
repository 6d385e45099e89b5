package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/client"
)

// TestAccessControl: a principal made and granted through the SDK calls a
// deployment with its own token, cannot read the keys, and stops when the
// grant is revoked; the activity log shows who did it.
func TestAccessControl(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	start := time.Now().Add(-time.Minute)
	e.account("rg", "acct", "eastus")
	e.deploy("rg", "acct", "chat")

	p, err := e.c.CreatePrincipal(ctx, "app", "30d")
	if err != nil {
		t.Fatal(err)
	}
	if !client.IsPrincipalToken(p.Properties.Token) || p.Properties.ExpiresOn == "" {
		t.Fatalf("principal %+v", p.Properties)
	}
	sub, err := e.c.SubscriptionID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := e.c.ListRoleDefinitions(ctx, "/subscriptions/"+sub, "Cognitive Services OpenAI User")
	if err != nil || len(defs) != 1 {
		t.Fatalf("definitions: %v %v", defs, err)
	}
	ra, err := e.c.CreateRoleAssignment(ctx, "/subscriptions/"+sub+"/resourceGroups/rg", "", defs[0].ID, p.Properties.PrincipalID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.c.ListRoleAssignments(ctx, "/subscriptions/"+sub, "principalId eq '"+p.Properties.PrincipalID+"'")
	if err != nil || len(list) != 1 || list[0].ID != ra.ID {
		t.Fatalf("assignments: %+v %v", list, err)
	}

	pc := e.c.WithOptions(client.WithToken(p.Properties.Token))
	ac, err := pc.ForAccount(ctx, "rg", "acct")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.ChatCompletion(ctx, "chat", chatReq("hello")); err != nil {
		t.Fatalf("principal's call: %v", err)
	}
	var ce *client.Error
	if _, err := pc.ListKeys(ctx, "rg", "acct"); !errors.As(err, &ce) || ce.Code != "AuthorizationFailed" {
		t.Fatalf("principal lists keys: %v", err)
	}

	if ok, err := e.c.DeleteRoleAssignment(ctx, ra.ID); err != nil || !ok {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if _, err := ac.ChatCompletion(ctx, "chat", chatReq("hello")); !errors.As(err, &ce) || ce.Code != "PermissionDenied" {
		t.Fatalf("call after the revocation: %v", err)
	}

	events, err := e.c.ListActivityLog(ctx, client.ActivityLogQuery{Start: start, Caller: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].OperationName.Value != "Microsoft.CognitiveServices/accounts/listKeys/action" || events[0].Status.Value != "Failed" {
		t.Fatalf("app's events: %+v", events)
	}
	if ok, err := e.c.DeletePrincipal(ctx, "app"); err != nil || !ok {
		t.Fatalf("delete principal: %v %v", ok, err)
	}
}
