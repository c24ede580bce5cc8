import Foundation

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick), for a server a
/// test starts.
public func freeLocalPort() throws -> Int {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            guard bind(socketFD, raw, length) == 0, getsockname(socketFD, raw, &length) == 0 else {
                throw FreePortFailure(description: "no free port: \(String(cString: strerror(errno)))")
            }
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct FreePortFailure: Error, CustomStringConvertible {
    var description: String
}
