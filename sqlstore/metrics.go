package sqlstore

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ptu-dev/ptu"
)

// Metric points: see migrations/0002_metrics.sql.

const metricColumns = `resource, metric, grain, time, deployment, model_name, model_version, region,
	stream_type, status_code, is_spillover, operation, count, total, minimum, maximum`

func (t *tx) addMetricPoints(points []ptu.MetricPoint) error {
	if len(points) == 0 {
		return nil
	}
	stmt, err := t.tx.PrepareContext(t.ctx, t.rebind(`INSERT INTO metric_points (`+metricColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (resource, grain, metric, time, deployment, model_name, model_version, region,
		             stream_type, status_code, is_spillover, operation)
		DO UPDATE SET count = metric_points.count + excluded.count, total = metric_points.total + excluded.total,
		              minimum = CASE WHEN excluded.minimum < metric_points.minimum THEN excluded.minimum ELSE metric_points.minimum END,
		              maximum = CASE WHEN excluded.maximum > metric_points.maximum THEN excluded.maximum ELSE metric_points.maximum END`))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, p := range points {
		grain, err := grainSeconds(p.Grain)
		if err != nil {
			return err
		}
		if p.Resource == "" || p.Metric == "" {
			return fmt.Errorf("store: metric point without a resource or metric: %+v", p)
		}
		if p.Time.Unix()%grain != 0 || p.Time.Nanosecond() != 0 {
			return fmt.Errorf("store: metric point time %s is not a multiple of its grain %s", p.Time.UTC().Format(time.RFC3339Nano), p.Grain)
		}
		d := p.Dimensions
		if _, err := stmt.ExecContext(t.ctx, p.Resource, p.Metric, grain, p.Time.Unix(),
			d.Deployment, d.ModelName, d.ModelVersion, d.Region, d.StreamType, d.StatusCode, d.IsSpillover, d.Operation,
			p.Count, p.Total, p.Minimum, p.Maximum); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) queryMetrics(f ptu.MetricFilter) ([]ptu.MetricPoint, error) {
	if f.Resource == "" {
		return nil, fmt.Errorf("store: QueryMetrics needs a resource")
	}
	where := []string{"resource = ?"}
	args := []any{f.Resource}
	if f.Grain != 0 {
		grain, err := grainSeconds(f.Grain)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "grain = ?"), append(args, grain)
	}
	if len(f.Metrics) > 0 {
		where = append(where, "metric IN (?"+strings.Repeat(", ?", len(f.Metrics)-1)+")")
		for _, m := range f.Metrics {
			args = append(args, m)
		}
	}
	if !f.From.IsZero() {
		where, args = append(where, "time >= ?"), append(args, ceilUnix(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "time < ?"), append(args, ceilUnix(f.To))
	}
	return scanAll(t, func(r *sql.Rows) (ptu.MetricPoint, error) {
		var p ptu.MetricPoint
		var grain, at int64
		d := &p.Dimensions
		err := r.Scan(&p.Resource, &p.Metric, &grain, &at, &d.Deployment, &d.ModelName, &d.ModelVersion, &d.Region,
			&d.StreamType, &d.StatusCode, &d.IsSpillover, &d.Operation, &p.Count, &p.Total, &p.Minimum, &p.Maximum)
		p.Grain = time.Duration(grain) * time.Second
		p.Time = time.Unix(at, 0).UTC()
		return p, err
	}, `SELECT `+metricColumns+` FROM metric_points WHERE `+strings.Join(where, " AND ")+`
		ORDER BY metric, deployment, model_name, model_version, region, stream_type, status_code, is_spillover, operation, grain, time`,
		args...)
}

func (t *tx) deleteMetricsBefore(before time.Time) (int, error) {
	res, err := t.exec(`DELETE FROM metric_points WHERE time < ?`, ceilUnix(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// grainSeconds checks a grain and returns it in whole seconds.
func grainSeconds(g time.Duration) (int64, error) {
	if g <= 0 || g%time.Second != 0 {
		return 0, fmt.Errorf("store: metric grain %s is not a positive number of seconds", g)
	}
	return int64(g / time.Second), nil
}

// ceilUnix is the least whole second not before t: a stored time (whole
// seconds) is before t exactly when it is before ceilUnix(t).
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
