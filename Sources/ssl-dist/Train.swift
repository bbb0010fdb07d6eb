import ArgumentParser
import Foundation
import Synchronization
import SSLCore
import SSLData
import SSLDistributed
import SSLTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model; prints loss terms and validation accuracy each epoch, test accuracy at the end.")

    // Every training option is optional: a flag that is not given keeps the value of the base config
    // (the defaults, or on --resume the checkpoint's), so a resume can tell given flags from defaults.
    @Option(help: "Model: m2, adgm, sdgm, m1, m1m2 or supervised (default adgm).") var model: ModelKind?
    @Option(help: "Dataset: fashion-mnist, mnist:DIR, idx:IMAGES,LABELS or csv:PATH (default fashion-mnist).") var data: String?
    @Option(help: "Separate test set (same forms as --data) for data without its own test split.") var testData: String?
    @Option(help: "CSV label column: first or last (default last).") var labelColumn: LabelColumn?
    @Option(help: "Divide CSV features by this (default: the training split's maximum).") var scale: Float?
    @Option(help: "Validation examples (MNIST family: taken from the end of train, default 10000).") var validation: Int?
    @Option(help: "Stratified validation fraction for data without a test split (default 0.1).") var validationFraction: Double?
    @Option(help: "Stratified test fraction for data without a test split (default 0.2).") var testFraction: Double?
    @Option(help: "Labelled examples per class (default 10 unless --labels is given).") var labelsPerClass: Int?
    @Option(help: "Total labelled examples, spread evenly over classes.") var labels: Int?
    @Option(help: "How --labels N picks examples: stratified (even over classes, default) or proportional (at random).")
    var labelSampling: LabelSplit.Sampling?
    @Option(help: "Keep at most this many training examples per class (seeded).") var maxPerClass: Int?
    @Option(help: "Weights of the classification term per class: none (default) or balanced.") var classWeights: ClassWeighting?
    @Option(help: "p(y): uniform (default, as in the papers) or labelled (the labelled class proportions, add-one smoothed).")
    var classPrior: ClassPrior?
    @Flag(inversion: .prefixedNo, help: "Whether labelled examples also appear in the unlabelled set (default yes).")
    var includeLabelledInUnlabelled: Bool?
    @Option(help: "Train until this epoch (a pass of --batch-size over the unlabelled set).") var epochs: Int?
    @Option(help: "Train until this step (instead of --epochs).") var steps: Int?
    @Option(help: "Global unlabelled batch size (default 100).") var batchSize: Int?
    @Option(help: "Global labelled batch size (default 100).") var labelledBatchSize: Int?
    @Option(help: "Hidden layer sizes, comma-separated (m2, m1m2: 500; adgm, sdgm: 500,500; m1: 600,600).") var hidden: String?
    @Option(help: "Latent size z (m1, m2, m1m2: 50; adgm, sdgm: 100).") var latent: Int?
    @Option(help: "Auxiliary size a (adgm, sdgm: 100).") var auxiliary: Int?
    @Option(help: "Activation: relu or softplus (default relu).") var activation: Activation?
    @Option(help: "p(x|·): bernoulli ([0,1] data, the default) or gaussian (real-valued data, learned per-feature variance); m1m2 is always gaussian.")
    var likelihood: Likelihood?
    @Flag(inversion: .prefixedNo, help: "Standardise each feature with the training split's mean and std (Gaussian models).")
    var standardize: Bool?
    @Option(help: "m1m2: the trained M1 (a checkpoint file or run directory) whose latent features M2 models.") var m1: String?
    @Option(help: "Monte Carlo samples N of each example's bound (default 1).") var mc: Int?
    @Option(help: "Importance samples K of each example's bound: −log mean_k w_k (default 1, the ELBO).") var iw: Int?
    @Option(help: "Weight α of the classification term (default 0.1·N/N_labelled).") var alpha: Float?
    @Option(name: .customLong("lr"), help: "Adam learning rate (default 3e-4).") var learningRate: Float?
    @Option(help: "Clip the global gradient norm to this.") var clipGradNorm: Float?
    @Option(help: "KL warm-up steps (β rises linearly 0→1; 0, the default, turns it off).") var warmupSteps: Int?
    @Flag(inversion: .prefixedNo, help: "Dynamic binarisation of inputs for the Bernoulli likelihood (default on).")
    var binarize: Bool?
    @Option(help: "Seed for label split, data order, noise and initialisation (default 1).") var seed: UInt64?
    @Option(help: "ADGM: samples of a averaged by the classifier at evaluation (default 10).") var evalSamples: Int?
    @Option(help: "Examples per evaluation chunk (default 500).") var evalBatchSize: Int?
    @Option(help: "Validate every this many epochs (default 1).") var validateEvery: Int?
    @Option(help: "Compare a parameter digest across ranks every this many steps (0: never; default 100).") var checkEvery: Int?
    @Option(help: "Write a checkpoint every this many steps (0: only at the end; default 1000).") var checkpointEvery: Int?
    @Option(help: "Keep the newest this many checkpoints (default 3).") var keepCheckpoints: Int?
    @Option(help: "Run directory (default runs/MODEL-seedS).") var runDir: String?
    @Option(help: "Continue a run: 'latest' (RUN_DIR/checkpoints/latest) or a checkpoint file.") var resume: String?
    @Flag(help: "No progress display between the per-epoch summaries.") var quiet = false
    @Option(help: "Without a terminal (logs, CI=true): a progress line every this many steps.") var progressEvery = 100
    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "A TOML file of training settings (keys = these flags without --); flags override it.") var config: String?
    @Flag(help: "Print the effective configuration as TOML and exit.") var printConfig = false

    /// The flags given on the command line, as settings, in the settings table's order.
    var flagSettings: [(name: String, value: SettingValue, place: String)] {
        var g: [(name: String, value: SettingValue, place: String)] = []
        func add(_ name: String, _ v: SettingValue?) { if let v { g.append((name, v, "--\(name)")) } }
        add("model", model.map { .string($0.rawValue) })
        add("data", data.map { .string($0) })
        add("test-data", testData.map { .string($0) })
        add("label-column", labelColumn.map { .string($0.rawValue) })
        add("scale", scale.map { .double(Double($0)) })
        add("validation", validation.map { .int($0) })
        add("validation-fraction", validationFraction.map { .double($0) })
        add("test-fraction", testFraction.map { .double($0) })
        add("labels-per-class", labelsPerClass.map { .int($0) })
        add("labels", labels.map { .int($0) })
        add("include-labelled-in-unlabelled", includeLabelledInUnlabelled.map { .bool($0) })
        add("label-sampling", labelSampling.map { .string($0.rawValue) })
        add("max-per-class", maxPerClass.map { .int($0) })
        add("class-weights", classWeights.map { .string($0.rawValue) })
        add("class-prior", classPrior.map { .string($0.rawValue) })
        add("epochs", epochs.map { .int($0) })
        add("steps", steps.map { .int($0) })
        add("batch-size", batchSize.map { .int($0) })
        add("labelled-batch-size", labelledBatchSize.map { .int($0) })
        add("hidden", hidden.flatMap(parseHidden).map { .ints($0) })
        add("latent", latent.map { .int($0) })
        add("auxiliary", auxiliary.map { .int($0) })
        add("activation", activation.map { .string($0.rawValue) })
        add("likelihood", likelihood.map { .string($0.rawValue) })
        add("standardize", standardize.map { .bool($0) })
        add("m1", m1.map { .string($0) })
        add("mc", mc.map { .int($0) })
        add("iw", iw.map { .int($0) })
        add("alpha", alpha.map { .double(Double($0)) })
        add("lr", learningRate.map { .double(Double($0)) })
        add("clip-grad-norm", clipGradNorm.map { .double(Double($0)) })
        add("warmup-steps", warmupSteps.map { .int($0) })
        add("binarize", binarize.map { .bool($0) })
        add("seed", seed.map { .int(Int(truncatingIfNeeded: $0)) })
        add("eval-samples", evalSamples.map { .int($0) })
        add("eval-batch-size", evalBatchSize.map { .int($0) })
        add("validate-every", validateEvery.map { .int($0) })
        add("check-every", checkEvery.map { .int($0) })
        add("checkpoint-every", checkpointEvery.map { .int($0) })
        add("keep-checkpoints", keepCheckpoints.map { .int($0) })
        add("run-dir", runDir.map { .string($0) })
        return g
    }

    /// `base` with the config file's settings, then the flags, applied.
    func makeConfig(base: TrainConfig) throws -> TrainConfig {
        let fromFile = try config.map(ConfigFile.read) ?? []
        let withFile = try TrainSettings.apply(fromFile, to: base)
        return try TrainSettings.apply(flagSettings, to: withFile)
    }

    /// The given settings (file and flags) that would change the meaning of a resumed run.
    func conflicts(with saved: TrainConfig) throws -> [String] {
        let fromFile = try config.map(ConfigFile.read) ?? []
        return TrainSettings.conflicts(fromFile, with: saved) + TrainSettings.conflicts(flagSettings, with: saved)
    }

    func validate() throws {
        if progressEvery <= 0 { throw ValidationError("--progress-every \(progressEvery) must be positive") }
        if let h = hidden, parseHidden(h) == nil { throw ValidationError("--hidden '\(h)' should be sizes like 500,500") }
        guard resume == nil else { return }  // checked against the checkpoint's config when it is read
        do { try makeConfig(base: TrainConfig()).validate() } catch let e as ConfigError {
            throw ValidationError(e.description)
        } catch let e as DataError {
            throw ValidationError(e.description)
        } catch let e as SettingError {
            throw ValidationError(e.description)
        }
    }

    func parseHidden(_ s: String) -> [Int]? {
        let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        if v.isEmpty || v.contains(where: { $0 == nil || $0! <= 0 }) { return nil }
        return v.map { $0! }
    }

    func run() throws {
        if printConfig {
            guard resume == nil else { throw ValidationError("--print-config shows a new run's settings; use `ssl-dist inspect` for a checkpoint's") }
            print(ConfigFile.toml(try makeConfig(base: TrainConfig())), terminator: "")
            return
        }
        let comm = try runtime.makeCommunicator()
        installStopHandlers()
        do {
            let request = resume.map { spec in
                ResumeRequest(checkpoint: spec) { saved in
                    let bad = try conflicts(with: saved)
                    guard bad.isEmpty else {
                        throw ConfigError(flag: bad.joined(separator: ", "), problem: "contradicts the checkpoint's configuration "
                            + "(given flags must match it, except --epochs, --steps, --run-dir, --eval-samples, --eval-batch-size, "
                            + "--validate-every, --check-every, --checkpoint-every, --keep-checkpoints); drop them to continue")
                    }
                    return try makeConfig(base: saved)
                }
            }
            _ = try Trainer(config: try makeConfig(base: TrainConfig()), communicator: comm, resume: request,
                            gemm: runtime.gemm, precision: runtime.precision,
                                     stopRequested: { stopSignal.load(ordering: .relaxed) != 0 },
                                     progress: ProgressStyle.detect(quiet: quiet, every: progressEvery,
                                                                    underMPILauncher: MPICommunicator.launchedByMPI),
                                     write: { text in print(text, terminator: ""); fflush(stdout) }) { line in
                print(line)
                fflush(stdout)
            }.run()
            comm.finalize()
        } catch {
            failOnAllRanks(error, comm)
        }
    }
}

extension ModelKind: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension LabelColumn: ExpressibleByArgument {}
extension Likelihood: ExpressibleByArgument {}
extension LabelSplit.Sampling: ExpressibleByArgument {}
extension ClassWeighting: ExpressibleByArgument {}
extension ClassPrior: ExpressibleByArgument {}

/// Set by SIGTERM or SIGINT (Slurm preemption, Ctrl-C); the trainer polls it once a step and all ranks
/// agree on it through the gradient allreduce. An atomic, so the signal handler may store to it.
let stopSignal = Atomic<Int32>(0)

func installStopHandlers() {
    for sig in [SIGTERM, SIGINT] {
        signal(sig) { s in stopSignal.store(s, ordering: .relaxed) }
    }
}
