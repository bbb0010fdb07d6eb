import SSLCore

/// Which examples form each global batch, as a pure function of (seed, step):
///  - unlabelled, in one of two orders (`shards`):
///    - whole-set (nil, every run before shards): epoch e = step / stepsPerEpoch walks one permutation of the
///      unlabelled set keyed by (seed, e); a rank takes a fixed slice of each global batch (`slice`), so every rank
///      reads the whole set.
///    - sharded (S shards): the unlabelled list is cut into S contiguous shards (sizes m or m + 1, m = N / S), each
///      shuffled every epoch by a permutation keyed by (seed, e, shard). An epoch visits the shards in rounds: round j
///      takes item j of every shard, in the order p ↦ (a·p + 97·j) mod S (a ≈ 0.618·S, coprime with S: consecutive
///      positions land far apart in the file, so a batch is not one region of a file sorted by class, and any W
///      consecutive positions fall on W different ranks' shards when W divides S); a last round takes item m of the
///      shards that have one. Shard s belongs to rank s mod W, and a rank takes the positions of its shards: it reads
///      only its shards, and the global batch, the union of the ranks' parts, is the same for every world size. The
///      order of the shards is the same every epoch; which example a shard gives is new every epoch.
///    Either way step t of an epoch takes positions [t·B, (t+1)·B), and the last partial batch is dropped.
///  - labelled: an endless stream of permutations keyed by (seed, cycle); step t takes
///    positions [t·B_l, (t+1)·B_l), so the small labelled set is cycled. A rank takes a fixed slice of each batch.
public final class GlobalBatchSampler {
    public let labelledCount: Int, unlabelledCount: Int
    public let labelledBatch: Int, unlabelledBatch: Int
    public let seed: UInt64
    /// Shards of the unlabelled set (nil: the whole-set order); never more than it has examples.
    public let shards: Int?
    /// The sharded order's stride over the shards in a full round and in the last one.
    private let stride: Int, lastStride: Int
    private let noise: NoiseSource
    private var cacheU: (Int, [Int])? = nil
    private var cacheShards: (epoch: Int, perms: [Int: [Int]]) = (-1, [:])
    private var cacheL: [Int: [Int]] = [:]

    public init(labelledCount: Int, unlabelledCount: Int, labelledBatch: Int, unlabelledBatch: Int, seed: UInt64,
                shards: Int? = nil) {
        self.labelledCount = labelledCount; self.unlabelledCount = unlabelledCount
        self.labelledBatch = labelledBatch; self.unlabelledBatch = unlabelledBatch
        self.seed = seed
        let s = shards.map { max(1, min($0, unlabelledCount)) }
        self.shards = s
        stride = Self.stride(s ?? 1)
        lastStride = Self.stride(max(1, unlabelledCount % (s ?? 1)))
        noise = NoiseSource(seed: seed)
    }

    /// A stride that visits every one of n places once (coprime with n), as near 0.618·n as possible, preferring one
    /// coprime with 2, 3 and 5 too (then any 2, 3, 5 or 6 consecutive steps fall in different residues).
    static func stride(_ n: Int) -> Int {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let target = 0.6180339887 * Double(n)
        let candidates = (1...n).filter { gcd($0, n) == 1 }
        let good = candidates.filter { gcd($0, 30) == 1 }
        return (good.isEmpty ? candidates : good).min { abs(Double($0) - target) < abs(Double($1) - target) } ?? 1
    }

    /// Steps in one pass over the unlabelled set (or the labelled set when there is no unlabelled batch).
    public var stepsPerEpoch: Int {
        if unlabelledBatch > 0 { return max(1, unlabelledCount / unlabelledBatch) }
        return max(1, (labelledCount + labelledBatch - 1) / max(labelledBatch, 1))
    }

    public func epoch(ofStep step: Int) -> Int { step / stepsPerEpoch }

    /// Shard s's examples: positions of the unlabelled list.
    public func shard(_ s: Int) -> Range<Int> { slice(total: unlabelledCount, rank: s, world: shards ?? 1) }

