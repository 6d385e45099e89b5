package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ptu-dev/ptu/armwire"
)

// Error is an error answer of the service. The control plane answers in
// ARM's shape ({"error":{"code","message","target","details","additionalInfo"}}),
// the data plane in Azure's ({"error":{"code","message"}}) or OpenAI's
// ({"error":{"message","type","param","code"}}); all three land here.
type Error struct {
	StatusCode int
	// Code is the service's error code (InsufficientQuota, DeploymentNotFound,
	// "429", ...); for an OpenAI-shaped error without a code, its type.
	Code    string
	Message string
	Target  string // ARM: the field at fault
	Type    string // OpenAI: invalid_request_error, ...
	Param   string // OpenAI: the parameter at fault
	Details []ErrorDetail
	// AdditionalInfo is ARM's structured detail; see CapacityShortage.
	AdditionalInfo []AdditionalInfo
	// RequestID is the service's id of the request (apim-request-id or
	// x-ms-request-id), the one its logs carry.
	RequestID string
	// RetryAfter is what the service asked to wait (retry-after-ms, else
	// retry-after); zero when it did not say.
	RetryAfter time.Duration
	Method     string
	URL        string
	// Attempts lists every attempt of the call that ended in this error.
	Attempts []Attempt
}

// ErrorDetail is one entry of an ARM error's details.
type ErrorDetail = armwire.ErrorDetail

// AdditionalInfo is one entry of an ARM error's additionalInfo.
type AdditionalInfo = armwire.AdditionalInfo

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	var extra []string
	if e.StatusCode != 0 {
		extra = append(extra, fmt.Sprintf("HTTP %d", e.StatusCode))
	}
	if e.RequestID != "" {
		extra = append(extra, "request id "+e.RequestID)
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	return b.String()
}

// CapacityShortage is the detail of an InsufficientResourcesAvailable
// error: what could be deployed now and where else the size fits.
type CapacityShortage = armwire.CapacityShortage

// Alternative is another region where a refused deployment would fit now.
type Alternative = armwire.Alternative

// CapacityShortage returns the error's CapacityShortage detail, or nil.
func (e *Error) CapacityShortage() *CapacityShortage { return armwire.Shortage(e.AdditionalInfo) }

// IsThrottled reports whether err is (or wraps) a 429 from the service.
func IsThrottled(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsNotFound reports whether err is (or wraps) a 404 from the service.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// ErrorCode returns the service's code of err, or "" when err is not a service error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == status
}

// errorBody is the union of the three error shapes.
type errorBody struct {
	Error *struct {
		Code           json.RawMessage  `json:"code"`
		Message        string           `json:"message"`
		Target         string           `json:"target"`
		Type           string           `json:"type"`
		Param          *string          `json:"param"`
		Details        []ErrorDetail    `json:"details"`
		AdditionalInfo []AdditionalInfo `json:"additionalInfo"`
	} `json:"error"`
	// Some services answer ARM errors unwrapped.
	Code    string `json:"code"`
	Message string `json:"message"`
}

// parseError builds an Error from a non-2xx response's status, header and body.
func parseError(status int, h http.Header, body []byte, now time.Time) *Error {
	e := &Error{StatusCode: status, RequestID: requestID(h), RetryAfter: retryAfter(h, now)}
	var b errorBody
	if json.Unmarshal(body, &b) == nil {
		switch {
		case b.Error != nil:
			e.Code = rawCode(b.Error.Code)
			e.Message = b.Error.Message
			e.Target = b.Error.Target
			e.Type = b.Error.Type
			if b.Error.Param != nil {
				e.Param = *b.Error.Param
			}
			e.Details = b.Error.Details
			e.AdditionalInfo = b.Error.AdditionalInfo
			if e.Code == "" {
				e.Code = e.Type
			}
		case b.Code != "":
			e.Code, e.Message = b.Code, b.Message
		}
	}
	if e.Code == "" {
		e.Code = strconv.Itoa(status)
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 512 {
			e.Message = e.Message[:512] + "…"
		}
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	return e
}

// rawCode reads an error code given as a string, a number or null.
func rawCode(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func requestID(h http.Header) string {
	for _, k := range []string{"apim-request-id", "x-ms-request-id", "x-request-id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// retryAfter reads retry-after-ms, else retry-after (seconds or an HTTP
// date, relative to now); zero when neither gives a positive wait.
func retryAfter(h http.Header, now time.Time) time.Duration {
	for _, k := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e12 {
				return time.Duration(ms * float64(time.Millisecond))
			}
		}
	}
	v := strings.TrimSpace(h.Get("retry-after"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 1e9 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
