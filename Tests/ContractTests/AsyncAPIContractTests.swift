import Contracts
import EmporiumTestSupport
import Foundation
import Messaging
import Testing

/// `docs/asyncapi.yaml` against the code: every type in `MessageCatalog.all` documented under its
/// wire name with the fields its decoder reads (learnt by ``SchemaExtractor``, no hand-written
/// samples), every envelope header named, every Kafka topic (with its partitions) and routing key
/// of `Destinations` a channel, and the delay queues as `AMQPDelays` names them. The comparison is
/// `deploy/check_asyncapi.py`'s (Foundation reads no YAML); this suite feeds it the code's side as
/// JSON.
@Suite("The AsyncAPI contract")
struct AsyncAPIContractTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every header the runtime writes or reads: the envelope's and the retry and dead-letter
    /// bookkeeping's.
    static let headers: Set<String> = Set([
        EnvelopeHeader.messageID, EnvelopeHeader.messageType, EnvelopeHeader.schemaVersion, EnvelopeHeader.occurredAt,
        EnvelopeHeader.key, EnvelopeHeader.correlationID, EnvelopeHeader.causationID, EnvelopeHeader.traceParent,
        EnvelopeHeader.contentType,
    ]).union(EnvelopeHeader.deadLetterHeaders)

    // MARK: - The catalog

    @Test("every MessagePayload type in Sources/Domains is in Contracts and in MessageCatalog.all")
    func catalogIsComplete() throws {
        let found = try Self.payloadConformances()
        #expect(found.count >= MessageCatalog.all.count, "the scan found \(found.map { $0.type }); is its pattern still right?")
        let outside = found.filter { !$0.file.hasPrefix("Contracts/") }
        #expect(outside.isEmpty, "message types belong in Sources/Domains/Contracts: \(outside.map { "\($0.type) (\($0.file))" })")
        let catalogued = Set(MessageCatalog.all.map { String(describing: $0) })
        let missing = found.filter { !catalogued.contains($0.type) }
        #expect(missing.isEmpty, "add to MessageCatalog.all (Sources/Domains/Contracts/MessageCatalog.swift): \(missing.map { $0.type })")
    }

    @Test("MessageCatalog lists each type and each wire name once")
    func catalogHasNoDuplicates() {
        let names = MessageCatalog.all.map { $0.messageType }
        #expect(Set(names).count == names.count, "\(names.sorted())")
        let types = MessageCatalog.all.map { String(reflecting: $0) }
        #expect(Set(types).count == types.count, "\(types.sorted())")
    }

    // MARK: - The extractor against the real decoder

    @Test("each type decodes the JSON its extracted fields describe, and needs exactly the required ones")
    func extractionMatchesTheDecoder() throws {
        let extractor = try Self.extractor()
        for type in MessageCatalog.all {
            let name = type.messageType
            let schema = try extractor.schema(of: type)
            let properties = schema.properties
            guard !properties.isEmpty, let full = schema.sample(optionals: true) as? [String: Any] else {
                Issue.record("\(name): not read as a JSON object with fields: \(schema)")
                continue
            }
            // Every field there: decodes, and encodes back to the same fields.
            do {
                let written = try Self.roundTrip(type, full)
                #expect(written == Set(properties.map(\.name)), "\(name): reads \(properties.map(\.name)), writes \(written.sorted())")
            } catch {
                Issue.record("\(name): MessageJSON cannot decode the extracted sample \(full): \(error)")
            }
            // Only the required fields: decodes.
            do {
                _ = try Self.roundTrip(type, schema.sample(optionals: false))
            } catch {
                Issue.record("\(name): the required fields alone do not decode: \(error)")
            }
            // Without one field: fails exactly when the field is required.
            for property in properties {
                var partial = full
                partial[property.name] = nil
                let decodes = (try? Self.roundTrip(type, partial)) != nil
                #expect(decodes == !property.required, "\(name).\(property.name): required is \(property.required), yet it \(decodes ? "decodes" : "fails") without it")
            }
        }
    }

    @Test("the extractor sees nested types, arrays, optionals and maps")
    func extractorShapes() throws {
        let extractor = try Self.extractor()
        let line = WireSchema.object([
            WireProperty(name: "sku", schema: .scalar("string"), required: true),
            WireProperty(name: "quantity", schema: .scalar("integer", format: "int64"), required: true),
        ])
        let reserved = try extractor.schema(of: StockReserved.self)
        #expect(reserved == .object([
            WireProperty(name: "orderID", schema: .scalar("string", format: "uuid"), required: true),
            WireProperty(name: "lines", schema: .array(line), required: true),
        ]))
        let mail = try extractor.schema(of: MailSend.self).properties
        #expect(mail.first { $0.name == "to" } == WireProperty(name: "to", schema: .scalar("string"), required: false))
        #expect(mail.first { $0.name == "orderID" } == WireProperty(name: "orderID", schema: .scalar("string", format: "uuid"), required: false))
        #expect(mail.first { $0.name == "data" } == WireProperty(name: "data", schema: .map(.scalar("string")), required: true))
        #expect(mail.first { $0.name == "template" } == WireProperty(name: "template", schema: .scalar("string"), required: true))
    }

    // MARK: - The document

    @Test("docs/asyncapi.yaml documents every message type, field, header, topic and routing key as the code has them")
    func documentMatchesTheCode() async throws {
        let output = try await Self.check(try Self.fields())
        #expect(output.contains("exit=0") && output.contains("asyncapi checks passed"), "\(output)")
    }

    @Test("a field that differs fails the check, naming the field")
    func renamedFieldFails() async throws {
        let original = try Self.extractor().schema(of: OrderCreated.self).properties.map(\.name)
        try #require(original.contains("orderID"))
        let output = try await Self.check(try Self.fields(renaming: (OrderCreated.messageType, "orderID", "orderNumber")))
        #expect(output.contains("exit=1") && output.contains("'orderNumber' is in the code, not in the document"), "\(output)")
    }

    // MARK: - Helpers

    /// An extractor that describes `Date` as `MessageJSON` writes it.
    static func extractor() throws -> SchemaExtractor {
        let written = try JSONSerialization.jsonObject(with: Data(try MessageJSON.encode([Date(timeIntervalSince1970: 0)]))) as? [Any]
        let date: WireSchema = written?.first is String ? .scalar("string", format: "date-time") : .scalar("number", format: "double")
        return SchemaExtractor(dateSchema: date)
    }

    /// The code's side for `check_asyncapi.py --fields` (its format is in the script's doc
    /// comment), with one field renamed if asked.
    static func fields(renaming: (type: String, field: String, to: String)? = nil) throws -> Data {
        let extractor = try Self.extractor()
        var messages: [[String: Any]] = []
        for type in MessageCatalog.all {
            var schema = try extractor.schema(of: type)
            if let renaming, renaming.type == type.messageType {
                schema = schema.renaming(renaming.field, to: renaming.to)
            }
            messages.append([
                "name": type.messageType, "swiftType": String(describing: type), "schemaVersion": type.schemaVersion,
                "payload": schema.json,
            ])
        }
        let topics = Destinations.kafkaTopics.flatMap { layout in
            layout.created.map { ["name": $0.name, "partitions": $0.partitions] as [String: Any] }
        }
        let routingKeys = [Destinations.mailKey, Destinations.codeMailKey, Destinations.paymentReminderKey, Destinations.expiryKey, Destinations.codeExpiryKey]
        // The RabbitMQ names with the default namespace (`emporium`) and delay levels.
        let delays = try AMQPDelays(levels: AMQPDelays.defaultLevels)
        let delayNames: [String: Any] = [
            "workExchange": delays.workExchange, "queues": delays.queueNames,
            "levels": delays.queueNames.map { $0.split(separator: ".").last.map(String.init) ?? $0 },
            "unroutedQueue": delays.unroutedQueue,
        ]
        let description: [String: Any] = [
            "messages": messages, "headers": Self.headers.sorted(), "topics": topics, "routingKeys": routingKeys,
            "delays": delayNames,
        ]
        return try JSONSerialization.data(withJSONObject: description, options: [.prettyPrinted, .sortedKeys])
    }

    /// Runs the check on `fields`; its output, then `exit=<status>`.
    static func check(_ fields: Data) async throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("asyncapi-fields-\(UUID().uuidString).json")
        try fields.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try await ChildProcess.shell(
            "cd '\(Self.root.path)' && '\(Self.python)' deploy/check_asyncapi.py --fields '\(file.path)' 2>&1; echo \"exit=$?\"",
            timeout: .seconds(60))
    }

    /// The tools' virtualenv's Python (it has PyYAML), else `python3`.
    static var python: String {
        var state = ProcessInfo.processInfo.environment["EMPORIUM_STATE_DIR"] ?? ".local"
        if !state.hasPrefix("/") { state = Self.root.appendingPathComponent(state).path }
        let venv = "\(state)/venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    /// Decodes `json` as `T` with the runtime's decoder and encodes it again: the fields written.
    static func roundTrip<T: MessagePayload>(_ type: T.Type, _ json: Any) throws -> Set<String> {
        let value = try MessageJSON.decode(T.self, from: Array(try JSONSerialization.data(withJSONObject: json)))
        let written = try JSONSerialization.jsonObject(with: Data(try MessageJSON.encode(value)))
        return Set((written as? [String: Any] ?? [:]).keys)
    }

    /// Types declared to conform to `MessagePayload` anywhere in Sources/Domains (comments
    /// skipped), with their files relative to it.
    static func payloadConformances() throws -> [(type: String, file: String)] {
        let folder = Self.root.appendingPathComponent("Sources/Domains")
        let declaration = #/\b(?:struct|class|enum|actor|extension)\s+([A-Za-z_][A-Za-z0-9_.]*)\s*(?:<[^>{]*>)?\s*:([^{]*)\{/#
        var found: [(type: String, file: String)] = []
        for file in try FileManager.default.subpathsOfDirectory(atPath: folder.path).sorted() where file.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8).replacing(#/\/\/[^\n]*/#, with: "")
            for match in text.matches(of: declaration) where match.output.2.contains(#/\bMessagePayload\b/#) {
                let name = match.output.1.split(separator: ".").last.map(String.init) ?? String(match.output.1)
                found.append((type: name, file: file))
            }
        }
        return found
    }
}
