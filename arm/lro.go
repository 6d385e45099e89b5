package arm

import (
	"encoding/base64"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
)

// Creating an account or a deployment is a long-running operation, as in
// Azure: the PUT that creates it answers 201 with a provisioningState that
// is not terminal and an Azure-AsyncOperation header, and the resource is
// Succeeded once Options.ProvisioningDelay has passed since its creation.
// The operation's status is derived from the resource itself (its creation
// time), so every replica answers it the same and nothing runs in the
// background. ARM's async operation protocol:
// https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/async-api-reference.proposed.md
// (what azcore's runtime poller and azure-mgmt-core's ARMPolling follow).

// Provisioning states while a creation is under way (AccountProperties and
// DeploymentProperties provisioningState; the 201 of PutDeployment.json in
// the specs' examples is Accepted).
const (
	stateAccountCreating    = "Creating"
	stateDeploymentAccepted = "Accepted"
)

// Async operation statuses (the operation resource's status).
const (
	opInProgress = "InProgress"
	opSucceeded  = "Succeeded"
	opFailed     = "Failed"
)

// provisioningState is the state a resource reports: creating (the word its
// type uses) until the provisioning delay after its creation has passed.
func (h *handler) provisioningState(stored string, created time.Time, creating string) string {
	if stored == "" {
		stored = ptu.StateSucceeded
	}
	if stored == ptu.StateSucceeded && h.provisioningLeft(created) > 0 {
		return creating
	}
	return stored
}

// provisioningLeft is how long the resource created at created still provisions.
func (h *handler) provisioningLeft(created time.Time) time.Duration {
	if h.opt.ProvisioningDelay <= 0 || created.IsZero() {
		return 0
	}
	return created.Add(h.opt.ProvisioningDelay).Sub(h.opt.Now())
}

// withHeaders is a response body with headers to send along.
type withHeaders struct {
	body   any
	header http.Header
}

// created answers the creation of the resource at id (an account or a
// deployment in location) made at createdAt: 201 with Azure-AsyncOperation
// while it provisions, a plain 201 when provisioning is already over.
func (h *handler) created(r *http.Request, sub, location, id string, createdAt time.Time, body any) (int, any, error) {
	left := h.provisioningLeft(createdAt)
	if left <= 0 {
		return http.StatusCreated, body, nil
	}
	hdr := http.Header{}
	op := h.baseURL(r) + "/subscriptions/" + sub + armwire.ProviderPrefix + "/locations/" + location +
		"/operationStatuses/" + operationID(id) + "?api-version=" + apiVersion(r.URL.Query())
	hdr.Set("Azure-AsyncOperation", op)
	setPollDelay(hdr, left)
	return http.StatusCreated, withHeaders{body: body, header: hdr}, nil
}

// setPollDelay tells pollers when to look again: retry-after-ms (read first
// by azcore's poller) always, and Retry-After in whole seconds only when the
// wait is that long, since azure-core for Python prefers Retry-After and
// would round a short wait up to a second.
func setPollDelay(hdr http.Header, left time.Duration) {
	ms := max(1, int64(math.Ceil(float64(left)/float64(time.Millisecond))))
	hdr.Set("retry-after-ms", strconv.FormatInt(ms, 10))
	if left >= time.Second {
		hdr.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(left.Seconds())), 10))
	}
}

