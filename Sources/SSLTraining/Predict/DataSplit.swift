import SSLData

/// Which examples of a data set a command reads: the run's own `train`, `validation` and `test` splits (made as the run
/// made them), `all` (every example of the data file in file order; for the MNIST family its training file), or
/// `unlabelled` (those without a label, in file order). Each command says which it accepts.
public enum DataSplit: String, CaseIterable, Sendable {
    case train, validation, test, all, unlabelled

    /// The splits a trained model can be scored on (every example has a label there).
    public static let scored: [DataSplit] = [.train, .validation, .test]

    /// Throws naming `--split` unless `self` is one of `allowed`.
    public func check(_ allowed: [DataSplit], command: String) throws {
        guard allowed.contains(self) else {
            throw DataError("--split", "\(rawValue): \(command) reads " + allowed.map(\.rawValue).joined(separator: ", ")
                            + " (every example it scores needs a label)")
        }
    }
}
