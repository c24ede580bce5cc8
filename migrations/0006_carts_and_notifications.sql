-- Carts (ordering: the cart routes and the order worker) and the customers' notification feed
-- (mailing: the mail worker writes it, its routes read it).

-- MARK: ordering

-- One cart per customer, created by its first item. `locked` from checkout until the order's stock
-- decision: reserved empties the cart, rejected (or any cancellation) unlocks it.
CREATE TABLE ordering.carts (
    id                 uuid PRIMARY KEY,
    customer_id        text NOT NULL UNIQUE,
    status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'locked')),
    checkout_key       text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX carts_by_age ON ordering.carts (updated_at);

-- The Idempotency-Keys used for checkouts: a repeat of one replays its order whatever the cart
-- holds now, while a key first used for POST /orders keeps POST /orders' rule (another body: 422).
CREATE TABLE ordering.cart_checkouts (
    customer_id      text NOT NULL,
    idempotency_key  text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, idempotency_key)
);

-- A stock decision finds the cart of its order's checkout through the order's key.
CREATE INDEX idempotency_keys_by_order ON ordering.idempotency_keys (order_id);

CREATE TABLE ordering.cart_lines (
    cart_id             uuid NOT NULL REFERENCES ordering.carts (id) ON DELETE CASCADE,
    sku                 text NOT NULL,
    quantity            integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    -- The price when the line was added, to flag a repricing since.
    added_price_minor   bigint NOT NULL,
    added_currency      char(3) NOT NULL,
    added_at            timestamptz NOT NULL DEFAULT now(),
    -- Set when a checkout was rejected for this line's stock; cleared by any change to the line.
    rejected_requested  integer,
    rejected_available  integer,
    PRIMARY KEY (cart_id, sku)
);

-- MARK: mailing

-- Who placed each order: the mail worker's copy, from order.created, to address the in-app
-- notifications of the order's later events (which name only the order).
CREATE TABLE mailing.order_owners (
    order_id     uuid PRIMARY KEY,
    customer_id  text NOT NULL
);

-- What a customer was told: every mail (kind `mail`, its delivery state in mailing.mails) and an
-- in-app notification per order status change (kind `order_status`). One row per causing message.
CREATE TABLE mailing.notifications (
    id                 uuid PRIMARY KEY,
    customer_id        text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('mail', 'order_status')),
    title              text NOT NULL,
    body               text NOT NULL DEFAULT '',
    order_id           uuid,
    order_status       text,
    mail_id            uuid REFERENCES mailing.mails (id),
    source_message_id  uuid NOT NULL UNIQUE,
    occurred_at        timestamptz NOT NULL,
    read_at            timestamptz
);
CREATE INDEX notifications_feed ON mailing.notifications (customer_id, occurred_at DESC, id DESC);
CREATE INDEX notifications_unread ON mailing.notifications (customer_id) WHERE read_at IS NULL;
