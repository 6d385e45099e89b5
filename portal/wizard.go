package portal

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ptu-dev/ptu/client"
)

// The deployment wizard: the Azure guide's "Deploy model" form, its
// advanced options, the pricing confirmation, and the way out of a capacity
// shortage ("see other regions", "switch resource").

type wizardForm struct {
	Account, Model, Version, Name, Policy, SKU, PTUs, Upgrade, Spillover string
	Confirmed                                                            string // the key of the price the user saw
}

// key identifies what the price was quoted for.
func (f wizardForm) key() string {
	return strings.Join([]string{strings.ToLower(f.Account), f.Model, f.Version, f.SKU, f.PTUs}, "|")
}

// Query is the form as query parameters (for "switch resource" and links).
func (f wizardForm) Query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"account": f.Account, "model": f.Model, "version": f.Version, "name": f.Name,
		"policy": f.Policy, "sku": f.SKU, "ptus": f.PTUs, "upgrade": f.Upgrade, "spillover": f.Spillover} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

type skuOption struct {
	Name     string
	Capacity client.CapacityRange
}

type otherRegion struct {
	Location    string
	DisplayName string
	Max         int
	Fits        bool
	Current     bool
	Accounts    []client.Account
}

// availability is what the chosen type allows in the resource's region now:
// the subscription's quota for the type and the largest deployment the
// fleet can place (modelCapacities, which counts the quota too). The
// wizard shows it beside the PTUs and checks a size against it before the
// price, as the Azure portal does.
type availability struct {
	QuotaUsed, QuotaLimit, QuotaFree int
	Available                        int
}

type wizardData struct {
	Avail      *availability
	Accounts   []client.Account
	Account    *client.Account
	ModelNames []string
	Versions   []client.AccountModel
	SKUs       []skuOption
	SKU        *skuOption
	Policies   []string
	Spillovers []string
	Form       wizardForm
	Quote      *client.Quote
	QuoteKey   string
	Error      *apiError
	Short      *client.CapacityShortage
	Others     []otherRegion
	Created    string
}

func (p *Portal) wizard(w http.ResponseWriter, r *http.Request) {
	s := p.begin(w, r, "deployments", "Deploy model")
	if s == nil {
		return
	}
	_ = r.ParseForm()
	f := wizardForm{Account: r.Form.Get("account"), Model: r.Form.Get("model"), Version: r.Form.Get("version"),
		Name: strings.TrimSpace(r.Form.Get("name")), Policy: r.Form.Get("policy"), SKU: r.Form.Get("sku"),
		PTUs: strings.TrimSpace(r.Form.Get("ptus")), Upgrade: r.Form.Get("upgrade"), Spillover: r.Form.Get("spillover"),
		Confirmed: r.Form.Get("confirmed")}
	if v := r.Form.Get("use_ptus"); v != "" {
		f.PTUs = v
	}
	d := &wizardData{Form: f}
	s.v.Data = d
	accts, err := p.listAccounts(s)
	if err != nil {
		p.fail(s, err)
		return
	}
	d.Accounts = accts
	d.Account = chooseAccount(accts, f.Account, s.v.Region)
	if d.Account == nil {
		p.render(w, r, "wizard", http.StatusOK, s.v)
		return
	}
	if !strings.EqualFold(d.Account.Location, s.v.Region) {
		s.v.Region = d.Account.Location
		p.setCookie(w, regionCookie, s.v.Region, 0)
	}
	if err := p.wizardChoices(s, d); err != nil {
		p.fail(s, err)
		return
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		status = p.wizardStep(s, d, r.Form.Get("step"))
		if status == 0 {
			return
		}
	}
	p.render(w, r, "wizard", status, s.v)
}

