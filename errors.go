package ptu

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes that reach clients. They are the codes the Azure APIs use, so
// clients written against Azure recognise them.
const (
	// ARM (control plane)
	CodeInvalidRequestContent       = "InvalidRequestContent"      // 400 malformed JSON or wrong types
	CodeInvalidResourceName         = "InvalidResourceName"        // 400 name breaks ARM naming rules
	CodeInvalidResourceProperties   = "InvalidResourceProperties"  // 400 a property has a bad value
	CodeMissingAPIVersion           = "MissingApiVersionParameter" // 400
	CodeInvalidAPIVersion           = "InvalidApiVersionParameter" // 400
	CodeInvalidCapacity             = "InvalidCapacity"            // 400 capacity not min/step aligned
	CodeInsufficientQuota           = "InsufficientQuota"          // 400 over the quota limit
	CodeInsufficientCapacity        = "InsufficientResourcesAvailable"
	CodeDeploymentModelNotSupported = "DeploymentModelNotSupported" // 400 unknown model or version
	CodeInvalidSKU                  = "InvalidSkuName"              // 400 unknown or unsupported deployment type
	CodeLocationNotAvailable        = "LocationNotAvailableForResourceType"
	CodeBadRequest                  = "BadRequest"                 // 400 Azure Monitor: a metrics query parameter is not valid
	CodeNoRegisteredProvider        = "NoRegisteredProviderFound"  // 400 a resource type the api-version does not have
	CodeSubscriptionNotFound        = "SubscriptionNotFound"       // 404
	CodeResourceNotFound            = "ResourceNotFound"           // 404
	CodeDeploymentNotFound          = "DeploymentNotFound"         // 404
	CodeCustomDomainInUse           = "CustomDomainInUse"          // 409
	CodeConflict                    = "Conflict"                   // 409
	CodeAuthenticationFailed        = "AuthenticationFailed"       // 401
	CodeInvalidAuthenticationToken  = "InvalidAuthenticationToken" // 401
	CodeAuthorizationFailed         = "AuthorizationFailed"        // 403
	CodeExpiredAuthenticationToken  = "ExpiredAuthenticationToken" // 401 a principal's token past its expiry
	CodePrincipalNotFound           = "PrincipalNotFound"          // 400 a role assignment names no principal
	CodeRoleDefinitionDoesNotExist  = "RoleDefinitionDoesNotExist" // 404
	CodeRoleAssignmentExists        = "RoleAssignmentExists"       // 409 the same principal, role and scope
	CodeRoleAssignmentNotFound      = "RoleAssignmentNotFound"     // 404
	CodeInvalidRoleAssignmentID     = "InvalidRoleAssignmentId"    // 400 the name is not a GUID
	CodeNotFound                    = "NotFound"                   // 404 route
	CodeMethodNotAllowed            = "MethodNotAllowed"           // 405
	CodeRequestEntityTooLarge       = "RequestEntityTooLarge"      // 413 a body over the size limit
	CodeUnsupportedMediaType        = "UnsupportedMediaType"       // 415 a body that is not JSON
	CodeInternal                    = "InternalServerError"        // 500
)

// Error is an error that reaches a client with a stable code.
type Error struct {
	Code    string
	Message string
	Target  string
	Details []*Error
	// Info carries structured detail for clients that want more than prose
	// (for example the other regions where a deployment would fit).
	Info any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is returned by a Store when a record does not exist.
// Services translate it into the specific code the client sees.
var ErrNotFound = errors.New("not found")

// ErrorCode returns the code of err, or InternalServerError for errors without one.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorStatus maps an error's code to its HTTP status. It is the one place that does.
func ErrorStatus(err error) int {
	switch ErrorCode(err) {
	case CodeInvalidRequestContent, CodeInvalidResourceName, CodeInvalidResourceProperties,
		CodeMissingAPIVersion, CodeInvalidAPIVersion, CodeInvalidCapacity, CodeInsufficientQuota,
		CodeDeploymentModelNotSupported, CodeInvalidSKU, CodeLocationNotAvailable, CodeBadRequest,
		CodePrincipalNotFound, CodeInvalidRoleAssignmentID, CodeNoRegisteredProvider:
		return http.StatusBadRequest
	case CodeSubscriptionNotFound, CodeResourceNotFound, CodeDeploymentNotFound, CodeNotFound,
		CodeRoleDefinitionDoesNotExist, CodeRoleAssignmentNotFound:
		return http.StatusNotFound
	case CodeCustomDomainInUse, CodeConflict, CodeInsufficientCapacity, CodeRoleAssignmentExists:
		return http.StatusConflict
	case CodeAuthenticationFailed, CodeInvalidAuthenticationToken, CodeExpiredAuthenticationToken:
		return http.StatusUnauthorized
	case CodeAuthorizationFailed:
		return http.StatusForbidden
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeRequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusInternalServerError
	}
}
