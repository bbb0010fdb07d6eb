import Foundation
import SSLCheckpoint
import SSLCore
import SSLData
import SSLDistributed

/// Stage 1 of a run, the same on every rank: the settings (merged with a checkpoint's on resume), the data and its
/// splits, which examples keep labels, the frozen M1 of a stacked run (M1+M2, M1+ADGM, M1+SDGM), the model
/// configuration, the batch slices and capacities, and the matrix-product engine.
struct RunSetup {
    var config: TrainConfig
    /// The checkpoint's state on resume (its reader on rank 0 only).
    let saved: TrainingState?
    let reader: CheckpointReader?
    let spec: DataSpec
    let splits: DataSplits
    /// Per-feature statistics the features were standardised with (nil: not standardised).
    let standardization: Standardization?
    let split: LabelSplit
    let modelConfig: ModelConfig
    /// A stacked model on a new run: the trained M1 its frozen part is copied from.
    let frozenM1: LoadedModel?
    /// Global batch sizes (the objective's normalisers), this rank's slice of the labelled batch, and the global
    /// batches' order (which gives this rank its part of each unlabelled batch).
    let counts: GlobalCounts
    let myLabelled: Range<Int>
    /// The unlabelled examples (training-split indices) this rank holds and scores for statistics over the unlabelled
    /// set: its shards' examples, or without shards a contiguous slice of the set.
    let myUnlabelled: [Int]
    let sampler: GlobalBatchSampler
    let capacity: Capacity
    /// Digest of what every rank holds of the data (`dataHash`): the labels, and the labelled examples' features.
    let dataDigest: UInt64
    /// With features read by row (a sharded run on several ranks): the bytes each rank read of the features file (rank
    /// 0's first), and the file's size.
    let featureBytes: (byRank: [Int], file: Int)?
    let engine: EngineChoice

    var train: Dataset { splits.train }

    /// The class mix of the unlabelled set when every one of its examples has a label (benchmarks, where the labels
    /// are hidden, not missing); nil otherwise.
    var unlabelledClassMix: [Double]? {
        let k = modelConfig.classes, labels = train.labels
        var counts = [Double](repeating: 0, count: k)
        for i in split.unlabelled {
            let y = Int(labels[i])
            guard y >= 0 && y < k else { return nil }
            counts[y] += 1
        }
        return split.unlabelled.isEmpty ? nil : counts.map { $0 / Double(split.unlabelled.count) }
    }

