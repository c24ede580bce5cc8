/// An error from the libsodium wrapper.
public struct SodiumError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case initialisation = "libsodium could not be initialised"
            case outOfMemory = "out of memory"
            case invalidArgument = "invalid argument"
        }
        let base: Base

        public static let initialisation = Code(base: .initialisation)
        /// Hashing needs `memoryLimit` bytes at once and could not get them.
        public static let outOfMemory = Code(base: .outOfMemory)
        public static let invalidArgument = Code(base: .invalidArgument)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    public let file: String
    public let line: Int

    init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// Only a failed allocation may go better next time.
    public var isRetriable: Bool { code == .outOfMemory }

    public var description: String { "libsodium \(code): \(message)" }
}
