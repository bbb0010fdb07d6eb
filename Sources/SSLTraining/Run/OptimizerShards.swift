import Foundation
import SSLCore
import SSLDistributed

/// The update sharded over the ranks (ZeRO stage 1, Rajbhandari et al. 2020): the trained parameters are cut into one
/// contiguous part per rank, in rank order, of equal size to 16 floats (with LAMB, whose trust ratio is per tensor,
/// at the tensor boundaries nearest to that). A step then
///   1. sums each part's gradients onto its owner only (a reduce per bucket instead of an allreduce; the step's
///      scalars are still summed on every rank),
///   2. takes ‖g‖₂ from the parts' Σ g² (one allreduce of a Double),
///   3. updates on each rank its own part (Adam's moments and the moving average of that part only), and
///   4. gathers the parts, so every rank holds all parameters again: a broadcast from the owner per bucket, in flight
///      while the next step assembles its batch and runs forward, each waited for when a layer first reads one of
///      its tensors (`ParameterReadWatch`), and every one before anything else reads the parameters (`settle`).
/// The bytes on the wire are the allreduce's (a reduce-scatter and an all-gather), while the optimizer's memory
/// traffic per rank (five arrays of the parameters' size, which does not shrink with a rank's share of the batch) falls
/// to 1/p. Adam's moments and the moving average are then current on a rank for its own part only: `gatherAverage`
/// and `gatherOptimizer` complete them where a whole copy is read (validation, checkpoints). Deterministic for a given
/// world size, so resume on the same number of ranks is exact; the sums of Σ g² differ in order from one rank's, so
/// runs on different world sizes agree to rounding (as the allreduce's sums already do).
final class OptimizerShards: ParameterReadWatch {
    let comm: Communicator
    let store: ParameterStore
    /// Float ranges of the parameters, one per rank (some may be empty when there are more ranks than tensors).
    let parts: [Range<Int>]
    /// This rank's part.
    var own: Range<Int> { parts[comm.rank] }
    /// The trained parameters (the frozen ones, before them, belong to no part).
    let trained: Range<Int>

    /// What the gather sends, one broadcast each: the parts, or the reduction's buckets when `OverlappedAllreduce` cuts
    /// them (each inside one part).
    lazy var gatherPieces: [(range: Range<Int>, owner: Int)] = pieces(of: trained)
    /// The gather's broadcasts still in flight, in the order they were started.
    private var arriving: [(range: Range<Int>, owner: Int, pending: PendingReduction)] = []
    private var failure: Error? = nil

    init(store: ParameterStore, frozen: Int, wholeTensors: Bool, comm: Communicator) {
        self.comm = comm
        self.store = store
        trained = frozen..<store.layout.parameterCount
        parts = Self.cut(store.layout, trained: trained, ranks: comm.size, wholeTensors: wholeTensors)
    }

    /// The sharded update of a run on several ranks with `--shard-optimizer`; nil otherwise.
    static func make(store: ParameterStore, frozen: Int, enabled: Bool, wholeTensors: Bool, comm: Communicator) -> OptimizerShards? {
        guard enabled && comm.size > 1 else { return nil }
        return OptimizerShards(store: store, frozen: frozen, wholeTensors: wholeTensors, comm: comm)
    }

    /// `ranks` contiguous parts of `trained`, each cut at k/p of it rounded to 16 floats, or with `wholeTensors` at the
    /// tensor boundary nearest to that.
    static func cut(_ layout: ParameterLayout, trained: Range<Int>, ranks p: Int, wholeTensors: Bool) -> [Range<Int>] {
        let ends = layout.entries.filter { !$0.isState && $0.offset >= trained.lowerBound }.map { $0.offset + $0.count }
        var cuts = [trained.lowerBound]
        for k in 1..<max(p, 1) {
            let target = trained.lowerBound + trained.count * k / p
            let nearest = wholeTensors ? ends.min { abs($0 - target) < abs($1 - target) } ?? trained.upperBound
                                       : min(trained.upperBound, (target + 8) / 16 * 16)
            cuts.append(max(cuts.last!, nearest))
        }
        cuts.append(trained.upperBound)
        return (0..<p).map { cuts[$0]..<cuts[$0 + 1] }
    }

