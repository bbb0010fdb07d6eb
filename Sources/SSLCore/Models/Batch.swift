// B examples (labelled first, then unlabelled), D input features.

/// One step's local slice of a global batch: labelled examples first, then unlabelled.
public final class Batch {
    /// (labelled + unlabelled) × D, values in [0, 1] (binarised for Bernoulli models).
    public private(set) var x: Mat
    public private(set) var labels: [Int32] = []
    /// Global example indices (within the training split), for noise keys.
    public private(set) var ids: [Int] = []
    /// Which Monte Carlo / importance sample of its example each row is (0 unless replicated); keys the noise.
    public private(set) var replica: [Int] = []
    public private(set) var unlabelled = 0
    public var labelled: Int { labels.count }
    private let storage: Buffer

    public init(capacity: Int, features: Int) {
        storage = Buffer(count: capacity * features)
        x = Mat(storage.pointer, 0, features)
        labels.reserveCapacity(capacity); ids.reserveCapacity(capacity)
    }

    /// Starts a new batch; then `append` labelled examples, then unlabelled ones.
    public func reset() {
        labels.removeAll(keepingCapacity: true); ids.removeAll(keepingCapacity: true); replica.removeAll(keepingCapacity: true)
        unlabelled = 0; x.rows = 0
    }

    /// Appends one example's row; returns the row to fill.
    public func append(id: Int, label: Int32?, replica r: Int = 0) -> UnsafeMutablePointer<Float> {
        precondition((x.rows + 1) * x.cols <= storage.count, "Batch capacity exceeded")
        if let label {
            precondition(unlabelled == 0, "labelled examples must come before unlabelled ones")
            labels.append(label)
        } else {
            unlabelled += 1
        }
        ids.append(id)
        replica.append(r)
        x.rows += 1
        return x.row(x.rows - 1)
    }

    /// Fills this batch with `source`'s examples, each repeated `count` times in a row (replicas 0..<count).
    public func replicate(_ source: Batch, count: Int) {
        reset()
        for b in 0..<source.x.rows {
            let label: Int32? = b < source.labelled ? source.labels[b] : nil
            for r in 0..<count { append(id: source.ids[b], label: label, replica: r).update(from: source.x.row(b), count: x.cols) }
        }
    }
}

/// The normalisers of the objective: global batch counts, identical on every rank.
public struct GlobalCounts: Equatable {
    public var labelled: Int
    public var unlabelled: Int
    public init(labelled: Int, unlabelled: Int) { self.labelled = labelled; self.unlabelled = unlabelled }
}

extension NoiseSource {
    /// Fills eps(R×n) with N(0,1), row r keyed by (global id of its example, its label, its replica).
    func rowNormals(_ eps: Mat, map: RowMap, batch: Batch, step: Int, stream: NoiseStream) {
        for r in 0..<map.rows {
            let b = Int(map.example[r])
            let pop: Population = r < map.labelled ? .labelled : .unlabelled
            normals(step: step, example: batch.ids[b], stream: stream, population: pop, sub: Int(map.label[r]),
                    replica: batch.replica[b], into: eps.row(r), count: eps.cols)
        }
    }

    /// Fills eps(B×n) with N(0,1), row i keyed by (global id of example i, its replica): one draw per example.
    func exampleNormals(_ eps: Mat, batch: Batch, step: Int, stream: NoiseStream) {
        for i in 0..<eps.rows {
            normals(step: step, example: batch.ids[i], stream: stream, population: i < batch.labelled ? .labelled : .unlabelled,
                    replica: batch.replica[i], into: eps.row(i), count: eps.cols)
        }
    }
}

extension GlobalCounts {
    /// A batch's own counts of examples (not replicas), at least 1: the normalisers of a bound computed on it alone.
    static func perExample(_ batch: Batch) -> GlobalCounts {
        GlobalCounts(labelled: max(batch.labelled, 1), unlabelled: max(batch.unlabelled, 1))
    }
}