// baseURL is the URL clients reach this server at, for absolute links.
func (h *handler) baseURL(r *http.Request) string {
	if h.opt.PublicURL != "" {
		return strings.TrimSuffix(h.opt.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// operationID names the creation of the resource at id: its id, base64url.
func operationID(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.ToLower(id)))
}

// operationStatus answers GET .../locations/{location}/operationStatuses/{id}:
// InProgress while the resource provisions, then Succeeded; Failed when the
// resource is gone.
func (h *handler) operationStatus(r *http.Request, p params) (int, any, error) {
	notFound := ptu.Errorf(ptu.CodeResourceNotFound, "The operation '%s' was not found.", p["id"])
	raw, err := base64.RawURLEncoding.DecodeString(p["id"])
	if err != nil {
		return 0, nil, notFound
	}
	ref, ok := parseResourceID(string(raw))
	if !ok || !strings.EqualFold(ref.sub, p["sub"]) {
		return 0, nil, notFound
	}
	action, scope := "Microsoft.CognitiveServices/accounts/read", ptu.AccountID(ref.sub, ref.rg, ref.account)
	if ref.deployment != "" {
		action, scope = "Microsoft.CognitiveServices/accounts/deployments/read", scope+"/deployments/"+ref.deployment
	}
	caller := callerOf(r)
	if !caller.Can(action, scope) {
		return 0, nil, denied(caller, action, scope)
	}
	out := armwire.OperationStatus{
		ID:   "/subscriptions/" + p["sub"] + armwire.ProviderPrefix + "/locations/" + p["location"] + "/operationStatuses/" + p["id"],
		Name: p["id"],
	}
	var createdAt time.Time
	if ref.deployment == "" {
		a, err := h.accounts.GetAccount(r.Context(), ref.sub, ref.rg, ref.account)
		if err != nil && ptu.ErrorStatus(err) != http.StatusNotFound {
			return 0, nil, err
		}
		if err != nil {
			return h.operationFailed(out, err)
		}
		createdAt = a.CreatedAt
	} else {
		d, err := h.deployments.GetDeployment(r.Context(), ref.sub, ref.rg, ref.account, ref.deployment)
		if err != nil && ptu.ErrorStatus(err) != http.StatusNotFound {
			return 0, nil, err
		}
		if err != nil {
			return h.operationFailed(out, err)
		}
		createdAt = d.CreatedAt
	}
	out.StartTime = armTime(createdAt)
	if left := h.provisioningLeft(createdAt); left > 0 {
		out.Status = opInProgress
		hdr := http.Header{}
		setPollDelay(hdr, left)
		return http.StatusOK, withHeaders{body: out, header: hdr}, nil
	}
	out.Status = opSucceeded
	out.EndTime = armTime(createdAt.Add(h.opt.ProvisioningDelay))
	return http.StatusOK, out, nil
}

// operationFailed is the status of a creation whose resource is gone.
func (h *handler) operationFailed(out armwire.OperationStatus, err error) (int, any, error) {
	out.Status = opFailed
	d := armwire.ErrorDetail{Code: ptu.ErrorCode(err), Message: err.Error()}
	if e, ok := err.(*ptu.Error); ok {
		if full, derr := detailOf(e); derr == nil {
			d = full
		}
	}
	out.Error = &d
	return http.StatusOK, out, nil
}

// resourceRef is an account or deployment named by its ARM id.
type resourceRef struct {
	sub, rg, account, deployment string
}

// parseResourceID reads /subscriptions/{s}/resourceGroups/{g}/providers/
// Microsoft.CognitiveServices/accounts/{a}[/deployments/{d}].
func parseResourceID(id string) (resourceRef, bool) {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	if len(segs) != 8 && len(segs) != 10 {
		return resourceRef{}, false
	}
	lit := func(i int, want string) bool { return strings.EqualFold(segs[i], want) }
	if !lit(0, "subscriptions") || !lit(2, "resourceGroups") || !lit(4, "providers") ||
		!lit(5, "Microsoft.CognitiveServices") || !lit(6, "accounts") {
		return resourceRef{}, false
	}
	ref := resourceRef{sub: segs[1], rg: segs[3], account: segs[7]}
	if len(segs) == 10 {
		if !lit(8, "deployments") {
			return resourceRef{}, false
		}
		ref.deployment = segs[9]
	}
	for _, s := range []string{ref.sub, ref.rg, ref.account} {
		if s == "" {
			return resourceRef{}, false
		}
	}
	return ref, true
}
