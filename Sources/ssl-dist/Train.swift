import ArgumentParser
import Foundation
import Synchronization
import SSLCore
import SSLData
import SSLDistributed
import SSLTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model; prints loss terms and validation accuracy each epoch, test accuracy at the end.",
        usage: Train.usage,
        discussion: "USAGE: \(Train.usage)\n\n"
            + "  ssl-dist train --model m2 --data fashion-mnist --epochs 10\n"
            + "  ssl-dist train --model adgm --data csv:sheet.csv --label-column species --labels-per-class 10 --epochs 50\n"
            + "  ssl-dist train --resume latest --run-dir runs/adgm-seed1          # continue a run exactly\n\n"
            + TrainSettings.help)

    static let usage = "ssl-dist train --model M --data D (--epochs N | --steps N) [SETTING ...] [--run-dir DIR] [--overwrite] "
        + "[--resume latest|FILE] [--config FILE.toml] [--print-config] [--quiet] [RUNTIME OPTIONS]"

    // The training settings are not declared here: `TrainSettings.all` is their one table (flag, TOML key, default,
    // check, resume rule), and the arguments this command does not know are read against it.
    @Argument(parsing: .allUnrecognized, help: .hidden) var settingArguments: [String] = []
    @Option(help: "Continue a run: 'latest' (RUN_DIR/checkpoints/latest), 'best', or a checkpoint file.") var resume: String?
    @Option(help: "A TOML file of training settings (keys = the settings below without --); flags override it.") var config: String?
    @Flag(help: "Print the effective configuration as TOML and exit.") var printConfig = false
    @Flag(help: "A new run into a --run-dir that holds another run: move that run aside (to DIR.replaced-TIME) instead of refusing.")
    var overwrite = false
    @Flag(help: "No progress display between the per-epoch summaries.") var quiet = false
    @Option(help: "Without a terminal (logs, CI=true): a progress line every this many steps.") var progressEvery = 100
    @OptionGroup var runtime: RuntimeOptions

    /// The given settings, read once: the config file's, then the flags (which override it).
    struct Given {
        let fromFile: [GivenSetting], flags: [GivenSetting]

        /// `base` (nil: a new run, from the recipe of the model the settings name) with the file's settings, then the
        /// flags, applied; every value is checked by its declaration on the way.
        func config(base: TrainConfig? = nil) throws -> TrainConfig {
            let withFile = try TrainSettings.apply(fromFile, to: try base ?? TrainSettings.newRunBase(fromFile + flags))
            return try TrainSettings.apply(flags, to: withFile)
        }

        /// The given settings that would change the meaning of a resumed run.
        func conflicts(with saved: TrainConfig) -> [String] {
            TrainSettings.conflicts(fromFile, with: saved) + TrainSettings.conflicts(flags, with: saved)
        }
    }

    func validate() throws {
        if progressEvery <= 0 { throw ValidationError("--progress-every \(progressEvery) must be positive") }
    }

    /// Reads the config file and the flags once and checks the settings of a new run (a resumed run's are checked
    /// against its checkpoint when that is read); a mistake is a `ValidationError` (exit 2, naming the flag).
    func readSettings() throws -> (Given, TrainConfig) {
        do {
            let given = Given(fromFile: try config.map(ConfigFile.read) ?? [], flags: try TrainSettings.parse(arguments: settingArguments))
            let c = try given.config()
            // --print-config shows a model's recipe even before --epochs or --steps is chosen.
            if resume == nil && !printConfig { try c.validate() }
            return (given, c)
        } catch let e as ConfigError {
            throw ValidationError(e.description)
        } catch let e as DataError {
            throw ValidationError(e.description)
        } catch let e as SettingError {
            throw ValidationError(e.description)
        }
    }

    func run() throws {
        if printConfig && resume != nil {
            throw ValidationError("--print-config shows a new run's settings; use `ssl-dist inspect` for a checkpoint's")
        }
        let (given, newRun) = try readSettings()
        if printConfig {
            print(ConfigFile.toml(newRun), terminator: "")
            return
        }
        let comm = try runtime.makeCommunicator()
        installStopHandlers()
        do {
            let request = resume.map { spec in
                ResumeRequest(checkpoint: spec) { saved in
                    let bad = given.conflicts(with: saved)
                    guard bad.isEmpty else {
                        throw ConfigError(flag: bad.joined(separator: ", "), problem: "contradicts the checkpoint's configuration "
                            + "(given flags must match it, except " + TrainSettings.resumable.joined(separator: ", ")
                            + "); drop them to continue")
                    }
                    return try given.config(base: saved)
                }
            }
            _ = try Trainer(config: newRun, communicator: comm, resume: request,
                            gemm: runtime.gemm, precision: runtime.precision, overwrite: overwrite,
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

/// Set by SIGTERM or SIGINT (Slurm preemption, Ctrl-C); the trainer polls it once a step and all ranks
/// agree on it through the gradient allreduce. An atomic, so the signal handler may store to it.
let stopSignal = Atomic<Int32>(0)

func installStopHandlers() {
    for sig in [SIGTERM, SIGINT] {
        signal(sig) { s in stopSignal.store(s, ordering: .relaxed) }
    }
}