    static func prepare(config: TrainConfig, resume: ResumeRequest?, engine request: (GemmBackend?, Precision?),
                        comm: Communicator) throws -> RunSetup {
        // On resume, rank 0 reads and checks the checkpoint's header; every rank gets it.
        var c = config
        var saved: TrainingState? = nil
        var reader: CheckpointReader? = nil
        if let r = resume {
            let (state, r0) = try CheckpointLoading(comm: comm).header(r.checkpoint, runDir: config.resolvedRunDir)
            reader = r0
            // A format-1 checkpoint predates the settings added since: they were off.
            c = try r.merge(state.modelConfig == nil ? state.config.pinningFormat1Defaults() : state.config)
            saved = state
        }
        try c.validate()
        let m1 = try loadFrozenM1(&c, saved: saved, comm: comm)
        let spec = try DataSpec(parsing: c.data)
        // On several ranks with shards each rank reads the features of the examples it keeps only (every format; the
        // MNIST family's own test split and a --test-data file are read whole and let go below).
        let options = try c.splitOptions
        let byRow = comm.size > 1 && (c.shards ?? 0) > 0
        var splits = try DataSplits.make(spec, options, deferFeatures: byRow, csv: try sharedCSVRows(spec, options, byRow: byRow, comm: comm))
        if let cap = c.maxPerClass { splits.train = splits.train.capped(perClass: cap, seed: c.seed) }
        var standardization: Standardization? = nil
        if splits.pending == nil {
            standardization = try Self.standardization(c, saved: saved, m1: m1, train: splits.train, counted: nil, comm: comm)
            splits.standardize(standardization)
        }
        let train = splits.train
        // M1 learns from every training example and ignores labels (the data may have none); the others need some.
        if c.model.classifies && !train.labels.contains(where: { $0 >= 0 }) {
            throw DataError(c.data, "no example has a label (all −1); only --model m1 trains without labels")
        }
        let split = !c.model.classifies ? LabelSplit(unlabelledOnly: train.count)
            : try c.labelledFile.map {
                try LabelSplit(given: LabelSplit.readPositions($0), labels: train.labels,
                               includeLabelledInUnlabelled: c.includeLabelledInUnlabelled, source: $0)
            } ?? LabelSplit(labels: train.labels, classes: train.classes, perClass: c.labelsPerClass,
                             total: c.labels, includeLabelledInUnlabelled: c.includeLabelledInUnlabelled, seed: c.seed,
                             sampling: c.labelSampling ?? .stratified)
        // The supervised baseline consumes no unlabelled examples, but its epochs are still passes of
        // --batch-size over the unlabelled set, so it gets the same number of steps as the others.
        let globalL = !c.model.classifies ? 0 : c.labelledBatchSize
        let globalU = c.model.learnsFromUnlabelled ? c.batchSize : 0
        let world = comm.size, rank = comm.rank
        let sampler = GlobalBatchSampler(labelledCount: split.labelled.count, unlabelledCount: split.unlabelled.count,
                                         labelledBatch: globalL, unlabelledBatch: c.batchSize, seed: c.seed, shards: c.shards)
        if let s = sampler.shards, s < world, globalU > 0 {
            throw ConfigError(flag: "--shards", problem: "\(s) shard\(s == 1 ? "" : "s") of the \(split.unlabelled.count) unlabelled "
                              + "examples cannot be shared by \(world) ranks: give --shards \(world) or more")
        }
        let mine = sampler.shards == nil ? Array(split.unlabelled[slice(total: split.unlabelled.count, rank: rank, world: world)])
            : sampler.unlabelledExamples(rank: rank, world: world).map { split.unlabelled[$0] }
        let (counted, featureBytes) = try keepOwnRows(&splits, &standardization, mine: mine, split: split, sharded: sampler.shards != nil,
                                                      c: c, spec: spec, options: options, saved: saved, m1: m1, comm: comm)
        var modelConfig = try c.modelConfig(inputDim: train.dim, classes: train.classes, trainingExamples: train.count,
                                            labels: split.labelled.map { train.labels[$0] },
                                            stack: saved?.modelConfig?.stack ?? saved?.stack
                                                ?? stackedM1(m1, c: c, train: splits.train, counted: counted, comm: comm))
        // A resumed run keeps drawing its noise as it was trained (checkpoints before `NormalDraw.float`: in Double).
        if let saved { modelConfig.normals = saved.modelConfig?.normals ?? .double }
        // On resume the settings and data rebuild the checkpoint's model exactly (evaluation samples may change).
        if var stored = saved?.modelConfig {
            stored.evalSamples = modelConfig.evalSamples
            guard stored == modelConfig else {
                throw TrainingError(message: "the checkpoint holds a \(stored.kind.rawValue) model that these settings and data do not "
                                    + "rebuild (\(modelConfig.kind.rawValue)): another model or layout")
            }
        }
        let dataDigest = dataHash(splits, split)
        let perRankU = globalU == 0 ? 0 : sampler.mostUnlabelledPerRank(world: world)
        // M1 has no labelled batches; it scores a split in labelled + unlabelled chunks of its capacity
        // (`Evaluator.boundChunk`), so it gets room for the global batch on every world size: the chunks, and so the
        // products' shapes, are those of one process, which keeps the score the same bit for bit on N ranks where a
        // product's bits depend on its rows (oneDNN's AMX kernels).
        let capacity = c.model.classifies
            ? Capacity(labelled: (globalL + world - 1) / world, unlabelled: perRankU, evaluation: c.evalBatchSize)
            : Capacity(labelled: globalU, unlabelled: globalU, evaluation: c.evalBatchSize)
        let engine = EngineChoice.resolve(backend: request.0, precision: request.1, saved: saved?.engineChoice)
        return RunSetup(config: c, saved: saved, reader: reader, spec: spec, splits: splits, standardization: standardization,
                        split: split, modelConfig: modelConfig, frozenM1: m1, counts: GlobalCounts(labelled: globalL, unlabelled: globalU),
                        myLabelled: slice(total: globalL, rank: rank, world: world), myUnlabelled: mine, sampler: sampler, capacity: capacity,
                        dataDigest: dataDigest, featureBytes: featureBytes, engine: engine)
    }

