public import Messaging

extension RetentionPurge.Rows {
    /// Idempotency keys past their retention, except the key of an order still awaiting its stock
    /// decision (a checkout's cart follows that order through its key).
    public static let idempotencyKeys = Self(
        table: "ordering.idempotency_keys", timeColumn: "created_at",
        condition: """
            NOT EXISTS (SELECT 1 FROM ordering.orders o
                        WHERE o.id = ordering.idempotency_keys.order_id AND o.stock = 'awaiting')
            """,
        name: "idempotency keys")
}
