-- Accounts and tokens (auth: the auth routes and the auth worker) and the mails the mail worker
-- sends (mailing). Secrets are never stored in clear: passwords as argon2id strings, refresh
-- tokens and verification codes as SHA-256 digests.

-- MARK: auth

CREATE TABLE auth.accounts (
    id             uuid PRIMARY KEY,
    -- Lower-cased at the door; unique, so one address is one account.
    email          text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash  text NOT NULL,
    role           text NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
    verified_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- The purge of accounts never verified walks this.
CREATE INDEX accounts_unverified ON auth.accounts (created_at) WHERE verified_at IS NULL;

-- The current verification code of an unverified account (a new one replaces it).
CREATE TABLE auth.verification_codes (
    account_id   uuid PRIMARY KEY REFERENCES auth.accounts (id) ON DELETE CASCADE,
    -- sha256(account id || code): a 6-digit code alone has too little entropy to hide.
    code_hash    text NOT NULL,
    expires_at   timestamptz NOT NULL,
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Rotating refresh tokens: each use spends one and issues its successor in the same family; a
-- spent token shown again means it was stolen, and the whole family is revoked.
CREATE TABLE auth.refresh_tokens (
    id           uuid PRIMARY KEY,
    family_id    uuid NOT NULL,
    account_id   uuid NOT NULL REFERENCES auth.accounts (id) ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    spent_at     timestamptz,
    revoked_at   timestamptz,
    revoked_why  text
);
CREATE INDEX refresh_tokens_family ON auth.refresh_tokens (family_id);

-- MARK: mailing

-- Where each customer's mail goes: a copy of the auth domain's accounts, kept from `user.*` events.
CREATE TABLE mailing.recipients (
    customer_id  text PRIMARY KEY,
    email        text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per mail command (its message id): what was asked, and how sending it went.
CREATE TABLE mailing.mails (
    id            uuid PRIMARY KEY,
    template      text NOT NULL,
    customer_id   text,
    order_id      uuid,
    recipient     text,
    state         text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    text,
    queued_at     timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    sent_at       timestamptz,
    failed_at     timestamptz
);
CREATE INDEX mails_by_customer ON mailing.mails (customer_id, queued_at DESC);
CREATE INDEX mails_by_order ON mailing.mails (order_id) WHERE order_id IS NOT NULL;
