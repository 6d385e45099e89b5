-- Billing (package billing): the capacity history of deployments, PTU
-- reservations, and the hourly token counts of pay-per-token deployments.
-- None of these tables refers to accounts or deployments by key: a deleted
-- deployment's history is what its last hours are billed from.

-- One row per billable change of a deployment (create, resize, type or
-- version change, delete with capacity 0), appended in the transaction that
-- made the change. seq orders rows written at the same time.
CREATE TABLE capacity_changes (
	seq             INTEGER PRIMARY KEY,
	subscription_id TEXT NOT NULL COLLATE NOCASE,
	resource_group  TEXT NOT NULL COLLATE NOCASE,
	account         TEXT NOT NULL COLLATE NOCASE,
	deployment      TEXT NOT NULL COLLATE NOCASE,
	region          TEXT NOT NULL COLLATE NOCASE,
	model_format    TEXT NOT NULL DEFAULT '',
	model_name      TEXT NOT NULL DEFAULT '',
	model_version   TEXT NOT NULL DEFAULT '',
	sku_name        TEXT NOT NULL,
	capacity        INTEGER NOT NULL,
	at              TEXT NOT NULL
);

CREATE INDEX capacity_changes_subscription ON capacity_changes (subscription_id, at);

-- Deployments that exist when billing is installed start their history at
-- their last update: nothing before it is known.
INSERT INTO capacity_changes (subscription_id, resource_group, account, deployment, region,
	model_format, model_name, model_version, sku_name, capacity, at)
SELECT a.subscription_id, a.resource_group, a.name, d.name, d.region,
	d.model_format, d.model_name, d.model_version, d.sku_name, d.capacity,
	CASE WHEN d.updated_at <> '' THEN d.updated_at ELSE d.created_at END
FROM deployments d JOIN accounts a ON a.id = d.account_id
ORDER BY a.subscription_id, a.resource_group, a.name, d.name;

-- resource_group '' is a reservation scoped to the whole subscription.
-- end_at '' means the reservation renews itself; cancelled_at '' that it was
-- not cancelled.
CREATE TABLE reservations (
	id              TEXT NOT NULL PRIMARY KEY,
	display_name    TEXT NOT NULL DEFAULT '',
	subscription_id TEXT NOT NULL COLLATE NOCASE,
	resource_group  TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
	region          TEXT NOT NULL COLLATE NOCASE,
	sku_name        TEXT NOT NULL,
	quantity        INTEGER NOT NULL,
	term            TEXT NOT NULL,
	billing_plan    TEXT NOT NULL,
	auto_renew      INTEGER NOT NULL DEFAULT 0,
	start_at        TEXT NOT NULL,
	end_at          TEXT NOT NULL DEFAULT '',
	cancelled_at    TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL DEFAULT '',
	updated_at      TEXT NOT NULL DEFAULT ''
);

CREATE INDEX reservations_subscription ON reservations (subscription_id, start_at);

-- Token counts of the calls a deployment served, per hour (the start of the
-- hour, fixed-width RFC 3339 UTC). Rows merge on write: the counts add.
CREATE TABLE token_usage (
	subscription_id   TEXT NOT NULL COLLATE NOCASE,
	resource_group    TEXT NOT NULL COLLATE NOCASE,
	account           TEXT NOT NULL COLLATE NOCASE,
	deployment        TEXT NOT NULL COLLATE NOCASE,
	region            TEXT NOT NULL COLLATE NOCASE,
	model_format      TEXT NOT NULL DEFAULT '',
	model_name        TEXT NOT NULL COLLATE NOCASE,
	model_version     TEXT NOT NULL COLLATE NOCASE,
	sku_name          TEXT NOT NULL,
	hour              TEXT NOT NULL,
	calls             INTEGER NOT NULL,
	prompt_tokens     INTEGER NOT NULL,
	cached_tokens     INTEGER NOT NULL,
	completion_tokens INTEGER NOT NULL,
	PRIMARY KEY (subscription_id, hour, resource_group, account, deployment, sku_name, model_name, model_version, region)
) WITHOUT ROWID;
