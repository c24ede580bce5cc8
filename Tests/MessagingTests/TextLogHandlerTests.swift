import Logging
@testable import Observability
import Synchronization
import Testing

@Suite("Text logs")
struct TextLogHandlerTests {
    final class Lines: TextOutputStream, Sendable {
        let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
    }

    @Test("a line carries the logger's metadata, sorted, with the call's own values winning, as swift-log's text lines do")
    func metadataAtWrite() {
        let lines = Lines()
        var logger = Logger(label: "emporium.test") { label in TextLogHandler(label: label, level: .info, output: lines) }
        logger.info("bare")
        logger[metadataKey: "request.id"] = "r-1"
        logger[metadataKey: "correlation.id"] = "c-1"
        logger.debug("below the level")
        logger.warning("with metadata", metadata: ["request.id": "r-2", "message.id": "m-1"])
        logger[metadataKey: "correlation.id"] = nil
        logger.info("after a removal")
        let written = lines.text.withLock { $0 }.split(separator: "\n").map { String($0.split(separator: " ", maxSplits: 1)[1]) }
        #expect(written == [
            "info emporium.test: [MessagingTests] bare",
            "warning emporium.test: correlation.id=c-1 message.id=m-1 request.id=r-2 [MessagingTests] with metadata",
            "info emporium.test: request.id=r-1 [MessagingTests] after a removal",
        ])
    }

    @Test("a metadata provider's values win over the logger's, and the call's own over both")
    func providerOrder() {
        let lines = Lines()
        let provider = Logger.MetadataProvider { ["trace.id": "t-1", "request.id": "from-provider"] }
        var logger = Logger(label: "emporium.test") { label in
            TextLogHandler(label: label, level: .info, metadataProvider: provider, output: lines)
        }
        logger[metadataKey: "request.id"] = "r-1"
        logger[metadataKey: "correlation.id"] = "c-1"
        logger.info("provided")
        logger.info("explicit", metadata: ["trace.id": "t-2"])
        let written = lines.text.withLock { $0 }.split(separator: "\n").map { String($0.split(separator: " ", maxSplits: 1)[1]) }
        #expect(written == [
            "info emporium.test: correlation.id=c-1 request.id=from-provider trace.id=t-1 [MessagingTests] provided",
            "info emporium.test: correlation.id=c-1 request.id=from-provider trace.id=t-2 [MessagingTests] explicit",
        ])
    }
}
