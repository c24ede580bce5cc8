#if canImport(Glibc)
import Glibc
#endif

/// glibc gives a thread that finds the malloc arenas busy an arena of its own, up to eight per
/// core; with a thread per database connection plus librdkafka's threads, each worker's resident
/// memory reached 185 MiB under the pipeline benchmark, and 104 MiB with two arenas at the same
/// throughput (`make bench` reports each role's peak against a 150 MiB ceiling). Set before the
/// first threads start; `MALLOC_ARENA_MAX` in the environment still decides when it is set.
enum MallocArenas {
    static func limit(to count: Int32 = 2) {
        #if canImport(Glibc)
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        // malloc.h is not part of Swift's Glibc module: mallopt is looked up by name.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let arenaMaximum: Int32 = -8  // M_ARENA_MAX in <malloc.h>
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMaximum, count)
        #endif
    }
}
