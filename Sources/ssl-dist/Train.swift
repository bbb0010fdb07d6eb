import ArgumentParser
import Foundation
import SSLCore
import SSLData
import SSLDistributed
import SSLTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model; prints loss terms and validation accuracy each epoch, test accuracy at the end.")

    @Option(help: "Model: m2, adgm or supervised.") var model: ModelKind = .adgm
    @Option(help: "Dataset: fashion-mnist, mnist:DIR, idx:IMAGES,LABELS or csv:PATH.") var data = "fashion-mnist"
    @Option(help: "Separate test set (same forms as --data) for data without its own test split.") var testData: String?
    @Option(help: "CSV label column: first or last.") var labelColumn: LabelColumn = .last
    @Option(help: "Divide CSV features by this (default: the training split's maximum).") var scale: Float?
    @Option(help: "Validation examples (MNIST family: taken from the end of train, default 10000).") var validation: Int?
    @Option(help: "Stratified validation fraction for data without a test split.") var validationFraction = 0.1
    @Option(help: "Stratified test fraction for data without a test split.") var testFraction = 0.2
    @Option(help: "Labelled examples per class (default 10 unless --labels is given).") var labelsPerClass: Int?
    @Option(help: "Total labelled examples, spread evenly over classes.") var labels: Int?
    @Flag(inversion: .prefixedNo, help: "Whether labelled examples also appear in the unlabelled set.")
    var includeLabelledInUnlabelled = true
    @Option(help: "Epochs (passes over the unlabelled set).") var epochs: Int?
    @Option(help: "Steps (instead of --epochs).") var steps: Int?
    @Option(help: "Global unlabelled batch size.") var batchSize = 100
    @Option(help: "Global labelled batch size.") var labelledBatchSize = 100
    @Option(help: "Hidden layer sizes, comma-separated (m2: 500; adgm: 500,500).") var hidden: String?
    @Option(help: "Latent size z (m2: 50; adgm: 100).") var latent: Int?
    @Option(help: "Auxiliary size a (adgm: 100).") var auxiliary: Int?
    @Option(help: "Activation: relu or softplus.") var activation: Activation = .relu
    @Option(help: "Weight α of the classification term (default 0.1·N/N_labelled).") var alpha: Float?
    @Option(name: .customLong("lr"), help: "Adam learning rate.") var learningRate: Float = 3e-4
    @Option(help: "Clip the global gradient norm to this.") var clipGradNorm: Float?
    @Option(help: "KL warm-up steps (β rises linearly 0→1; 0 turns it off).") var warmupSteps = 0
    @Flag(inversion: .prefixedNo, help: "Dynamic binarisation of inputs for the Bernoulli likelihood.") var binarize = true
    @Option(help: "Seed for label split, data order, noise and initialisation.") var seed: UInt64 = 1
    @Option(help: "ADGM: samples of a averaged by the classifier at evaluation.") var evalSamples = 10
    @Option(help: "Examples per evaluation chunk.") var evalBatchSize = 500
    @Option(help: "Validate every this many epochs.") var validateEvery = 1
    @Option(help: "Compare a parameter digest across ranks every this many steps (0: never).") var checkEvery = 100
    @Option(help: "Run directory (default runs/MODEL-seedS).") var runDir: String?
    @Option(help: "BLAS threads per rank (default: cores / ranks on this node).") var blasThreads: Int?
    @OptionGroup var communicatorOptions: CommunicatorOptions

    func validate() throws {
        if let t = blasThreads, t <= 0 { throw ValidationError("--blas-threads \(t) must be positive") }
        if let h = hidden, parseHidden(h) == nil { throw ValidationError("--hidden '\(h)' should be sizes like 500,500") }
        do { try makeConfig().validate() } catch let e as ConfigError {
            throw ValidationError(e.description)
        } catch let e as DataError {
            throw ValidationError(e.description)
        }
    }

    func parseHidden(_ s: String) -> [Int]? {
        let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        if v.isEmpty || v.contains(where: { $0 == nil || $0! <= 0 }) { return nil }
        return v.map { $0! }
    }

    func makeConfig() -> TrainConfig {
        var c = TrainConfig()
        c.model = model; c.data = data; c.testData = testData; c.labelColumn = labelColumn; c.scale = scale
        c.validation = validation; c.validationFraction = validationFraction; c.testFraction = testFraction
        c.labelsPerClass = labels == nil ? (labelsPerClass ?? 10) : labelsPerClass
        c.labels = labels
        c.includeLabelledInUnlabelled = includeLabelledInUnlabelled
        c.epochs = epochs; c.steps = steps; c.batchSize = batchSize; c.labelledBatchSize = labelledBatchSize
        c.hidden = hidden.flatMap(parseHidden); c.latent = latent; c.auxiliary = auxiliary; c.activation = activation
        c.alpha = alpha; c.learningRate = learningRate; c.clipGradNorm = clipGradNorm; c.warmupSteps = warmupSteps
        c.binarize = binarize; c.seed = seed; c.evalSamples = evalSamples; c.evalBatchSize = evalBatchSize
        c.validateEvery = validateEvery; c.checkEvery = checkEvery; c.runDir = runDir
        return c
    }

    func run() throws {
        let comm = try communicatorOptions.make()
        let threads = blasThreads ?? defaultBLASThreads(comm)
        setBLASThreads(threads)
        do {
            _ = try Trainer(config: makeConfig(), communicator: comm) { line in
                print(line)
                fflush(stdout)
            }.run()
            comm.finalize()
        } catch {
            failOnAllRanks(error, comm)
        }
    }
}

/// Which communicator a command uses.
enum CommunicatorChoice: String, ExpressibleByArgument, CaseIterable {
    /// MPI when started by an MPI launcher (mpirun, or srun with PMIx/PMI), else a single process.
    case auto
    /// Always MPI (without a launcher: Open MPI's singleton start, world size 1).
    case mpi
    /// A single process, no MPI.
    case single
}

struct CommunicatorOptions: ParsableArguments {
    @Option(help: "Communicator: auto (MPI under mpirun/srun), mpi, or single.") var communicator: CommunicatorChoice = .auto

    func make() throws -> Communicator {
        switch communicator {
        case .single: return SingleProcessCommunicator()
        case .mpi: return try MPICommunicator()
        case .auto: return MPICommunicator.launchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
        }
    }
}

/// One BLAS thread per core left to this rank: cores / ranks on this node, at least 1.
func defaultBLASThreads(_ comm: Communicator) -> Int {
    max(1, ProcessInfo.processInfo.activeProcessorCount / max(comm.localSize, 1))
}

/// Prints `rank R: error` to stderr; under MPI aborts every rank, else exits 1.
func failOnAllRanks(_ error: Error, _ comm: Communicator) -> Never {
    let prefix = comm.size > 1 ? "rank \(comm.rank): " : ""
    FileHandle.standardError.write(Data("ssl-dist: \(prefix)error: \(error)\n".utf8))
    if comm.size > 1 { comm.abort(code: 1) }
    exit(1)
}

extension ModelKind: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension LabelColumn: ExpressibleByArgument {}
