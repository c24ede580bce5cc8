-- Each domain owns one schema; no domain reads another's tables.
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS catalog;
CREATE SCHEMA IF NOT EXISTS ordering;
CREATE SCHEMA IF NOT EXISTS mailing;
-- The messaging runtime's outbox and inbox tables live here.
CREATE SCHEMA IF NOT EXISTS messaging;