// wizardChoices fills the pickers for the chosen account and normalizes the
// form to them (a model, version and type the account's region offers).
func (p *Portal) wizardChoices(s *session, d *wizardData) error {
	a := d.Account
	f := &d.Form
	f.Account = a.ID
	ms, err := s.api.ListAccountModels(s.ctx(), a.ResourceGroup(), a.Name)
	if err != nil {
		return apiErr(err)
	}
	var models []client.AccountModel
	for _, m := range ms {
		if hasProvisioned(m) {
			models = append(models, m)
			if !slices.Contains(d.ModelNames, m.Name) {
				d.ModelNames = append(d.ModelNames, m.Name)
			}
		}
	}
	if !slices.Contains(d.ModelNames, f.Model) && len(d.ModelNames) > 0 {
		f.Model = d.ModelNames[0]
		if slices.Contains(d.ModelNames, "gpt-4o") {
			f.Model = "gpt-4o"
		}
	}
	var def string
	for _, m := range models {
		if m.Name == f.Model {
			d.Versions = append(d.Versions, m)
			if m.IsDefaultVersion || def == "" {
				def = m.Version
			}
		}
	}
	if !slices.ContainsFunc(d.Versions, func(m client.AccountModel) bool { return m.Version == f.Version }) {
		f.Version = def
	}
	for _, m := range d.Versions {
		if m.Version != f.Version {
			continue
		}
		for _, typ := range append(provisioned[:len(provisioned):len(provisioned)], standard...) {
			for _, sk := range m.SKUs {
				if sk.Name == typ {
					d.SKUs = append(d.SKUs, skuOption{Name: sk.Name, Capacity: sk.Capacity})
				}
			}
		}
	}
	if !slices.ContainsFunc(d.SKUs, func(o skuOption) bool { return o.Name == f.SKU }) && len(d.SKUs) > 0 {
		f.SKU = d.SKUs[0].Name
	}
	for i := range d.SKUs {
		if d.SKUs[i].Name == f.SKU {
			d.SKU = &d.SKUs[i]
		}
	}
	if f.PTUs == "" && d.SKU != nil {
		f.PTUs = strconv.Itoa(d.SKU.Capacity.Default)
	}
	if isProvisioned(f.SKU) {
		av, err := p.availability(s, a.Location, f)
		if err != nil {
			return err
		}
		d.Avail = av
	}
	pols, err := s.api.ListRAIPolicies(s.ctx(), a.ResourceGroup(), a.Name)
	if err != nil {
		return apiErr(err)
	}
	d.Policies = []string{"Microsoft.DefaultV2", "Microsoft.Default"}
	for _, pol := range pols {
		if !slices.Contains(d.Policies, pol.Name) {
			d.Policies = append(d.Policies, pol.Name)
		}
	}
	if !slices.Contains(d.Policies, f.Policy) {
		f.Policy = d.Policies[0]
	}
	if f.Upgrade == "" {
		f.Upgrade = "OnceNewDefaultVersionAvailable"
	}
	deps, err := s.api.ListDeployments(s.ctx(), a.ResourceGroup(), a.Name)
	if err != nil {
		return apiErr(err)
	}
	for _, dep := range deps {
		if !isProvisioned(dep.SKUName()) {
			d.Spillovers = append(d.Spillovers, dep.Name)
		}
	}
	if !slices.Contains(d.Spillovers, f.Spillover) {
		f.Spillover = ""
	}
	return nil
}

// availability reads the quota of the form's type in loc and the largest
// deployment of its model, version and type possible there now.
func (p *Portal) availability(s *session, loc string, f *wizardForm) (*availability, error) {
	us, err := s.api.ListUsages(s.ctx(), loc)
	if err != nil {
		return nil, apiErr(err)
	}
	av := &availability{}
	for _, u := range us {
		if strings.EqualFold(usage{u}.SKU(), f.SKU) {
			av.QuotaUsed, av.QuotaLimit = u.CurrentValue, u.Limit
			av.QuotaFree = max(0, av.QuotaLimit-av.QuotaUsed)
		}
	}
	mc, err := s.api.ListModelCapacities(s.ctx(), client.ModelCapacityQuery{Format: "OpenAI", Name: f.Model, Version: f.Version, Location: loc})
	if err != nil {
		return nil, apiErr(err)
	}
	for _, c := range mc {
		if strings.EqualFold(c.Properties.SKUName, f.SKU) || strings.EqualFold(c.Name, f.SKU) {
			av.Available = c.Properties.AvailableCapacity
		}
	}
	return av, nil
}

