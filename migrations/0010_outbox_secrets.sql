-- Messages that carry a secret (a verification code's mail command): the relay empties the row's
-- body as it marks it sent, so the code is not kept for the outbox's retention (a week); the
-- broker's copy goes once the mail is sent.
ALTER TABLE messaging.outbox ADD COLUMN secret boolean NOT NULL DEFAULT false;
