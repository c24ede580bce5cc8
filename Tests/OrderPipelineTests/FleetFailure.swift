/// The fleet or a scenario did not get where it had to; the message says where to look.
struct FleetFailure: Error, CustomStringConvertible {
    let description: String
}
