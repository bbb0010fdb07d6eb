import CMPI
import Foundation

/// An MPI error with the library's own message.
public struct MPIError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public let message: String
    public var description: String { "\(call) failed: \(message) (MPI error \(code))" }
}

/// MPI_COMM_WORLD. Works under mpirun and, through Open MPI's singleton start, without it.
/// Errors are returned (MPI_ERRORS_RETURN) and thrown as `MPIError`.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let localSize: Int
    private let comm: MPI_Comm
    /// A duplicate of `comm` for `startSum`, so reductions in flight never have to be ordered against the blocking
    /// collectives issued meanwhile (batch normalisation's sums inside backward).
    private let overlapComm: MPI_Comm

    public init() throws {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            // The gradient buckets' MPI_Iallreduce by recursive doubling (Open MPI's libnbc, algorithm 4) unless the
            // user chose (--mca or the environment): non-blocking collectives move on only inside MPI calls, and its
            // log2(p) rounds need fewer of them than the ring's 2(p−1). On 8 emulated hosts at 10 Gbit/s it hid 59%
            // of adgm's allreduce and 34% of m2's, against 43% and none (m2's step slower than one allreduce) with
            // libnbc's own choice (docs/distributed.md).
            setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "4", 0)
            // The sharded update's MPI_Ireduce of each bucket onto its owner by a binomial tree (algorithm 2) for the
            // same reason: libnbc's own choice (a segmented chain) moved on so little between layer ends that adgm
            // waited 4.1 ms a step for the sums after backward on 2 ranks, against none with the tree (step 33.6 →
            // 30.3 ms; docs/benchmarks.md). Spread over buckets owned by different ranks, the tree's p − 1 messages a
            // bucket add up to the bytes of a reduce-scatter.
            setenv("OMPI_MCA_coll_libnbc_ireduce_algorithm", "2", 0)
            var provided: Int32 = 0
            try MPICommunicator.check(MPI_Init_thread(nil, nil, 0 /* MPI_THREAD_SINGLE */, &provided), "MPI_Init_thread")
        }
        comm = ssl_mpi_comm_world()
        try MPICommunicator.check(MPI_Comm_set_errhandler(comm, ssl_mpi_errors_return()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, s: Int32 = 0
        try MPICommunicator.check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try MPICommunicator.check(MPI_Comm_size(comm, &s), "MPI_Comm_size")
        rank = Int(r); size = Int(s)
        // Ranks on this node: the size of the shared-memory sub-communicator.
        var node = MPI_Comm(bitPattern: 0)
        try MPICommunicator.check(MPI_Comm_split_type(comm, ssl_mpi_comm_type_shared(), r, ssl_mpi_info_null(), &node),
                                  "MPI_Comm_split_type")
        var ls: Int32 = 1
        try MPICommunicator.check(MPI_Comm_size(node, &ls), "MPI_Comm_size(node)")
        MPI_Comm_free(&node)
        localSize = Int(ls)
        var dup = MPI_Comm(bitPattern: 0)
        try MPICommunicator.check(MPI_Comm_dup(comm, &dup), "MPI_Comm_dup")
        overlapComm = dup!
        try MPICommunicator.check(MPI_Comm_set_errhandler(overlapComm, ssl_mpi_errors_return()), "MPI_Comm_set_errhandler")
    }

    /// True when this process was started by an MPI launcher (mpirun, or srun with PMIx/PMI).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains { env[$0] != nil }
    }

    /// Finalizes MPI; call once, after the last collective, on every rank.
    public func finalize() { MPI_Finalize() }

    static func check(_ rc: Int32, _ call: String) throws {
        guard rc != ssl_mpi_success() else { return }
        var buf = [CChar](repeating: 0, count: Int(ssl_mpi_max_error_string()) + 1)
        var len: Int32 = 0
        MPI_Error_string(rc, &buf, &len)
        throw MPIError(call: call, code: rc, message: String(cString: buf))
    }

    private func mpiOp(_ op: ReduceOp) -> MPI_Op {
        switch op { case .sum: return ssl_mpi_sum(); case .min: return ssl_mpi_min(); case .max: return ssl_mpi_max() }
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws {
        guard size > 1, buffer.count > 0 else { return }
        try Self.check(MPI_Allreduce(ssl_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), ssl_mpi_float(),
                                     mpiOp(op), comm), "MPI_Allreduce(float)")
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ op: ReduceOp) throws {
        guard size > 1, buffer.count > 0 else { return }
        try Self.check(MPI_Allreduce(ssl_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), ssl_mpi_double(),
                                     mpiOp(op), comm), "MPI_Allreduce(double)")
    }

    public func startSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        guard size > 1, buffer.count > 0 else { return FinishedReduction() }
        let pending = MPIPendingReduction()
        try Self.check(MPI_Iallreduce(ssl_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), ssl_mpi_float(), ssl_mpi_sum(),
                                      overlapComm, &pending.request), "MPI_Iallreduce(float)")
        return pending
    }

    public func startReduce(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> PendingReduction {
        guard size > 1, buffer.count > 0 else { return FinishedReduction() }
        let pending = MPIPendingReduction()
        // The root reduces in place; the others only send.
        let send = rank == root ? UnsafeRawPointer(ssl_mpi_in_place()) : UnsafeRawPointer(buffer.baseAddress)
        try Self.check(MPI_Ireduce(send, buffer.baseAddress, Int32(buffer.count), ssl_mpi_float(), ssl_mpi_sum(), Int32(root),
                                   overlapComm, &pending.request), "MPI_Ireduce(float)")
        return pending
    }

    public func startBroadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws -> PendingReduction {
        guard size > 1, buffer.count > 0 else { return FinishedReduction() }
        let pending = MPIPendingReduction()
        try Self.check(MPI_Ibcast(buffer.baseAddress, Int32(buffer.count), ssl_mpi_float(), Int32(root), overlapComm, &pending.request),
                       "MPI_Ibcast(float)")
        return pending
    }

    public func allgather(_ buffer: UnsafeMutableBufferPointer<Float>, parts: [Range<Int>]) throws {
        guard size > 1, buffer.count > 0 else { return }
        precondition(parts.count == size && parts.allSatisfy { $0.upperBound <= buffer.count }, "one part of the buffer per rank")
        let counts = parts.map { Int32($0.count) }, displacements = parts.map { Int32($0.lowerBound) }
        try Self.check(MPI_Allgatherv(ssl_mpi_in_place(), 0, ssl_mpi_float(), buffer.baseAddress, counts, displacements,
                                      ssl_mpi_float(), comm), "MPI_Allgatherv(float)")
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard size > 1, buffer.count > 0 else { return }
        try Self.check(MPI_Bcast(buffer.baseAddress, Int32(buffer.count), ssl_mpi_byte(), Int32(root), comm), "MPI_Bcast")
    }

    public func barrier() throws {
        guard size > 1 else { return }
        try Self.check(MPI_Barrier(comm), "MPI_Barrier")
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }
}

/// An MPI_Iallreduce, MPI_Ireduce or MPI_Ibcast in flight.
final class MPIPendingReduction: PendingReduction {
    var request: MPI_Request? = ssl_mpi_request_null()
    private var done = false

    func test() throws -> Bool {
        if done { return true }
        var flag: Int32 = 0
        try MPICommunicator.check(MPI_Test(&request, &flag, ssl_mpi_status_ignore()), "MPI_Test")
        done = flag != 0
        return done
    }

    func wait() throws {
        if done { return }
        try MPICommunicator.check(MPI_Wait(&request, ssl_mpi_status_ignore()), "MPI_Wait")
        done = true
    }
}
