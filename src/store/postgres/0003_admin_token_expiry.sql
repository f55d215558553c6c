-- Admin tokens can be given an end (the SQLite store's schema v6).
ALTER TABLE admin_tokens ADD COLUMN expires_at BIGINT;
