package authz

import (
	"net/http"
	"strings"
)

// Action derives the ARM action of a request from its method and path
// segments, as Azure names operations: the resource type (the provider
// namespace after the last "providers" segment, then every other segment),
// then read (GET), write (PUT, PATCH), delete (DELETE), or, for POST, the
// last segment followed by /action (listKeys -> accounts/listKeys/action).
// Paths without a provider belong to Microsoft.Resources
// (/subscriptions/{id} -> Microsoft.Resources/subscriptions/read).
func Action(method string, segs []string) string {
	ns := "Microsoft.Resources"
	rest := segs
	for i := len(segs) - 2; i >= 0; i-- {
		if strings.EqualFold(segs[i], "providers") {
			ns, rest = segs[i+1], segs[i+2:]
			break
		}
	}
	parts := []string{ns}
	verb := ""
	switch method {
	case http.MethodGet, http.MethodHead:
		verb = "read"
	case http.MethodPut, http.MethodPatch:
		verb = "write"
	case http.MethodDelete:
		verb = "delete"
	case http.MethodPost:
		if len(rest)%2 == 1 {
			verb = rest[len(rest)-1] + "/action"
			rest = rest[:len(rest)-1]
		} else {
			verb = "write" // a POST that creates, as quota requests
		}
	default:
		verb = strings.ToLower(method)
	}
	for i := 0; i < len(rest); i += 2 {
		parts = append(parts, rest[i])
	}
	return strings.Join(append(parts, verb), "/")
}