    /// The rank owning the parameters in `range` (a range inside one part).
    func owner(of range: Range<Int>) -> Int {
        parts.firstIndex { $0.contains(range.lowerBound) } ?? 0
    }

    /// Cuts `range` where parts end: the pieces and their owners.
    func pieces(of range: Range<Int>) -> [(range: Range<Int>, owner: Int)] {
        parts.enumerated().compactMap { rank, part in
            let piece = range.clamped(to: part)
            return piece.isEmpty ? nil : (piece, rank)
        }
    }

    /// Step 1 without buckets: every part's gradient sums to its owner and the scalars after them to all, after backward.
    func reduceGradients() throws {
        let grads = store.grads.whole
        var pending = try pieces(of: trained).map {
            try comm.startReduce(UnsafeMutableBufferPointer(rebasing: grads[$0.range]), root: $0.owner)
        }
        pending.append(try comm.startSum(UnsafeMutableBufferPointer(rebasing: grads[store.layout.parameterCount...])))
        for p in pending { try p.wait() }
    }

    /// Step 2: ‖g‖₂ of the summed gradients over all parts, the same on every rank.
    func gradientNorm() throws -> Double {
        var sum = [Adam.squaredNorm(store.grads, own)]
        try comm.allreduce(&sum, .sum)
        return sum[0].squareRoot()
    }

    /// Steps 3 and 4: the update of this rank's part (as `TrainingSession` gives it), then every part on its way to
    /// every rank.
    func update(_ adam: Adam, gradientNorm: Double) throws {
        try settle()
        adam.step(store, gradientNorm: gradientNorm, range: own)
        try startGather()
    }

    /// Step 4 started: one broadcast per piece from its owner; layers wait for what they read (`reading`).
    func startGather() throws {
        let values = UnsafeMutableBufferPointer(start: store.values.pointer, count: store.layout.parameterCount)
        arriving = try gatherPieces.map {
            ($0.range, $0.owner, try comm.startBroadcast(UnsafeMutableBufferPointer(rebasing: values[$0.range]), root: $0.owner))
        }
        store.readWatch = self
    }

    /// A layer reads tensor `r`: wait for the pieces of it other ranks send (its owner's copy is current), and let MPI
    /// move the others on.
    func reading(_ r: ParamRef) {
        guard failure == nil else { return }
        let tensor = r.offset..<(r.offset + r.count)
        do {
            for a in arriving where a.owner != comm.rank && a.range.overlaps(tensor) { try a.pending.wait() }
            if let oldest = arriving.first { _ = try oldest.pending.test() }
        } catch { failure = error }
    }

    /// Every parameter complete on every rank: before the next update, and before anything but a layer reads them
    /// (validation, the ranks' digest check, checkpoints, the results).
    func settle() throws {
        store.readWatch = nil
        defer { arriving = [] }
        if let failure { self.failure = nil; throw failure }
        for a in arriving { try a.pending.wait() }
    }

    /// The moving average, complete on every rank (before it is read: validation, checkpoints).
    func gatherAverage() throws {
        try settle()
        if let a = store.average { try gather(a) }
    }

    /// Adam's moments and the moving average, complete on every rank (before a checkpoint).
    func gatherOptimizer(_ adam: Adam) throws {
        try settle()
        try gather(adam.m)
        try gather(adam.v)
        try gatherAverage()
    }

    private func gather(_ b: Buffer) throws {
        try comm.allgather(UnsafeMutableBufferPointer(start: b.pointer, count: store.layout.parameterCount), parts: parts)
    }
}
