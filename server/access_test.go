package server_test

import (
	"encoding/json"
	"fmt"
	"github.com/ptu-dev/ptu/internal/testenv"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu/authz"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/internal/testserver"
	"github.com/ptu-dev/ptu/server"
)

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer = testenv.Log

type accessEnv struct {
	t   *testing.T
	s   *server.Server
	sub string
}

// call sends a request and returns the status and body. auth is a header
// line "Name: value" ("" sends none).
func (e *accessEnv) call(method, path, auth, body string) (int, string) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.s.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if name, value, ok := strings.Cut(auth, ": "); ok {
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *accessEnv) admin(method, path, body string, want int) string {
	e.t.Helper()
	st, b := e.call(method, path, "Authorization: Bearer "+e.s.AdminToken, body)
	if st != want {
		e.t.Fatalf("%s %s: %d, want %d\n%s", method, path, st, want, b)
	}
	return b
}

const chatBody = `{"messages":[{"role":"user","content":"hello"}],"max_tokens":4}`

func (e *accessEnv) chat(auth string) (int, string) {
	e.t.Helper()
	return e.call("POST", "/accounts/acct/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", auth, chatBody)
}

// TestAccessEndToEnd is the "done when" over HTTP: a Reader can
// look but not deploy, an OpenAI User can call but not manage, a
// regenerated key stops working at once, disableLocalAuth refuses keys but
// takes tokens; and no key or token ever reaches the log.
func TestAccessEndToEnd(t *testing.T) {
	logs := &lockedBuffer{}
	s := testserver.Start(t, server.Options{SimTimeScale: 1000, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}).Server
	e := &accessEnv{t: t, s: s, sub: s.Config.Subscriptions[0].ID}

	acct := "/subscriptions/" + e.sub + "/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct"
	v := "?api-version=2024-10-01"
	e.admin("PUT", acct+v, `{"location":"eastus","properties":{"customSubDomainName":"acct"}}`, http.StatusCreated)
	e.admin("PUT", acct+"/deployments/gpt-4o"+v, `{"sku":{"name":"GlobalProvisionedManaged","capacity":15},"properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}}}`, http.StatusCreated)
	var keys struct{ Key1, Key2 string }
	json.Unmarshal([]byte(e.admin("POST", acct+"/listKeys"+v, "", http.StatusOK)), &keys)
	if keys.Key1 == "" || keys.Key2 == "" {
		t.Fatal("no keys")
	}

	newPrincipal := func(name, role string) (string, string) {
		var p struct {
			Properties struct{ PrincipalID, Token string }
		}
		json.Unmarshal([]byte(e.admin("POST", "/providers/Microsoft.Authorization/principals?api-version=2022-04-01",
			`{"name":"`+name+`","expiresIn":"30d"}`, http.StatusCreated)), &p)
		r, _ := authz.Lookup(role)
		e.admin("PUT", acct+"/providers/Microsoft.Authorization/roleAssignments/"+control.NewUUID()+"?api-version=2022-04-01",
			fmt.Sprintf(`{"properties":{"roleDefinitionId":"%s","principalId":"%s"}}`, r.ID, p.Properties.PrincipalID), http.StatusCreated)
		return p.Properties.PrincipalID, p.Properties.Token
	}
	userID, userToken := newPrincipal("app", "Cognitive Services OpenAI User")
	readerID, readerToken := newPrincipal("auditor", "Reader")

	// A Reader looks but does not deploy, nor call.
	if st, b := e.call("GET", acct+"/deployments"+v, "Authorization: Bearer "+readerToken, ""); st != 200 {
		t.Fatalf("reader lists deployments: %d %s", st, b)
	}
	if st, b := e.call("PUT", acct+"/deployments/more"+v, "Authorization: Bearer "+readerToken, `{}`); st != 403 || !strings.Contains(b, "AuthorizationFailed") {
		t.Fatalf("reader deploys: %d %s", st, b)
	}
	if st, b := e.chat("Authorization: Bearer " + readerToken); st != 401 || !strings.Contains(b, "PermissionDenied") ||
		!strings.Contains(b, readerID) || !strings.Contains(b, authz.DataChatCompletions) {
		t.Fatalf("reader calls: %d %s", st, b)
	}
	// An OpenAI User calls but does not manage.
	if st, b := e.chat("Authorization: Bearer " + userToken); st != 200 {
		t.Fatalf("user calls: %d %s", st, b)
	}
	if st, b := e.call("POST", "/accounts/acct/openai/v1/chat/completions", "Authorization: Bearer "+userToken,
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":4}`); st != 200 {
		t.Fatalf("user calls v1: %d %s", st, b)
	}
	if st, b := e.call("POST", acct+"/listKeys"+v, "Authorization: Bearer "+userToken, ""); st != 403 || !strings.Contains(b, userID) {
		t.Fatalf("user lists keys: %d %s", st, b)
	}
	// Keys work, by header or bearer; a wrong one does not.
	for _, auth := range []string{"api-key: " + keys.Key1, "api-key: " + keys.Key2, "Authorization: Bearer " + keys.Key1} {
		if st, b := e.chat(auth); st != 200 {
			t.Fatalf("%s: %d %s", auth, st, b)
		}
	}
	if st, _ := e.chat("api-key: " + keys.Key1 + "0"); st != 401 {
		t.Fatalf("wrong key: %d", st)
	}

	// A regenerated key stops working at once; the other goes on.
	var regen struct{ Key1, Key2 string }
	json.Unmarshal([]byte(e.admin("POST", acct+"/regenerateKey"+v, `{"keyName":"Key1"}`, http.StatusOK)), &regen)
	if regen.Key1 == keys.Key1 || regen.Key2 != keys.Key2 {
		t.Fatalf("regenerate: %+v", regen)
	}
	if st, _ := e.chat("api-key: " + keys.Key1); st != 401 {
		t.Fatalf("old key after regeneration: %d, want 401", st)
	}
	for _, k := range []string{regen.Key1, keys.Key2} {
		if st, b := e.chat("api-key: " + k); st != 200 {
			t.Fatalf("key after regeneration: %d %s", st, b)
		}
	}

	// disableLocalAuth: keys are refused, tokens taken.
	e.admin("PATCH", acct+v, `{"properties":{"disableLocalAuth":true}}`, http.StatusOK)
	for _, auth := range []string{"api-key: " + regen.Key1, "Authorization: Bearer " + keys.Key2} {
		if st, _ := e.chat(auth); st != 401 {
			t.Fatalf("key with local auth disabled (%s): %d, want 401", auth, st)
		}
	}
	if st, b := e.chat("Authorization: Bearer " + userToken); st != 200 {
		t.Fatalf("token with local auth disabled: %d %s", st, b)
	}
	// A revoked assignment ends the calls at once.
	e.admin("DELETE", "/providers/Microsoft.Authorization/principals/app?api-version=2022-04-01", "", http.StatusOK)
	if st, _ := e.chat("Authorization: Bearer " + userToken); st != 401 {
		t.Fatalf("deleted principal calls: %d", st)
	}

	// Something was logged (the access log of every call), and no secret.
	out := logs.String()
	if !strings.Contains(out, "inference") {
		t.Fatalf("nothing logged; the check below would prove nothing:\n%s", out)
	}
	for name, secret := range map[string]string{
		"key1": keys.Key1, "key2": keys.Key2, "new key1": regen.Key1,
		"user token": userToken, "reader token": readerToken, "admin token": s.AdminToken,
		"user token hash": control.HashToken(userToken),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("the %s is in the log", name)
		}
	}
}