// deploymentNameRE is ARM's rule for deployment names
// (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftcognitiveservices),
// checked before the price as the Azure portal checks it while the name is typed.
var deploymentNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$`)

// wizardStep runs "review" (quote the price and ask to confirm it) or
// "create" (create the deployment at the confirmed price). It returns the
// status of the page to render, or 0 when it answered (a redirect).
func (p *Portal) wizardStep(s *session, d *wizardData, step string) int {
	f := &d.Form
	if f.Name == "" {
		d.Error = &apiError{Status: 400, Code: "InvalidResourceName", Target: "name", Message: "Enter a deployment name."}
		return http.StatusBadRequest
	}
	if !deploymentNameRE.MatchString(f.Name) {
		d.Error = &apiError{Status: 400, Code: "InvalidResourceName", Target: "name",
			Message: "Deployment name '" + f.Name + "' is invalid. It must be 2-64 characters of letters, digits, '-', '_' and '.', starting with a letter or digit."}
		return http.StatusBadRequest
	}
	ptus, err := strconv.Atoi(f.PTUs)
	if err != nil || ptus <= 0 {
		d.Error = &apiError{Status: 400, Code: "InvalidCapacity", Target: "sku.capacity", Message: "Enter the capacity as a whole number."}
		return http.StatusBadRequest
	}
	if step == "create" && f.Confirmed == f.key() {
		return p.create(s, d, ptus)
	}
	// Review (or a create whose fields changed since the price was shown).
	// The name, the size, the quota and the capacity are checked first, so
	// the price is confirmed only for a deployment that can be created now.
	if st := p.nameTaken(s, d); st != 0 {
		return max(st, 0) // -1: it answered
	}
	qt, err := s.api.QuotePrice(s.ctx(), client.QuoteRequest{Model: client.ModelRef{Format: "OpenAI", Name: f.Model, Version: f.Version},
		SKUName: f.SKU, Capacity: ptus})
	if err = apiErr(err); err != nil {
		if !errors.As(err, &d.Error) {
			p.fail(s, err)
			return 0
		}
		return d.Error.Status
	}
	if av := d.Avail; av != nil {
		region := regionName(s.v.Regions, d.Account.Location)
		switch {
		case ptus > av.QuotaFree:
			d.Error = &apiError{Status: 400, Code: "InsufficientQuota", Target: "sku.capacity",
				Message: fmt.Sprintf("%d PTUs of %s do not fit your quota in %s: %d of %d are used, %d are free.",
					ptus, f.SKU, region, av.QuotaUsed, av.QuotaLimit, av.QuotaFree)}
			return d.Error.Status
		case ptus > av.Available:
			d.Error = &apiError{Status: 409, Code: "InsufficientResourcesAvailable", Target: "sku.capacity",
				Message: fmt.Sprintf("The capacity of %s %s (%s) in %s cannot take %d PTUs now: %d can be deployed here.",
					f.Model, f.Version, f.SKU, region, ptus, av.Available)}
			d.Short = &client.CapacityShortage{Requested: ptus, DeployableNow: av.Available, QuotaFree: av.QuotaFree}
			if err := p.otherRegions(s, d, ptus); err != nil {
				p.fail(s, err)
				return 0
			}
			return d.Error.Status
		}
	}
	d.Quote, d.QuoteKey = qt, f.key()
	return http.StatusOK
}

// nameTaken refuses a name a deployment of the resource already has: the
// wizard creates, it does not replace. It returns the page's status, 0 when
// the name is free, or -1 when it answered (an error page).
func (p *Portal) nameTaken(s *session, d *wizardData) int {
	_, err := s.api.GetDeployment(s.ctx(), d.Account.ResourceGroup(), d.Account.Name, d.Form.Name)
	if err = apiErr(err); err == nil {
		d.Error = &apiError{Status: 409, Code: "Conflict", Target: "name",
			Message: "A deployment named '" + d.Form.Name + "' already exists in " + d.Account.Name + ". Choose another name."}
		return http.StatusConflict
	}
	if isNotFound(err) {
		return 0
	}
	if !errors.As(err, &d.Error) {
		p.fail(s, err)
		return -1
	}
	return d.Error.Status
}

func (p *Portal) create(s *session, d *wizardData, ptus int) int {
	f := &d.Form
	in := client.DeploymentCreate{Model: client.ModelRef{Format: "OpenAI", Name: f.Model, Version: f.Version},
		SKUName: f.SKU, Capacity: ptus, CapacitySet: true, RaiPolicyName: f.Policy, VersionUpgradeOption: f.Upgrade,
		SpilloverDeploymentName: f.Spillover}
	rg, acct := d.Account.ResourceGroup(), d.Account.Name
	// The wizard creates; it does not replace a deployment of the same name.
	_, err := s.api.GetDeployment(s.ctx(), rg, acct, f.Name)
	if err = apiErr(err); err == nil {
		d.Error = &apiError{Status: 409, Code: "Conflict", Target: "name",
			Message: "A deployment named '" + f.Name + "' already exists in " + d.Account.Name + ". Choose another name."}
		return http.StatusConflict
	}
	if isNotFound(err) {
		var dep *client.Deployment
		dep, err = s.api.CreateDeployment(s.ctx(), rg, acct, f.Name, in)
		if err = apiErr(err); err == nil {
			redirect(s.w, s.r, Prefix+"deployments", url.Values{"region": {d.Account.Location}},
				"Deployment "+dep.Name+" created: "+capacityText(dep.SKU)+" of "+dep.SKUName()+" ("+
					dep.Properties.Model.Name+" "+dep.Properties.Model.Version+") in "+d.Account.Name+".")
			return 0
		}
	}
	if !errors.As(err, &d.Error) {
		p.fail(s, err)
		return 0
	}
	if d.Error.Code == "InsufficientResourcesAvailable" {
		d.Short = d.Error.Shortage()
		if d.Short == nil {
			d.Short = &client.CapacityShortage{Requested: ptus}
		}
		if err := p.otherRegions(s, d, ptus); err != nil {
			p.fail(s, err)
			return 0
		}
	}
	return d.Error.Status
}

// otherRegions is the "see other regions" dialog: for the model, version and
// type asked, the largest deployment possible now in each region
// (modelCapacities) and the user's resources there.
func (p *Portal) otherRegions(s *session, d *wizardData, ptus int) error {
	f := d.Form
	mc, err := s.api.ListModelCapacities(s.ctx(), client.ModelCapacityQuery{Format: "OpenAI", Name: f.Model, Version: f.Version})
	if err != nil {
		return apiErr(err)
	}
	for _, c := range mc {
		if !strings.EqualFold(c.Properties.SKUName, f.SKU) && !strings.EqualFold(c.Name, f.SKU) {
			continue
		}
		o := otherRegion{Location: c.Location, DisplayName: regionName(s.v.Regions, c.Location), Max: c.Properties.AvailableCapacity,
			Fits: c.Properties.AvailableCapacity >= ptus, Current: strings.EqualFold(c.Location, d.Account.Location)}
		for _, a := range d.Accounts {
			if strings.EqualFold(a.Location, c.Location) {
				o.Accounts = append(o.Accounts, a)
			}
		}
		d.Others = append(d.Others, o)
	}
	slices.SortStableFunc(d.Others, func(a, b otherRegion) int {
		return cmp.Or(cmp.Compare(b.Max, a.Max), cmp.Compare(a.DisplayName, b.DisplayName))
	})
	return nil
}

// SwitchFields is the wizard's form moved to another account: the hidden
// fields of a "switch resource" button.
func (d *wizardData) SwitchFields(a client.Account) map[string]string {
	f := d.Form
	f.Account = a.ID
	out := map[string]string{"region": a.Location}
	for k, v := range f.Query() {
		out[k] = v[0]
	}
	return out
}

// DeployHere is the "use the deployable PTUs here" value, as text.
func (d *wizardData) DeployHere() string { return strconv.Itoa(d.Short.DeployableNow) }

// capacityText is a deployment's size: PTUs, or thousands of tokens per
// minute for a Standard type.
func capacityText(s *client.SKU) string {
	if s == nil {
		return ""
	}
	c := 0
	if s.Capacity != nil {
		c = *s.Capacity
	}
	if isProvisioned(s.Name) {
		return strconv.Itoa(c) + " PTUs"
	}
	return strconv.Itoa(c) + "K TPM"
}
