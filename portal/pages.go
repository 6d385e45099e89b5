package portal

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const cs = "/providers/Microsoft.CognitiveServices"

func (p *Portal) routes() {
	m := p.mux
	m.Handle("GET "+Prefix+"assets/", p.assets)
	m.HandleFunc("GET "+Prefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"quota", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Prefix+"signin", p.signInPage)
	m.HandleFunc("POST "+Prefix+"signin", p.signIn)
	m.HandleFunc("POST "+Prefix+"signout", p.signOut)
	m.HandleFunc("GET "+Prefix+"quota", p.quota)
	m.HandleFunc("POST "+Prefix+"quota/request", p.requestQuota)
	m.HandleFunc("POST "+Prefix+"quota/calc", p.quota)
	m.HandleFunc("GET "+Prefix+"deployments", p.deployments)
	m.HandleFunc("POST "+Prefix+"accounts", p.createAccount)
	m.HandleFunc("POST "+Prefix+"deployments/delete", p.deleteDeployment)
	m.HandleFunc("POST "+Prefix+"deployments/resize", p.resizeDeployment)
	m.HandleFunc("GET "+Prefix+"deployments/new", p.wizard)
	m.HandleFunc("POST "+Prefix+"deployments/new", p.wizard)
	m.HandleFunc("GET "+Prefix+"metrics", p.metricsPage)
	m.HandleFunc("GET "+Prefix+"reservations", p.reservations)
	m.HandleFunc("POST "+Prefix+"reservations", p.reservations)
	m.HandleFunc("POST "+Prefix+"reservations/cancel", p.cancelReservation)
	m.HandleFunc("GET "+Prefix+"billing", p.billingPage)
	m.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
}

// Sign-in.

type signInData struct {
	Next  string
	Error string
}

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "signin", http.StatusOK, &view{Title: "Sign in", Data: signInData{Next: safeNext(r.URL.Query().Get("next"))}})
}

func safeNext(n string) string {
	if !strings.HasPrefix(n, Prefix) || strings.HasPrefix(n, "//") || strings.Contains(n, "\\") {
		return Prefix
	}
	return n
}

func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.FormValue("token"))
	next := safeNext(r.FormValue("next"))
	c := &client{api: p.opt.API, token: token, r: r}
	var subs struct{ Value []subscription }
	err := c.call(http.MethodGet, "/subscriptions", nil, nil, &subs)
	if token == "" || err != nil {
		msg := "The token was refused. Use the server's admin token (ptu serve prints where it is kept)."
		var ae *apiError
		if errors.As(err, &ae) {
			msg = ae.Message
		}
		p.render(w, r, "signin", http.StatusUnauthorized, &view{Title: "Sign in", Data: signInData{Next: next, Error: msg}})
		return
	}
	p.setCookie(w, tokenCookie, token, 0)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	for _, c := range []string{tokenCookie, subCookie, regionCookie} {
		p.setCookie(w, c, "", -1)
	}
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// Quota and the calculator.

type regionQuota struct {
	Location location
	Usages   []usage
	Selected bool
}

type calcForm struct {
	Model, SKU                 string
	RPM, Prompt, Output, Cache string
}

type quotaData struct {
	Regions    []regionQuota
	Requests   []quotaRequest
	Models     []accountModel
	Calc       calcForm
	CalcResult *calcResult
	CalcError  *apiError
	AskError   *apiError
}

func (p *Portal) quota(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "quota", "Quota")
	if s == nil {
		return
	}
	d := &quotaData{Calc: calcForm{RPM: "1000", Prompt: "200", Output: "20", Cache: "0"}}
	s.v.Data = d
	if err := p.loadQuota(s, d); err != nil {
		p.fail(s, err)
		return
	}
	if r.Method == http.MethodPost {
		d.Calc = calcForm{Model: r.FormValue("model"), SKU: r.FormValue("sku"), RPM: r.FormValue("rpm"),
			Prompt: r.FormValue("prompt"), Output: r.FormValue("output"), Cache: r.FormValue("cache")}
		res, err := p.calculate(s, d.Calc)
		if err != nil {
			if !errors.As(err, &d.CalcError) {
				p.fail(s, err)
				return
			}
		}
		d.CalcResult = res
		if r.Header.Get("HX-Request") != "" {
			q := r.URL.Query()
			q.Set("fragment", "calc-result")
			r.URL.RawQuery = q.Encode()
		}
	}
	p.render(w, r, "quota", http.StatusOK, s.v)
}

