package armwire

import "encoding/json"

// ErrorResponse is ARM's error envelope (ErrorResponse / ErrorDetail).
type ErrorResponse struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an ARM error: a stable code, a message, the field at fault,
// nested details and structured additional information.
type ErrorDetail struct {
	Code           string           `json:"code"`
	Message        string           `json:"message"`
	Target         string           `json:"target,omitempty"`
	Details        []ErrorDetail    `json:"details,omitempty"`
	AdditionalInfo []AdditionalInfo `json:"additionalInfo,omitempty"`
}

// AdditionalInfo is one entry of an error's additionalInfo; Type names what
// Info holds (CapacityShortage, ...).
type AdditionalInfo struct {
	Type string          `json:"type"`
	Info json.RawMessage `json:"info"`
}

// CapacityShortageType is the additionalInfo type of a CapacityShortage.
const CapacityShortageType = "CapacityShortage"

// CapacityShortage is the detail of an InsufficientResourcesAvailable
// error: what could be deployed now and where else the size fits.
type CapacityShortage struct {
	Requested     int           `json:"requested"`
	DeployableNow int           `json:"deployableNow"`
	QuotaFree     int           `json:"quotaFree"`
	Alternatives  []Alternative `json:"alternatives"`
}

// Alternative is another region where a refused deployment would fit now.
type Alternative struct {
	Location    string   `json:"location"`
	DisplayName string   `json:"displayName"`
	MaxCapacity int      `json:"maxCapacity"`
	Accounts    []string `json:"accounts"` // the caller's accounts there
}

// Shortage returns the CapacityShortage in infos, or nil.
func Shortage(infos []AdditionalInfo) *CapacityShortage {
	for _, ai := range infos {
		if ai.Type != CapacityShortageType {
			continue
		}
		var s CapacityShortage
		if json.Unmarshal(ai.Info, &s) == nil {
			return &s
		}
	}
	return nil
}

// OperationStatus is an Azure-AsyncOperation's status: InProgress, then
// Succeeded, Failed (with Error) or Canceled. The protocol:
// https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/async-api-reference.proposed.md
type OperationStatus struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Status    string       `json:"status"`
	StartTime string       `json:"startTime,omitempty"`
	EndTime   string       `json:"endTime,omitempty"`
	Error     *ErrorDetail `json:"error,omitempty"`
}