    /// A CSV file's rows on every rank from one read-through, rank 0's: the others get its index (each line's place,
    /// number and label) and read only the lines they keep. nil for other formats, on one rank, or when the ranks were
    /// given different data or settings (every rank of the job takes part in finding that out; each then reads its own
    /// file, and `checkRanksAgree` refuses the run once set up, or a rank's error names its file).
    static func sharedCSVRows(_ spec: DataSpec, _ options: SplitOptions, byRow: Bool, comm: Communicator) throws -> CSVRows? {
        guard comm.size > 1 else { return nil }
        let same = try comm.agree(FNV1a.hash(bytes: "\(spec) \(options.labelColumn) \(byRow)".utf8))
        guard same, byRow, case .csv(let path) = spec else { return nil }
        var made: (CSVRows.Index, bytesRead: Int)? = nil
        var bytes: [UInt8] = []
        try comm.onRoot("indexing the CSV file") {
            made = try CSVRows.index(path, labelColumn: options.labelColumn)
            bytes = made!.0.encoded()
        }
        try comm.broadcastBytes(&bytes)
        if let (index, read) = made { return try CSVRows(path, index: index, bytesRead: read) }
        return try CSVRows(path, index: try CSVRows.Index(decoding: bytes, path: path))
    }

    /// On several ranks with shards, a rank keeps the features of the examples it trains on (the labelled set and its
    /// shards of the unlabelled set, `mine`) and of its chunks of validation and test, which every rank scores together
    /// (`Evaluator.score(_:store:noise:comm:)`; M1 keeps them whole): read by row when `make` deferred them (then the
    /// standardisation is taken over every rank's share), otherwise let go of. Returns the training examples whose
    /// features this rank counts in statistics over the split (each once over the ranks: by the rank of its shard, or
    /// rank 0 when it is in no shard) and, when read by row, every rank's bytes read of the features file and its size.
    static func keepOwnRows(_ splits: inout DataSplits, _ standardization: inout Standardization?, mine: [Int], split: LabelSplit,
                            sharded: Bool, c: TrainConfig, spec: DataSpec, options: SplitOptions, saved: TrainingState?,
                            m1: LoadedModel?, comm: Communicator) throws -> (counted: [Int], featureBytes: (byRank: [Int], file: Int)?) {
        let trainCount = splits.train.count
        guard comm.size > 1 && sharded else { return (comm.isRoot ? Array(0..<trainCount) : [], nil) }
        let trainRows = Array(Set(mine).union(split.labelled)).sorted()
        let unlabelled = Set(split.unlabelled)
        let counted = (mine + (comm.isRoot ? (0..<trainCount).filter { !unlabelled.contains($0) } : [])).sorted()
        let chunks = { (n: Int) in c.model.classifies ? Array(Evaluator.rows(of: n, chunk: c.evalBatchSize, comm: comm)) : Array(0..<n) }
        let validationRows = chunks(splits.validation.count), testRows = chunks(splits.test.count)
        guard let file = splits.pending else {
            splits.train = splits.train.keepingFeatures(of: trainRows)
            splits.validation = splits.validation.keepingFeatures(of: validationRows)
            splits.test = splits.test.keepingFeatures(of: testRows)
            return (counted, nil)
        }
        try splits.readPending(train: trainRows, validation: validationRows, test: testRows, spec: spec, options: options) {
            var lowest = [$0], highest = [$1]
            try lowest.withUnsafeMutableBufferPointer { try comm.allreduce($0, .min) }
            try highest.withUnsafeMutableBufferPointer { try comm.allreduce($0, .max) }
            return (lowest[0], highest[0])
        }
        standardization = try Self.standardization(c, saved: saved, m1: m1, train: splits.train, counted: counted, comm: comm)
        splits.standardize(standardization)
        var byRank = [Double](repeating: 0, count: comm.size)
        byRank[comm.rank] = Double(file.bytesRead)
        try comm.allreduce(&byRank, .sum)
        return (counted, (byRank.map { Int($0) }, file.fileBytes))
    }

