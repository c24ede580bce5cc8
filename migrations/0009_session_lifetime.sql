-- Sessions end a fixed time after their login however often they are refreshed
-- (AUTH_SESSION_MAX_LIFETIME): each refresh token carries its family's login time. A spent token
-- records its client, which may spend it again within AUTH_REFRESH_REUSE_GRACE (a retry) without
-- revoking the family.
ALTER TABLE auth.refresh_tokens ADD COLUMN session_started_at timestamptz, ADD COLUMN spent_by text;
UPDATE auth.refresh_tokens t SET session_started_at = f.started
FROM (SELECT family_id, min(issued_at) AS started FROM auth.refresh_tokens GROUP BY family_id) f
WHERE t.family_id = f.family_id;
ALTER TABLE auth.refresh_tokens ALTER COLUMN session_started_at SET NOT NULL;
