-- Who created and who last changed an account or a deployment (ARM's
-- systemData createdBy / lastModifiedBy): a principal's name, or "admin".
ALTER TABLE accounts ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN modified_by TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN modified_by TEXT NOT NULL DEFAULT '';
