#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The reverse proxies whose `X-Forwarded-For` the API believes (`API_TRUSTED_PROXIES`: IPv4
/// and IPv6 networks in CIDR notation, or single addresses). A request from any other peer is
/// taken at its peer address, whatever headers it sends: anybody can write `X-Forwarded-For`.
public struct TrustedProxies: Sendable {
    struct Network: Sendable {
        let bytes: [UInt8]
        let prefixLength: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefixLength
            for (mine, theirs) in zip(bytes, address) where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if mine & mask != theirs & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    /// A list entry that is not an address or a network.
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    let networks: [Network]

    /// Trusts no proxy: every client is its peer address.
    public static let none = TrustedProxies(networks: [])

    init(networks: [Network]) {
        self.networks = networks
    }

    /// Parses a comma-separated list such as `10.0.0.0/8, 192.168.1.7, fd00::/8`; empty trusts no one.
    public init(_ text: String) throws {
        networks = try text.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }.map { entry in
            let parts = entry.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let bytes = Self.parseAddress(parts[0]) else {
                throw ParseError(description: "\"\(entry)\" is not an IP address or a network in CIDR notation (10.0.0.0/8)")
            }
            let maximum = bytes.count * 8
            var prefixLength = maximum
            if parts.count == 2 {
                guard !parts[1].isEmpty, parts[1].utf8.count <= 3, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let length = Int(parts[1]), length <= maximum
                else { throw ParseError(description: "\"\(entry)\": the prefix length must be a number 0...\(maximum)") }
                prefixLength = length
            }
            return Network(bytes: bytes, prefixLength: prefixLength)
        }
    }

    public var isEmpty: Bool { networks.isEmpty }

    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.parseAddress(address) else { return false }
        return networks.contains { $0.contains(bytes) }
    }

    /// The client behind `peer`: if the peer is a trusted proxy, the right-most address of
    /// `X-Forwarded-For` that is not a trusted proxy itself (entries further left were written by
    /// the client and prove nothing); else the peer. An entry that is not an address ends the walk
    /// at the last trusted hop; a port after an address is dropped.
    public func client(peer: String, forwardedFor entries: [String]) -> String {
        var client = peer
        guard contains(peer) else { return client }
        for entry in entries.reversed().prefix(32) {
            guard let address = Self.withoutPort(entry), Self.parseAddress(address) != nil else { break }
            client = address
            if !contains(address) { break }
        }
        return client
    }

    /// An `X-Forwarded-For` entry without the port some proxies add (`203.0.113.7:5678`,
    /// `[2001:db8::1]:443`); nil for what cannot be an address.
    static func withoutPort(_ entry: String) -> String? {
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { return nil }
            return String(entry[entry.index(after: entry.startIndex)..<close])
        }
        let colons = entry.reduce(0) { $0 + ($1 == ":" ? 1 : 0) }
        if colons == 1, let colon = entry.firstIndex(of: ":") { return String(entry[..<colon]) }
        return entry
    }

    /// 4 bytes for IPv4, 16 for IPv6; an IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) as IPv4.
    static func parseAddress(_ text: String) -> [UInt8]? {
        guard text.utf8.count <= 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
