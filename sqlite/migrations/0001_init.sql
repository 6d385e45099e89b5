-- Names that ARM treats case-insensitively (subscription ids, resource groups,
-- account and deployment names, custom subdomains, regions) are NOCASE: the
-- casing given at creation is stored, lookups and uniqueness ignore case.
-- Times are fixed-width RFC 3339 UTC text ('' for the zero time), so they sort
-- as they compare.

CREATE TABLE subscriptions (
	id           TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
	display_name TEXT NOT NULL DEFAULT '',
	tenant_id    TEXT NOT NULL DEFAULT '',
	state        TEXT NOT NULL DEFAULT ''
);

CREATE TABLE regions (
	name         TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
	display_name TEXT NOT NULL DEFAULT '',
	data_zone    TEXT NOT NULL DEFAULT ''
);

CREATE TABLE pools (
	id        TEXT NOT NULL PRIMARY KEY,
	region    TEXT NOT NULL COLLATE NOCASE,
	model     TEXT NOT NULL,
	version   TEXT NOT NULL,
	rated_ptu INTEGER NOT NULL,
	backend   TEXT NOT NULL DEFAULT ''
);

CREATE TABLE quota_limits (
	subscription_id TEXT NOT NULL COLLATE NOCASE,
	region          TEXT NOT NULL COLLATE NOCASE,
	sku_name        TEXT NOT NULL,
	quota_limit     INTEGER NOT NULL,
	PRIMARY KEY (subscription_id, region, sku_name)
);

CREATE TABLE accounts (
	id                 INTEGER PRIMARY KEY,
	subscription_id    TEXT NOT NULL COLLATE NOCASE,
	resource_group     TEXT NOT NULL COLLATE NOCASE,
	name               TEXT NOT NULL COLLATE NOCASE,
	location           TEXT NOT NULL COLLATE NOCASE,
	kind               TEXT NOT NULL DEFAULT '',
	sku                TEXT NOT NULL DEFAULT '',
	custom_subdomain   TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
	tags               TEXT NOT NULL DEFAULT '{}',
	key1               TEXT NOT NULL DEFAULT '',
	key2               TEXT NOT NULL DEFAULT '',
	disable_local_auth INTEGER NOT NULL DEFAULT 0,
	public_network     TEXT NOT NULL DEFAULT '',
	state              TEXT NOT NULL DEFAULT '',
	created_at         TEXT NOT NULL DEFAULT '',
	updated_at         TEXT NOT NULL DEFAULT '',
	UNIQUE (subscription_id, resource_group, name)
);

-- An account without a custom subdomain does not claim the empty one.
CREATE UNIQUE INDEX accounts_custom_subdomain ON accounts (custom_subdomain) WHERE custom_subdomain <> '';

CREATE TABLE deployments (
	id                        INTEGER PRIMARY KEY,
	account_id                INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name                      TEXT NOT NULL COLLATE NOCASE,
	region                    TEXT NOT NULL COLLATE NOCASE,
	model_format              TEXT NOT NULL DEFAULT '',
	model_name                TEXT NOT NULL DEFAULT '',
	model_version             TEXT NOT NULL DEFAULT '',
	sku_name                  TEXT NOT NULL,
	capacity                  INTEGER NOT NULL DEFAULT 0,
	rai_policy_name           TEXT NOT NULL DEFAULT '',
	version_upgrade_option    TEXT NOT NULL DEFAULT '',
	spillover_deployment_name TEXT NOT NULL DEFAULT '',
	state                     TEXT NOT NULL DEFAULT '',
	created_at                TEXT NOT NULL DEFAULT '',
	updated_at                TEXT NOT NULL DEFAULT '',
	UNIQUE (account_id, name)
);

CREATE INDEX deployments_region_sku ON deployments (region, sku_name);

-- seq keeps a deployment's allocations in the order they were given.
CREATE TABLE allocations (
	deployment_id INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
	seq           INTEGER NOT NULL,
	pool_id       TEXT NOT NULL REFERENCES pools (id),
	ptu           INTEGER NOT NULL,
	PRIMARY KEY (deployment_id, seq)
);

CREATE INDEX allocations_pool ON allocations (pool_id);

CREATE TABLE quota_requests (
	id              TEXT NOT NULL PRIMARY KEY,
	subscription_id TEXT NOT NULL COLLATE NOCASE,
	region          TEXT NOT NULL COLLATE NOCASE,
	sku_name        TEXT NOT NULL,
	requested_limit INTEGER NOT NULL,
	reason          TEXT NOT NULL DEFAULT '',
	state           TEXT NOT NULL DEFAULT '',
	review_note     TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL DEFAULT '',
	decided_at      TEXT NOT NULL DEFAULT ''
);

CREATE INDEX quota_requests_created ON quota_requests (created_at);
