package gateway

import (
	"net/http"
	"strconv"
)

// The response headers every call sets, in the canonical form net/http
// keeps them in (and writes). http.Header.Set canonicalizes its key on
// every call, which allocates a new string for a key written in lower case,
// as Azure documents these; setting the canonical key directly does not.
var (
	hdrContentType     = http.CanonicalHeaderKey("Content-Type")
	hdrRequestID       = http.CanonicalHeaderKey("apim-request-id")
	hdrXRequestID      = http.CanonicalHeaderKey("x-request-id")
	hdrRegion          = http.CanonicalHeaderKey("x-ms-region")
	hdrDeploymentName  = http.CanonicalHeaderKey("x-ms-deployment-name")
	hdrIsSpilledOver   = http.CanonicalHeaderKey(HeaderIsSpilledOver)
	hdrUtilization     = http.CanonicalHeaderKey("azure-openai-deployment-utilization")
	hdrBucketUtil      = http.CanonicalHeaderKey(HeaderBucketUtilization)
	hdrRemainingTokens = http.CanonicalHeaderKey("x-ratelimit-remaining-tokens")
	hdrRemainingReqs   = http.CanonicalHeaderKey("x-ratelimit-remaining-requests")
	hdrRetryAfter      = http.CanonicalHeaderKey("retry-after")
	hdrRetryAfterMs    = http.CanonicalHeaderKey("retry-after-ms")
	hdrContentLength   = http.CanonicalHeaderKey("Content-Length")
)

// The values of headers that are the same on many calls, shared: net/http
// only reads them.
var (
	valJSON  = []string{"application/json"}
	valTrue  = []string{"true"}
	valFalse = []string{"false"}
)

// setHeader sets the header of canonical key k to v.
func setHeader(h http.Header, k, v string) { h[k] = []string{v} }

// setRetryAfter tells a refused caller when to come back, in whole seconds
// and in milliseconds, as Azure OpenAI's 429s and 503s do.
func setRetryAfter(h http.Header, secs, ms int64) {
	setHeader(h, hdrRetryAfter, itoa(secs))
	setHeader(h, hdrRetryAfterMs, itoa(ms))
}

// percent formats a utilization as Azure does: one decimal and a percent sign.
func percent(v float64) string {
	var b [24]byte
	return string(append(strconv.AppendFloat(b[:0], v, 'f', 1, 64), '%'))
}
