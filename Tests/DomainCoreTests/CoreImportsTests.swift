import Foundation
import Testing

/// A domain's core does no I/O: no file under `Sources/Domains/*/Core` imports the HTTP, SQL or
/// broker layers. (The compiler enforces it too, through the core targets' dependencies; this
/// keeps someone from adding the dependency.)
@Suite("Core imports")
struct CoreImportsTests {
    static let forbidden: Set<String> = [
        "HTTPRuntime", "Hummingbird", "HTTPTypes", "Postgres", "Redis", "Messaging", "Kafka", "AMQP", "Contracts", "NIOCore", "NIOPosix",
    ]

    @Test("no core file imports HTTP, SQL or broker modules, and every domain with rules has a core")
    func coresImportNothingWithIO() throws {
        let domains = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/Domains").standardized
        let files = FileManager.default.enumerator(at: domains, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }
            .filter { $0.pathExtension == "swift" && $0.pathComponents.contains("Core") } ?? []
        for domain in ["Auth", "Catalog", "Mailing", "Ordering"] {
            #expect(files.contains { $0.pathComponents.suffix(3).first == domain }, "\(domain) has no Core folder")
        }
        for file in files {
            let imports = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ").map(String.init)
                guard let index = words.firstIndex(of: "import") else { return nil }
                guard words[..<index].allSatisfy({ $0.hasPrefix("@") || ["public", "internal", "package", "private"].contains($0) }) else {
                    return nil
                }
                return words.dropFirst(index + 1).first
            }
            #expect(Self.forbidden.isDisjoint(with: imports), "\(file.lastPathComponent) imports \(imports)")
        }
    }
}
