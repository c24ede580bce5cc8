-- Tables that grow with every message or request are pruned after a retention (issue 16): the
-- inbox, idempotency keys and mail records. Indexes on the columns the purges compare, and
-- notifications that outlive the mail record they point to.
CREATE INDEX idempotency_keys_created_at ON ordering.idempotency_keys (created_at);
CREATE INDEX mails_queued_at ON mailing.mails (queued_at);
ALTER TABLE mailing.notifications
    DROP CONSTRAINT notifications_mail_id_fkey,
    ADD CONSTRAINT notifications_mail_id_fkey FOREIGN KEY (mail_id) REFERENCES mailing.mails (id) ON DELETE SET NULL;
-- Without it, each mail record deleted scans the notifications for its id: a batch of 5,000 took
-- minutes in the bench's soak, and the mail records never levelled off.
CREATE INDEX notifications_by_mail ON mailing.notifications (mail_id) WHERE mail_id IS NOT NULL;
-- The same for an account's refresh tokens, which go with it (the purge of unverified accounts,
-- DELETE /me).
CREATE INDEX refresh_tokens_by_account ON auth.refresh_tokens (account_id);
