package portal_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/control"
	"github.com/ptu-dev/ptu/server"
)

// start runs a server on a temporary data directory and returns it with an
// HTTP client that keeps cookies and does not follow redirects.
func start(t *testing.T) (*server.Server, *http.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, server.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return s, c
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, origin string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func signIn(t *testing.T, s *server.Server, c *http.Client) {
	t.Helper()
	res, _ := post(t, c, s.URL+"/portal/signin", url.Values{"token": {s.AdminToken}, "next": {"/portal/quota"}}, s.URL)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/portal/quota" {
		t.Fatalf("sign-in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestSignIn(t *testing.T) {
	s, c := start(t)
	res, _ := get(t, c, s.URL+"/portal/deployments")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/portal/signin?next=%2Fportal%2Fdeployments") {
		t.Fatalf("signed out: %d %q, want a redirect to sign-in", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := post(t, c, s.URL+"/portal/signin", url.Values{"token": {"wrong"}}, s.URL)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("wrong token: %d, want 401 with an alert", res.StatusCode)
	}
	// An open redirect is not possible through next.
	res, _ = post(t, c, s.URL+"/portal/signin", url.Values{"token": {s.AdminToken}, "next": {"//evil.example/"}}, s.URL)
	if loc := res.Header.Get("Location"); loc != "/portal/" {
		t.Fatalf("next=//evil.example/ redirected to %q", loc)
	}
	for _, ck := range c.Jar.Cookies(mustURL(s.URL + "/portal/")) {
		if ck.Name == "ptu_portal_token" && ck.Value != s.AdminToken {
			t.Fatal("the session cookie does not hold the token")
		}
	}
	res, body = get(t, c, s.URL+"/portal/quota")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-usage="eastus/GlobalProvisionedManaged"`) {
		t.Fatalf("quota page: %d", res.StatusCode)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	// The portal's assets are embedded; nothing is loaded from elsewhere.
	for _, src := range regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(src[1], "/portal/") {
			t.Errorf("page refers to %s outside the portal", src[1])
			continue
		}
		if r, _ := get(t, c, s.URL+strings.ReplaceAll(src[1], "&amp;", "&")); r.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", src[1], r.StatusCode)
		}
	}
	res, _ = post(t, c, s.URL+"/portal/signout", nil, s.URL)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	if res, _ = get(t, c, s.URL+"/portal/quota"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d, want a redirect to sign-in", res.StatusCode)
	}
}

// A quota request goes to the API; one it refuses (a limit below the
// current one) is shown with its code and creates nothing.
func TestRequestQuota(t *testing.T) {
	s, c := start(t)
	signIn(t, s, c)
	res, body := post(t, c, s.URL+"/portal/quota/request", url.Values{"location": {"eastus"}, "sku": {"GlobalProvisionedManaged"},
		"limit": {"100"}, "reason": {"less"}}, "")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("limit below the current one: %d, want 400 with an alert", res.StatusCode)
	}
	res, _ = post(t, c, s.URL+"/portal/quota/request", url.Values{"location": {"eastus"}, "sku": {"GlobalProvisionedManaged"},
		"limit": {"800"}, "reason": {"launch"}}, "")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("request: %d", res.StatusCode)
	}
	_, body = get(t, c, s.URL+res.Header.Get("Location"))
	if !strings.Contains(body, "Quota request for 800 PTUs of GlobalProvisionedManaged in eastus sent: Pending") ||
		!strings.Contains(body, `<span class="state state-Pending">Pending</span>`) {
		t.Fatalf("the request is not listed as pending\n%s", body)
	}
}

func TestCrossSitePostRefused(t *testing.T) {
	s, c := start(t)
	signIn(t, s, c)
	form := url.Values{"name": {"x1"}, "group": {"g"}, "location": {"eastus"}}
	res, _ := post(t, c, s.URL+"/portal/accounts", form, "https://evil.example")
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %d, want 403", res.StatusCode)
	}
	if _, err := s.Control.GetAccount(context.Background(), s.Config.Subscriptions[0].ID, "g", "x1"); err == nil {
		t.Fatal("a cross-site post created an account")
	}
	res, _ = post(t, c, s.URL+"/portal/accounts", form, s.URL)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-site post: %d", res.StatusCode)
	}
}

// The wizard without a browser: review quotes the price and creates nothing;
// create with a confirmation for other fields quotes again; a capacity
// shortage lists the other regions with a switch to the user's resource
// there; and a confirmed create makes the deployment.
func TestWizard(t *testing.T) {
	s, c := start(t)
	signIn(t, s, c)
	ctx := context.Background()
	sub := s.Config.Subscriptions[0].ID
	for _, a := range []struct{ name, loc string }{{"east", "eastus"}, {"west", "westus3"}} {
		res, body := post(t, c, s.URL+"/portal/accounts", url.Values{"name": {a.name}, "group": {"demo"}, "location": {a.loc}}, "")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create account %s: %d\n%s", a.name, res.StatusCode, body)
		}
	}
	west := "/subscriptions/" + sub + "/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/west"
	east := "/subscriptions/" + sub + "/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/east"
	form := url.Values{"account": {west}, "model": {"gpt-4o"}, "version": {"2024-11-20"}, "name": {"big"},
		"policy": {"Microsoft.DefaultV2"}, "sku": {"ProvisionedManaged"}, "ptus": {"100"}, "upgrade": {"OnceNewDefaultVersionAvailable"}}

	// What fits in West US 3 now is on the form before anything is asked.
	res, body := get(t, c, s.URL+"/portal/deployments/new?"+form.Encode())
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Available in West US 3 now: <strong>50 PTUs</strong>") {
		t.Fatalf("wizard: %d, want the available PTUs\n%s", res.StatusCode, body)
	}

	// Review of 100 PTUs where 50 fit: the shortage, the other regions with
	// a switch to the user's resource there, and no price to confirm.
	form.Set("step", "review")
	res, body = post(t, c, s.URL+"/portal/deployments/new", form, "")
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, `id="deployable-now">50 PTUs`) || strings.Contains(body, `id="pricing-dialog"`) {
		t.Fatalf("capacity short: %d, want 409 with 50 deployable and no price\n%s", res.StatusCode, body)
	}
	if !strings.Contains(body, `tr data-region="eastus" class="fits"`) || !strings.Contains(body, `value="`+east+`"`) {
		t.Fatal("the other regions do not offer East US with the user's resource there")
	}

	// "Deploy 50 PTUs here instead" prices the size that fits; review creates nothing.
	here := url.Values{}
	for k, v := range form {
		here[k] = v
	}
	here.Del("step")
	here.Set("use_ptus", "50")
	res, body = post(t, c, s.URL+"/portal/deployments/new", here, "")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "50 PTUs of Regional Provisioned Managed") || !strings.Contains(body, "$100.00 per hour") {
		t.Fatalf("deploy what fits: %d, want the price of 50 PTUs\n%s", res.StatusCode, body)
	}
	key := regexp.MustCompile(`name="confirmed" value="([^"]+)"`).FindStringSubmatch(body)
	if key == nil {
		t.Fatal("no confirmation key")
	}
	if _, err := s.Control.GetDeployment(ctx, sub, "demo", "west", "big"); err == nil {
		t.Fatal("review created the deployment")
	}

	// A confirmation of 50 PTUs does not create 100: the size is checked again.
	form.Set("step", "create")
	form.Set("confirmed", key[1])
	res, _ = post(t, c, s.URL+"/portal/deployments/new", form, "")
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("create with changed size: %d, want the shortage again", res.StatusCode)
	}
	if _, err := s.Control.GetDeployment(ctx, sub, "demo", "west", "big"); err == nil {
		t.Fatal("a create with an unconfirmed size went through")
	}

	form.Set("account", east)
	form.Del("confirmed")
	form.Set("step", "review")
	_, body = post(t, c, s.URL+"/portal/deployments/new", form, "")
	key = regexp.MustCompile(`name="confirmed" value="([^"]+)"`).FindStringSubmatch(body)
	if key == nil || !strings.Contains(body, "$200.00 per hour") {
		t.Fatalf("no confirmation in East US\n%s", body)
	}
	form.Set("step", "create")
	form.Set("confirmed", key[1])
	res, _ = post(t, c, s.URL+"/portal/deployments/new", form, "")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", res.StatusCode)
	}
	d, err := s.Control.GetDeployment(ctx, sub, "demo", "east", "big")
	if err != nil || d.Capacity != 100 || d.SKUName != "ProvisionedManaged" {
		t.Fatalf("created %+v, %v", d, err)
	}

	// Problems are shown before the price: past quota (100 of 500 used), a
	// size off the step, a bad name, a name in use.
	for _, tc := range []struct {
		name, ptus string
		status     int
		want       string
	}{
		{"huge", "450", http.StatusBadRequest, "450 PTUs of ProvisionedManaged do not fit your quota in East US: 100 of 500 are used, 400 are free."},
		{"odd", "75", http.StatusBadRequest, "<code>InvalidCapacity</code>"},
		{"bad name!", "50", http.StatusBadRequest, "Deployment name &#39;bad name!&#39; is invalid."},
		{"big", "50", http.StatusConflict, "A deployment named &#39;big&#39; already exists in east."},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Del("confirmed")
		f.Set("step", "review")
		f.Set("name", tc.name)
		f.Set("ptus", tc.ptus)
		res, body = post(t, c, s.URL+"/portal/deployments/new", f, "")
		if res.StatusCode != tc.status || !strings.Contains(body, tc.want) || strings.Contains(body, `id="pricing-dialog"`) {
			t.Errorf("review of %s, %s PTUs: %d, want %d with %q and no price\n%s", tc.name, tc.ptus, res.StatusCode, tc.status, tc.want, body)
		}
	}
	if strings.Contains(body, "Request more quota") {
		t.Error("a name in use links to the quota page")
	}
	if d, _ := s.Control.GetDeployment(ctx, sub, "demo", "east", "big"); d.Capacity != 100 {
		t.Fatalf("the existing deployment changed to %d PTUs", d.Capacity)
	}
}

