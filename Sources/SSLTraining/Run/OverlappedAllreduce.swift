import Foundation
import SSLCore
import SSLDistributed

/// The step's gradient allreduce in buckets, each started as soon as backward has finished with its gradients, so the
/// sums travel while backward computes the layers below (as PyTorch DDP and Horovod do).
///
/// Buckets are contiguous ranges of the one gradient block, cut at tensor boundaries in layout order (about
/// `bucketFloats` each, and at the end of every network); the step's scalars (`StepTail`) are a bucket of their own,
/// always last. The first step this process runs sends every bucket after backward and records when backward last
/// touches each one (`GradientWatch`);
/// from then on a bucket starts at the first layer end after its last touch. The buckets, and so the sums, are the
/// same in every step, so a resumed run computes what the uninterrupted one did. Each rank checks in every step that
/// backward took the recorded path (the touch count at each layer end); where it did not, the rest of its buckets
/// wait for the end of backward, and a write into a bucket already sent fails the step.
/// With the update sharded (`OptimizerShards`), buckets also end where a rank's part ends, each is summed onto its
/// part's owner only (a reduce instead of an allreduce), and the gather after the update sends the same buckets back.
final class OverlappedAllreduce: GradientWatch {
    let comm: Communicator
    let store: ParameterStore
    /// Float ranges of `store.grads.whole`; the tail's is last.
    let buckets: [Range<Int>]
    /// Each layout entry's buckets (one, or sharded several; nil for state and frozen tensors).
    private let bucketsOf: [Range<Int>?]
    /// The rank each bucket is summed onto (nil: every rank; always so without shards, and for the tail).
    private let owners: [Int?]

    /// When each bucket starts, from the first step: the touch count at every layer end, the buckets started at each,
    /// and the order of all.
    private struct Plan {
        var touchesAtSettle: [Int]
        var startsAtSettle: [[Int]]
        var order: [Int]
    }
    private var plan: Plan? = nil

    // This step.
    private var active = false
    private var touches = 0, settles = 0, diverged = false
    private var lastTouch: [Int] = [], settleTouches: [Int] = []
    private var started: [Bool] = []
    private var pending: [PendingReduction] = []
    private var firstUnfinished = 0
    private var lateWrite: String? = nil
    private var failure: Error? = nil

    /// Seconds the steps spent waiting for sums after backward: the part of the allreduce backward did not hide.
    private(set) var exposedSeconds = 0.0
    /// Seconds of backward left after each step's first bucket started: how much communication the step can hide.
    private(set) var windowSeconds = 0.0
    private var firstStart: Date? = nil

    init(store: ParameterStore, frozen: Int, bucketFloats: Int, shards: OptimizerShards? = nil, comm: Communicator) {
        self.comm = comm
        self.store = store
        let layout = store.layout
        var ranges: [Range<Int>] = [], of = [Range<Int>?](repeating: nil, count: layout.entries.count)
        var start = frozen
        let trained = layout.entries.indices.filter { !layout.entries[$0].isState && layout.entries[$0].offset >= frozen }
        let partEnds = Set(shards?.parts.map(\.upperBound) ?? [])
        for (n, i) in trained.enumerated() {
            let e = layout.entries[i], end = e.offset + e.count
            let first = ranges.count
            // Sharded, a bucket ends where a rank's part does, inside a tensor too.
            for cut in partEnds.sorted() where cut > max(start, e.offset) && cut < end {
                ranges.append(start..<cut)
                start = cut
            }
            // A bucket ends at its size, and where a network ends: backward finishes networks one after another, so a
            // bucket across two would wait for the later one.
            let last = n == trained.count - 1
            if last || partEnds.contains(end) || end - start >= bucketFloats
                || Self.network(e.name) != Self.network(layout.entries[trained[n + 1]].name) {
                ranges.append(start..<end)
                start = end
            }
            of[i] = first..<(ranges.count + (start < end ? 1 : 0))
        }
        owners = ranges.map { r in shards.map { $0.owner(of: r) } } + [nil]
        // The gather after the update sends back the same buckets, each from its owner.
        shards?.gatherPieces = zip(ranges, owners).compactMap { r, owner in owner.map { (r, $0) } }
        ranges.append(layout.parameterCount..<store.grads.whole.count)
        buckets = ranges
        bucketsOf = of
    }

    /// A tensor's network: its name up to the first dot ("px" of "px.l0.W_z").
    private static func network(_ name: String) -> Substring { name.prefix { $0 != "." } }

    /// The overlap of a run on several ranks, watching `store`'s gradient writes; nil on one rank or with 0 MB.
    static func make(store: ParameterStore, frozen: Int, megabytes: Double?, shards: OptimizerShards?,
                     comm: Communicator) -> OverlappedAllreduce? {
        let mb = megabytes ?? TrainConfig.defaultAllreduceBucketMB
        guard comm.size > 1 && mb > 0 else { return nil }
        let o = OverlappedAllreduce(store: store, frozen: frozen, bucketFloats: max(1, Int(mb * 1e6 / 4)), shards: shards, comm: comm)
        store.watch = o
        return o
    }