func (p *Portal) loadQuota(s *session, d *quotaData) error {
	for _, l := range s.v.Regions {
		var us struct{ Value []usage }
		if err := s.call(http.MethodGet, "/subscriptions/"+s.v.Sub+cs+"/locations/"+l.Name+"/usages", nil, nil, &us); err != nil {
			return err
		}
		rq := regionQuota{Location: l, Usages: us.Value, Selected: strings.EqualFold(l.Name, s.v.Region)}
		if rq.Selected {
			d.Regions = append([]regionQuota{rq}, d.Regions...)
		} else {
			d.Regions = append(d.Regions, rq)
		}
	}
	var qr struct{ Value []quotaRequest }
	if err := s.call(http.MethodGet, "/subscriptions/"+s.v.Sub+cs+"/quotaRequests", nil, nil, &qr); err != nil {
		return err
	}
	d.Requests = qr.Value
	var ms struct {
		Value []struct {
			Model accountModel `json:"model"`
		}
	}
	if err := s.call(http.MethodGet, "/subscriptions/"+s.v.Sub+cs+"/locations/"+s.v.Region+"/models", nil, nil, &ms); err != nil {
		return err
	}
	for _, m := range ms.Value {
		if hasProvisioned(m.Model) {
			d.Models = append(d.Models, m.Model)
			if d.Calc.Model == "" && m.Model.IsDefaultVersion && m.Model.Name == "gpt-4o" {
				d.Calc.Model = m.Model.Name + " " + m.Model.Version
			}
		}
	}
	return nil
}

func hasProvisioned(m accountModel) bool {
	for _, s := range m.SKUs {
		if isProvisioned(s.Name) {
			return true
		}
	}
	return false
}

func (p *Portal) calculate(s *session, f calcForm) (*calcResult, error) {
	name, version, _ := strings.Cut(f.Model, " ")
	num := func(field, v string, scale float64) (float64, error) {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, &apiError{Status: 400, Code: "InvalidRequestContent", Target: field, Message: "Enter a number for " + field + "."}
		}
		return x / scale, nil
	}
	rpm, err := num("calls per minute", f.RPM, 1)
	if err != nil {
		return nil, err
	}
	prompt, err := num("prompt tokens", f.Prompt, 1)
	if err != nil {
		return nil, err
	}
	output, err := num("generated tokens", f.Output, 1)
	if err != nil {
		return nil, err
	}
	cache, err := num("cache rate", f.Cache, 100)
	if err != nil {
		return nil, err
	}
	body := map[string]any{
		"model": map[string]string{"format": "OpenAI", "name": name, "version": version},
		"workloads": []any{map[string]any{"requestPerMinute": rpm,
			"requestParameters": map[string]float64{"avgPromptTokens": prompt, "avgGeneratedTokens": output, "cacheRate": cache}}},
	}
	if f.SKU != "" {
		body["skuName"] = f.SKU
	}
	var res calcResult
	if err := s.call(http.MethodPost, "/subscriptions/"+s.v.Sub+cs+"/calculateModelCapacity", nil, body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (p *Portal) requestQuota(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "quota", "Quota")
	if s == nil {
		return
	}
	limit, _ := strconv.Atoi(strings.TrimSpace(r.FormValue("limit")))
	body := map[string]any{"location": r.FormValue("location"), "skuName": r.FormValue("sku"),
		"limit": limit, "reason": r.FormValue("reason")}
	var qr quotaRequest
	if err := s.call(http.MethodPost, "/subscriptions/"+s.v.Sub+cs+"/quotaRequests", nil, body, &qr); err != nil {
		d := &quotaData{Calc: calcForm{RPM: "1000", Prompt: "200", Output: "20", Cache: "0"}}
		s.v.Data = d
		if !errors.As(err, &d.AskError) {
			p.fail(s, err)
			return
		}
		if err := p.loadQuota(s, d); err != nil {
			p.fail(s, err)
			return
		}
		p.render(w, r, "quota", d.AskError.Status, s.v)
		return
	}
	redirect(w, r, Prefix+"quota", nil, "Quota request for "+strconv.Itoa(limit)+" PTUs of "+qr.Properties.SKUName+
		" in "+qr.Properties.Location+" sent: "+qr.Properties.State+". An operator approves or rejects it.")
}

// Deployments.

type deploymentRow struct {
	deployment
	Utilization float64 // peak per-minute utilization V2 in the window
	HasUtil     bool    // a provisioned deployment the metrics answered for
}

