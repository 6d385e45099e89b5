package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ptu-dev/ptu/armwire"
)

// Subscriptions lists the subscriptions the server holds.
func (c *Client) Subscriptions(ctx context.Context, opts ...Option) ([]Subscription, error) {
	s := c.s.with(opts)
	var out list[Subscription]
	err := c.armDo(ctx, &s, http.MethodGet, "/subscriptions", nil, nil, &out, true)
	return out.Value, err
}

// Locations lists the regions of the subscription.
func (c *Client) Locations(ctx context.Context, opts ...Option) ([]Location, error) {
	s := c.s.with(opts)
	sp, err := c.subPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var out list[Location]
	err = c.armDo(ctx, &s, http.MethodGet, sp+"/locations", nil, nil, &out, true)
	return out.Value, err
}

// --- accounts ---

// CreateAccount creates (or replaces) an account.
func (c *Client) CreateAccount(ctx context.Context, resourceGroup, name string, in AccountCreate, opts ...Option) (*Account, error) {
	s := c.s.with(opts)
	p, err := c.accountPath(ctx, &s, resourceGroup, name)
	if err != nil {
		return nil, err
	}
	var out Account
	if err := c.armDo(ctx, &s, http.MethodPut, p, nil, in.body(), &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetAccount returns an account.
func (c *Client) GetAccount(ctx context.Context, resourceGroup, name string, opts ...Option) (*Account, error) {
	s := c.s.with(opts)
	p, err := c.accountPath(ctx, &s, resourceGroup, name)
	if err != nil {
		return nil, err
	}
	var out Account
	if err := c.armDo(ctx, &s, http.MethodGet, p, nil, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAccounts lists the accounts of a resource group, or of the whole
// subscription when resourceGroup is "".
func (c *Client) ListAccounts(ctx context.Context, resourceGroup string, opts ...Option) ([]Account, error) {
	s := c.s.with(opts)
	sp, err := c.subPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	if resourceGroup != "" {
		sp += "/resourceGroups/" + seg(resourceGroup)
	}
	var out list[Account]
	err = c.armDo(ctx, &s, http.MethodGet, sp+providerPath+"/accounts", nil, nil, &out, true)
	return out.Value, err
}

// DeleteAccount deletes an account and its deployments; it reports whether
// the account existed.
func (c *Client) DeleteAccount(ctx context.Context, resourceGroup, name string, opts ...Option) (bool, error) {
	s := c.s.with(opts)
	p, err := c.accountPath(ctx, &s, resourceGroup, name)
	if err != nil {
		return false, err
	}
	status, err := c.armStatus(ctx, &s, http.MethodDelete, p, nil, nil, nil, true)
	return status == http.StatusOK, err
}

// ListKeys returns an account's keys.
func (c *Client) ListKeys(ctx context.Context, resourceGroup, name string, opts ...Option) (*Keys, error) {
	s := c.s.with(opts)
	p, err := c.accountPath(ctx, &s, resourceGroup, name)
	if err != nil {
		return nil, err
	}
	var out Keys
	if err := c.armDo(ctx, &s, http.MethodPost, p+"/listKeys", nil, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegenerateKey replaces one of an account's keys ("key1" or "key2", any
// case) and returns both.
func (c *Client) RegenerateKey(ctx context.Context, resourceGroup, name, keyName string, opts ...Option) (*Keys, error) {
	s := c.s.with(opts)
	p, err := c.accountPath(ctx, &s, resourceGroup, name)
	if err != nil {
		return nil, err
	}
	var out Keys
	body := armwire.RegenerateKeyBody{KeyName: &keyName}
	if err := c.armDo(ctx, &s, http.MethodPost, p+"/regenerateKey", nil, body, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAccountModels lists the models an account can deploy.
func (c *Client) ListAccountModels(ctx context.Context, resourceGroup, name string, opts ...Option) ([]AccountModel, error) {
	s := c.s.with(opts)
	p, err := c.accountPath(ctx, &s, resourceGroup, name)
	if err != nil {
		return nil, err
	}
	var out list[AccountModel]
	err = c.armDo(ctx, &s, http.MethodGet, p+"/models", nil, nil, &out, true)
	return out.Value, err
}

// ForAccount returns a client whose inference calls go to the account's
// endpoint with its first key (both read from the control plane). With a
// principal's token (IsPrincipalToken) the calls carry the token instead,
// and the keys are not read.
func (c *Client) ForAccount(ctx context.Context, resourceGroup, name string, opts ...Option) (*Client, error) {
	a, err := c.GetAccount(ctx, resourceGroup, name, opts...)
	if err != nil {
		return nil, err
	}
	if s := c.s.with(opts); IsPrincipalToken(s.token) {
		// A principal calls with its token (it needs a data role such as
		// Cognitive Services OpenAI User on the account), not the keys.
		return c.WithOptions(append(opts, WithAzureEndpoint(a.Properties.Endpoint))...), nil
	}
	k, err := c.ListKeys(ctx, resourceGroup, name, opts...)
	if err != nil {
		return nil, err
	}
	return c.WithOptions(append(opts, WithAzureEndpoint(a.Properties.Endpoint), WithAPIKey(k.Key1))...), nil
}

// FindDeployment looks through the subscription's accounts for the one
// holding a deployment of that name. It fails when none or several do.
func (c *Client) FindDeployment(ctx context.Context, deployment string, opts ...Option) (*Account, *Deployment, error) {
	accts, err := c.ListAccounts(ctx, "", opts...)
	if err != nil {
		return nil, nil, err
	}
	type hit struct {
		a Account
		d Deployment
	}
	var hits []hit
	for _, a := range accts {
		ds, err := c.ListDeployments(ctx, a.ResourceGroup(), a.Name, opts...)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range ds {
			if strings.EqualFold(d.Name, deployment) {
				hits = append(hits, hit{a, d})
			}
		}
	}
	switch len(hits) {
	case 0:
		return nil, nil, fmt.Errorf("client: no account of the subscription has a deployment named %q", deployment)
	case 1:
		return &hits[0].a, &hits[0].d, nil
	}
	names := make([]string, len(hits))
	for i, h := range hits {
		names[i] = h.a.ResourceGroup() + "/" + h.a.Name
	}
	return nil, nil, fmt.Errorf("client: several accounts have a deployment named %q (%s); name the account", deployment, strings.Join(names, ", "))
}

// --- deployments ---

func (c *Client) deploymentPath(ctx context.Context, s *settings, rg, account, name string) (string, error) {
	if name == "" {
		return "", errors.New("client: a deployment name is required")
	}
	p, err := c.accountPath(ctx, s, rg, account)
	if err != nil {
		return "", err
	}
	return p + "/deployments/" + seg(name), nil
}

// CreateDeployment creates (or replaces) a deployment. Provisioned sizes
// are checked against quota (400 InsufficientQuota) and capacity (409
// InsufficientResourcesAvailable, see Error.CapacityShortage).
func (c *Client) CreateDeployment(ctx context.Context, resourceGroup, account, name string, in DeploymentCreate, opts ...Option) (*Deployment, error) {
	s := c.s.with(opts)
	p, err := c.deploymentPath(ctx, &s, resourceGroup, account, name)
	if err != nil {
		return nil, err
	}
	var out Deployment
	if err := c.armDo(ctx, &s, http.MethodPut, p, nil, in.body(), &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateDeployment changes a deployment's SKU or capacity.
func (c *Client) UpdateDeployment(ctx context.Context, resourceGroup, account, name string, in DeploymentUpdate, opts ...Option) (*Deployment, error) {
	s := c.s.with(opts)
	p, err := c.deploymentPath(ctx, &s, resourceGroup, account, name)
	if err != nil {
		return nil, err
	}
	var out Deployment
	if err := c.armDo(ctx, &s, http.MethodPatch, p, nil, in.body(), &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetDeployment returns a deployment.
func (c *Client) GetDeployment(ctx context.Context, resourceGroup, account, name string, opts ...Option) (*Deployment, error) {
	s := c.s.with(opts)
	p, err := c.deploymentPath(ctx, &s, resourceGroup, account, name)
	if err != nil {
		return nil, err
	}
	var out Deployment
	if err := c.armDo(ctx, &s, http.MethodGet, p, nil, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListDeployments lists an account's deployments.
func (c *Client) ListDeployments(ctx context.Context, resourceGroup, account string, opts ...Option) ([]Deployment, error) {
	s := c.s.with(opts)
	p, err := c.accountPath(ctx, &s, resourceGroup, account)
	if err != nil {
		return nil, err
	}
	var out list[Deployment]
	err = c.armDo(ctx, &s, http.MethodGet, p+"/deployments", nil, nil, &out, true)
	return out.Value, err
}

// DeleteDeployment deletes a deployment, releasing its PTUs; it reports
// whether the deployment existed.
func (c *Client) DeleteDeployment(ctx context.Context, resourceGroup, account, name string, opts ...Option) (bool, error) {
	s := c.s.with(opts)
	p, err := c.deploymentPath(ctx, &s, resourceGroup, account, name)
	if err != nil {
		return false, err
	}
	status, err := c.armStatus(ctx, &s, http.MethodDelete, p, nil, nil, nil, true)
	return status == http.StatusOK, err
}

// ListDeploymentSKUs lists the SKUs and sizes a deployment can take.
func (c *Client) ListDeploymentSKUs(ctx context.Context, resourceGroup, account, name string, opts ...Option) ([]DeploymentSKU, error) {
	s := c.s.with(opts)
	p, err := c.deploymentPath(ctx, &s, resourceGroup, account, name)
	if err != nil {
		return nil, err
	}
	var out list[DeploymentSKU]
	err = c.armDo(ctx, &s, http.MethodGet, p+"/skus", nil, nil, &out, true)
	return out.Value, err
}

// --- quota, models, capacity ---

func (c *Client) locationPath(ctx context.Context, s *settings, location string) (string, error) {
	if location == "" {
		return "", errors.New("client: a location is required")
	}
	sp, err := c.subPath(ctx, s)
	if err != nil {
		return "", err
	}
	return sp + providerPath + "/locations/" + seg(location), nil
}

// ListUsages lists the subscription's PTU quota in a region, one row per
// provisioned deployment type.
func (c *Client) ListUsages(ctx context.Context, location string, opts ...Option) ([]Usage, error) {
	s := c.s.with(opts)
	p, err := c.locationPath(ctx, &s, location)
	if err != nil {
		return nil, err
	}
	var out list[Usage]
	err = c.armDo(ctx, &s, http.MethodGet, p+"/usages", nil, nil, &out, true)
	return out.Value, err
}

// ListModels lists the models offered in a region.
func (c *Client) ListModels(ctx context.Context, location string, opts ...Option) ([]LocationModel, error) {
	s := c.s.with(opts)
	p, err := c.locationPath(ctx, &s, location)
	if err != nil {
		return nil, err
	}
	var out list[LocationModel]
	err = c.armDo(ctx, &s, http.MethodGet, p+"/models", nil, nil, &out, true)
	return out.Value, err
}

// ListModelCapacities lists, per region and provisioned type, the largest
// deployment of a model the subscription could create now.
func (c *Client) ListModelCapacities(ctx context.Context, q ModelCapacityQuery, opts ...Option) ([]ModelCapacity, error) {
	s := c.s.with(opts)
	var p string
	var err error
	if q.Location != "" {
		p, err = c.locationPath(ctx, &s, q.Location)
	} else {
		p, err = c.subPath(ctx, &s)
		p += providerPath
	}
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	v.Set("modelFormat", q.Format)
	v.Set("modelName", q.Name)
	v.Set("modelVersion", q.Version)
	var out list[ModelCapacity]
	err = c.armDo(ctx, &s, http.MethodGet, p+"/modelCapacities", v, nil, &out, true)
	return out.Value, err
}

// --- quota requests (ptu's extension) ---

func (c *Client) quotaPath(ctx context.Context, s *settings) (string, error) {
	sp, err := c.subPath(ctx, s)
	if err != nil {
		return "", err
	}
	return sp + providerPath + "/quotaRequests", nil
}

// CreateQuotaRequest files a request for a higher PTU limit.
func (c *Client) CreateQuotaRequest(ctx context.Context, in QuotaRequestCreate, opts ...Option) (*QuotaRequest, error) {
	s := c.s.with(opts)
	p, err := c.quotaPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var out QuotaRequest
	if err := c.armDo(ctx, &s, http.MethodPost, p, nil, in.body(), &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListQuotaRequests lists the subscription's quota requests, newest first.
func (c *Client) ListQuotaRequests(ctx context.Context, opts ...Option) ([]QuotaRequest, error) {
	s := c.s.with(opts)
	p, err := c.quotaPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var out list[QuotaRequest]
	err = c.armDo(ctx, &s, http.MethodGet, p, nil, nil, &out, true)
	return out.Value, err
}

// ListAllQuotaRequests lists every subscription's quota requests (operators).
func (c *Client) ListAllQuotaRequests(ctx context.Context, opts ...Option) ([]QuotaRequest, error) {
	s := c.s.with(opts)
	var out list[QuotaRequest]
	err := c.armDo(ctx, &s, http.MethodGet, providerPath+"/quotaRequests", nil, nil, &out, true)
	return out.Value, err
}

// GetQuotaRequest returns one quota request of the subscription.
func (c *Client) GetQuotaRequest(ctx context.Context, id string, opts ...Option) (*QuotaRequest, error) {
	s := c.s.with(opts)
	p, err := c.quotaPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var out QuotaRequest
	if err := c.armDo(ctx, &s, http.MethodGet, p+"/"+seg(id), nil, nil, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// ApproveQuotaRequest approves a pending request; the limit is raised at once.
func (c *Client) ApproveQuotaRequest(ctx context.Context, id, note string, opts ...Option) (*QuotaRequest, error) {
	return c.decide(ctx, id, "approve", note, opts)
}

// RejectQuotaRequest rejects a pending request.
func (c *Client) RejectQuotaRequest(ctx context.Context, id, note string, opts ...Option) (*QuotaRequest, error) {
	return c.decide(ctx, id, "reject", note, opts)
}

func (c *Client) decide(ctx context.Context, id, verb, note string, opts []Option) (*QuotaRequest, error) {
	if id == "" {
		return nil, errors.New("client: a quota request id is required")
	}
	s := c.s.with(opts)
	p, err := c.quotaPath(ctx, &s)
	if err != nil {
		return nil, err
	}
	var body any
	if note != "" {
		body = armwire.DecisionBody{Note: &note}
	}
	var out QuotaRequest
	// Retrying cannot decide twice: a second decision answers 409 Conflict.
	if err := c.armDo(ctx, &s, http.MethodPost, p+"/"+seg(id)+"/"+verb, nil, body, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}
