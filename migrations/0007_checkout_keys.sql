-- Which Idempotency-Keys a cart checkout made its order with. A cart follows only such an order's
-- stock decision: a key that POST /orders used (even at the same moment as a checkout) never
-- empties or reopens a cart.
ALTER TABLE ordering.idempotency_keys ADD COLUMN from_checkout boolean NOT NULL DEFAULT false;
