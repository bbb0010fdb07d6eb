import Glibc

/// The communicator of a single process: every collective is the identity.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localSize: Int { 1 }
    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws {}
    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ op: ReduceOp) throws {}
    public func startSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction { FinishedReduction() }
    public func startReduce(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> PendingReduction { FinishedReduction() }
    public func startBroadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> PendingReduction { FinishedReduction() }
    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
    public func barrier() throws {}
    public func abort(code: Int32) -> Never { exit(code) }
    public func finalize() {}
}