    /// The shard and the item within it at position k of an epoch (sharded order).
    func place(_ k: Int) -> (shard: Int, item: Int) {
        let s = shards!, m = unlabelledCount / s
        if k < s * m { let j = k / s; return ((stride * (k % s) + 97 * j) % s, j) }
        return ((lastStride * (k - s * m)) % (unlabelledCount % s), m)
    }

    /// The shards rank `rank` of `world` reads (nil in the whole-set order, where a rank reads everything).
    public func shards(rank: Int, world: Int) -> [Int]? {
        guard let s = shards else { return nil }
        return Array(Swift.stride(from: rank, to: s, by: world))
    }

    /// Every unlabelled example rank `rank` of `world` ever takes, as indices into the unlabelled list, in order.
    public func unlabelledExamples(rank: Int, world: Int) -> [Int] {
        guard let mine = shards(rank: rank, world: world) else { return Array(0..<unlabelledCount) }
        return mine.flatMap { Array(shard($0)) }
    }

    /// Rank `rank` of `world`'s part of the global unlabelled batch at `step`, as indices into the unlabelled list:
    /// a slice of the batch (whole-set order) or the batch's examples from its shards (sharded).
    public func unlabelled(step: Int, rank: Int, world: Int) -> [Int] {
        guard shards != nil else { return unlabelled(step: step, range: slice(total: unlabelledBatch, rank: rank, world: world)) }
        let e = epoch(ofStep: step), first = (step % stepsPerEpoch) * unlabelledBatch
        if cacheShards.epoch != e { cacheShards = (e, [:]) }
        var out: [Int] = []
        for k in first..<(first + unlabelledBatch) {
            let (sh, item) = place(k)
            guard sh % world == rank else { continue }
            let range = shard(sh)
            if cacheShards.perms[sh] == nil {
                var g = noise.generator(stream: .shuffle, e, 3 + sh)
                cacheShards.perms[sh] = g.permutation(range.count)
            }
            out.append(range.lowerBound + cacheShards.perms[sh]![item])
        }
        return out
    }

    /// The most unlabelled examples any rank of `world` takes in a step (the workspace's capacity): the shards'
    /// order is the same every epoch, so one epoch's steps tell.
    public func mostUnlabelledPerRank(world: Int) -> Int {
        guard shards != nil, unlabelledBatch > 0 else { return (unlabelledBatch + world - 1) / world }
        var most = 0
        for t in 0..<stepsPerEpoch {
            var counts = [Int](repeating: 0, count: world)
            for k in (t * unlabelledBatch)..<((t + 1) * unlabelledBatch) { counts[place(k).shard % world] += 1 }
            most = max(most, counts.max()!)
        }
        return most
    }

    /// Positions `range` of the global unlabelled batch at `step` in the whole-set order, as indices into the
    /// unlabelled list.
    public func unlabelled(step: Int, range: Range<Int>) -> [Int] {
        precondition(shards == nil, "the sharded order is read by rank: unlabelled(step:rank:world:)")
        let e = epoch(ofStep: step), within = step % stepsPerEpoch
        if cacheU?.0 != e {
            var g = noise.generator(stream: .shuffle, e, 1)
            cacheU = (e, g.permutation(unlabelledCount))
        }
        let perm = cacheU!.1
        return range.map { perm[within * unlabelledBatch + $0] }
    }

    /// Positions `range` of the global labelled batch at `step`, as indices into the labelled list.
    public func labelled(step: Int, range: Range<Int>) -> [Int] {
        range.map { j in
            let pos = step * labelledBatch + j
            let cycle = pos / labelledCount
            if cacheL[cycle] == nil {
                if cacheL.count > 4 { cacheL.removeAll() }
                var g = noise.generator(stream: .shuffle, cycle, 2)
                cacheL[cycle] = g.permutation(labelledCount)
            }
            return cacheL[cycle]![pos % labelledCount]
        }
    }
}

/// Rank `rank`'s part of `total` items split over `world` ranks: contiguous, sizes differing by at most one.
public func slice(total: Int, rank: Int, world: Int) -> Range<Int> {
    let base = total / world, extra = total % world
    let start = rank * base + min(rank, extra)
    return start..<(start + base + (rank < extra ? 1 : 0))
}
