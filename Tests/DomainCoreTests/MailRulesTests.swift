import DomainKit
import Foundation
import MailingCore
import Testing

@Suite("Mail rules")
struct MailRulesTests {
    @Test("a sent mail is never sent again; a queued or failed one (replayed) is")
    func sendOnce() {
        #expect(MailRules.shouldSend(nil) && MailRules.shouldSend(.queued) && MailRules.shouldSend(.failed))
        #expect(!MailRules.shouldSend(.sent))
    }

    @Test("the command's address first, then the known one; none fails at once")
    func recipient() throws {
        #expect(try MailRules.recipient(explicit: "a@x.io", known: "b@x.io", customerID: "c") == "a@x.io")
        #expect(try MailRules.recipient(explicit: nil, known: "b@x.io", customerID: "c") == "b@x.io")
        #expect(throws: DomainError.self) { try MailRules.recipient(explicit: nil, known: nil, customerID: "c") }
    }

    @Test("a failure is final when the error will not pass or no attempt is left", arguments: [
        (true, true, MailState.queued), (true, false, .failed), (false, true, .failed), (false, false, .failed),
    ])
    func failure(retriable: Bool, attemptsLeft: Bool, state: MailState) {
        #expect(MailRules.afterFailure(retriable: retriable, attemptsLeft: attemptsLeft) == state)
    }

    @Test("templates get the order's id and its short reference")
    func values() {
        let order = UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF")!
        let values = MailRules.templateValues(data: ["reminder": "2"], customerID: "c-1", to: nil, orderID: order)
        #expect(values == ["reminder": "2", "customerId": "c-1", "orderId": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "orderRef": "6f9619ff"])
    }

    @Test("each order event is one notice; every cancellation reason reads as the customer would say it")
    func notices() {
        #expect(NotificationRules.notice(for: .created).status == "PENDING")
        #expect(NotificationRules.notice(for: .cancelled(reason: "out_of_stock")).body.contains("out of stock"))
        #expect(NotificationRules.cancellation("lost in transit") == "The order was cancelled (lost in transit).")
    }
}