type accountRow struct {
	Account     account
	Deployments []deploymentRow
	Error       *apiError
}

type deploymentsData struct {
	Accounts    []accountRow
	Groups      []string
	NewName     string
	CreateError *apiError
}

func (p *Portal) deployments(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "deployments", "Deployments")
	if s == nil {
		return
	}
	d, err := p.loadDeployments(s)
	if err != nil {
		p.fail(s, err)
		return
	}
	s.v.Data = d
	p.render(w, r, "deployments", http.StatusOK, s.v)
}

func (p *Portal) listAccounts(s *session) ([]account, error) {
	var as struct{ Value []account }
	if err := s.call(http.MethodGet, "/subscriptions/"+s.v.Sub+cs+"/accounts", nil, nil, &as); err != nil {
		return nil, err
	}
	slices.SortFunc(as.Value, func(a, b account) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Location), strings.ToLower(b.Location)), cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)))
	})
	return as.Value, nil
}

func (p *Portal) loadDeployments(s *session) (*deploymentsData, error) {
	accts, err := p.listAccounts(s)
	if err != nil {
		return nil, err
	}
	d := &deploymentsData{}
	groups := map[string]bool{}
	for _, a := range accts {
		groups[a.ResourceGroup()] = true
		row := accountRow{Account: a}
		var ds struct{ Value []deployment }
		if err := s.call(http.MethodGet, a.ID+"/deployments", nil, nil, &ds); err != nil {
			return nil, err
		}
		util, err := peakUtilization(s, a.ID)
		if err != nil && !errors.As(err, &row.Error) {
			return nil, err
		}
		for _, dep := range ds.Value {
			dr := deploymentRow{deployment: dep}
			// An idle provisioned deployment has no series: 0 %.
			if util != nil && isProvisioned(dep.SKU.Name) {
				dr.Utilization, dr.HasUtil = util[strings.ToLower(dep.Name)], true
			}
			row.Deployments = append(row.Deployments, dr)
		}
		d.Accounts = append(d.Accounts, row)
	}
	for g := range groups {
		d.Groups = append(d.Groups, g)
	}
	slices.Sort(d.Groups)
	return d, nil
}

// peakUtilization reads, per deployment of an account, the highest
// per-minute utilization V2 (Average) of the last 15 minutes.
func peakUtilization(s *session, accountID string) (map[string]float64, error) {
	q := url.Values{"metricnames": {"AzureOpenAIProvisionedManagedUtilizationV2"}, "timespan": {"PT15M"},
		"interval": {"PT1M"}, "aggregation": {"Average"}, "$filter": {"ModelDeploymentName eq '*'"}, "top": {"100"}}
	var m metricsAnswer
	if err := s.call(http.MethodGet, accountID+"/providers/Microsoft.Insights/metrics", q, nil, &m); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, v := range m.Value {
		for _, ts := range v.Timeseries {
			if len(ts.Metadatavalues) == 0 {
				continue
			}
			name := strings.ToLower(ts.Metadatavalues[0].Value)
			peak := 0.0
			for _, d := range ts.Data {
				if d.Average != nil && *d.Average > peak {
					peak = *d.Average
				}
			}
			out[name] = peak
		}
	}
	return out, nil
}

func (p *Portal) createAccount(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "deployments", "Deployments")
	if s == nil {
		return
	}
	name := strings.TrimSpace(r.FormValue("name"))
	rg := strings.TrimSpace(r.FormValue("group"))
	loc := r.FormValue("location")
	body := map[string]any{"location": loc, "kind": "OpenAI", "sku": map[string]string{"name": "S0"}}
	var a account
	path := "/subscriptions/" + s.v.Sub + "/resourceGroups/" + url.PathEscape(rg) + cs + "/accounts/" + url.PathEscape(name)
	err := s.call(http.MethodGet, path, nil, nil, nil)
	if err == nil {
		err = &apiError{Status: 409, Code: "Conflict", Target: "name", Message: "A resource named '" + name + "' already exists in resource group '" + rg + "'."}
	} else if ae := (*apiError)(nil); errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		err = s.call(http.MethodPut, path, nil, body, &a)
	}
	if err != nil {
		d, lerr := p.loadDeployments(s)
		if lerr != nil {
			p.fail(s, lerr)
			return
		}
		if !errors.As(err, &d.CreateError) {
			p.fail(s, err)
			return
		}
		d.NewName = name
		s.v.Data = d
		p.render(w, r, "deployments", d.CreateError.Status, s.v)
		return
	}
	redirect(w, r, Prefix+"deployments", url.Values{"region": {a.Location}}, "Resource "+a.Name+" created in "+regionName(s.v.Regions, a.Location)+".")
}

