package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ptu-dev/ptu/client"
)

// newActivityLog is `ptu monitor activity-log`: the control-plane writes of
// a subscription, as az monitor activity-log list reads them.
func newActivityLog(g *cli) *cobra.Command {
	var q client.ActivityLogQuery
	var start, end, offset string
	var max int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the control-plane writes of the subscription: who did what, where, when, and how it ended",
		Long: `List activity log events, newest first: every PUT, PATCH, DELETE and POST of the
control plane, allowed or refused, with the caller, the operation (its action), the
resource, the time, the status and the correlation id. --start-time/--end-time or
--offset (default 6h before now or before --end-time) give the time range; at most
90 days. Reading the log needs Microsoft.Insights/eventtypes/values/read on the
subscription (Reader, Contributor, Owner).`,
		Example: `  ptu monitor activity-log list --offset 1d -o table \
    --query "[].{time:eventTimestamp, caller:caller, operation:operationName.value, status:status.value, resource:resourceId}"
  ptu monitor activity-log list -g demo --start-time 2026-03-01 --end-time 2026-03-02
  ptu monitor activity-log list --correlation-id 5b1c7e0e-0b6f-4c1d-9e5a-3f2d4c6b8a10`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, _ []string, c *client.Client) (any, error) {
			st, err := parseFlagTime("start-time", start)
			if err != nil {
				return nil, err
			}
			en, err := parseFlagTime("end-time", end)
			if err != nil {
				return nil, err
			}
			span, err := compactDuration("offset", offset)
			if err != nil {
				return nil, err
			}
			if en != "" {
				q.End, _ = time.Parse(time.RFC3339, en)
			}
			switch {
			case st != "":
				q.Start, _ = time.Parse(time.RFC3339, st)
			case !q.End.IsZero():
				q.Start = q.End.Add(-span)
			default:
				q.Start = time.Now().UTC().Add(-span)
			}
			events, err := c.ListActivityLog(cmd.Context(), q)
			if err != nil {
				return nil, err
			}
			if max > 0 && len(events) > max {
				events = events[:max]
			}
			return events, nil
		}),
	}
	f := list.Flags()
	f.StringVarP(&q.ResourceGroup, "resource-group", "g", "", "only this resource group's events")
	f.StringVar(&q.ResourceID, "resource-id", "", "only events of this resource and what is below it")
	f.StringVar(&q.CorrelationID, "correlation-id", "", "only the events of this correlation id")
	f.StringVar(&q.Caller, "caller", "", "only this caller's events (principal name or id, or admin)")
	f.StringVar(&q.Status, "status", "", "only events with this status: Succeeded or Failed")
	f.StringVar(&start, "start-time", "", "start of the range, RFC 3339 (2026-03-02T09:00:00Z) or a date; default end time minus offset")
	f.StringVar(&end, "end-time", "", "end of the range; default now")
	f.StringVar(&offset, "offset", "6h", "length of the range when --start-time is missing: ##d##h##m (6h, 1d2h)")
	f.IntVar(&max, "max-events", 50, "at most this many events, newest first (0: all)")
	return group("activity-log", "Read the activity log of control-plane writes, as az monitor activity-log does",
		`  ptu monitor activity-log list --offset 1d -o table`,
		withTable(list, "Time:eventTimestamp, Caller:caller, Operation:operationName.value, Status:status.value, "+
			"Code:properties.statusCode, ResourceGroup:resourceGroupName, Resource:resourceId"))
}

// compactDuration parses az's ##d##h##m##s.
func compactDuration(flag, s string) (time.Duration, error) {
	m := compactDurationRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if s == "" || m == nil {
		return 0, fmt.Errorf("argument --%s: %q is not ##d##h##m (6h, 1d2h, 30m)", flag, s)
	}
	var n [4]int
	for i := range n {
		if m[i+1] != "" {
			n[i], _ = strconv.Atoi(m[i+1])
		}
	}
	d := time.Duration(n[0])*24*time.Hour + time.Duration(n[1])*time.Hour + time.Duration(n[2])*time.Minute + time.Duration(n[3])*time.Second
	if d <= 0 {
		return 0, fmt.Errorf("argument --%s: %q is not a positive duration", flag, s)
	}
	return d, nil
}
