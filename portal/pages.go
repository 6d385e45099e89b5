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
	"time"

	"github.com/ptu-dev/ptu/client"
)

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
	api, err := p.apiClient(r, token)
	if err == nil {
		_, err = api.Subscriptions(r.Context())
		err = apiErr(err)
	}
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
	Location client.Location
	Usages   []usage
	Selected bool
}

type calcForm struct {
	Model, SKU                 string
	RPM, Prompt, Output, Cache string
}

type quotaData struct {
	Regions    []regionQuota
	Requests   []client.QuotaRequest
	Models     []client.AccountModel
	Calc       calcForm
	CalcResult *client.CapacityResult
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
		us, err := s.api.ListUsages(s.ctx(), l.Name)
		if err != nil {
			return apiErr(err)
		}
		rq := regionQuota{Location: l, Selected: strings.EqualFold(l.Name, s.v.Region)}
		for _, u := range us {
			rq.Usages = append(rq.Usages, usage{u})
		}
		if rq.Selected {
			d.Regions = append([]regionQuota{rq}, d.Regions...)
		} else {
			d.Regions = append(d.Regions, rq)
		}
	}
	qr, err := s.api.ListQuotaRequests(s.ctx())
	if err != nil {
		return apiErr(err)
	}
	d.Requests = qr
	ms, err := s.api.ListModels(s.ctx(), s.v.Region)
	if err != nil {
		return apiErr(err)
	}
	for _, m := range ms {
		if hasProvisioned(m.Model) {
			d.Models = append(d.Models, m.Model)
			if d.Calc.Model == "" && m.Model.IsDefaultVersion && m.Model.Name == "gpt-4o" {
				d.Calc.Model = m.Model.Name + " " + m.Model.Version
			}
		}
	}
	return nil
}

func hasProvisioned(m client.AccountModel) bool {
	for _, s := range m.SKUs {
		if isProvisioned(s.Name) {
			return true
		}
	}
	return false
}

func (p *Portal) calculate(s *session, f calcForm) (*client.CapacityResult, error) {
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
	res, err := s.api.CalculateModelCapacity(s.ctx(), client.CapacityCalculation{
		Model: client.ModelRef{Format: "OpenAI", Name: name, Version: version}, SKUName: f.SKU,
		Workloads: []client.CapacityWorkload{{RequestsPerMinute: rpm, AvgPromptTokens: prompt, AvgGeneratedTokens: output, CacheRate: cache}}})
	return res, apiErr(err)
}

func (p *Portal) requestQuota(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "quota", "Quota")
	if s == nil {
		return
	}
	limit, _ := strconv.Atoi(strings.TrimSpace(r.FormValue("limit")))
	qr, err := s.api.CreateQuotaRequest(s.ctx(), client.QuotaRequestCreate{Location: r.FormValue("location"),
		SKUName: r.FormValue("sku"), Limit: limit, Reason: r.FormValue("reason")})
	if err = apiErr(err); err != nil {
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
	client.Deployment
	Utilization float64 // peak per-minute utilization V2 in the window
	HasUtil     bool    // a provisioned deployment the metrics answered for
}

