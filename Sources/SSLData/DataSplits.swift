import SSLCore

/// How train, validation and test are formed.
public struct SplitOptions: Codable, Equatable {
    /// Validation examples taken from the end of train (MNIST family); nil: the default (10,000) there.
    public var validation: Int?
    /// Stratified fraction held out for validation when the data has no own test split.
    public var validationFraction: Double
    /// Stratified fraction held out for test when the data has no own test split.
    public var testFraction: Double
    public var testData: DataSpec?
    public var labelColumn: LabelColumn
    /// Divide features by this (CSV); nil: by the training split's maximum. IDX is always divided by 255.
    public var scale: Float?
    public var seed: UInt64
    /// Features must end up in [0, 1] (Bernoulli models): non-negative, divided by --scale or the training
    /// maximum. When false (Gaussian models) they are used as they are unless --scale is given.
    public var requireUnitRange: Bool

    public init(validation: Int? = nil, validationFraction: Double = 0.1, testFraction: Double = 0.2,
                testData: DataSpec? = nil, labelColumn: LabelColumn = .last, scale: Float? = nil, seed: UInt64 = 0,
                requireUnitRange: Bool = true) {
        self.validation = validation; self.validationFraction = validationFraction; self.testFraction = testFraction
        self.testData = testData; self.labelColumn = labelColumn; self.scale = scale; self.seed = seed
        self.requireUnitRange = requireUnitRange
    }
}

/// Train, validation and test, disjoint, features in [0, 1].
public struct DataSplits {
    public var train: Dataset
    public var validation: Dataset
    public var test: Dataset
    /// What features were divided by (255 for IDX).
    public var scale: Float
    /// The file holding the features `make(_:_:deferFeatures:)` left unread (nil: every split holds its features).
    public private(set) var pending: FileRows? = nil

    public init(train: Dataset, validation: Dataset, test: Dataset, scale: Float) {
        self.train = train; self.validation = validation; self.test = test; self.scale = scale
    }

    /// With `deferFeatures`, the training file's features are not read (`pending`): the splits are made from
    /// the labels alone, and `readPending` reads the examples a rank keeps, then scales them.
    /// `csv`: the training CSV's rows opened before (`DataSpec.open`).
    public static func make(_ spec: DataSpec, _ o: SplitOptions, deferFeatures: Bool = false, csv: CSVRows? = nil) throws -> DataSplits {
        guard (0..<1).contains(o.testFraction) else { throw DataError("--test-fraction", "\(o.testFraction) must be in [0, 1)") }
        guard (0..<1).contains(o.validationFraction) else {
            throw DataError("--validation-fraction", "\(o.validationFraction) must be in [0, 1)")
        }
        let (read, ownTest, rows) = try spec.open(labelColumn: o.labelColumn, deferFeatures: deferFeatures, csv: csv)
        var all = read
        // The MNIST family has its 10 classes by definition; elsewhere C comes from the labels and must fit them.
        var classCheck: Error? = nil
        if !spec.hasOwnTestSplit { do { try all.checkClassesPresent(source: "\(spec)") } catch { classCheck = error } }
        var validation: Dataset, test: Dataset
        // Validation and test are copied out of the examples read; training keeps their buffer (`keepOnly`), so the
        // features are never held twice over.
        if spec.hasOwnTestSplit {
            let v = o.validation ?? 10_000
            guard v >= 0, v < all.count else {
                throw DataError("--validation", "\(v) validation examples leave none of the \(all.count) for training")
            }
            validation = all.subset((all.count - v)..<all.count)
            test = ownTest!
            all.keepOnly(Array(0..<(all.count - v)))
        } else {
            var rest = Array(0..<all.count)
            if o.testData == nil {
                let (held, kept) = stratifiedSplit(labels: all.labels, classes: all.classes, fraction: o.testFraction, seed: o.seed, purpose: 1)
                test = all.subset(held); rest = kept
            } else {
                test = all.subset([])  // replaced below
            }
            let restLabels = rest.map { all.labels[$0] }
            let fraction: Double
            if let v = o.validation {
                guard v >= 0, v < rest.count else {
                    throw DataError("--validation", "\(v) validation examples leave none of the \(rest.count) for training")
                }
                fraction = Double(v) / Double(rest.count)
            } else {
                fraction = o.validationFraction
            }
            let (held, kept) = stratifiedSplit(labels: restLabels, classes: all.classes, fraction: fraction, seed: o.seed, purpose: 2)
            validation = all.subset(held.map { rest[$0] })
            all.keepOnly(kept.map { rest[$0] })
        }
        // `all` lets go of the buffer, so that scaling `train` below changes it in place rather than copying it.
        var train = all
        all = Dataset(features: [], labels: [], dim: train.dim, classes: train.classes, shape: train.shape)
        if let t = o.testData {
            let (tAll, tOwn) = try t.load(labelColumn: o.labelColumn)
            test = tOwn ?? tAll
            guard test.dim == train.dim else {
                throw DataError("--test-data", "\(t) has \(test.dim) features per example, the training data \(train.dim)")
            }
            test = try test.renumbered(like: train, name: "\(t)")
        }
        if let classCheck { throw classCheck }
        let k = max(train.classes, validation.classes, test.classes)
        train.classes = k; validation.classes = k; test.classes = k
        guard train.count > 0 else { throw DataError("\(spec)", "the training split is empty") }

        var splits = DataSplits(train: train, validation: validation, test: test, scale: 255)
        splits.pending = rows
        if rows == nil { try splits.scaleFeatures(spec, o, lowest: train.features.min(), highest: train.maxFeature) }
        return splits
    }