// Resize: a deployment's capacity changes through PATCH; past the quota the
// API's refusal is shown and the size stays.
func TestResize(t *testing.T) {
	s, c := start(t)
	signIn(t, s, c)
	ctx := context.Background()
	sub := s.Config.Subscriptions[0].ID
	if _, _, err := s.Control.PutAccount(ctx, sub, "demo", "acct", control.AccountInput{Location: "eastus"}); err != nil {
		t.Fatal(err)
	}
	ptus := 15
	if _, _, err := s.Control.PutDeployment(ctx, sub, "demo", "acct", "dep", control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: "GlobalProvisionedManaged", Capacity: &ptus}); err != nil {
		t.Fatal(err)
	}
	acct := "/subscriptions/" + sub + "/resourceGroups/demo/providers/Microsoft.CognitiveServices/accounts/acct"
	res, _ := post(t, c, s.URL+"/portal/deployments/resize", url.Values{"account": {acct}, "deployment": {"dep"}, "ptus": {"20"}}, "")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(mustURL(res.Header.Get("Location")).Query().Get("flash"), "resized from 15 PTUs to 20 PTUs of GlobalProvisionedManaged. It now costs $20.00 per hour") {
		t.Fatalf("resize: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if d, _ := s.Control.GetDeployment(ctx, sub, "demo", "acct", "dep"); d.Capacity != 20 {
		t.Fatalf("after the resize: %d PTUs", d.Capacity)
	}
	res, body := post(t, c, s.URL+"/portal/deployments/resize", url.Values{"account": {acct}, "deployment": {"dep"}, "ptus": {"600"}}, "")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<code>InsufficientQuota</code>") {
		t.Fatalf("resize past the quota: %d\n%s", res.StatusCode, body)
	}
	if d, _ := s.Control.GetDeployment(ctx, sub, "demo", "acct", "dep"); d.Capacity != 20 {
		t.Fatalf("a refused resize changed the size to %d", d.Capacity)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// Reservations: a purchase larger than what is deployed is refused with the
// API's code; one that fits is bought, listed, and cancelled with its
// refund. The billing page shows the deployment's line.
func TestReservationsAndBilling(t *testing.T) {
	s, c := start(t)
	signIn(t, s, c)
	ctx := context.Background()
	sub := s.Config.Subscriptions[0].ID
	if _, _, err := s.Control.PutAccount(ctx, sub, "demo", "acct", control.AccountInput{Location: "eastus"}); err != nil {
		t.Fatal(err)
	}
	ptus := 50
	if _, _, err := s.Control.PutDeployment(ctx, sub, "demo", "acct", "dep", control.DeploymentInput{
		Model: ptu.ModelRef{Format: "OpenAI", Name: "gpt-4o", Version: "2024-08-06"}, SKUName: "ProvisionedManaged", Capacity: &ptus}); err != nil {
		t.Fatal(err)
	}
	buy := url.Values{"name": {"east"}, "sku": {"ProvisionedManaged"}, "quantity": {"80"}, "term": {"P1M"}, "plan": {"Monthly"}, "scope": {"Subscription"}}
	res, body := post(t, c, s.URL+"/portal/reservations?region=eastus", buy, "")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<code>InvalidResourceProperties</code>") {
		t.Fatalf("80 PTUs over 50 deployed: %d, want 400 InvalidResourceProperties\n%s", res.StatusCode, body)
	}
	if !strings.Contains(body, `value="80"`) {
		t.Fatal("the refused form lost its values")
	}
	buy.Set("quantity", "50")
	res, _ = post(t, c, s.URL+"/portal/reservations?region=eastus", buy, "")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("purchase: %d", res.StatusCode)
	}
	_, body = get(t, c, s.URL+res.Header.Get("Location"))
	if !strings.Contains(body, "Reservation of 50 PTUs (ProvisionedManaged, eastus) bought") || !strings.Contains(body, "state-Active") {
		t.Fatalf("the reservation is not listed as active\n%s", body)
	}
	id := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatal("no cancel button")
	}
	res, _ = post(t, c, s.URL+"/portal/reservations/cancel", url.Values{"id": {id[1]}}, "")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	_, body = get(t, c, s.URL+res.Header.Get("Location"))
	if !regexp.MustCompile(`Reservation east cancelled\. Refund: \$[0-9,]+\.[0-9]{2}\.`).MatchString(body) || !strings.Contains(body, "state-Cancelled") {
		t.Fatalf("the cancellation is not shown\n%s", body)
	}

	res, body = get(t, c, s.URL+"/portal/billing?granularity=None&groupBy=Deployment")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "acct/dep") || !strings.Contains(body, "<tfoot>") {
		t.Fatalf("billing: %d\n%s", res.StatusCode, body)
	}
	res, body = get(t, c, s.URL+"/portal/billing?from=yesterday")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("billing with a bad date: %d, want 400 with the API's message", res.StatusCode)
	}
}
