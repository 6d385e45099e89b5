package arm

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/armwire"
	"github.com/ptu-dev/ptu/authz"
)

// The activity log of control-plane writes, in the EventData shape of the
// Azure Monitor activity log API (armmonitor's ActivityLogsClient.NewListPager,
// az monitor activity-log list).

// maxActivitySpan is the longest time range one query may cover, as in Azure.
const maxActivitySpan = 90 * 24 * time.Hour

func localizable(s string) *armwire.LocalizableString {
	return &armwire.LocalizableString{Value: s, LocalizedValue: s}
}

// resourceTypeOf is the resource type an action acts on: the action less
// its verb ("…/deployments/write" -> "…/deployments", "…/listKeys/action"
// -> "…/accounts").
func resourceTypeOf(action string) string {
	parts := strings.Split(action, "/")
	n := len(parts) - 1
	if strings.EqualFold(parts[n], "action") && n > 1 {
		n--
	}
	return strings.Join(parts[:n], "/")
}

func eventWire(e ptu.ActivityEvent) armwire.ActivityEvent {
	at := armTime(e.Time)
	level := "Informational"
	if e.Status == ptu.ActivityFailed {
		level = "Error"
	}
	ns, _, _ := strings.Cut(e.Operation, "/")
	props := map[string]string{
		"statusCode":       strings.ReplaceAll(http.StatusText(e.HTTPStatus), " ", ""),
		"httpStatusCode":   strconv.Itoa(e.HTTPStatus),
		"serviceRequestId": e.ID,
		"eventCategory":    "Administrative",
		"entity":           e.Scope,
		"message":          e.Operation,
		"hierarchy":        "",
	}
	if e.ErrorCode != "" {
		props["statusMessage"] = fmt.Sprintf(`{"error":{"code":"%s"}}`, e.ErrorCode)
	}
	return armwire.ActivityEvent{
		Authorization: armwire.SenderAuthorization{Action: e.Operation, Scope: e.Scope},
		Caller:        e.Caller,
		Channels:      "Operation",
		Claims: map[string]string{
			"http://schemas.microsoft.com/identity/claims/objectidentifier": e.CallerID,
			"name": e.Caller,
		},
		CorrelationID:        e.CorrelationID,
		EventDataID:          e.ID,
		EventName:            &armwire.LocalizableString{Value: "EndRequest", LocalizedValue: "End request"},
		Category:             localizable("Administrative"),
		EventTimestamp:       at,
		HTTPRequest:          armwire.HTTPRequestInfo{ClientRequestID: e.ClientRequest, Method: e.Method, URI: e.URI},
		ID:                   e.Scope + "/events/" + e.ID + "/ticks/" + strconv.FormatInt(dotnetTicks(e.Time), 10),
		Level:                level,
		OperationID:          e.ID,
		OperationName:        localizable(e.Operation),
		Properties:           props,
		ResourceGroupName:    e.ResourceGroup,
		ResourceID:           e.Scope,
		ResourceProviderName: localizable(ns),
		ResourceType:         localizable(resourceTypeOf(e.Operation)),
		Status:               localizable(e.Status),
		SubStatus:            localizable(http.StatusText(e.HTTPStatus)),
		SubmissionTimestamp:  at,
		SubscriptionID:       e.SubscriptionID,
	}
}

// dotnetTicks is t in .NET ticks (100 ns since 0001-01-01), as activity log ids carry.
func dotnetTicks(t time.Time) int64 {
	const unixEpochTicks = 621355968000000000
	return unixEpochTicks + t.UnixNano()/100
}

// activityQuery is what an activity log $filter selects.
type activityQuery struct {
	from, to      time.Time
	resourceGroup string
	resourceURI   string
	correlationID string
	caller        string
	status        string
}

// parseActivityFilter reads the $filter of the activity log: eventTimestamp
// ge '…' (required) and le '…', with optional resourceGroupName eq '…',
// resourceUri eq '…' (or resourceId), correlationId eq '…', caller eq '…',
// status eq '…', joined by "and".
func parseActivityFilter(f string, now time.Time) (activityQuery, error) {
	var q activityQuery
	bad := func(format string, args ...any) error {
		return &ptu.Error{Code: ptu.CodeBadRequest, Target: "$filter", Message: fmt.Sprintf(format, args...)}
	}
	for _, c := range splitAnd(f) {
		field, rest, _ := strings.Cut(c, " ")
		op, val, _ := strings.Cut(strings.TrimSpace(rest), " ")
		op, val = strings.ToLower(op), unquote(val)
		switch strings.ToLower(field) {
		case "eventtimestamp":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return q, bad("The time '%s' in the filter is not an ISO 8601 time such as 2026-03-01T00:00:00Z.", val)
			}
			switch op {
			case "ge":
				q.from = t
			case "le":
				q.to = t
			default:
				return q, bad("eventTimestamp supports ge and le, not '%s'.", op)
			}
		case "resourcegroupname", "resourcegroup":
			q.resourceGroup = val
		case "resourceuri", "resourceid":
			q.resourceURI = val
		case "correlationid":
			q.correlationID = val
		case "caller":
			q.caller = val
		case "status":
			q.status = val
		default:
			return q, bad("The filter field '%s' is not supported. Use eventTimestamp, resourceGroupName, resourceUri, correlationId, caller or status.", field)
		}
		if strings.ToLower(field) != "eventtimestamp" && op != "eq" {
			return q, bad("'%s' supports eq, not '%s'.", field, op)
		}
	}
	if q.from.IsZero() {
		return q, bad("The $filter must give the start of the time range: eventTimestamp ge '2026-03-01T00:00:00Z'.")
	}
	if q.to.IsZero() {
		q.to = now
	}
	if q.to.Before(q.from) {
		return q, bad("The end of the time range is before its start.")
	}
	if q.to.Sub(q.from) > maxActivitySpan {
		return q, bad("The time range may cover at most 90 days.")
	}
	return q, nil
}

func (h *handler) listActivity(r *http.Request, p params) (int, any, error) {
	q, err := parseActivityFilter(queryValue(r.URL.Query(), "$filter"), h.subs.Now())
	if err != nil {
		return 0, nil, err
	}
	sub, err := h.subs.GetSubscription(r.Context(), p["sub"])
	if err != nil {
		return 0, nil, err
	}
	events, err := h.activity.ListActivity(r.Context(), ptu.ActivityFilter{
		SubscriptionID: sub.ID, ResourceGroup: q.resourceGroup, From: q.from, To: q.to,
	})
	if err != nil {
		return 0, nil, err
	}
	out := []armwire.ActivityEvent{}
	for _, e := range events {
		if q.resourceURI != "" && !authz.ScopeContains(q.resourceURI, e.Scope) ||
			q.correlationID != "" && !strings.EqualFold(q.correlationID, e.CorrelationID) ||
			q.caller != "" && !strings.EqualFold(q.caller, e.Caller) && !strings.EqualFold(q.caller, e.CallerID) ||
			q.status != "" && !strings.EqualFold(q.status, e.Status) {
			continue
		}
		out = append(out, eventWire(e))
	}
	return http.StatusOK, armwire.ListOf(out), nil
}
