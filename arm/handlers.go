package arm

import (
	"net/http"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/control"
)

// --- subscriptions and locations ---

func (h *handler) listSubscriptions(r *http.Request, _ params) (int, any, error) {
	subs, err := h.subs.ListSubscriptions(r.Context())
	if err != nil {
		return 0, nil, err
	}
	caller := callerOf(r)
	out := make([]armwire.Subscription, 0, len(subs))
	for _, s := range subs {
		// Each caller sees the subscriptions it has access to something in.
		if caller.Reaches("/subscriptions/" + s.ID) {
			out = append(out, h.subscriptionWire(s))
		}
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func (h *handler) getSubscription(r *http.Request, p params) (int, any, error) {
	s, err := h.subs.GetSubscription(r.Context(), p["sub"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, h.subscriptionWire(s), nil
}

// listTenants lists the one tenant the server answers as (Microsoft.Resources
// Tenants - List; az login and az account tenant list read it).
func (h *handler) listTenants(r *http.Request, _ params) (int, any, error) {
	if h.opt.TenantID == "" {
		return http.StatusOK, armwire.ListOf([]armwire.Tenant(nil)), nil
	}
	return http.StatusOK, armwire.ListOf([]armwire.Tenant{tenantWire(h.opt.TenantID)}), nil
}

func (h *handler) listLocations(r *http.Request, p params) (int, any, error) {
	regions, err := h.subs.ListLocations(r.Context(), p["sub"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.Location, 0, len(regions))
	for _, rg := range regions {
		out = append(out, locationWire(p["sub"], rg))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

// --- accounts ---

func (h *handler) listAccounts(r *http.Request, p params) (int, any, error) {
	accts, err := h.accounts.ListAccounts(r.Context(), p["sub"], p["rg"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.Account, 0, len(accts))
	for _, a := range accts {
		out = append(out, h.accountWire(a))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

// putAccount creates or replaces an account. A creation is a long-running
// operation (lro.go); a replacement answers 200 with the account.
func (h *handler) putAccount(r *http.Request, p params) (int, any, error) {
	var b armwire.AccountBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	in := control.AccountInput{By: callerOf(r).Name}
	applyAccount(&b, &in)
	a, created, err := h.accounts.PutAccount(r.Context(), p["sub"], p["rg"], p["account"], in)
	if err != nil {
		return 0, nil, err
	}
	if created {
		return h.created(r, a.SubscriptionID, a.Location, a.ID(), a.CreatedAt, h.accountWire(a))
	}
	return http.StatusOK, h.accountWire(a), nil
}

func (h *handler) getAccount(r *http.Request, p params) (int, any, error) {
	a, err := h.accounts.GetAccount(r.Context(), p["sub"], p["rg"], p["account"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, h.accountWire(a), nil
}

// patchAccount changes the fields the body carries and keeps the others.
func (h *handler) patchAccount(r *http.Request, p params) (int, any, error) {
	var b armwire.AccountBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	cur, err := h.accounts.GetAccount(r.Context(), p["sub"], p["rg"], p["account"])
	if err != nil {
		return 0, nil, err
	}
	in := control.AccountInput{
		Location:            cur.Location,
		Kind:                cur.Kind,
		SKU:                 cur.SKU,
		CustomSubDomain:     cur.CustomSubDomain,
		Tags:                cur.Tags,
		DisableLocalAuth:    cur.DisableLocalAuth,
		PublicNetworkAccess: cur.PublicNetwork,
		By:                  callerOf(r).Name,
	}
	applyAccount(&b, &in)
	a, _, err := h.accounts.PutAccount(r.Context(), p["sub"], p["rg"], p["account"], in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, h.accountWire(a), nil
}

// deleteAccount answers 200 when the account existed and 204 when it did
// not; the SDK's poller completes on either.
func (h *handler) deleteAccount(r *http.Request, p params) (int, any, error) {
	existed, err := h.accounts.DeleteAccount(r.Context(), p["sub"], p["rg"], p["account"])
	if err != nil {
		return 0, nil, err
	}
	return deletedStatus(existed), nil, nil
}

func (h *handler) listKeys(r *http.Request, p params) (int, any, error) {
	a, err := h.accounts.GetAccount(r.Context(), p["sub"], p["rg"], p["account"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, armwire.Keys{Key1: a.Key1, Key2: a.Key2}, nil
}

func (h *handler) regenerateKey(r *http.Request, p params) (int, any, error) {
	var b armwire.RegenerateKeyBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	if b.KeyName == nil {
		return 0, nil, invalidContent("keyName", "The request content was invalid: 'keyName' is required ('Key1' or 'Key2').")
	}
	a, err := h.accounts.RegenerateKey(r.Context(), p["sub"], p["rg"], p["account"], *b.KeyName)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, armwire.Keys{Key1: a.Key1, Key2: a.Key2}, nil
}

func (h *handler) accountModels(r *http.Request, p params) (int, any, error) {
	offers, err := h.accounts.AccountModels(r.Context(), p["sub"], p["rg"], p["account"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.AccountModel, 0, len(offers))
	for _, o := range offers {
		out = append(out, accountModelWire(o))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

// accountUsages answers Accounts - List Usages: the quota usages of the
// account's subscription in its region, which its deployments draw from.
func (h *handler) accountUsages(r *http.Request, p params) (int, any, error) {
	a, err := h.accounts.GetAccount(r.Context(), p["sub"], p["rg"], p["account"])
	if err != nil {
		return 0, nil, err
	}
	return h.usagesIn(r, a.SubscriptionID, a.Location)
}

// accountSKUs answers Accounts - List Skus: the SKUs an account of this kind
// can take (AccountSkuListResult).
func (h *handler) accountSKUs(r *http.Request, p params) (int, any, error) {
	if _, err := h.accounts.GetAccount(r.Context(), p["sub"], p["rg"], p["account"]); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, armwire.ListOf([]armwire.AccountSKU{{ResourceType: armwire.TypeAccount, SKU: armwire.AccountSKUName{Name: "S0", Tier: "Standard"}}}), nil
}

// --- deployments ---

func (h *handler) listDeployments(r *http.Request, p params) (int, any, error) {
	sh := shapeOf(r)
	if err := sh.checkDeployments(); err != nil {
		return 0, nil, err
	}
	ds, err := h.deployments.ListDeployments(r.Context(), p["sub"], p["rg"], p["account"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.Deployment, 0, len(ds))
	for _, d := range ds {
		out = append(out, h.deploymentWire(d, sh))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

// putDeployment creates or updates a deployment. Placement (quota and
// capacity) is decided at once; a creation then provisions as a long-running
// operation (lro.go), an update answers 200.
func (h *handler) putDeployment(r *http.Request, p params) (int, any, error) {
	sh := shapeOf(r)
	if err := sh.checkDeployments(); err != nil {
		return 0, nil, err
	}
	var b armwire.DeploymentBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	in, err := h.deploymentInput(r, p, &b)
	if err != nil {
		return 0, nil, err
	}
	d, created, err := h.deployments.PutDeployment(r.Context(), p["sub"], p["rg"], p["account"], p["deployment"], in)
	if err != nil {
		return 0, nil, err
	}
	if created {
		return h.created(r, d.SubscriptionID, d.Region, d.ID(), d.CreatedAt, h.deploymentWire(d, sh))
	}
	return http.StatusOK, h.deploymentWire(d, sh), nil
}

// deploymentInput is what a PUT or PATCH body asks for. A size given only by
// scaleSettings keeps an existing deployment's type when the scale type
// names its family (Manual: provisioned; Standard: pay-per-token), since the
// versions that send it cannot name the other types.
func (h *handler) deploymentInput(r *http.Request, p params, b *armwire.DeploymentBody) (control.DeploymentInput, error) {
	in, err := bodyInput(b)
	if err != nil {
		return in, err
	}
	in.By = callerOf(r).Name
	if b.SKU == nil && in.SKUName != "" {
		cur, err := h.deployments.GetDeployment(r.Context(), p["sub"], p["rg"], p["account"], p["deployment"])
		if err == nil && ptu.IsProvisioned(cur.SKUName) == ptu.IsProvisioned(in.SKUName) {
			in.SKUName = cur.SKUName
		}
	}
	return in, nil
}

func (h *handler) getDeployment(r *http.Request, p params) (int, any, error) {
	sh := shapeOf(r)
	if err := sh.checkDeployments(); err != nil {
		return 0, nil, err
	}
	d, err := h.deployments.GetDeployment(r.Context(), p["sub"], p["rg"], p["account"], p["deployment"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, h.deploymentWire(d, sh), nil
}

// patchDeployment updates an existing deployment from a partial body (the
// SDK's BeginUpdate sends sku and tags); what the body leaves out is kept.
func (h *handler) patchDeployment(r *http.Request, p params) (int, any, error) {
	sh := shapeOf(r)
	if err := sh.checkDeployments(); err != nil {
		return 0, nil, err
	}
	var b armwire.DeploymentBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	// PATCH only updates: a missing deployment is 404, not a create.
	if _, err := h.deployments.GetDeployment(r.Context(), p["sub"], p["rg"], p["account"], p["deployment"]); err != nil {
		return 0, nil, err
	}
	in, err := h.deploymentInput(r, p, &b) // absent fields keep their current values
	if err != nil {
		return 0, nil, err
	}
	d, _, err := h.deployments.PutDeployment(r.Context(), p["sub"], p["rg"], p["account"], p["deployment"], in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, h.deploymentWire(d, sh), nil
}

func (h *handler) deleteDeployment(r *http.Request, p params) (int, any, error) {
	if err := shapeOf(r).checkDeployments(); err != nil {
		return 0, nil, err
	}
	existed, err := h.deployments.DeleteDeployment(r.Context(), p["sub"], p["rg"], p["account"], p["deployment"])
	if err != nil {
		return 0, nil, err
	}
	return deletedStatus(existed), nil, nil
}

func (h *handler) deploymentSKUs(r *http.Request, p params) (int, any, error) {
	opts, err := h.deployments.DeploymentSKUs(r.Context(), p["sub"], p["rg"], p["account"], p["deployment"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.DeploymentSKU, 0, len(opts))
	for _, o := range opts {
		out = append(out, armwire.DeploymentSKU{
			ResourceType: o.ResourceType,
			SKU:          armwire.SKU{Name: o.Name},
			Capacity:     capacityWire(o.Capacity),
		})
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

// --- usages, models, model capacities ---

func (h *handler) usages(r *http.Request, p params) (int, any, error) {
	return h.usagesIn(r, p["sub"], p["location"])
}

func (h *handler) usagesIn(r *http.Request, sub, location string) (int, any, error) {
	us, err := h.quota.Usages(r.Context(), sub, location)
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.Usage, 0, len(us))
	for _, u := range us {
		out = append(out, usageWire(u))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func (h *handler) models(r *http.Request, p params) (int, any, error) {
	offers, err := h.capacity.Models(r.Context(), p["sub"], p["location"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.LocationModel, 0, len(offers))
	for _, o := range offers {
		out = append(out, armwire.LocationModel{Kind: modelKind(o.Model.Format), SKUName: "S0", Model: accountModelWire(o)})
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

// modelCapacities serves both the subscription-wide and the per-location
// route; the former has no {location} and reports every region.
func (h *handler) modelCapacities(r *http.Request, p params) (int, any, error) {
	q := r.URL.Query()
	ref := ptu.ModelRef{Format: q.Get("modelFormat"), Name: q.Get("modelName"), Version: q.Get("modelVersion")}
	caps, err := h.capacity.ModelCapacities(r.Context(), p["sub"], p["location"], ref)
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.ModelCapacity, 0, len(caps))
	for _, c := range caps {
		out = append(out, modelCapacityWire(p["sub"], c))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

// --- quota requests ---

func (h *handler) createQuotaRequest(r *http.Request, p params) (int, any, error) {
	var b armwire.QuotaRequestBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	if b.Limit == nil {
		return 0, nil, invalidContent("limit", "The request content was invalid: 'limit' is required (the PTU limit asked for).")
	}
	q, err := h.quota.CreateQuotaRequest(r.Context(), p["sub"], control.QuotaRequestInput{
		Location: deref(b.Location),
		SKUName:  deref(b.SKUName),
		Limit:    *b.Limit,
		Reason:   deref(b.Reason),
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, quotaRequestWire(q), nil
}

// listQuotaRequests lists one subscription's requests, or every request on
// the provider-level route (no {sub}).
func (h *handler) listQuotaRequests(r *http.Request, p params) (int, any, error) {
	qs, err := h.quota.ListQuotaRequests(r.Context(), p["sub"])
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.QuotaRequest, 0, len(qs))
	for _, q := range qs {
		out = append(out, quotaRequestWire(q))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func (h *handler) getQuotaRequest(r *http.Request, p params) (int, any, error) {
	q, err := h.quotaRequestOf(r, p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, quotaRequestWire(q), nil
}

// quotaRequestOf fetches the request named in the path, which must belong to
// the path's subscription.
func (h *handler) quotaRequestOf(r *http.Request, p params) (ptu.QuotaRequest, error) {
	if _, err := h.subs.GetSubscription(r.Context(), p["sub"]); err != nil {
		return ptu.QuotaRequest{}, err
	}
	q, err := h.quota.GetQuotaRequest(r.Context(), p["id"])
	if err == nil && !strings.EqualFold(q.SubscriptionID, p["sub"]) {
		err = ptu.Errorf(ptu.CodeResourceNotFound, "Quota request '%s' was not found.", p["id"])
	}
	return q, err
}

func (h *handler) decideQuotaRequest(approve bool) endpointFunc {
	return func(r *http.Request, p params) (int, any, error) {
		var b armwire.DecisionBody
		if err := decodeBody(r, &b, true); err != nil {
			return 0, nil, err
		}
		if _, err := h.quotaRequestOf(r, p); err != nil {
			return 0, nil, err
		}
		q, err := h.quota.DecideQuotaRequest(r.Context(), p["id"], approve, deref(b.Note))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, quotaRequestWire(q), nil
	}
}

// --- capacity pools ---

func (h *handler) listPools(r *http.Request, _ params) (int, any, error) {
	pools, err := h.capacity.ListPools(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := make([]armwire.CapacityPool, 0, len(pools))
	for _, pl := range pools {
		out = append(out, h.poolWire(pl))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}

func poolID(p params) string { return p["region"] + "/" + p["model"] + "/" + p["version"] }

func (h *handler) getPool(r *http.Request, p params) (int, any, error) {
	pools, err := h.capacity.ListPools(r.Context())
	if err != nil {
		return 0, nil, err
	}
	id := poolID(p)
	for _, pl := range pools {
		if strings.EqualFold(pl.ID, id) {
			return http.StatusOK, h.poolWire(pl), nil
		}
	}
	return 0, nil, ptu.Errorf(ptu.CodeResourceNotFound, "Capacity pool '%s' was not found.", id)
}

func (h *handler) patchPool(r *http.Request, p params) (int, any, error) {
	var b armwire.CapacityPoolBody
	if err := decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	if b.Properties == nil || b.Properties.PTU == nil {
		return 0, nil, invalidContent("properties.ptu", "The request content was invalid: 'properties.ptu' is required (the pool's rating in PTUs).")
	}
	pl, err := h.capacity.SetPoolRating(r.Context(), poolID(p), *b.Properties.PTU)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, h.poolWire(pl), nil
}

func createdOrOK(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func deletedStatus(existed bool) int {
	if existed {
		return http.StatusOK
	}
	return http.StatusNoContent
}
