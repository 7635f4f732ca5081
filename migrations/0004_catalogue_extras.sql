-- Catalogue names are unique regardless of case: to an agent picking from a list, "Vendas" and
-- "vendas" are the same service, tag or classification. 0002's case-sensitive UNIQUE constraints
-- stay; these indexes are stricter, and `INSERT ... ON CONFLICT DO NOTHING` in the use cases
-- turns either into a CONFLICT.
CREATE UNIQUE INDEX services_account_lower_name ON services (account_id, lower(name));
CREATE UNIQUE INDEX tags_account_lower_name ON tags (account_id, lower(name));
CREATE UNIQUE INDEX classifications_account_lower_name ON classifications (account_id, lower(name));
CREATE UNIQUE INDEX pause_reasons_lower_name ON pause_reasons (lower(name));
CREATE UNIQUE INDEX templates_account_channel_lower_name_language
    ON templates (account_id, channel, lower(name), language);

-- The audit of one entity (an account's changes of default service, a tag's creation) is read
-- by entity id.
CREATE INDEX admin_audit_by_entity ON admin_audit (entity_id, id) WHERE entity_id IS NOT NULL;
