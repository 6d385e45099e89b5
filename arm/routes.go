package arm

import (
	"net/http"

	"github.com/ptu-dev/ptu/authz"
)

// Path prefixes. Literal segments match case-insensitively, as in ARM.
const (
	pCS      = "/providers/Microsoft.CognitiveServices"
	pSub     = "/subscriptions/{sub}"
	pAccount = pSub + "/resourceGroups/{rg}" + pCS + "/accounts/{account}"
	pDeploy  = pAccount + "/deployments/{deployment}"
	pLoc     = pSub + pCS + "/locations/{location}"
)

func (h *handler) register() {
	// Microsoft.Resources: subscriptions and locations.
	h.handle(http.MethodGet, "/tenants", subscriptionVersions, h.listTenants)
	h.handle(http.MethodGet, "/subscriptions", subscriptionVersions, h.listSubscriptions)
	h.handle(http.MethodGet, pSub, subscriptionVersions, h.getSubscription)
	h.handle(http.MethodGet, pSub+"/locations", subscriptionVersions, h.listLocations)

	// Accounts.
	h.handle(http.MethodGet, pSub+pCS+"/accounts", cognitiveVersions, h.listAccounts)
	h.handle(http.MethodGet, pSub+"/resourceGroups/{rg}"+pCS+"/accounts", cognitiveVersions, h.listAccounts)
	h.handle(http.MethodPut, pAccount, cognitiveVersions, h.putAccount)
	h.handle(http.MethodGet, pAccount, cognitiveVersions, h.getAccount)
	h.handle(http.MethodPatch, pAccount, cognitiveVersions, h.patchAccount)
	h.handle(http.MethodDelete, pAccount, cognitiveVersions, h.deleteAccount)
	h.handle(http.MethodPost, pAccount+"/listKeys", cognitiveVersions, h.listKeys)
	h.handle(http.MethodPost, pAccount+"/regenerateKey", cognitiveVersions, h.regenerateKey)
	h.handle(http.MethodGet, pAccount+"/models", cognitiveVersions, h.accountModels)
	h.handle(http.MethodGet, pAccount+"/usages", cognitiveVersions, h.accountUsages)
	h.handle(http.MethodGet, pAccount+"/skus", cognitiveVersions, h.accountSKUs)

	// Azure Monitor metrics of an account (Microsoft.Insights).
	h.handle(http.MethodGet, pAccount+"/providers/Microsoft.Insights/metrics", monitorVersions, h.listMetrics)
	h.handle(http.MethodGet, pAccount+"/providers/Microsoft.Insights/metricDefinitions", monitorVersions, h.listMetricDefinitions)

	// Deployments.
	h.handle(http.MethodGet, pAccount+"/deployments", cognitiveVersions, h.listDeployments)
	h.handle(http.MethodPut, pDeploy, cognitiveVersions, h.putDeployment)
	h.handle(http.MethodGet, pDeploy, cognitiveVersions, h.getDeployment)
	h.handle(http.MethodPatch, pDeploy, cognitiveVersions, h.patchDeployment)
	h.handle(http.MethodDelete, pDeploy, cognitiveVersions, h.deleteDeployment)
	h.handle(http.MethodGet, pDeploy+"/skus", cognitiveVersions, h.deploymentSKUs)

	// Quota, models and capacity by location.
	h.handle(http.MethodGet, pLoc+"/usages", cognitiveVersions, h.usages)
	h.handle(http.MethodGet, pLoc+"/operationStatuses/{id}", cognitiveVersions, h.operationStatus)
	h.handle(http.MethodGet, pLoc+"/models", cognitiveVersions, h.models)
	h.handle(http.MethodGet, pLoc+"/modelCapacities", cognitiveVersions, h.modelCapacities)
	h.handle(http.MethodGet, pSub+pCS+"/modelCapacities", cognitiveVersions, h.modelCapacities)
	h.handle(http.MethodPost, pSub+pCS+"/calculateModelCapacity", cognitiveVersions, h.calculateModelCapacity)

	// Quota requests (ptu's extension).
	h.handle(http.MethodPost, pSub+pCS+"/quotaRequests", cognitiveVersions, h.createQuotaRequest)
	h.handle(http.MethodGet, pSub+pCS+"/quotaRequests", cognitiveVersions, h.listQuotaRequests)
	h.handle(http.MethodGet, pSub+pCS+"/quotaRequests/{id}", cognitiveVersions, h.getQuotaRequest)
	h.handle(http.MethodPost, pSub+pCS+"/quotaRequests/{id}/approve", cognitiveVersions, h.decideQuotaRequest(true))
	h.handle(http.MethodPost, pSub+pCS+"/quotaRequests/{id}/reject", cognitiveVersions, h.decideQuotaRequest(false))
	h.handle(http.MethodGet, pCS+"/quotaRequests", cognitiveVersions, h.listQuotaRequests)

	// Capacity pools (ptu's extension, operators).
	h.handle(http.MethodGet, pCS+"/capacityPools", cognitiveVersions, h.listPools)
	h.handle(http.MethodGet, pCS+"/capacityPools/{region}/{model}/{version}", cognitiveVersions, h.getPool)
	h.handle(http.MethodPatch, pCS+"/capacityPools/{region}/{model}/{version}", cognitiveVersions, h.patchPool)

	// Pricing, reservations and chargeback (ptu's extension; arm/billing.go).
	h.registerBilling()

	// Content filter policies and custom blocklists (arm/rai.go).
	h.registerRAI()

	// Role assignments, role definitions, principals, activity log (arm/access.go).
	h.registerAccess()

	h.accessRules()
}

