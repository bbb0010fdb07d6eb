import SSLCore
import SSLData

/// Fills a `Batch` with this rank's slice of a global batch. Bernoulli models see a fresh
/// binarisation every step: x_bin = [u < x], u ~ U(0,1) keyed by (seed, step, example, population).
public struct BatchAssembler {
    public let train: Dataset
    public let split: LabelSplit
    public let sampler: GlobalBatchSampler
    public let noise: NoiseSource
    public let binarize: Bool
    private let uniforms: Buffer

    public init(train: Dataset, split: LabelSplit, sampler: GlobalBatchSampler, noise: NoiseSource, binarize: Bool) {
        self.train = train; self.split = split; self.sampler = sampler; self.noise = noise; self.binarize = binarize
        uniforms = Buffer(count: train.dim)
    }

    /// Rank `unlabelledOf.rank`'s labelled slice `labelled` and its part of the unlabelled batch (none when the step's
    /// global unlabelled batch, `global`, is empty).
    public func fill(_ batch: Batch, step: Int, labelled: Range<Int>, unlabelledOf rank: (rank: Int, world: Int), global: Int) {
        batch.reset()
        for i in sampler.labelled(step: step, range: labelled) {
            let id = split.labelled[i]
            copy(id, into: batch.append(id: id, label: train.labels[id]), step: step, population: .labelled)
        }
        if global > 0 {
            for i in sampler.unlabelled(step: step, rank: rank.rank, world: rank.world) {
                let id = split.unlabelled[i]
                copy(id, into: batch.append(id: id, label: nil), step: step, population: .unlabelled)
            }
        }
    }

    private func copy(_ id: Int, into row: UnsafeMutablePointer<Float>, step: Int, population: Population) {
        writeExample(train, id, into: row, binarize: binarize, noise: noise, step: step, population: population,
                     scratch: uniforms.pointer)
    }
}

/// Writes example `id` of `data` into `row`: as x_bin = [u < x] with u ~ U(0,1) keyed by (seed, step, id, population)
/// when `binarize`, otherwise as it is. `scratch` holds at least D floats.
func writeExample(_ data: Dataset, _ id: Int, into row: UnsafeMutablePointer<Float>, binarize: Bool, noise: NoiseSource,
                  step: Int, population: Population, scratch u: UnsafeMutablePointer<Float>) {
    let d = data.dim
    data.features.withUnsafeBufferPointer { f in
        let src = f.baseAddress! + data.offset(ofExample: id)
        if binarize {
            noise.uniforms(step: step, example: id, stream: .binarize, population: population, into: u, count: d)
            for j in 0..<d { row[j] = u[j] < src[j] ? 1 : 0 }
        } else {
            row.update(from: src, count: d)
        }
    }
}