    /// Reads the features `make(_:_:deferFeatures:)` left in their file, of the examples each split keeps (indices;
    /// test's from the file only when it comes from the same one), then scales them as `make` does, with the training
    /// split's lowest and highest value over every rank: `extremes` combines this rank's with the others'.
    public mutating func readPending(train t: [Int], validation v: [Int], test e: [Int], spec: DataSpec, options o: SplitOptions,
                                     extremes: (Float, Float) throws -> (Float, Float)) throws {
        guard let rows = pending else { preconditionFailure("DataSplits.readPending: make deferred no features") }
        train = try train.reading(t, from: rows)
        validation = try validation.reading(v, from: rows)
        test = test.featureRow == nil ? test.keepingFeatures(of: e) : try test.reading(e, from: rows)
        pending = nil
        let (lowest, highest) = try extremes(train.features.min() ?? .infinity, train.features.max() ?? -.infinity)
        try scaleFeatures(spec, o, lowest: lowest, highest: highest)
    }

    /// Standardises every split's features with `s` (nothing when nil).
    public mutating func standardize(_ s: Standardization?) {
        guard let s else { return }
        train.standardize(s); validation.standardize(s); test.standardize(s)
    }

    /// Divides the features by --scale or the training maximum (`highest`), refusing negative values (`lowest`)
    /// where the Bernoulli likelihood needs [0, 1].
    mutating func scaleFeatures(_ spec: DataSpec, _ o: SplitOptions, lowest: Float?, highest: Float) throws {
        if spec.needsScaling, o.requireUnitRange, let lowest, lowest < 0 {
            throw DataError("\(spec)", "features go down to \(lowest); the Bernoulli likelihood needs values in [0, 1]: "
                            + "shift them to be non-negative, or use --likelihood gaussian for real-valued data")
        }
        if spec.needsScaling {
            scale = o.scale ?? (o.requireUnitRange ? highest : 1)
            guard scale > 0, scale.isFinite else {
                throw DataError("--scale", "\(scale) cannot scale features to [0, 1]; give a positive --scale")
            }
            train.scale(by: scale); validation.scale(by: scale); test.scale(by: scale)
        } else if o.testData?.needsScaling == true {
            test.scale(by: o.scale ?? 255)
        }
    }
}

/// Splits each class's indices with a seeded shuffle: round(fraction·n_c) held out per class.
/// Examples without a label are never held out (they can only train). Returns sorted index lists (held, kept).
public func stratifiedSplit(_ d: Dataset, fraction: Double, seed: UInt64, purpose: Int) -> ([Int], [Int]) {
    stratifiedSplit(labels: d.labels, classes: d.classes, fraction: fraction, seed: seed, purpose: purpose)
}

/// `stratifiedSplit` of examples with these labels (−1: none) of `classes` classes.
public func stratifiedSplit(labels: [Int32], classes: Int, fraction: Double, seed: UInt64, purpose: Int) -> ([Int], [Int]) {
    let noise = NoiseSource(seed: seed)
    var held: [Int] = [], kept: [Int] = unlabelledIndices(labels)
    for (c, idx) in indicesByClass(labels, classes: classes).enumerated() {
        var g = noise.generator(stream: .dataSplit, purpose, c)
        let p = g.permutation(idx.count)
        let h = Int((fraction * Double(idx.count)).rounded())
        for (j, pi) in p.enumerated() { if j < h { held.append(idx[pi]) } else { kept.append(idx[pi]) } }
    }
    return (held.sorted(), kept.sorted())
}
