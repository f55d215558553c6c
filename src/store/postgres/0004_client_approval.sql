-- A client can turn off the completion page's approval step (the SQLite store's schema v7).
ALTER TABLE clients ADD COLUMN approval TEXT NOT NULL DEFAULT 'ask';
