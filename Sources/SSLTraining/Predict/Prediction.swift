import Foundation
import SSLCore
import SSLData
import SSLDistributed

/// `ssl-dist predict`: the classifier q(y|x) over every example of a dataset, streamed in data order.
public enum Prediction {
    /// Classifies `data` in fixed chunks of `chunk` examples, chunk c computed by rank c mod N, so every example is
    /// computed in the same batch whatever the number of ranks. Each round's chunks are summed into rank 0 (each
    /// slot has one non-zero contributor, so the sum is exact) and `body` gets them there, in data order: the
    /// first example's index and the probabilities (n×K, row-major). Memory: N·chunk·K floats, whatever the data.
    public static func run(_ loaded: LoadedModel, data: Dataset, comm: Communicator, chunk: Int,
                           _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let classifier = try loaded.classifier()
        let k = loaded.modelConfig.classes, d = data.dim, world = comm.size
        let noise = loaded.noise
        let chunks = (data.count + chunk - 1) / chunk
        var slots = [Float](repeating: 0, count: world * chunk * k)
        let input = Buffer(count: chunk * d)
        var round = 0
        while round * world < chunks {
            slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            let mine = round * world + comm.rank
            if mine < chunks {
                let start = mine * chunk, n = min(chunk, data.count - start)
                data.features.withUnsafeBufferPointer { input.pointer.update(from: $0.baseAddress! + start * d, count: n * d) }
                let ids = Array(start..<(start + n))
                slots.withUnsafeMutableBufferPointer { s in
                    ids.withUnsafeBufferPointer {
                        classifier.classify(Mat(input.pointer, n, d), ids: $0, store: loaded.store, noise: noise,
                                            probs: Mat(s.baseAddress! + comm.rank * chunk * k, n, k))
                    }
                }
            }
            try slots.withUnsafeMutableBufferPointer { try comm.allreduce($0, .sum) }
            if comm.isRoot {
                for r in 0..<world where round * world + r < chunks {
                    let start = (round * world + r) * chunk, n = min(chunk, data.count - start)
                    try slots.withUnsafeBufferPointer { try body(start, UnsafeBufferPointer(rebasing: $0[(r * chunk * k)..<(r * chunk * k + n * k)])) }
                }
            }
            round += 1
        }
    }
}
