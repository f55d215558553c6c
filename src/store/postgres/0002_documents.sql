-- Tenants and their credentials (the SQLite store's schema v5).
CREATE TABLE documents (
    kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, body TEXT NOT NULL, secret BYTEA,
    PRIMARY KEY (kind, id));
CREATE INDEX documents_owner ON documents (kind, owner);
