import Foundation
import Synchronization

/// A TCP port on 127.0.0.1 that nothing listens on right now, for a server a test or a chaos run
/// starts. Picked below the kernel's ephemeral range (32768 and up here), where no outgoing
/// connection and no port-0 listener (a Kafka mock broker, another server) can take it between
/// this check and the server's bind, and never handed out twice by one process.
public func freeLocalPort() throws -> Int {
    for _ in 0..<200 {
        let port = Int.random(in: FreePorts.range)
        guard FreePorts.claim(port) else { continue }
        if try FreePorts.isFree(port) { return port }
    }
    throw FreePortFailure(description: "no free port in \(FreePorts.range) after 200 tries")
}

enum FreePorts {
    static let range = 20_000...32_000
    private static let handedOut = Mutex<Set<Int>>([])

    static func claim(_ port: Int) -> Bool {
        handedOut.withLock { $0.insert(port).inserted }
    }

    static func isFree(_ port: Int) throws -> Bool {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw FreePortFailure(description: "no socket: \(String(cString: strerror(errno)))") }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) == 0 }
        }
    }
}

struct FreePortFailure: Error, CustomStringConvertible {
    var description: String
}
