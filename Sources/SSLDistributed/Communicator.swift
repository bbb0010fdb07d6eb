/// Collectives over the ranks of a job. Every rank must issue the same calls in the same order.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Ranks on this rank's node (sharing its memory), this one included.
    var localSize: Int { get }
    /// In-place elementwise reduction across ranks; every rank gets the result.
    func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws
    func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ op: ReduceOp) throws
    /// Starts an in-place sum of `buffer` across ranks and returns at once; the buffer must stay untouched until the
    /// reduction has finished (`PendingReduction`). These sums are matched among themselves in the order they are
    /// started, apart from the blocking collectives above (MPI: on a duplicate of the job's communicator).
    func startSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction
    /// Starts an in-place sum of `buffer` across ranks that only `root` receives (the other ranks' buffers are left
    /// as they were); ordered with `startSum` as one stream.
    func startReduce(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> PendingReduction
    /// Starts a copy of `buffer` from `root` to every rank; ordered with `startSum` as one stream.
    func startBroadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> PendingReduction
    /// In place: rank r's `parts[r]` of `buffer` (indices into it, one part per rank, in rank order) to every rank.
    func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws
    /// Copies `buffer` from `root` to every rank.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    func barrier() throws
    /// Ends every rank of the job with `code` (never returns on MPI).
    func abort(code: Int32) -> Never
    /// Shuts the communicator down after the last collective (MPI_Finalize); every rank calls it once.
    func finalize()
}

public enum ReduceOp: Sendable { case sum, min, max }

/// A collective in flight (`Communicator.startSum`, `startReduce`, `startBroadcast`).
public protocol PendingReduction: AnyObject {
    /// Lets the library move the reduction on (MPI progresses only inside its calls); true once it has finished.
    func test() throws -> Bool
    /// Returns when the reduction has finished.
    func wait() throws
}

/// A reduction that finished when it was started.
public final class FinishedReduction: PendingReduction {
    public init() {}
    public func test() throws -> Bool { true }
    public func wait() throws {}
}

public extension Communicator {
    var isRoot: Bool { rank == 0 }

    func allreduce(_ values: inout [Double], _ op: ReduceOp) throws {
        try values.withUnsafeMutableBufferPointer { try allreduce($0, op) }
    }

    /// Broadcasts a value of trivial layout from `root`.
    func broadcast<T>(_ value: inout T, root: Int = 0) throws {
        try withUnsafeMutableBytes(of: &value) { try broadcast($0, root: root) }
    }

    /// Broadcasts a byte array of any length from `root` (its length first).
    func broadcastBytes(_ bytes: inout [UInt8], root: Int = 0) throws {
        var count = bytes.count
        try broadcast(&count, root: root)
        if rank != root { bytes = [UInt8](repeating: 0, count: count) }
        try bytes.withUnsafeMutableBytes { try broadcast($0, root: root) }
    }

    /// Broadcasts a float buffer from `root`.
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int = 0) throws {
        try broadcast(UnsafeMutableRawBufferPointer(start: buffer, count: count * MemoryLayout<Float>.size), root: root)
    }

    /// True on every rank when `value` is the same on every rank (allreduce of MIN and MAX).
    func agree(_ value: UInt64) throws -> Bool {
        // Split into two exactly representable halves so doubles carry 64 bits.
        var lo = [Double(value & 0xFFFF_FFFF), Double(value >> 32)]
        var hi = lo
        try allreduce(&lo, .min)
        try allreduce(&hi, .max)
        return lo == hi
    }
}

#if canImport(Glibc)
import Glibc
#endif