func (p *Portal) deleteDeployment(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "deployments", "Deployments")
	if s == nil {
		return
	}
	acct, name := r.FormValue("account"), r.FormValue("deployment")
	if !strings.HasPrefix(strings.ToLower(acct), strings.ToLower("/subscriptions/"+s.v.Sub+"/")) {
		p.fail(s, &apiError{Status: 400, Code: "InvalidResourceProperties", Message: "Unknown resource."})
		return
	}
	if err := s.call(http.MethodDelete, acct+"/deployments/"+url.PathEscape(name), nil, nil, nil); err != nil {
		p.fail(s, err)
		return
	}
	redirect(w, r, Prefix+"deployments", nil, "Deployment "+name+" deleted.")
}

// resizeDeployment changes a deployment's capacity (PATCH of its sku), as
// the Azure portal's "Edit deployment" does. The service checks the size,
// the quota and the capacity; a refusal is shown above the list.
func (p *Portal) resizeDeployment(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "deployments", "Deployments")
	if s == nil {
		return
	}
	acct, name := r.FormValue("account"), r.FormValue("deployment")
	if !strings.HasPrefix(strings.ToLower(acct), strings.ToLower("/subscriptions/"+s.v.Sub+"/")) {
		p.fail(s, &apiError{Status: 400, Code: "InvalidResourceProperties", Message: "Unknown resource."})
		return
	}
	path := acct + "/deployments/" + url.PathEscape(name)
	var before, after deployment
	err := s.call(http.MethodGet, path, nil, nil, &before)
	if err == nil {
		ptus, aerr := strconv.Atoi(strings.TrimSpace(r.FormValue("ptus")))
		if aerr != nil || ptus <= 0 {
			err = &apiError{Status: 400, Code: "InvalidCapacity", Target: "sku.capacity", Message: "Enter the capacity as a whole number."}
		} else {
			err = s.call(http.MethodPatch, path, nil, map[string]any{"sku": map[string]any{"name": before.SKU.Name, "capacity": ptus}}, &after)
		}
	}
	if err != nil {
		d, lerr := p.loadDeployments(s)
		if lerr != nil {
			p.fail(s, lerr)
			return
		}
		if !errors.As(err, &d.CreateError) {
			p.fail(s, err)
			return
		}
		s.v.Data = d
		p.render(w, r, "deployments", d.CreateError.Status, s.v)
		return
	}
	msg := "Deployment " + name + " resized from " + capacityText(before.SKU) + " to " + capacityText(after.SKU) + " of " + after.SKU.Name + "."
	if isProvisioned(after.SKU.Name) {
		q := url.Values{"modelFormat": {"OpenAI"}, "modelName": {after.Properties.Model.Name}, "modelVersion": {after.Properties.Model.Version},
			"skuName": {after.SKU.Name}, "capacity": {strconv.Itoa(after.SKU.Capacity)}}
		var qt quote
		if s.call(http.MethodGet, cs+"/pricing/quote", q, nil, &qt) == nil {
			msg += " It now costs " + usd(float64(qt.HourlyMicros)/1e6) + " per hour at the list price."
		}
	}
	redirect(w, r, Prefix+"deployments", nil, msg)
}

// Metrics.

type chartSeries struct {
	Label  string     `json:"label"`
	Values []*float64 `json:"values"`
	Points int        `json:"-"` // values present
	Max    float64    `json:"-"`
	Last   string     `json:"-"` // the latest value present, formatted
}

type chart struct {
	ID      string        `json:"id"`
	Title   string        `json:"title"`
	Unit    string        `json:"unit"`
	Times   []int64       `json:"times"`
	Series  []chartSeries `json:"series"`
	Summary string        `json:"-"`
}

type metricsData struct {
	Accounts []account
	Account  *account
	Range    string
	Ranges   []timeRange
	Charts   []chart
	Refresh  string // the page's own URL, for the periodic refresh
}

type timeRange struct{ Value, Label, Span, Interval string }

