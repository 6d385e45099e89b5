package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/ptu-dev/ptu"
)

// RunActivity runs the activity log part of the contract. open returns a
// new, empty log for each subtest and closes it when the subtest ends
// (t.Cleanup).
func RunActivity(t *testing.T, open func(t *testing.T) ptu.ActivityLog) {
	t.Run("ActivityLog", func(t *testing.T) { testActivityLog(t, open(t)) })
}

func testActivityLog(t *testing.T, s ptu.ActivityLog) {
	ev := func(i int, sub, rg string) ptu.ActivityEvent {
		return ptu.ActivityEvent{ID: "e" + string(rune('0'+i)), Time: accessTime.Add(time.Duration(i) * time.Minute),
			CallerID: "11111111-1111-1111-1111-111111111111", Caller: "alice",
			Operation: "Microsoft.CognitiveServices/accounts/write", Scope: "/subscriptions/" + sub + "/resourceGroups/" + rg,
			SubscriptionID: sub, ResourceGroup: rg, Method: "PUT", URI: "/x?api-version=1", Status: ptu.ActivitySucceeded,
			HTTPStatus: 201, CorrelationID: "c", ClientRequest: "r"}
	}
	e1, e2, e3, e4 := ev(1, "sub", "RG"), ev(2, "sub", "other"), ev(3, "sub2", "RG"), ev(4, "sub", "rg")
	e4.Status, e4.HTTPStatus, e4.ErrorCode = ptu.ActivityFailed, 403, "AuthorizationFailed"
	// Two events at the same time keep the order they were added in.
	e5 := ev(4, "sub", "RG")
	e5.ID = "e5"
	for _, e := range []ptu.ActivityEvent{e1, e2, e3, e4, e5} {
		must(t, s.AddActivityEvent(t.Context(), e))
	}
	for _, c := range []struct {
		f    ptu.ActivityFilter
		want []ptu.ActivityEvent
	}{
		{ptu.ActivityFilter{}, []ptu.ActivityEvent{e5, e4, e3, e2, e1}},
		{ptu.ActivityFilter{SubscriptionID: "SUB"}, []ptu.ActivityEvent{e5, e4, e2, e1}},
		{ptu.ActivityFilter{SubscriptionID: "sub", ResourceGroup: "rg"}, []ptu.ActivityEvent{e5, e4, e1}},
		{ptu.ActivityFilter{From: e2.Time, To: e3.Time}, []ptu.ActivityEvent{e3, e2}},
		{ptu.ActivityFilter{SubscriptionID: "sub", Limit: 2}, []ptu.ActivityEvent{e5, e4}},
	} {
		got, err := s.ListActivityEvents(t.Context(), c.f)
		must(t, err)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: got %+v, want %+v", c.f, got, c.want)
		}
	}
	n, err := s.DeleteActivityEventsBefore(t.Context(), e3.Time)
	must(t, err)
	if n != 2 {
		t.Errorf("deleted %d events before e3, want 2", n)
	}
	got, err := s.ListActivityEvents(t.Context(), ptu.ActivityFilter{})
	must(t, err)
	if !reflect.DeepEqual(got, []ptu.ActivityEvent{e5, e4, e3}) {
		t.Errorf("after the deletion: %+v", got)
	}
}
