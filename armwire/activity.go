package armwire

// The activity log of control-plane writes, in the EventData shape of Azure
// Monitor's activity log API (Microsoft.Insights eventtypes/management/values
// 2015-04-01, as az monitor activity-log list reads it).

// ActivityEvent is one activity log event (EventData).
type ActivityEvent struct {
	Authorization        SenderAuthorization `json:"authorization"`
	Caller               string              `json:"caller"`
	Channels             string              `json:"channels"`
	Claims               map[string]string   `json:"claims"`
	CorrelationID        string              `json:"correlationId"`
	Description          string              `json:"description"`
	EventDataID          string              `json:"eventDataId"`
	EventName            *LocalizableString  `json:"eventName"`
	Category             *LocalizableString  `json:"category"`
	EventTimestamp       string              `json:"eventTimestamp"`
	HTTPRequest          HTTPRequestInfo     `json:"httpRequest"`
	ID                   string              `json:"id"`
	Level                string              `json:"level"`
	OperationID          string              `json:"operationId"`
	OperationName        *LocalizableString  `json:"operationName"`
	Properties           map[string]string   `json:"properties"`
	ResourceGroupName    string              `json:"resourceGroupName,omitempty"`
	ResourceID           string              `json:"resourceId"`
	ResourceProviderName *LocalizableString  `json:"resourceProviderName"`
	ResourceType         *LocalizableString  `json:"resourceType"`
	Status               *LocalizableString  `json:"status"`
	SubStatus            *LocalizableString  `json:"subStatus"`
	SubmissionTimestamp  string              `json:"submissionTimestamp"`
	SubscriptionID       string              `json:"subscriptionId,omitempty"`
}

// SenderAuthorization is the action a caller was allowed and its scope.
type SenderAuthorization struct {
	Action string `json:"action"`
	Scope  string `json:"scope"`
}

// HTTPRequestInfo is the request an event records.
type HTTPRequestInfo struct {
	ClientRequestID string `json:"clientRequestId,omitempty"`
	Method          string `json:"method"`
	URI             string `json:"uri"`
}
