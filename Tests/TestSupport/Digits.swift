import Foundation

/// sklearn's 8×8 digits (1,797 images, CSV with the label last): $SSL_DIST_DIGITS, or Debian's python3-sklearn
/// (installed by `make deps`).
public func digitsPath() -> String? {
    if let p = ProcessInfo.processInfo.environment["SSL_DIST_DIGITS"] { return p }
    let candidates = ["/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"]
    return candidates.first { FileManager.default.fileExists(atPath: $0) }
}

/// The short digits run the tests share: `ssl-dist train` arguments for `model` on `data` (default the digits) with
/// 3 labels per class (labelled batch 30), unlabelled batch 50, hidden 64, z 8, a 8, `steps` steps, into `runDir`.
/// Tests add what they vary (seed, threads, warm-up, validation, checks).
public func shortDigitsRun(model: String, data: String? = nil, runDir: String, steps: Int = 20) -> [String] {
    ["train", "--model", model, "--data", data ?? "csv:\(digitsPath() ?? "digits.csv.gz")", "--labels-per-class", "3",
     "--labelled-batch-size", "30", "--batch-size", "50", "--hidden", "64", "--latent", "8", "--auxiliary", "8",
     "--steps", String(steps), "--run-dir", runDir]
}
