package portal

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
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
	Capacity skuCapacity
}

type shortage struct {
	Requested     int `json:"requested"`
	DeployableNow int `json:"deployableNow"`
	QuotaFree     int `json:"quotaFree"`
	Alternatives  []struct {
		Location    string `json:"location"`
		MaxCapacity int    `json:"maxCapacity"`
	} `json:"alternatives"`
}

type otherRegion struct {
	Location    string
	DisplayName string
	Max         int
	Fits        bool
	Current     bool
	Accounts    []account
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
	Accounts   []account
	Account    *account
	ModelNames []string
	Versions   []accountModel
	SKUs       []skuOption
	SKU        *skuOption
	Policies   []string
	Spillovers []string
	Form       wizardForm
	Quote      *quote
	QuoteKey   string
	Error      *apiError
	Short      *shortage
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
	var ms struct{ Value []accountModel }
	if err := s.call(http.MethodGet, a.ID+"/models", nil, nil, &ms); err != nil {
		return err
	}
	var models []accountModel
	for _, m := range ms.Value {
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
	if !slices.ContainsFunc(d.Versions, func(m accountModel) bool { return m.Version == f.Version }) {
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
	var pols struct {
		Value []struct{ Name string }
	}
	if err := s.call(http.MethodGet, a.ID+"/raiPolicies", nil, nil, &pols); err != nil {
		return err
	}
	d.Policies = []string{"Microsoft.DefaultV2", "Microsoft.Default"}
	for _, pol := range pols.Value {
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
	var deps struct{ Value []deployment }
	if err := s.call(http.MethodGet, a.ID+"/deployments", nil, nil, &deps); err != nil {
		return err
	}
	for _, dep := range deps.Value {
		if !isProvisioned(dep.SKU.Name) {
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
	base := "/subscriptions/" + s.v.Sub + cs + "/locations/" + url.PathEscape(loc)
	var us struct{ Value []usage }
	if err := s.call(http.MethodGet, base+"/usages", nil, nil, &us); err != nil {
		return nil, err
	}
	av := &availability{}
	for _, u := range us.Value {
		if strings.EqualFold(u.SKU(), f.SKU) {
			av.QuotaUsed, av.QuotaLimit = int(u.CurrentValue), int(u.Limit)
			av.QuotaFree = max(0, av.QuotaLimit-av.QuotaUsed)
		}
	}
	q := url.Values{"modelFormat": {"OpenAI"}, "modelName": {f.Model}, "modelVersion": {f.Version}}
	var mc struct{ Value []modelCapacity }
	if err := s.call(http.MethodGet, base+"/modelCapacities", q, nil, &mc); err != nil {
		return nil, err
	}
	for _, c := range mc.Value {
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
	q := url.Values{"modelFormat": {"OpenAI"}, "modelName": {f.Model}, "modelVersion": {f.Version},
		"skuName": {f.SKU}, "capacity": {f.PTUs}}
	var qt quote
	if err := s.call(http.MethodGet, cs+"/pricing/quote", q, nil, &qt); err != nil {
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
			d.Short = &shortage{Requested: ptus, DeployableNow: av.Available, QuotaFree: av.QuotaFree}
			if err := p.otherRegions(s, d, ptus); err != nil {
				p.fail(s, err)
				return 0
			}
			return d.Error.Status
		}
	}
	d.Quote, d.QuoteKey = &qt, f.key()
	return http.StatusOK
}

// nameTaken refuses a name a deployment of the resource already has: the
// wizard creates, it does not replace. It returns the page's status, 0 when
// the name is free, or -1 when it answered (an error page).
func (p *Portal) nameTaken(s *session, d *wizardData) int {
	err := s.call(http.MethodGet, d.Account.ID+"/deployments/"+url.PathEscape(d.Form.Name), nil, nil, nil)
	if err == nil {
		d.Error = &apiError{Status: 409, Code: "Conflict", Target: "name",
			Message: "A deployment named '" + d.Form.Name + "' already exists in " + d.Account.Name + ". Choose another name."}
		return http.StatusConflict
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
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
	props := map[string]any{
		"model":                map[string]string{"format": "OpenAI", "name": f.Model, "version": f.Version},
		"raiPolicyName":        f.Policy,
		"versionUpgradeOption": f.Upgrade,
	}
	if f.Spillover != "" {
		props["spilloverDeploymentName"] = f.Spillover
	}
	body := map[string]any{"sku": map[string]any{"name": f.SKU, "capacity": ptus}, "properties": props}
	path := d.Account.ID + "/deployments/" + url.PathEscape(f.Name)
	// The wizard creates; it does not replace a deployment of the same name.
	err := s.call(http.MethodGet, path, nil, nil, nil)
	if err == nil {
		d.Error = &apiError{Status: 409, Code: "Conflict", Target: "name",
			Message: "A deployment named '" + f.Name + "' already exists in " + d.Account.Name + ". Choose another name."}
		return http.StatusConflict
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		var dep deployment
		err = s.call(http.MethodPut, path, nil, body, &dep)
		if err == nil {
			redirect(s.w, s.r, Prefix+"deployments", url.Values{"region": {d.Account.Location}},
				"Deployment "+dep.Name+" created: "+capacityText(dep.SKU)+" of "+dep.SKU.Name+" ("+
					dep.Properties.Model.Name+" "+dep.Properties.Model.Version+") in "+d.Account.Name+".")
			return 0
		}
	}
	if !errors.As(err, &d.Error) {
		p.fail(s, err)
		return 0
	}
	if d.Error.Code == "InsufficientResourcesAvailable" {
		for _, in := range d.Error.Info {
			if in.Type == "CapacityShortage" {
				var sh shortage
				if json.Unmarshal(in.Info, &sh) == nil {
					d.Short = &sh
				}
			}
		}
		if d.Short == nil {
			d.Short = &shortage{Requested: ptus}
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
	q := url.Values{"modelFormat": {"OpenAI"}, "modelName": {f.Model}, "modelVersion": {f.Version}}
	var mc struct{ Value []modelCapacity }
	if err := s.call(http.MethodGet, "/subscriptions/"+s.v.Sub+cs+"/modelCapacities", q, nil, &mc); err != nil {
		return err
	}
	for _, c := range mc.Value {
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
func (d *wizardData) SwitchFields(a account) map[string]string {
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

func parseTime(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, err
	}
	return t.Unix(), nil
}

// capacityText is a deployment's size: PTUs, or thousands of tokens per
// minute for a Standard type.
func capacityText(s sku) string {
	if isProvisioned(s.Name) {
		return strconv.Itoa(s.Capacity) + " PTUs"
	}
	return strconv.Itoa(s.Capacity) + "K TPM"
}