var ranges = []timeRange{
	{"30m", "Last 30 minutes", "PT30M", "PT1M"},
	{"1h", "Last hour", "PT1H", "PT1M"},
	{"6h", "Last 6 hours", "PT6H", "PT1M"},
	{"1d", "Last 24 hours", "P1D", "PT5M"},
	{"7d", "Last 7 days", "P7D", "PT1H"},
}

func (p *Portal) metricsPage(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "metrics", "Metrics")
	if s == nil {
		return
	}
	accts, err := p.listAccounts(s)
	if err != nil {
		p.fail(s, err)
		return
	}
	d := &metricsData{Accounts: accts, Range: r.URL.Query().Get("range"), Ranges: ranges}
	s.v.Data = d
	tr := ranges[1]
	for _, x := range ranges {
		if x.Value == d.Range {
			tr = x
		}
	}
	d.Range = tr.Value
	d.Account = chooseAccount(accts, r.URL.Query().Get("account"), s.v.Region)
	if d.Account != nil {
		d.Refresh = Prefix + "metrics?" + url.Values{"account": {d.Account.ID}, "range": {d.Range}}.Encode()
		specs := []struct {
			id, title, names, agg, filter string
			total                         bool
		}{
			{"utilization", "Provisioned-managed utilization V2 by deployment (Average, %)", "AzureOpenAIProvisionedManagedUtilizationV2", "Average", "ModelDeploymentName eq '*'", false},
			{"requests", "Requests by status code (Total)", "AzureOpenAIRequests", "Total", "StatusCode eq '*'", true},
			{"tokens", "Tokens (Total)", "ProcessedPromptTokens,GeneratedTokens", "Total", "", true},
			{"latency", "Latency (Average, ms)", "AzureOpenAITimeToResponse,AzureOpenAITTLTInMS", "Average", "", false},
		}
		for _, sp := range specs {
			q := url.Values{"metricnames": {sp.names}, "timespan": {tr.Span}, "interval": {tr.Interval}, "aggregation": {sp.agg}}
			if sp.filter != "" {
				q.Set("$filter", sp.filter)
				q.Set("top", "50")
			}
			var m metricsAnswer
			if err := s.call(http.MethodGet, d.Account.ID+"/providers/Microsoft.Insights/metrics", q, nil, &m); err != nil {
				p.fail(s, err)
				return
			}
			d.Charts = append(d.Charts, toChart(sp.id, sp.title, m, sp.total))
		}
	}
	p.render(w, r, "metrics", http.StatusOK, s.v)
}

// chooseAccount is the account named by id, else the first in region, else the first.
func chooseAccount(accts []account, id, region string) *account {
	for i := range accts {
		if strings.EqualFold(accts[i].ID, id) {
			return &accts[i]
		}
	}
	for i := range accts {
		if strings.EqualFold(accts[i].Location, region) {
			return &accts[i]
		}
	}
	if len(accts) > 0 {
		return &accts[0]
	}
	return nil
}

func toChart(id, title string, m metricsAnswer, total bool) chart {
	c := chart{ID: id, Title: title, Series: []chartSeries{}}
	var peak float64
	var peakLabel string
	for _, v := range m.Value {
		c.Unit = v.Unit
		for _, ts := range v.Timeseries {
			label := v.Name.LocalizedValue
			if len(ts.Metadatavalues) > 0 {
				label = ts.Metadatavalues[0].Value
				if len(m.Value) > 1 {
					label = v.Name.LocalizedValue + " " + label
				}
			}
			if c.Times == nil {
				for _, d := range ts.Data {
					if t, err := parseTime(d.TimeStamp); err == nil {
						c.Times = append(c.Times, t)
					}
				}
			}
			vals := make([]*float64, len(ts.Data))
			ser := chartSeries{Label: label}
			for i, d := range ts.Data {
				x := d.Average
				if total {
					x = d.Total
				}
				vals[i] = x
				if x == nil {
					continue
				}
				if *x > peak {
					peak, peakLabel = *x, label
				}
				ser.Points++
				ser.Max = max(ser.Max, *x)
				ser.Last = numText(*x)
			}
			ser.Values = vals
			c.Series = append(c.Series, ser)
		}
	}
	switch {
	case len(c.Series) == 0:
		c.Summary = "No data in this time range."
	case peak == 0:
		c.Summary = "All values are zero in this time range."
	default:
		c.Summary = strings.Replace(fmt.Sprintf("Highest value %s %s (%s).", numText(peak), unitWord(c.Unit), peakLabel), "  ", " ", 1)
	}
	return c
}

