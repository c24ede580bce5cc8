/// The mails the mail worker renders: per template a subject, a plain-text part and an HTML part
/// (Mustache). They live in the binary, so the one container image needs no template files.
enum MailTemplates {
    struct Source: Sendable {
        let subject: String
        let text: String
        let html: String
    }

    static let sources: [String: Source] = [
        "verification": Source(
            // Never the code itself: subjects are kept in the notification feed (admins read it)
            // and shown on lock screens. The body is the only place it goes.
            subject: "Your Emporium verification code",
            text: """
                Hello,

                your verification code for Emporium is: {{{code}}}
                It is valid for {{{expiresInMinutes}}} minutes.

                If you did not request this code, you can ignore this mail.
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>your verification code for Emporium is: <strong>{{code}}</strong><br>
                It is valid for {{expiresInMinutes}} minutes.</p>
                <p>If you did not request this code, you can ignore this mail.</p>
                </body></html>
                """
        ),
        "password_reset": Source(
            // As for the verification code: never in the subject.
            subject: "Your Emporium password reset code",
            text: """
                Hello,

                your code to set a new Emporium password is: {{{code}}}
                It is valid for {{{expiresInMinutes}}} minutes.

                If you did not ask for it, you can ignore this mail: your password stays as it is.
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>your code to set a new Emporium password is: <strong>{{code}}</strong><br>
                It is valid for {{expiresInMinutes}} minutes.</p>
                <p>If you did not ask for it, you can ignore this mail: your password stays as it is.</p>
                </body></html>
                """
        ),
        "password_changed": Source(
            subject: "Your Emporium password was changed",
            text: """
                Hello,

                the password of your Emporium account was just changed, and every other session
                was signed out. If this was not you, reset your password now.
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>the password of your Emporium account was just changed, and every other session
                was signed out. If this was not you, reset your password now.</p>
                </body></html>
                """
        ),
        "account_deleted": Source(
            subject: "Your Emporium account was deleted",
            text: """
                Hello,

                your Emporium account was deleted, as you asked. Your orders are kept for our
                records without your address. This is the last mail we send you.
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>your Emporium account was deleted, as you asked. Your orders are kept for our
                records without your address. This is the last mail we send you.</p>
                </body></html>
                """
        ),
        "account_exists": Source(
            subject: "Someone tried to sign up to Emporium with your address",
            text: """
                Hello,

                someone (perhaps you) tried to create an Emporium account with this address, which
                has one already. Nothing was changed. If it was you, log in with your password.

                If it was not you, you can ignore this mail.
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>someone (perhaps you) tried to create an Emporium account with this address, which
                has one already. Nothing was changed. If it was you, log in with your password.</p>
                <p>If it was not you, you can ignore this mail.</p>
                </body></html>
                """
        ),
        "order_confirmation": Source(
            subject: "Emporium order {{{orderRef}}} received",
            text: """
                Hello,

                thank you for your order {{{orderRef}}} at Emporium.
                We have reserved your items and are waiting for your payment.
                Order number: {{{orderId}}}
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>thank you for your order <strong>{{orderRef}}</strong> at Emporium.
                We have reserved your items and are waiting for your payment.</p>
                <p>Order number: {{orderId}}</p>
                </body></html>
                """
        ),
        "payment_reminder": Source(
            subject: "Reminder {{{reminder}}}: payment for Emporium order {{{orderRef}}}",
            text: """
                Hello,

                this is reminder {{{reminder}}} for your Emporium order {{{orderRef}}}.
                We have not received your payment yet.
                If the order stays unpaid, it will be cancelled and the items released.
                Order number: {{{orderId}}}
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>this is reminder {{reminder}} for your Emporium order <strong>{{orderRef}}</strong>.
                We have not received your payment yet.</p>
                <p>If the order stays unpaid, it will be cancelled and the items released.</p>
                <p>Order number: {{orderId}}</p>
                </body></html>
                """
        ),
        "order_cancelled": Source(
            subject: "Emporium order {{{orderRef}}} cancelled",
            text: """
                Hello,

                your Emporium order {{{orderRef}}} has been cancelled.
                {{#reason}}Reason: {{{reason}}}{{/reason}}
                Any reserved items have been released.
                Order number: {{{orderId}}}
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>your Emporium order <strong>{{orderRef}}</strong> has been cancelled.
                {{#reason}}<br>Reason: {{reason}}{{/reason}}</p>
                <p>Any reserved items have been released. Order number: {{orderId}}</p>
                </body></html>
                """
        ),
        "out_of_stock": Source(
            subject: "Emporium order {{{orderRef}}}: items out of stock",
            text: """
                Hello,

                unfortunately we cannot fulfil your Emporium order {{{orderRef}}}:
                some items are no longer available in the requested quantity.
                {{#shortages}}Details: {{{shortages}}}{{/shortages}}
                {{#reason}}Reason: {{{reason}}}{{/reason}}
                Order number: {{{orderId}}}
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>unfortunately we cannot fulfil your Emporium order <strong>{{orderRef}}</strong>:
                some items are no longer available in the requested quantity.</p>
                {{#shortages}}<p>Details: {{shortages}}</p>{{/shortages}}
                {{#reason}}<p>Reason: {{reason}}</p>{{/reason}}
                <p>Order number: {{orderId}}</p>
                </body></html>
                """
        ),
        "payment_received": Source(
            subject: "Payment received for Emporium order {{{orderRef}}}",
            text: """
                Hello,

                we have received your payment for Emporium order {{{orderRef}}}.
                Your order is now being prepared for shipping.
                Order number: {{{orderId}}}
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>we have received your payment for Emporium order <strong>{{orderRef}}</strong>.
                Your order is now being prepared for shipping.</p>
                <p>Order number: {{orderId}}</p>
                </body></html>
                """
        ),
        "order_completed": Source(
            subject: "Emporium order {{{orderRef}}} is complete",
            text: """
                Hello,

                your Emporium order {{{orderRef}}} is complete: it has been fulfilled.
                Thank you for shopping with us.
                Order number: {{{orderId}}}
                """,
            html: """
                <html><body>
                <p>Hello,</p>
                <p>your Emporium order <strong>{{orderRef}}</strong> is complete: it has been fulfilled.
                Thank you for shopping with us.</p>
                <p>Order number: {{orderId}}</p>
                </body></html>
                """
        ),
    ]
}
