import Foundation
import Logging
@testable import Observability
import Testing

@Suite("JSON logs")
struct JSONLogHandlerTests {
    @Test("a line is one JSON object with the metadata as fields, whatever the message holds")
    func oneObjectPerLine() throws {
        var handler = JSONLogHandler(label: "emporium.test", level: .info)
        handler[metadataKey: "correlation.id"] = "corr-1"
        let event = LogEvent(
            level: .warning, message: "quote \" backslash \\ newline \n tab \t bell \u{7} ünïcode", metadata: ["message.id": "m-1"],
            source: "Tests", file: #fileID, function: #function, line: #line)
        let line = handler.line(for: event, at: Date(timeIntervalSince1970: 0))
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["time"] == "1970-01-01T00:00:00.000Z")
        #expect(object["level"] == "warning" && object["logger"] == "emporium.test" && object["source"] == "Tests")
        #expect(object["message"] == "quote \" backslash \\ newline \n tab \t bell \u{7} ünïcode")
        #expect(object["correlation.id"] == "corr-1" && object["message.id"] == "m-1")
    }
}
