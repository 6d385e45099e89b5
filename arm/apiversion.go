package arm

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
)

// versionSet says which api-versions a route accepts.
type versionSet int

const (
	// cognitiveVersions: the Microsoft.CognitiveServices resource provider.
	cognitiveVersions versionSet = iota + 1
	// subscriptionVersions: the subscription and location routes, which ARM
	// serves from Microsoft.Resources with its own versions; the provider's
	// versions are accepted there too so one client setting works everywhere.
	subscriptionVersions
	// monitorVersions: the Azure Monitor (Microsoft.Insights) metrics routes.
	monitorVersions
	// authorizationVersions: Microsoft.Authorization role assignments,
	// role definitions, and ptu's principals.
	authorizationVersions
	// activityLogVersions: the Azure Monitor activity log (eventtypes/management/values).
	activityLogVersions
)

// Microsoft.Authorization versions (armauthorization v2 and az role send 2022-04-01).
var authorizationStable = []string{"2015-07-01", "2018-01-01-preview", "2018-09-01-preview", "2020-04-01-preview",
	"2020-10-01-preview", "2022-04-01", "2022-05-01-preview"}

// Activity log versions (armmonitor's ActivityLogsClient sends 2015-04-01).
var activityLogStable = []string{"2015-04-01", "2017-03-01-preview"}

var (
	previewFrom = time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)
	previewTo   = time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
)

// Microsoft.Resources subscription API versions (armsubscriptions, az account).
var subscriptionStable = []string{
	"2014-04-01", "2015-01-01", "2016-06-01", "2018-06-01", "2019-06-01",
	"2019-11-01", "2020-01-01", "2021-01-01", "2022-12-01",
}

// Microsoft.Insights metrics and metricDefinitions versions (armmonitor
// sends 2024-02-01, az monitor metrics list 2018-01-01).
var monitorStable = []string{"2016-06-01", "2017-05-01-preview", "2018-01-01", "2019-07-01", "2021-05-01", "2023-10-01", "2024-02-01"}

// supportedList is the version list quoted in InvalidApiVersionParameter
// messages, newest first; previews are listed by the ones clients send most.
var supportedList = map[versionSet]string{
	cognitiveVersions: "2026-03-15-preview, 2026-03-01, 2026-01-15-preview, 2025-12-01, 2025-10-01-preview, 2025-09-01, " +
		"2025-07-01-preview, 2025-06-01, 2025-04-01-preview, 2024-10-01, 2024-06-01-preview, 2024-04-01-preview, " +
		"2023-10-01-preview, 2023-05-01, 2022-12-01, 2022-10-01, 2022-03-01, 2021-10-01, 2021-04-30, 2017-04-18, " +
		"2016-02-01-preview (and any YYYY-MM-DD-preview from 2023-05-01 to 2026-12-31)",
	monitorVersions: "2024-02-01, 2023-10-01, 2021-05-01, 2019-07-01, 2018-01-01, 2017-05-01-preview, 2016-06-01",
	authorizationVersions: "2022-05-01-preview, 2022-04-01, 2020-10-01-preview, 2020-04-01-preview, 2018-09-01-preview, " +
		"2018-01-01-preview, 2015-07-01",
	activityLogVersions: "2017-03-01-preview, 2015-04-01",
	subscriptionVersions: "2022-12-01, 2021-01-01, 2020-01-01, 2019-11-01, 2019-06-01, 2018-06-01, 2016-06-01, " +
		"2015-01-01, 2014-04-01, and the Microsoft.CognitiveServices versions",
}

func (vs versionSet) accepts(v string) bool {
	switch vs {
	case monitorVersions:
		return slices.Contains(monitorStable, v)
	case authorizationVersions:
		return slices.Contains(authorizationStable, v)
	case activityLogVersions:
		return slices.Contains(activityLogStable, v)
	}
	if slices.Contains(cognitiveStable, v) || slices.Contains(cognitivePreviewOld, v) {
		return true
	}
	if vs == subscriptionVersions && slices.Contains(subscriptionStable, v) {
		return true
	}
	d, ok := strings.CutSuffix(v, "-preview")
	if !ok {
		return false
	}
	t, err := time.Parse(time.DateOnly, d)
	return err == nil && !t.Before(previewFrom) && !t.After(previewTo)
}

// checkAPIVersion enforces the api-version query parameter. ARM matches the
// parameter name case-insensitively.
func checkAPIVersion(q url.Values, vs versionSet) error {
	v, ok := q["api-version"]
	if !ok {
		for k, vals := range q {
			if strings.EqualFold(k, "api-version") {
				v, ok = vals, true
				break
			}
		}
	}
	if !ok || len(v) == 0 || v[0] == "" {
		return ptu.Errorf(ptu.CodeMissingAPIVersion, "The api-version query parameter (?api-version=) is required for all requests.")
	}
	if len(v) > 1 || !vs.accepts(v[0]) {
		// A repeated api-version reads as the list ARM makes of it, which is no version.
		return &ptu.Error{
			Code:    ptu.CodeInvalidAPIVersion,
			Message: "The api-version '" + strings.Join(v, ",") + "' is invalid. The supported versions are '" + supportedList[vs] + "'.",
			Target:  "api-version",
		}
	}
	return nil
}
