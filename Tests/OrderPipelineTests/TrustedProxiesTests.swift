import Gateway
import Testing

/// The trusted-proxy list and the client it picks out of `X-Forwarded-For`, without a server.
@Suite("Trusted proxies")
struct TrustedProxiesTests {
    @Test("networks match by prefix, for IPv4, IPv6 and IPv4-mapped IPv6 peers")
    func matching() throws {
        let trusted = try TrustedProxies("10.0.0.0/8, 192.168.1.7, fd00::/8, 172.16.0.0/12")
        #expect(trusted.contains("10.255.1.2") && trusted.contains("192.168.1.7") && trusted.contains("fd12::1"))
        #expect(trusted.contains("::ffff:10.1.2.3"), "an IPv4-mapped peer is its IPv4 address")
        #expect(trusted.contains("172.31.255.255") && !trusted.contains("172.32.0.0"))
        #expect(!trusted.contains("11.0.0.1") && !trusted.contains("192.168.1.8") && !trusted.contains("fe80::1"))
        #expect(!trusted.contains("not an address") && !trusted.contains(""))
        #expect(try TrustedProxies("0.0.0.0/0").contains("203.0.113.9"))
        #expect(try !TrustedProxies("0.0.0.0/0").contains("2001:db8::1"), "an IPv4 network never matches IPv6")
        #expect(try TrustedProxies("2001:db8::1/128").contains("2001:db8::1") && !TrustedProxies("2001:db8::1/128").contains("2001:db8::2"))
        #expect(try TrustedProxies("").isEmpty && TrustedProxies(" , ").isEmpty)
    }

    @Test("entries that are not networks are refused", arguments: ["/", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/+8", "10.0.0.0/-0", "fd00::/129", "proxy.internal", "10.0.0.0/8/8"])
    func refused(entry: String) {
        #expect(throws: TrustedProxies.ParseError.self) { try TrustedProxies("10.0.0.0/8, \(entry)") }
    }

    @Test("the client is the right-most untrusted address, and only behind a trusted peer")
    func client() throws {
        let trusted = try TrustedProxies("10.0.0.0/8")
        #expect(trusted.client(peer: "10.0.0.5", forwardedFor: ["1.1.1.1", "203.0.113.7"]) == "203.0.113.7")
        #expect(trusted.client(peer: "10.0.0.5", forwardedFor: ["1.1.1.1", "203.0.113.7", "10.0.0.9"]) == "203.0.113.7")
        #expect(trusted.client(peer: "198.51.100.1", forwardedFor: ["203.0.113.7"]) == "198.51.100.1", "untrusted peer: header ignored")
        #expect(trusted.client(peer: "10.0.0.5", forwardedFor: ["203.0.113.7:5678"]) == "203.0.113.7", "a port is dropped")
        #expect(trusted.client(peer: "10.0.0.5", forwardedFor: ["[2001:db8::1]:443"]) == "2001:db8::1")
        #expect(trusted.client(peer: "10.0.0.5", forwardedFor: ["2001:db8::1"]) == "2001:db8::1")
        #expect(trusted.client(peer: "10.0.0.5", forwardedFor: ["203.0.113.7", "garbage", "10.0.0.9"]) == "10.0.0.9", "garbage ends the walk at the last trusted hop")
        #expect(trusted.client(peer: "10.0.0.5", forwardedFor: ["10.0.0.8", "10.0.0.9"]) == "10.0.0.8", "all trusted: the left-most")
        #expect(trusted.client(peer: "10.0.0.5", forwardedFor: []) == "10.0.0.5")
    }
}
