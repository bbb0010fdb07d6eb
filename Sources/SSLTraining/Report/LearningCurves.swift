import Foundation

/// The learning curves of runs, from their `metrics.jsonl`: a metric against epoch and against wall-clock minutes.
public struct LearningCurves {
    public struct Run {
        public var name: String
        /// (epoch, minutes since the run started, value), in order; a resumed run's minutes continue the earlier part's.
        public var points: [(epoch: Double, minutes: Double, value: Double)]
    }
    public var metric: String
    public var runs: [Run]

    /// Reads `metric` from each run directory's metrics.jsonl (records without it are skipped). `names` label the
    /// runs (default: the directories' names). Errors name the file.
    public static func read(_ dirs: [String], metric: String, names: [String]? = nil) throws -> LearningCurves {
        var runs: [Run] = []
        for (i, dir) in dirs.enumerated() {
            let path = "\(dir)/metrics.jsonl"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw TrainingError(message: "\(path): cannot read it (is \(dir) a run directory?)")
            }
            var points: [(Double, Double, Double)] = []
            var offset = 0.0, last = 0.0
            for (n, line) in text.split(separator: "\n").enumerated() {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw TrainingError(message: "\(path) line \(n + 1): not a JSON object")
                }
                guard let epoch = obj["epoch"] as? Double, let seconds = obj["seconds"] as? Double else { continue }
                if seconds < last { offset += last }  // a resume restarts its clock
                last = seconds
                if let v = obj[metric] as? Double { points.append((epoch, (offset + seconds) / 60, v)) }
            }
            guard !points.isEmpty else { throw TrainingError(message: "\(path): no record has \(metric)") }
            runs.append(Run(name: names?[i] ?? URL(fileURLWithPath: dir).lastPathComponent, points: points))
        }
        return LearningCurves(metric: metric, runs: runs)
    }

    /// Time to a target: for each run, the first record whose metric reaches `target` (at or above it; for a
    /// metric that falls, such as a bound, at or below it with `falling`), as (epoch, minutes), nil when none did.
    public func firstReaching(_ target: Double, falling: Bool = false) -> [(epoch: Double, minutes: Double)?] {
        runs.map { run in
            run.points.first { falling ? $0.value <= target : $0.value >= target }.map { ($0.epoch, $0.minutes) }
        }
    }

    /// The table `ssl-dist plot --reach` prints: a row per run, a column per target, "epoch E, M min" or "not reached
    /// (best B)". Accuracy targets are given and shown in percent.
    public func reachTable(_ targets: [Double]) -> String {
        let percent = metric.hasSuffix("accuracy")
        func show(_ v: Double) -> String { percent ? String(format: "%.2f%%", 100 * v) : String(format: "%.4g", v) }
        let width = max(4, runs.map(\.name.count).max() ?? 4)
        let cells = targets.map { t in firstReaching(percent ? t / 100 : t) }
        /// A row: the name column, then the cells 28 wide, the last one not padded.
        func row(_ name: String, _ texts: [String]) -> String {
            ([pad(name, width)] + texts.dropLast().map { pad($0, 28) } + texts.suffix(1)).joined(separator: "  ")
        }
        var lines = [row("run", targets.map { "\(metric) ≥ " + show(percent ? $0 / 100 : $0) })]
        for (i, run) in runs.enumerated() {
            let best = run.points.map(\.value).max() ?? 0
            lines.append(row(run.name, cells.map { c in
                c[i].map { "epoch \(epochText($0.epoch)), \(String(format: "%.1f", $0.minutes)) min" } ?? "not reached (best \(show(best)))"
            }))
        }
        return lines.joined(separator: "\n")
    }

    /// Two panels side by side, the metric against epoch and against minutes.
    public func image(width: Int = 1400, height: Int = 520) -> RGBImage {
        var img = RGBImage(width: width, height: height, fill: (255, 255, 255))
        let label = metric.replacingOccurrences(of: "_", with: " ")
        let percent = metric.hasSuffix("accuracy")
        let byEpoch = LineChart(title: "\(label) by epoch", xLabel: "epoch", yLabel: label,
                                series: runs.map { .init(name: $0.name, points: $0.points.map { ($0.epoch, $0.value) }) }, percent: percent)
        let byTime = LineChart(title: "\(label) by time", xLabel: "minutes", yLabel: label,
                               series: runs.map { .init(name: $0.name, points: $0.points.map { ($0.minutes, $0.value) }) }, percent: percent)
        byEpoch.draw(into: &img, x: 0, y: 0, width: width / 2, height: height)
        byTime.draw(into: &img, x: width / 2, y: 0, width: width / 2, height: height)
        return img
    }
}
