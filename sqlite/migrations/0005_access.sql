-- Access control: principals with hashed bearer tokens, their role
-- assignments, and the activity log of control-plane writes.
CREATE TABLE principals (
	id         TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
	name       TEXT NOT NULL COLLATE NOCASE UNIQUE,
	token_hash TEXT NOT NULL UNIQUE,
	expires_at TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL DEFAULT ''
);

CREATE TABLE role_assignments (
	id                 TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
	principal_id       TEXT NOT NULL COLLATE NOCASE REFERENCES principals (id) ON DELETE CASCADE,
	role_definition_id TEXT NOT NULL COLLATE NOCASE,
	scope              TEXT NOT NULL COLLATE NOCASE,
	created_by         TEXT NOT NULL DEFAULT '',
	created_at         TEXT NOT NULL DEFAULT ''
);

CREATE INDEX role_assignments_principal ON role_assignments (principal_id);

CREATE TABLE activity_log (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	id              TEXT NOT NULL,
	event_time      TEXT NOT NULL,
	caller_id       TEXT NOT NULL DEFAULT '',
	caller          TEXT NOT NULL DEFAULT '',
	operation       TEXT NOT NULL,
	scope           TEXT NOT NULL,
	subscription_id TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	resource_group  TEXT NOT NULL COLLATE NOCASE DEFAULT '',
	method          TEXT NOT NULL DEFAULT '',
	uri             TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	http_status     INTEGER NOT NULL DEFAULT 0,
	error_code      TEXT NOT NULL DEFAULT '',
	correlation_id  TEXT NOT NULL DEFAULT '',
	client_request  TEXT NOT NULL DEFAULT ''
);

CREATE INDEX activity_log_time ON activity_log (subscription_id, event_time);
