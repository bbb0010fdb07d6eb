/// How the rows of an enumerated batch map to examples and labels.
///
/// A step's batch holds B examples: the labelled ones first, then the unlabelled.
/// Networks that take y run on R rows: one per labelled example (its own label),
/// then K per unlabelled example (labels 0..<K, consecutive). The rows of example b
/// are `rowStart[b] ..< rowStart[b + 1]`. Networks that do not take y run on the
/// B examples directly, so nothing that is independent of y is repeated K times.
public struct RowMap {
    public private(set) var examples = 0
    public private(set) var rows = 0
    public private(set) var labelled = 0
    public private(set) var classes = 0
    public private(set) var example: [Int32]
    public private(set) var label: [Int32]
    public private(set) var rowStart: [Int32]

    public init(capacityRows: Int, capacityExamples: Int) {
        example = []; example.reserveCapacity(capacityRows)
        label = []; label.reserveCapacity(capacityRows)
        rowStart = []; rowStart.reserveCapacity(capacityExamples + 1)
    }

    /// Rebuilds the map for `labels.count` labelled examples followed by `unlabelled`
    /// examples each enumerated over `classes` labels. Keeps its storage.
    public mutating func build(labels: UnsafeBufferPointer<Int32>, unlabelled: Int, classes k: Int) {
        labelled = labels.count
        classes = k
        examples = labelled + unlabelled
        rows = labelled + unlabelled * k
        example.removeAll(keepingCapacity: true)
        label.removeAll(keepingCapacity: true)
        rowStart.removeAll(keepingCapacity: true)
        for b in 0..<labelled {
            rowStart.append(Int32(b)); example.append(Int32(b)); label.append(labels[b])
        }
        for u in 0..<unlabelled {
            rowStart.append(Int32(labelled + u * k))
            for c in 0..<k { example.append(Int32(labelled + u)); label.append(Int32(c)) }
        }
        rowStart.append(Int32(rows))
    }

    /// Rebuilds the map as one row per example (networks that do not take y).
    public mutating func buildIdentity(count n: Int) {
        labelled = n; classes = 1; examples = n; rows = n
        example.removeAll(keepingCapacity: true)
        label.removeAll(keepingCapacity: true)
        rowStart.removeAll(keepingCapacity: true)
        for b in 0..<n { rowStart.append(Int32(b)); example.append(Int32(b)); label.append(0) }
        rowStart.append(Int32(n))
    }

    public mutating func build(labels: [Int32], unlabelled: Int, classes k: Int) {
        labels.withUnsafeBufferPointer { build(labels: $0, unlabelled: unlabelled, classes: k) }
    }
}

/// target(R×n)[r] = source(B×n)[example(r)]: expands per-example values to rows.
@inlinable
public func gatherRows(_ source: Mat, _ map: RowMap, into target: Mat) {
    let n = source.cols
    map.example.withUnsafeBufferPointer { ex in
        for r in 0..<map.rows { (target.p + r * n).update(from: source.p + Int(ex[r]) * n, count: n) }
    }
}

/// target(B×n)[b] += Σ_{r of b} source(R×n)[r]: the adjoint of `gatherRows`.
@inlinable
public func scatterAddRows(_ source: Mat, _ map: RowMap, into target: Mat) {
    let n = source.cols
    map.example.withUnsafeBufferPointer { ex in
        for r in 0..<map.rows {
            let s = source.p + r * n, t = target.p + Int(ex[r]) * n
            for j in 0..<n { t[j] += s[j] }
        }
    }
}
