public import Messaging

extension RetentionPurge.Rows {
    /// Records of mails sent or failed; a queued mail stays until it is one or the other. The
    /// notification of a pruned mail stays, without its delivery details.
    public static let mails = Self(
        table: "mailing.mails", timeColumn: "queued_at", condition: "state IN ('sent', 'failed')", name: "mail records")
}
