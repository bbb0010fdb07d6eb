import SSLCore
import SSLData
import SSLDistributed

/// The supervised probe behind `ClassMixEstimate`: the run's classifier network trained on labelled examples alone
/// (`probeSteps` Adam steps, the same on every rank: same seed, same examples), whose q(y|x) on every unlabelled
/// example (each rank its shard) EM turns into an estimate of the unlabelled class mix.
struct ClassMixProbe {
    let setup: RunSetup
    let comm: Communicator
    let noise: NoiseSource
    var config: TrainConfig { setup.config }

    /// EM's estimate of the unlabelled mix from a probe trained on the training-split examples `labelled`.
    func estimate(_ mix: ClassMixEstimate, labelled: [Int]) throws -> [Float] {
        let train = setup.train
        var probeConfig = setup.modelConfig
        probeConfig.kind = .supervised; probeConfig.inputDim = train.dim; probeConfig.stack = nil
        probeConfig.classMix = nil; probeConfig.classBalance = 0; probeConfig.mc = 1; probeConfig.iw = 1
        probeConfig.classWeights = nil
        // Every step takes the next `size` labelled examples in a fixed order (all of them when there are few).
        let size = min(labelled.count, ClassMixEstimate.probeBatch)
        let probe = makeModel(probeConfig, capacity: Capacity(labelled: size, unlabelled: 0, evaluation: config.evalBatchSize),
                              workspace: Workspace(engine: try MatMulEngine(setup.engine)))
        let store = ParameterStore(layout: probe.layout)
        store.initialize(seed: config.seed, scheme: config.initialization ?? .glorot)
        let adam = Adam(count: probe.layout.parameterCount, learningRate: ClassMixEstimate.probeLearningRate)
        let batch = Batch(capacity: size, features: train.dim)
        let counts = GlobalCounts(labelled: size, unlabelled: 0)
        for t in 0..<ClassMixEstimate.probeSteps {
            batch.reset()
            train.features.withUnsafeBufferPointer { f in
                for j in 0..<size {
                    let i = labelled[(t * size + j) % labelled.count]
                    batch.append(id: i, label: train.labels[i]).update(from: f.baseAddress! + train.offset(ofExample: i), count: train.dim)
                }
            }
            store.zeroGrads()
            _ = store.holdingValues { probe.trainStep(batch, store: store, noise: noise, step: t, beta: 1, counts: counts) }
            adam.step(store, gradientNorm: Adam.norm(store.grads))
        }
        let mine = setup.myUnlabelled
        let probs = Evaluator(model: probe, chunk: config.evalBatchSize).probabilities(train, indices: mine[...], store: store, noise: noise)
        return try probs.withUnsafeBufferPointer { p in
            try mix.em(probs: p.baseAddress!, rows: mine.count, total: setup.split.unlabelled.count) { try comm.allreduce(&$0, .sum) }
        }
    }

    /// Two disjoint halves of the labelled examples, each class's examples dealt alternately to them.
    static func halves(_ labelled: [Int], labels: [Int32]) -> ([Int], [Int]) {
        var a: [Int] = [], b: [Int] = [], dealt: [Int32: Int] = [:]
        for i in labelled {
            let n = dealt[labels[i], default: 0]
            if n % 2 == 0 { a.append(i) } else { b.append(i) }
            dealt[labels[i]] = n + 1
        }
        return (a, b)
    }
}
