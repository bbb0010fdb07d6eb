import ArgumentParser
import Foundation
import SSLTraining

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw learning curves of one or more runs (from their metrics.jsonl) as a PNG: by epoch and by wall-clock time.",
        discussion: """
        Then prints a table of the finished runs (their results.json): model, seed, epochs, training minutes, the best \
        validation accuracy and its epoch, test accuracy there and at the end, and each run's gain over the first.
        """)

    @Argument(help: "Run directories.") var runs: [String]
    @Option(help: "PNG to write.") var out: String
    @Option(help: "The metric: validation_accuracy (default), labelled_bound, unlabelled_bound, label_spread, cross_entropy, ...")
    var metric = "validation_accuracy"
    @Option(help: "Names of the runs in the legend, comma-separated (default: the directories' names).") var names: String?
    @Option(help: ArgumentHelp("Time to a target: the first epoch and minute each run's metric reached each of these values, "
                               + "comma-separated (accuracies in percent, e.g. 95,97).", valueName: "targets"))
    var reach: String?

    /// The --reach targets, or nil when it is not given.
    var targets: [Double]? {
        get throws {
            guard let reach else { return nil }
            let parts = reach.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !parts.isEmpty, parts.allSatisfy({ Double($0)?.isFinite == true }) else {
                throw ValidationError("--reach \(reach): give numbers separated by commas, e.g. 95,97")
            }
            return parts.map { Double($0)! }
        }
    }

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run directory") }
        guard out.hasSuffix(".png") else { throw ValidationError("--out \(out): name the file *.png") }
        _ = try targets
        if let n = names, n.split(separator: ",").count != runs.count {
            throw ValidationError("--names gives \(n.split(separator: ",").count) names for \(runs.count) runs")
        }
    }

    func run() throws {
        try reportingFailures {
            let labels = names.map { $0.split(separator: ",").map(String.init) }
            let curves = try LearningCurves.read(runs, metric: metric, names: labels)
            try curves.image().writePNG(to: out)
            print("plot: \(metric) of \(runs.count) run(s) → \(out)")
            let finished = try zip(runs, curves.runs).compactMap { try RunSummary.read($0.0, name: $0.1.name) }
            if !finished.isEmpty { print(RunSummary.table(finished)) }
            if let t = try targets { print(curves.reachTable(t)) }
        }
    }
}
