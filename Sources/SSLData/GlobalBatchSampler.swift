import SSLCore

/// Which examples form each global batch, as a pure function of (seed, step):
///  - unlabelled: epoch e = step / stepsPerEpoch walks a permutation keyed by (seed, e);
///    the last partial batch of an epoch is dropped (it differs every epoch).
///  - labelled: an endless stream of permutations keyed by (seed, cycle); step t takes
///    positions [t·B_l, (t+1)·B_l), so the small labelled set is cycled.
/// A rank takes a fixed slice of each global batch (`slice`).
public final class GlobalBatchSampler {
    public let labelledCount: Int, unlabelledCount: Int
    public let labelledBatch: Int, unlabelledBatch: Int
    public let seed: UInt64
    private let noise: NoiseSource
    private var cacheU: (Int, [Int])? = nil
    private var cacheL: [Int: [Int]] = [:]

    public init(labelledCount: Int, unlabelledCount: Int, labelledBatch: Int, unlabelledBatch: Int, seed: UInt64) {
        self.labelledCount = labelledCount; self.unlabelledCount = unlabelledCount
        self.labelledBatch = labelledBatch; self.unlabelledBatch = unlabelledBatch
        self.seed = seed
        noise = NoiseSource(seed: seed)
    }

    /// Steps in one pass over the unlabelled set (or the labelled set when there is no unlabelled batch).
    public var stepsPerEpoch: Int {
        if unlabelledBatch > 0 { return max(1, unlabelledCount / unlabelledBatch) }
        return max(1, (labelledCount + labelledBatch - 1) / max(labelledBatch, 1))
    }

    public func epoch(ofStep step: Int) -> Int { step / stepsPerEpoch }

    /// Positions `range` of the global unlabelled batch at `step`, as indices into the unlabelled list.
    public func unlabelled(step: Int, range: Range<Int>) -> [Int] {
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
