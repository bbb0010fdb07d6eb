import SSLCore
import SSLData

/// Classifier accuracy on a split. The classifier sees the real-valued features (the Bernoulli
/// means), not a binarisation, so evaluation is deterministic; ADGM's samples of a are keyed by
/// (seed, example index) in the evaluation stream.
public struct Evaluation {
    public var accuracy: Double
    public var confusion: [[Int]]
    public var count: Int
}

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

    /// Classifies the examples of `data` in `range` (default: all).
    public func evaluate(_ data: Dataset, store: ParameterStore, noise: NoiseSource, range: Range<Int>? = nil) -> Evaluation {
        let k = model.config.classes, d = data.dim
        let range = range ?? 0..<data.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        var correct = 0
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(chunk, range.upperBound - start)
            data.features.withUnsafeBufferPointer { f in
                input.pointer.update(from: f.baseAddress! + start * d, count: n * d)
            }
            let x = Mat(input.pointer, n, d), p = Mat(probs.pointer, n, k)
            let ids = Array(start..<(start + n))
            ids.withUnsafeBufferPointer { model.classify(x, ids: $0, store: store, noise: noise, probs: p) }
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
}
