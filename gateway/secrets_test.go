package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/server"
)

// TestSecretsStayOutOfLogsAndErrors makes calls on both planes with the
// admin token, the account's keys, and wrong tokens and keys in the headers
// and query parameters where clients put credentials, and checks that none of these secrets appears in
// the server's log or in any error body.
func TestSecretsStayOutOfLogsAndErrors(t *testing.T) {
	e := newEnv(t, server.Options{})
	e.deploy("ptu", ptu.GlobalProvisionedManaged, 15)
	key1, key2 := e.keys()
	admin := e.s.AdminToken
	wrongKey := "wrongkey0123456789abcdef0123456789"
	wrongToken := "wrongtoken-9f8e7d6c5b4a39281706"
	secrets := map[string]string{"admin token": admin, "key1": key1, "key2": key2, "wrong key": wrongKey, "wrong token": wrongToken}

	acct := e.s.URL + "/subscriptions/" + e.sub + "/resourceGroups/" + testRG + "/providers/Microsoft.CognitiveServices/accounts/" + e.acct.Name
	chat := chatURL(e.endpoint, "ptu")
	good := `{"messages":[{"role":"user","content":"hi"}],"max_tokens":3}`
	type req struct{ method, url, body, hName, hValue string }
	var reqs []req
	for _, auth := range []string{"Bearer " + admin, "Bearer " + wrongToken, "Bearer " + admin + "x", "Basic " + admin, admin, "Bearer " + key1} {
		reqs = append(reqs,
			req{"GET", acct + "?api-version=2024-10-01", "", "Authorization", auth},
			req{"PUT", acct + "/deployments/d2?api-version=2024-10-01", `{"sku":{"name":"GlobalProvisionedManaged","capacity":"` + wrongKey + `"}}`, "Authorization", auth},
			req{"PUT", acct + "/deployments/d2?api-version=2024-10-01", `{"sku":` + admin, "Authorization", auth},
			req{"GET", acct + "?api-version=2099-01-01&access_token=" + wrongToken, "", "Authorization", auth},
			req{"GET", acct + "/nope?api-version=2024-10-01&code=" + admin, "", "Authorization", auth},
		)
	}
	for _, k := range []string{key1, key2, wrongKey, admin, key1 + "x"} {
		reqs = append(reqs,
			req{"POST", chat, good, "api-key", k},
			req{"POST", chat, good, "Authorization", "Bearer " + k},
			req{"POST", chat, `{"messages":"x"}`, "api-key", k},
			req{"POST", chat, `{"messages":[{"role":"robot","content":"x"}]}`, "api-key", k},
			req{"POST", strings.Replace(chat, "/ptu/", "/nope/", 1), good, "api-key", k},
			req{"POST", e.endpoint + "openai/v1/chat/completions", `{"model":"nope","messages":[]}`, "api-key", k},
			req{"POST", chat + "&api-key=" + k, `{"n":"x"}`, "Authorization", "Bearer " + k},
			req{"POST", strings.Replace(chat, "api-version=", "api-key="+k+"&api-version=x", 1), good, "api-key", k},
		)
	}
	errors := 0
	for _, r := range reqs {
		hr, err := http.NewRequest(r.method, r.url, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set(r.hName, r.hValue)
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode < 400 {
			continue
		}
		errors++
		for name, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s %s (%s): the %s is in the %d error body: %.300s", r.method, r.url, r.hName, name, res.StatusCode, b)
			}
		}
	}
	if errors < len(reqs)/2 {
		t.Fatalf("only %d of %d calls failed; the test does not exercise the error paths", errors, len(reqs))
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "inference") {
		t.Fatalf("the log holds no inference record; is it captured?\n%s", logs)
	}
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the %s is in the server log", name)
		}
	}
}
