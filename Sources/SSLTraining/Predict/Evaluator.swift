import SSLCore
import SSLData
import SSLDistributed

/// Classifier accuracy on a split. The classifier sees the real-valued features (the Bernoulli
/// means), not a binarisation, so evaluation is deterministic; ADGM's samples of a are keyed by
/// (seed, example index) in the evaluation stream.
public struct Evaluation {
    public var accuracy: Double
    public var confusion: [[Int]]
    public var count: Int
}

/// Scores a model on data: the classifier's accuracy and confusion matrix, and the bounds from forward passes only
/// (no gradient; batch normalisation with its running statistics).
public final class Evaluator {
    let model: SSLModel
    let chunk: Int
    let probs: Buffer
    let input: Buffer

    public init(model: SSLModel, chunk: Int) {
        self.model = model
        self.chunk = chunk
        probs = Buffer(count: chunk * model.config.classes)
        input = Buffer(count: chunk * model.config.inputDim)
    }

    /// Classifies the examples of `data` in `range` (default: all). The model must have a classifier.
    public func evaluate(_ data: Dataset, store: ParameterStore, noise: NoiseSource, range: Range<Int>? = nil) -> Evaluation {
        let classifier = model as! Classifier
        let k = model.config.classes, d = data.dim
        let range = range ?? 0..<data.count
        // A rank's copy of a split holds its own chunks only (`RunSetup`), in order: each chunk is read as one run.
        if !range.isEmpty {
            precondition(data.offset(ofExample: range.upperBound - 1) - data.offset(ofExample: range.lowerBound) == (range.count - 1) * d,
                         "Evaluator.evaluate reads the examples of its range as one run of rows")
        }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        var correct = 0
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(chunk, range.upperBound - start)
            data.features.withUnsafeBufferPointer { f in
                input.pointer.update(from: f.baseAddress! + data.offset(ofExample: start), count: n * d)
            }
            let x = Mat(input.pointer, n, d), p = Mat(probs.pointer, n, k)
            let ids = Array(start..<(start + n))
            ids.withUnsafeBufferPointer { classifier.classify(x, ids: $0, store: store, noise: noise, probs: p) }
            for i in 0..<n {
                let pred = argmaxRow(p, i), truth = Int(data.labels[start + i])
                confusion[truth][pred] += 1
                if pred == truth { correct += 1 }
            }
            start += n
        }
        return Evaluation(accuracy: range.isEmpty ? 0 : Double(correct) / Double(range.count), confusion: confusion,
                          count: range.count)
    }

    /// q(y|x) of the examples of `data` at `indices`, n×K row-major, in chunks (inference: the running statistics).
    public func probabilities(_ data: Dataset, indices: ArraySlice<Int>, store: ParameterStore, noise: NoiseSource) -> [Float] {
        let classifier = model as! Classifier
        let k = model.config.classes, d = data.dim
        var out = [Float](repeating: 0, count: indices.count * k)
        var start = indices.startIndex
        while start < indices.endIndex {
            let n = min(chunk, indices.endIndex - start)
            let ids = Array(indices[start..<(start + n)])
            data.features.withUnsafeBufferPointer { f in
                for (r, i) in ids.enumerated() { (input.pointer + r * d).update(from: f.baseAddress! + data.offset(ofExample: i), count: d) }
            }
            ids.withUnsafeBufferPointer { classifier.classify(Mat(input.pointer, n, d), ids: $0, store: store, noise: noise,
                                                              probs: Mat(probs.pointer, n, k)) }
            out.withUnsafeMutableBufferPointer { o in
                (o.baseAddress! + (start - indices.startIndex) * k).update(from: probs.pointer, count: n * k)
            }
            start += n
        }
        return out
    }

    /// The examples a bound chunk holds: the model's labelled and unlabelled capacity, each example entering once
    /// with its label and once without.
    public var boundChunk: Int { max(1, min(model.capacity.labelled, model.capacity.unlabelled)) }

    /// Σ L(x, y) and Σ U(x) over `range`, each example binarised once (keyed by (seed, example)) and scored both
    /// with its label and with the label summed out, at β = 1 with a fixed draw of z (and a), forward only.
    /// M1 ignores labels: both sums are its bound, with independent draws of z. `range` fits one chunk.
    public func boundSums(_ data: Dataset, store: ParameterStore, range: Range<Int>, noise: NoiseSource) -> (Double, Double) {
        let bounded = model as! BoundModel
        let n = range.count
        let batch = Batch(capacity: 2 * n, features: data.dim)
        let u = Buffer(count: data.dim)
        let binarize = model.config.likelihood == .bernoulli  // M1+M2's is always Gaussian
        for pass in 0..<2 {
            for i in range {
                let label: Int32? = pass == 0 ? max(data.labels[i], 0) : nil
                writeExample(data, i, into: batch.append(id: i, label: label), binarize: binarize,
                             noise: noise, step: 0, population: .evaluation, scratch: u.pointer)
            }
        }
        let s = bounded.bound(batch, store: store, noise: noise, step: 0)
        return (s.labelledBound, s.unlabelledBound)
    }

    /// The unlabelled bound U(x) (for M1, the bound on −log p(x)) per example of `data`, on this process alone.
    public func averageBound(_ data: Dataset, store: ParameterStore, noise: NoiseSource) -> Double {
        let b = boundChunk
        var total = 0.0, start = 0
        while start < data.count {
            let end = min(start + b, data.count)
            total += boundSums(data, store: store, range: start..<end, noise: noise).1
            start = end
        }
        return data.count > 0 ? total / Double(data.count) : 0
    }

    /// A split's score: the accuracy, or for a model without a classifier (M1) the bound per example (nats).
    public func score(_ data: Dataset, store: ParameterStore, noise: NoiseSource) -> Double {
        model is Classifier ? evaluate(data, store: store, noise: noise).accuracy : averageBound(data, store: store, noise: noise)
    }

    /// The same score computed by every rank of `comm` together, each taking whole chunks of the split (the chunks
    /// `score` uses alone): every example is computed in the same chunk whatever the number of ranks, the correct
    /// predictions are counted exactly, and each bound chunk's sum travels in its own slot and is added in chunk order,
    /// so the score is `score`'s bit for bit, each rank computing 1/W of it.
    public func score(_ data: Dataset, store: ParameterStore, noise: NoiseSource, comm: Communicator) throws -> Double {
        let n = data.count
        guard comm.size > 1, n > 0 else { return score(data, store: store, noise: noise) }
        if model is Classifier {
            let local = evaluate(data, store: store, noise: noise, range: Self.rows(of: n, chunk: chunk, comm: comm))
            var correct = [Double(local.confusion.indices.map { local.confusion[$0][$0] }.reduce(0, +))]
            try comm.allreduce(&correct, .sum)
            return correct[0] / Double(n)
        }
        let b = boundChunk, chunks = (n + b - 1) / b
        var slots = [Double](repeating: 0, count: chunks)
        for c in slice(total: chunks, rank: comm.rank, world: comm.size) {
            slots[c] = boundSums(data, store: store, range: (c * b)..<min((c + 1) * b, n), noise: noise).1
        }
        try comm.allreduce(&slots, .sum)  // each slot has one non-zero term: exact
        return slots.reduce(0, +) / Double(n)
    }

    /// This rank's examples of `count` cut into global chunks of `chunk`, each rank taking whole chunks.
    static func rows(of count: Int, chunk: Int, comm: Communicator) -> Range<Int> {
        let mine = slice(total: (count + chunk - 1) / chunk, rank: comm.rank, world: comm.size)
        return min(mine.lowerBound * chunk, count)..<min(mine.upperBound * chunk, count)
    }
}