// Reservations and billing.

type reservationsData struct {
	Reservations []reservation
	Groups       []string
	Form         map[string]string
	Error        *apiError
}

func (p *Portal) reservations(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "reservations", "Reservations")
	if s == nil {
		return
	}
	d := &reservationsData{Form: map[string]string{"term": "P1M", "plan": "Monthly", "sku": provisioned[0], "quantity": "15"}}
	s.v.Data = d
	status := http.StatusOK
	if r.Method == http.MethodPost {
		for _, k := range []string{"name", "sku", "quantity", "term", "plan", "scope", "group", "renew", "force"} {
			d.Form[k] = r.FormValue(k)
		}
		q, _ := strconv.Atoi(strings.TrimSpace(d.Form["quantity"]))
		body := map[string]any{"displayName": d.Form["name"], "location": s.v.Region, "skuName": d.Form["sku"], "quantity": q,
			"term": d.Form["term"], "billingPlan": d.Form["plan"], "autoRenew": d.Form["renew"] != "", "force": d.Form["force"] != "",
			"appliedScopeType": "Subscription"}
		if d.Form["scope"] == "ResourceGroup" {
			body["appliedScopeType"], body["resourceGroup"] = "ResourceGroup", d.Form["group"]
		}
		var res reservation
		err := s.call(http.MethodPost, "/subscriptions/"+s.v.Sub+cs+"/reservations", nil, body, &res)
		if err == nil {
			redirect(w, r, Prefix+"reservations", nil, "Reservation of "+strconv.Itoa(res.Properties.Quantity)+" PTUs ("+res.Properties.SKUName+", "+res.Properties.Location+") bought.")
			return
		}
		if !errors.As(err, &d.Error) {
			p.fail(s, err)
			return
		}
		status = d.Error.Status
	}
	var rs struct{ Value []reservation }
	if err := s.call(http.MethodGet, "/subscriptions/"+s.v.Sub+cs+"/reservations", nil, nil, &rs); err != nil {
		p.fail(s, err)
		return
	}
	d.Reservations = rs.Value
	slices.Reverse(d.Reservations)
	accts, err := p.listAccounts(s)
	if err != nil {
		p.fail(s, err)
		return
	}
	seen := map[string]bool{}
	for _, a := range accts {
		if g := a.ResourceGroup(); !seen[g] {
			seen[g] = true
			d.Groups = append(d.Groups, g)
		}
	}
	p.render(w, r, "reservations", status, s.v)
}

func (p *Portal) cancelReservation(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "reservations", "Reservations")
	if s == nil {
		return
	}
	var res reservation
	if err := s.call(http.MethodPost, "/subscriptions/"+s.v.Sub+cs+"/reservations/"+url.PathEscape(r.FormValue("id"))+"/cancel", nil, nil, &res); err != nil {
		p.fail(s, err)
		return
	}
	msg := "Reservation " + res.Properties.DisplayName + " cancelled."
	if res.Properties.RefundMicros != nil {
		msg += " Refund: " + usd(float64(*res.Properties.RefundMicros)/1e6) + "."
	}
	redirect(w, r, Prefix+"reservations", nil, msg)
}

type billingData struct {
	From, To, Granularity, GroupBy string
	Report                         *usageReport
	Error                          *apiError
}

func (p *Portal) billingPage(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "billing", "Billing")
	if s == nil {
		return
	}
	q := r.URL.Query()
	d := &billingData{From: q.Get("from"), To: q.Get("to"), Granularity: cmp.Or(q.Get("granularity"), "None"), GroupBy: cmp.Or(q.Get("groupBy"), "Deployment")}
	s.v.Data = d
	aq := url.Values{"granularity": {d.Granularity}, "groupBy": {d.GroupBy}}
	if d.From != "" {
		aq.Set("from", d.From)
	}
	if d.To != "" {
		aq.Set("to", d.To)
	}
	var rep usageReport
	status := http.StatusOK
	if err := s.call(http.MethodGet, "/subscriptions/"+s.v.Sub+cs+"/billing/usage", aq, nil, &rep); err != nil {
		if !errors.As(err, &d.Error) {
			p.fail(s, err)
			return
		}
		status = d.Error.Status
	} else {
		d.Report = &rep
	}
	p.render(w, r, "billing", status, s.v)
}

func unitWord(u string) string {
	switch u {
	case "Percent":
		return "%"
	case "MilliSeconds":
		return "ms"
	}
	return ""
}