type accountRow struct {
	Account     client.Account
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

func (p *Portal) listAccounts(s *session) ([]client.Account, error) {
	as, err := s.api.ListAccounts(s.ctx(), "")
	if err != nil {
		return nil, apiErr(err)
	}
	slices.SortFunc(as, func(a, b client.Account) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Location), strings.ToLower(b.Location)), cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)))
	})
	return as, nil
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
		ds, err := s.api.ListDeployments(s.ctx(), a.ResourceGroup(), a.Name)
		if err != nil {
			return nil, apiErr(err)
		}
		util, err := peakUtilization(s, a.ID)
		if err != nil && !errors.As(err, &row.Error) {
			return nil, err
		}
		for _, dep := range ds {
			dr := deploymentRow{Deployment: dep}
			// An idle provisioned deployment has no series: 0 %.
			if util != nil && isProvisioned(dep.SKUName()) {
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
	m, err := s.api.ListMetrics(s.ctx(), accountID, client.MetricsQuery{Metricnames: []string{"AzureOpenAIProvisionedManagedUtilizationV2"},
		Timespan: "PT15M", Interval: "PT1M", Aggregation: []string{"Average"}, Filter: "ModelDeploymentName eq '*'", Top: 100})
	if err != nil {
		return nil, apiErr(err)
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
	var a *client.Account
	_, err := s.api.GetAccount(s.ctx(), rg, name)
	switch err = apiErr(err); {
	case name == "":
		err = &apiError{Status: 400, Code: "InvalidResourceName", Target: "name", Message: "Enter a resource name."}
	case rg == "":
		err = &apiError{Status: 400, Code: "InvalidResourceGroup", Target: "group", Message: "Enter a resource group."}
	case err == nil:
		err = &apiError{Status: 409, Code: "Conflict", Target: "name", Message: "A resource named '" + name + "' already exists in resource group '" + rg + "'."}
	case isNotFound(err):
		a, err = s.api.CreateAccount(s.ctx(), rg, name, client.AccountCreate{Location: loc, Kind: "OpenAI", SKU: "S0"})
		err = apiErr(err)
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
	if _, err := s.api.DeleteDeployment(s.ctx(), client.ResourceGroupOf(acct), accountName(acct), name); err != nil {
		p.fail(s, apiErr(err))
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
	rg, acctName := client.ResourceGroupOf(acct), accountName(acct)
	before, err := s.api.GetDeployment(s.ctx(), rg, acctName, name)
	var after *client.Deployment
	if err = apiErr(err); err == nil {
		ptus, aerr := strconv.Atoi(strings.TrimSpace(r.FormValue("ptus")))
		if aerr != nil || ptus <= 0 {
			err = &apiError{Status: 400, Code: "InvalidCapacity", Target: "sku.capacity", Message: "Enter the capacity as a whole number."}
		} else {
			after, err = s.api.UpdateDeployment(s.ctx(), rg, acctName, name, client.DeploymentUpdate{SKUName: before.SKUName(), Capacity: ptus})
			err = apiErr(err)
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
	msg := "Deployment " + name + " resized from " + capacityText(before.SKU) + " to " + capacityText(after.SKU) + " of " + after.SKUName() + "."
	if isProvisioned(after.SKUName()) {
		m := after.Properties.Model
		qt, err := s.api.QuotePrice(s.ctx(), client.QuoteRequest{Model: client.ModelRef{Format: "OpenAI", Name: m.Name, Version: m.Version},
			SKUName: after.SKUName(), Capacity: after.Capacity()})
		if err == nil {
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
	Accounts []client.Account
	Account  *client.Account
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
			q := client.MetricsQuery{Metricnames: strings.Split(sp.names, ","), Timespan: tr.Span, Interval: tr.Interval, Aggregation: []string{sp.agg}}
			if sp.filter != "" {
				q.Filter, q.Top = sp.filter, 50
			}
			m, err := s.api.ListMetrics(s.ctx(), d.Account.ID, q)
			if err != nil {
				p.fail(s, apiErr(err))
				return
			}
			d.Charts = append(d.Charts, toChart(sp.id, sp.title, m, sp.total))
		}
	}
	p.render(w, r, "metrics", http.StatusOK, s.v)
}

// chooseAccount is the account named by id, else the first in region, else the first.
func chooseAccount(accts []client.Account, id, region string) *client.Account {
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

func toChart(id, title string, m *client.MetricsResponse, total bool) chart {
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
					c.Times = append(c.Times, d.TimeStamp.Unix())
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
	Reservations []client.Reservation
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
		in := client.ReservationPurchase{DisplayName: d.Form["name"], Location: s.v.Region, SKUName: d.Form["sku"], Quantity: q,
			Term: d.Form["term"], BillingPlan: d.Form["plan"], AutoRenew: d.Form["renew"] != "", Force: d.Form["force"] != "",
			AppliedScopeType: "Subscription"}
		if d.Form["scope"] == "ResourceGroup" {
			in.AppliedScopeType, in.ResourceGroup = "ResourceGroup", d.Form["group"]
		}
		res, err := s.api.PurchaseReservation(s.ctx(), in)
		if err = apiErr(err); err == nil {
			redirect(w, r, Prefix+"reservations", nil, "Reservation of "+strconv.Itoa(res.Properties.Quantity)+" PTUs ("+res.Properties.SKUName+", "+res.Properties.Location+") bought.")
			return
		}
		if !errors.As(err, &d.Error) {
			p.fail(s, err)
			return
		}
		status = d.Error.Status
	}
	rs, err := s.api.ListReservations(s.ctx())
	if err != nil {
		p.fail(s, apiErr(err))
		return
	}
	d.Reservations = rs
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
	id := r.FormValue("id")
	if id == "" {
		p.fail(s, &apiError{Status: 400, Code: "InvalidRequestContent", Target: "id", Message: "No reservation was named."})
		return
	}
	res, err := s.api.CancelReservation(s.ctx(), id)
	if err != nil {
		p.fail(s, apiErr(err))
		return
	}
	msg := "Reservation " + res.Properties.DisplayName + " cancelled."
	if res.Properties.RefundMicros != 0 {
		msg += " Refund: " + usd(float64(res.Properties.RefundMicros)/1e6) + "."
	}
	redirect(w, r, Prefix+"reservations", nil, msg)
}

type billingData struct {
	From, To, Granularity, GroupBy string
	Report                         *client.UsageReport
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
	status := http.StatusOK
	rep, err := p.billingUsage(s, d)
	if err != nil {
		if !errors.As(err, &d.Error) {
			p.fail(s, err)
			return
		}
		status = d.Error.Status
	} else {
		d.Report = rep
	}
	p.render(w, r, "billing", status, s.v)
}

// billingUsage reads the usage report of the page's range and grouping.
func (p *Portal) billingUsage(s *session, d *billingData) (*client.UsageReport, error) {
	q := client.UsageQuery{Granularity: d.Granularity, GroupBy: d.GroupBy}
	var err error
	if q.From, err = rangeTime("from", d.From); err != nil {
		return nil, err
	}
	if q.To, err = rangeTime("to", d.To); err != nil {
		return nil, err
	}
	rep, err := s.api.BillingUsage(s.ctx(), q)
	return rep, apiErr(err)
}

// rangeTime reads a time of the billing form as the API reads its from and
// to parameters (docs/billing.md): RFC 3339, or a date (midnight UTC).
func rangeTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Target: name,
		Message: "'" + name + "' must be a date (2026-03-01) or an RFC 3339 time (2026-03-01T00:00:00Z), not '" + v + "'."}
}

// accountName is the account an account id names (its last segment).
func accountName(id string) string {
	return id[strings.LastIndex(id, "/")+1:]
}

// isNotFound reports whether err is the API's 404.
func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
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