// accessRules adjusts what the routes whose action authz.Action does not
// name as Azure does, or whose scope is not their path, require.
func (h *handler) accessRules() {
	get, post, patch := http.MethodGet, http.MethodPost, http.MethodPatch
	// Everyone sees their own subscriptions; a subscription and its
	// locations are readable by anyone with access to something in it.
	h.rule(get, "/subscriptions", "", accessAny)
	h.rule(get, "/tenants", "", accessAny)
	// An operation's status is as readable as the resource it creates
	// (checked by the handler, which knows the resource).
	h.rule(get, pLoc+"/operationStatuses/{id}", "", accessReach)
	h.rule(get, pSub, "", accessReach)
	h.rule(get, pSub+"/locations", "", accessReach)
	// Public price lists.
	h.rule(get, pCS+"/pricing", "", accessAny)
	h.rule(get, pCS+"/pricing/quote", "", accessAny)
	// Filing a quota request is a write; deciding one is the operators'.
	h.rule(post, pSub+pCS+"/quotaRequests", "Microsoft.CognitiveServices/quotaRequests/write", accessAction)
	h.rule(post, pSub+pCS+"/quotaRequests/{id}/approve", "", accessRoot)
	h.rule(post, pSub+pCS+"/quotaRequests/{id}/reject", "", accessRoot)
	// Capacity pools: one resource type addressed by three segments.
	h.rule(get, pCS+"/capacityPools/{region}/{model}/{version}", "Microsoft.CognitiveServices/capacityPools/read", accessAction)
	h.rule(patch, pCS+"/capacityPools/{region}/{model}/{version}", "Microsoft.CognitiveServices/capacityPools/write", accessAction)
	// Reservations are Microsoft.Capacity's in Azure.
	h.rule(post, pSub+pCS+"/reservations", authz.ActionReservationPurchase, accessAction)
	h.rule(get, pSub+pCS+"/reservations", authz.ActionReservationRead, accessAction)
	h.rule(get, pSub+pCS+"/reservations/{id}", authz.ActionReservationRead, accessAction)
	h.rule(patch, pSub+pCS+"/reservations/{id}", "Microsoft.Capacity/reservationOrders/reservations/write", accessAction)
	h.rule(post, pSub+pCS+"/reservations/{id}/cancel", "Microsoft.Capacity/reservationOrders/return/action", accessAction)
}
