-- The API counts a customer's unpaid orders before placing another (ORDER_MAX_OPEN_ORDERS,
-- ORDER_MAX_OPEN_UNITS): an index of the PENDING ones only, so the count does not read a
-- customer's whole history.
CREATE INDEX open_orders_by_customer ON ordering.orders (customer_id) WHERE status = 'PENDING';
