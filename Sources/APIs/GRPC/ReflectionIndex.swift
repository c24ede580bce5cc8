import Foundation
import SwiftProtobuf

/// What server reflection answers from: the protos this server was generated from, as the
/// FileDescriptorProtos protoc wrote (Generated/descriptors.pb, embedded), indexed by file name
/// and by every symbol they declare (packages' messages, enums, services and methods). The
/// answer to a file or symbol is that file with everything it imports, serialised.
struct ReflectionIndex: Sendable {
    /// What a request asks for, whichever version of the protocol carried it.
    enum Question: Sendable {
        case listServices
        case fileByName(String)
        case fileContainingSymbol(String)
        case unsupported(String)
    }

    enum Answer: Sendable {
        case services([String])
        case files([Data])
        /// A gRPC status code (5: NOT_FOUND, 12: UNIMPLEMENTED) and why.
        case error(Int32, String)
    }

    let services: [String]
    private let files: [String: Google_Protobuf_FileDescriptorProto]
    private let symbols: [String: String]

    init(descriptorSet bytes: [UInt8], services: [String]) throws {
        let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes)
        self.services = services.sorted()
        var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
        var symbols: [String: String] = [:]
        for file in set.file {
            files[file.name] = file
            let prefix = file.package.isEmpty ? "" : file.package + "."
            func addMessages(_ messages: [Google_Protobuf_DescriptorProto], under scope: String) {
                for message in messages {
                    let name = scope + message.name
                    symbols[name] = file.name
                    for nested in message.enumType { symbols[name + "." + nested.name] = file.name }
                    addMessages(message.nestedType, under: name + ".")
                }
            }
            addMessages(file.messageType, under: prefix)
            for enumeration in file.enumType { symbols[prefix + enumeration.name] = file.name }
            for service in file.service {
                symbols[prefix + service.name] = file.name
                for method in service.method { symbols[prefix + service.name + "." + method.name] = file.name }
            }
        }
        self.files = files
        self.symbols = symbols
    }

    func answer(_ question: Question) -> Answer {
        switch question {
        case .listServices:
            return .services(services)
        case .fileByName(let name):
            guard files[name] != nil else { return .error(5, "No file \(name) here.") }
            return .files(withImports(name))
        case .fileContainingSymbol(let symbol):
            // A leading dot is how fully qualified names are written in descriptors.
            let name = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
            guard let file = symbols[name] else { return .error(5, "No symbol \(name) here.") }
            return .files(withImports(file))
        case .unsupported(let what):
            return .error(12, "\(what) is not supported (this server declares no extensions).")
        }
    }

    /// `name` first, then what it imports, each once.
    private func withImports(_ name: String) -> [Data] {
        var order: [String] = []
        var seen: Set<String> = []
        func visit(_ name: String) {
            guard !seen.contains(name), let file = files[name] else { return }
            seen.insert(name)
            order.append(name)
            file.dependency.forEach(visit)
        }
        visit(name)
        return order.compactMap { try? files[$0]?.serializedBytes() as Data? }
    }
}
