-- Content filter policies and custom blocklists of accounts (ARM raiPolicies,
-- raiBlocklists). Filters, blocklist references and items are stored as JSON:
-- they are read and written whole with their parent.
CREATE TABLE rai_policies (
	account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name        TEXT NOT NULL COLLATE NOCASE,
	body        TEXT NOT NULL,
	created_at  TEXT NOT NULL DEFAULT '',
	updated_at  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (account_id, name)
);

CREATE TABLE rai_blocklists (
	account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name        TEXT NOT NULL COLLATE NOCASE,
	body        TEXT NOT NULL,
	created_at  TEXT NOT NULL DEFAULT '',
	updated_at  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (account_id, name)
);
