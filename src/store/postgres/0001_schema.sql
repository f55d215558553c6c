-- authproxy's durable data on PostgreSQL (the same tables as the SQLite store).
CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO meta (key, value) VALUES ('registry_version', 0), ('directory_version', 0);

CREATE TABLE directory_users (username TEXT PRIMARY KEY, realm TEXT, idp_hint TEXT);
CREATE TABLE directory_domains (domain TEXT PRIMARY KEY, realm TEXT, idp_hint TEXT);
CREATE TABLE directory_default (id INTEGER PRIMARY KEY CHECK (id = 1), realm TEXT, idp_hint TEXT);

CREATE TABLE realms (
    name TEXT PRIMARY KEY, authority TEXT NOT NULL, extra_scopes TEXT NOT NULL,
    broker_client_id TEXT, broker_secret BYTEA,
    token_endpoint_auth TEXT NOT NULL DEFAULT 'client_secret_basic');
CREATE TABLE clients (
    client_id TEXT PRIMARY KEY, realms TEXT NOT NULL, origins TEXT NOT NULL, secret BYTEA);
CREATE TABLE callers (
    caller_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, policy TEXT NOT NULL,
    created_at BIGINT NOT NULL);
CREATE TABLE admin_tokens (
    token_hash BYTEA PRIMARY KEY, label TEXT NOT NULL, created_at BIGINT NOT NULL);

CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, subject TEXT, realm TEXT, audience TEXT, outcome TEXT NOT NULL,
    reason TEXT, source TEXT, request_id TEXT, token_jti TEXT, token_expires_at BIGINT);
CREATE INDEX audit_at ON audit (at);
CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
CREATE TRIGGER audit_is_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();
