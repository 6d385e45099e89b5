-- Metric series (package metrics): one row per resource, metric, grain,
-- interval start and combination of dimension values. A dimension the metric
-- does not split by is ''. Every finished minute is written at three grains
-- (60, 300 and 3600 seconds), so long ranges read few rows. Times are Unix
-- seconds (UTC), always a multiple of the grain. Rows merge on write: count
-- and total add, minimum and maximum keep the extremes.

CREATE TABLE metric_points (
	resource      TEXT NOT NULL COLLATE NOCASE,
	metric        TEXT NOT NULL,
	grain         BIGINT NOT NULL,
	time          BIGINT NOT NULL,
	deployment    TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	model_name    TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	model_version TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	region        TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	stream_type   TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	status_code   TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	is_spillover  TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	operation     TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	count         DOUBLE PRECISION NOT NULL,
	total         DOUBLE PRECISION NOT NULL,
	minimum       DOUBLE PRECISION NOT NULL,
	maximum       DOUBLE PRECISION NOT NULL,
	PRIMARY KEY (resource, grain, metric, time, deployment, model_name, model_version, region,
	             stream_type, status_code, is_spillover, operation)
);

-- Retention deletes by time alone.
CREATE INDEX metric_points_time ON metric_points (time);