    private var tailBucket: Int { buckets.count - 1 }

    /// Buckets the plan starts during backward (nil before the first step has made the plan).
    var startedDuringBackward: Int? { plan.map { $0.startsAtSettle.reduce(0) { $0 + $1.count } } }

    /// The line `train` ends with: how many buckets, how many left during backward, and how long rank 0 waited after it.
    func summary(stepSeconds: Double) -> String {
        let mb = Double(buckets.dropLast().map(\.count).max() ?? 0) * 4 / 1e6
        return String(format: "allreduce: %d buckets of at most %.1f MB and the step's scalars, %d started during backward; "
                      + "rank 0 waited %.1f s for sums after backward (this process, %.1f s of training)",
                      buckets.count - 1, mb, startedDuringBackward ?? 0, exposedSeconds, stepSeconds)
    }

    /// Before the step's forward pass.
    func begin() {
        active = true
        touches = 0; settles = 0; diverged = false; lateWrite = nil; failure = nil; firstStart = nil
        started = [Bool](repeating: false, count: buckets.count)
        if plan == nil { lastTouch = [Int](repeating: 0, count: buckets.count); settleTouches = [] }
    }

    func touched(_ r: ParamRef) {
        guard active else { return }
        touches += 1
        guard let bs = bucketsOf[r.index] else { return }
        for b in bs {
            if plan == nil { lastTouch[b] = touches } else if started[b] && lateWrite == nil { lateWrite = store.layout.entries[r.index].name }
        }
    }

    func settled() {
        guard active else { return }
        guard let plan else { settleTouches.append(touches); return }
        if !diverged {
            if settles < plan.touchesAtSettle.count && plan.touchesAtSettle[settles] == touches {
                for b in plan.startsAtSettle[settles] { start(b) }
            } else {
                diverged = true
            }
        }
        settles += 1
        progress()
    }

    /// After backward and `StepTail.write`: starts what has not started (the tail last), waits for every sum.
    func finish() throws {
        if let firstStart { windowSeconds += Date().timeIntervalSince(firstStart) }
        for b in plan?.order ?? Array(buckets.indices) where !started[b] { start(b) }
        let t = Date()
        if failure == nil {
            do { for p in pending { try p.wait() } } catch { failure = error }
        }
        exposedSeconds += Date().timeIntervalSince(t)
        pending.removeAll(); firstUnfinished = 0
        active = false
        if let failure { throw failure }
        if let lateWrite {
            throw TrainingError(message: "the gradient of \(lateWrite) was written after its allreduce bucket was sent (this "
                                + "model's backward changed its order between steps); train with --allreduce-bucket-mb 0")
        }
        if plan == nil { try makePlan() }
    }

    private func start(_ b: Int) {
        guard failure == nil else { return }
        if firstStart == nil { firstStart = Date() }
        do {
            let bucket = UnsafeMutableBufferPointer(rebasing: store.grads.whole[buckets[b]])
            pending.append(try owners[b].map { try comm.startReduce(bucket, root: $0) } ?? comm.startSum(bucket))
            started[b] = true
        } catch { failure = error }
    }

    /// MPI moves non-blocking collectives on only inside its calls: test the oldest unfinished ones at each layer end.
    private func progress() {
        guard failure == nil else { return }
        do {
            while firstUnfinished < pending.count, try pending[firstUnfinished].test() { firstUnfinished += 1 }
        } catch { failure = error }
    }

    /// From the recorded step: each bucket starts at the first layer end after its last touch; buckets never touched
    /// start at the first layer end, the tail after backward. Every rank must reach the same plan (else none overlap).
    private func makePlan() throws {
        var starts = [[Int]](repeating: [], count: settleTouches.count)
        var atEnd: [Int] = []
        for b in 0..<tailBucket {
            if let k = settleTouches.firstIndex(where: { $0 >= lastTouch[b] }) { starts[k].append(b) } else { atEnd.append(b) }
        }
        var p = Plan(touchesAtSettle: settleTouches, startsAtSettle: starts, order: starts.flatMap { $0 } + atEnd + [tailBucket])
        // The plan is the touch counts and the buckets started at each layer end (the order follows from them).
        var h = FNV1a()
        for (touches, started) in zip(settleTouches, starts) {
            h.add(UInt64(touches))
            for b in started { h.add(UInt64(b)) }
            h.add(UInt64.max)
        }
        if !(try comm.agree(h.value)) {
            // Backward took different paths on different ranks: every bucket after backward, in layout order.
            p = Plan(touchesAtSettle: [], startsAtSettle: [], order: Array(buckets.indices))
        }
        plan = p
    }
}
