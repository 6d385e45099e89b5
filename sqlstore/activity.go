package sqlstore

import (
	"database/sql"
	"time"

	"github.com/ptu-dev/ptu"
)

// Activity log

const activityColumns = `id, event_time, caller_id, caller, operation, scope, subscription_id, resource_group,
	method, uri, status, http_status, error_code, correlation_id, client_request`

func (t *tx) addActivityEvent(e ptu.ActivityEvent) error {
	_, err := t.exec(`INSERT INTO activity_log (`+activityColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, FormatTime(e.Time), e.CallerID, e.Caller, e.Operation, e.Scope, e.SubscriptionID, e.ResourceGroup,
		e.Method, e.URI, e.Status, e.HTTPStatus, e.ErrorCode, e.CorrelationID, e.ClientRequest)
	return err
}

func (t *tx) listActivityEvents(f ptu.ActivityFilter) ([]ptu.ActivityEvent, error) {
	q := `SELECT ` + activityColumns + ` FROM activity_log WHERE 1 = 1`
	var args []any
	if f.SubscriptionID != "" {
		q += ` AND subscription_id = ?`
		args = append(args, f.SubscriptionID)
	}
	if f.ResourceGroup != "" {
		q += ` AND resource_group = ?`
		args = append(args, f.ResourceGroup)
	}
	if !f.From.IsZero() {
		q += ` AND event_time >= ?`
		args = append(args, FormatTime(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND event_time <= ?`
		args = append(args, FormatTime(f.To))
	}
	q += ` ORDER BY event_time DESC, seq DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return scanAll(t, func(r *sql.Rows) (ptu.ActivityEvent, error) {
		var e ptu.ActivityEvent
		var at string
		if err := r.Scan(&e.ID, &at, &e.CallerID, &e.Caller, &e.Operation, &e.Scope, &e.SubscriptionID, &e.ResourceGroup,
			&e.Method, &e.URI, &e.Status, &e.HTTPStatus, &e.ErrorCode, &e.CorrelationID, &e.ClientRequest); err != nil {
			return e, err
		}
		var err error
		e.Time, err = parseTime(at)
		return e, err
	}, q, args...)
}

func (t *tx) deleteActivityEventsBefore(before time.Time) (int, error) {
	res, err := t.exec(`DELETE FROM activity_log WHERE event_time < ?`, FormatTime(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
