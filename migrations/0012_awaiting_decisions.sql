-- The order worker measures, every few seconds, how many orders await their stock decision and
-- since when (the ordering_decision_* gauges, and the EmporiumStockDecisionsBehind alert): an
-- index of those orders only, so the measure does not read the whole table.
CREATE INDEX orders_awaiting_decision ON ordering.orders (created_at) WHERE stock = 'awaiting';