    /// The run's standardisation (nil: none): a stacked model's M1's; on resume the checkpoint's; else the training
    /// split's statistics, over every rank's `counted` examples when each holds part of the split (nil: all are here).
    static func standardization(_ c: TrainConfig, saved: TrainingState?, m1: LoadedModel?, train: Dataset, counted: [Int]?,
                                comm: Communicator) throws -> Standardization? {
        if c.model.stacked { return saved?.standardization ?? m1?.state.standardization }
        guard c.standardize == true else { return nil }
        if let s = saved?.standardization { return s }
        guard let counted else { return train.featureStatistics() }
        var sums = train.featureSums(of: counted)
        try comm.allreduce(&sums, .sum)
        return Standardization(sums: sums)
    }

    /// A stacked model (M1+M2, M1+ADGM, M1+SDGM) on a new run: the frozen M1 (parameters, architecture,
    /// standardisation, data scaling) from --m1. On resume all of it is in the checkpoint. The data must reach M1's
    /// encoder scaled as in M1's training.
    static func loadFrozenM1(_ c: inout TrainConfig, saved: TrainingState?, comm: Communicator) throws -> LoadedModel? {
        guard c.model.stacked && saved == nil, let path = c.m1 else { return nil }
        let m1: LoadedModel
        do { m1 = try LoadedModel.load(path, runDir: path, comm: comm) } catch {
            throw ConfigError(flag: "--m1", problem: "\(error)")
        }
        guard m1.modelConfig.kind == .m1 else {
            throw ConfigError(flag: "--m1", problem: "\(path) holds a \(m1.modelConfig.kind.rawValue) model; \(c.model.rawValue) needs an m1 checkpoint")
        }
        if let m1Scale = m1.state.dataScale {
            if let s = c.scale, s != m1Scale {
                throw ConfigError(flag: "--scale", problem: "\(s) differs from the \(m1Scale) the M1 in \(path) was trained with; drop it")
            }
            c.scale = m1Scale
        }
        return m1
    }

    /// The frozen M1 under a new stacked run: its architecture and the latent dimensions whose posterior mean varies over
    /// the training split (Kingma's code: std ≥ 0.1), from the sums of every rank's `counted` examples.
    static func stackedM1(_ m1: LoadedModel?, c: TrainConfig, train: Dataset, counted: [Int], comm: Communicator) throws -> StackedM1? {
        guard let m1 else { return nil }
        guard m1.modelConfig.inputDim == train.dim else {
            throw ConfigError(flag: "--m1", problem: "\(c.m1!) takes \(m1.modelConfig.inputDim) features; --data \(c.data) has \(train.dim)")
        }
        var sums = posteriorMeanSums(m1, train, counted)
        try comm.allreduce(&sums, .sum)
        let std = Standardization(sums: sums).std.map { $0 > 1e-6 ? $0 : 0 }
        let kept = std.indices.filter { std[$0] >= 0.1 }
        guard !kept.isEmpty else {
            throw TrainingError(message: "the M1 in \(c.m1!) has no latent dimension whose posterior mean varies (std ≥ 0.1) "
                                + "over the training split: it has collapsed; train it longer")
        }
        let mc = m1.modelConfig
        return StackedM1(hidden: mc.hidden, latent: mc.latent, activation: mc.activation, likelihood: mc.likelihood, kept: kept,
                         normalize: mc.normalize)
    }
}
