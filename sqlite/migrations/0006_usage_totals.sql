-- Running totals that quota checks and placement read instead of summing every
-- deployment and allocation, so that creating a deployment costs the same with
-- ten deployments or ten thousand. Triggers keep them: allocations are only
-- inserted and deleted (a deployment's are replaced whole), deployments are
-- upserted and deleted, and foreign-key cascades fire delete triggers too.

-- PTUs allocated per pool.
CREATE TABLE pool_usage (
	pool_id TEXT NOT NULL PRIMARY KEY,
	ptu     INTEGER NOT NULL
);

INSERT INTO pool_usage (pool_id, ptu) SELECT pool_id, sum(ptu) FROM allocations GROUP BY pool_id;

CREATE TRIGGER allocations_usage_insert AFTER INSERT ON allocations BEGIN
	INSERT INTO pool_usage (pool_id, ptu) VALUES (NEW.pool_id, NEW.ptu)
		ON CONFLICT (pool_id) DO UPDATE SET ptu = ptu + excluded.ptu;
END;

CREATE TRIGGER allocations_usage_delete AFTER DELETE ON allocations BEGIN
	UPDATE pool_usage SET ptu = ptu - OLD.ptu WHERE pool_id = OLD.pool_id;
END;

-- Capacity per account, region, deployment type and model (lower case). It is
-- kept per account rather than per subscription because an account's
-- deletion cascades to its deployments after the account row is gone; the
-- account's rows go with it.
CREATE TABLE deployment_usage (
	account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	region     TEXT NOT NULL COLLATE NOCASE,
	sku_name   TEXT NOT NULL,
	model_name TEXT NOT NULL,
	capacity   INTEGER NOT NULL,
	PRIMARY KEY (account_id, region, sku_name, model_name)
);

INSERT INTO deployment_usage (account_id, region, sku_name, model_name, capacity)
	SELECT account_id, region, sku_name, lower(model_name), sum(capacity) FROM deployments
	GROUP BY account_id, region, sku_name, lower(model_name);

CREATE TRIGGER deployments_usage_insert AFTER INSERT ON deployments BEGIN
	INSERT INTO deployment_usage (account_id, region, sku_name, model_name, capacity)
		VALUES (NEW.account_id, NEW.region, NEW.sku_name, lower(NEW.model_name), NEW.capacity)
		ON CONFLICT (account_id, region, sku_name, model_name) DO UPDATE SET capacity = capacity + excluded.capacity;
END;

CREATE TRIGGER deployments_usage_update AFTER UPDATE ON deployments BEGIN
	UPDATE deployment_usage SET capacity = capacity - OLD.capacity
		WHERE account_id = OLD.account_id AND region = OLD.region AND sku_name = OLD.sku_name AND model_name = lower(OLD.model_name);
	INSERT INTO deployment_usage (account_id, region, sku_name, model_name, capacity)
		VALUES (NEW.account_id, NEW.region, NEW.sku_name, lower(NEW.model_name), NEW.capacity)
		ON CONFLICT (account_id, region, sku_name, model_name) DO UPDATE SET capacity = capacity + excluded.capacity;
END;

CREATE TRIGGER deployments_usage_delete AFTER DELETE ON deployments BEGIN
	UPDATE deployment_usage SET capacity = capacity - OLD.capacity
		WHERE account_id = OLD.account_id AND region = OLD.region AND sku_name = OLD.sku_name AND model_name = lower(OLD.model_name);
END;
