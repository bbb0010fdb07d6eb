import Foundation
import SSLCore

/// How training progress is shown between epoch summaries.
public enum ProgressStyle: Equatable {
    /// A live bar redrawn in place (a terminal).
    case terminal
    /// One plain line every `every` steps (logs, CI, Slurm): no escape codes, no carriage returns.
    case plain(every: Int)
    /// Nothing between epoch summaries.
    case off

    /// A terminal gets the bar unless CI=true or TERM=dumb; anything else gets plain lines. Under an MPI
    /// launcher stdout is always plain: Open MPI hands ranks a pseudo-terminal even when mpirun's own
    /// output goes to a file, so isatty cannot tell.
    public static func detect(quiet: Bool, every: Int, underMPILauncher: Bool,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> ProgressStyle {
        if quiet { return .off }
        let ci = environment["CI"].map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false
        if isatty(STDOUT_FILENO) != 0 && !ci && environment["TERM"] != "dumb" && !underMPILauncher { return .terminal }
        return .plain(every: every)
    }
}

/// Rank 0's progress between epoch summaries: steps, examples/s, ETA, the running loss terms and β.
final class ProgressDisplay {
    let style: ProgressStyle
    let write: (String) -> Void
    let stepsPerEpoch: Int, totalSteps: Int, examplesPerStep: Int
    /// Whether the model has a bound (L and U are shown).
    let bound: Bool
    /// False for M1: only its bound is shown.
    var classifies = true
    private var lastDraw = Date.distantPast
    private var barShown = false
    private var rateStart = (Date(), 0)

    init(style: ProgressStyle, stepsPerEpoch: Int, totalSteps: Int, examplesPerStep: Int, bound: Bool,
         write: @escaping (String) -> Void) {
        self.style = style; self.stepsPerEpoch = stepsPerEpoch; self.totalSteps = totalSteps
        self.examplesPerStep = examplesPerStep; self.bound = bound; self.write = write
    }

    func start(at step: Int) { rateStart = (Date(), step) }

    /// After `step` steps, with the current epoch's running sums.
    func update(step: Int, sums: LossSums, beta: Float) {
        guard style != .off else { return }
        let now = Date()
        let elapsed = now.timeIntervalSince(rateStart.0)
        let done = step - rateStart.1
        let rate = done > 0 ? Double(done * examplesPerStep) / max(elapsed, 1e-9) : 0
        let eta = done > 0 ? elapsed / Double(done) * Double(totalSteps - step) : 0
        let nl = max(sums.labelledCount, 1), nu = max(sums.unlabelledCount, 1)
        var terms = bound ? String(format: "L %.2f  U %.2f  ", sums.labelledBound / nl, sums.unlabelledBound / nu) : ""
        terms += String(format: "CE %.3f  β %.2f", sums.crossEntropy / nl, beta)
        if !classifies { terms = String(format: "bound %.2f  β %.2f", sums.unlabelledBound / nu, beta) }
        let epoch = (step - 1) / stepsPerEpoch + 1
        let inEpoch = step - (epoch - 1) * stepsPerEpoch
        switch style {
        case .terminal:
            guard now.timeIntervalSince(lastDraw) >= 0.2 || inEpoch == stepsPerEpoch else { return }
            lastDraw = now
            let width = 24
            let filled = Int(Double(width) * Double(inEpoch) / Double(stepsPerEpoch))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            write("\r\u{1B}[K" + String(format: "epoch %d %@ %d/%d  %.0f ex/s  ETA %@  %@", epoch, bar, inEpoch, stepsPerEpoch,
                                           rate, Self.clock(eta), terms))
            barShown = true
        case .plain(let every):
            guard step % every == 0 else { return }
            write(String(format: "step %d/%d (epoch %d, %.0f%%)  %.0f ex/s  ETA %@  %@\n", step, totalSteps, epoch,
                         100 * Double(inEpoch) / Double(stepsPerEpoch), rate, Self.clock(eta), terms))
        case .off:
            break
        }
    }

    /// Clears the bar before a summary line is printed.
    func clear() {
        if style == .terminal && barShown { write("\r\u{1B}[K"); barShown = false }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
