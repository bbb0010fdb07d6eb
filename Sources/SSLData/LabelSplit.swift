import SSLCore

/// Which training examples keep their labels, deterministic in the seed.
///  - `perClass` N: N per class (balanced), each class's picks a seeded shuffle.
///  - `total` N: N spread as evenly as the classes allow (floor(N/K) each; the remainder to
///    classes chosen by the seed), also stratified.
/// The unlabelled set is all training examples (as in Kingma et al. and Maaløe et al.)
/// unless `includeLabelledInUnlabelled` is false, when it is the rest.
public struct LabelSplit: Equatable {
    public let labelled: [Int]
    public let unlabelled: [Int]

    /// How `--labels N` picks its examples.
    public enum Sampling: String, Codable, CaseIterable, Sendable {
        /// As evenly over the classes as they allow.
        case stratified
        /// Uniformly at random from the training split, so labels follow the class frequencies.
        case proportional
    }

    /// The labelled examples listed by position in the training split (e.g. a run's labelled.txt), checked against
    /// `labels`: in range, labelled, listed once. `source` names the list in errors.
    public init(given: [Int], labels: [Int32], includeLabelledInUnlabelled: Bool, source: String) throws {
        guard !given.isEmpty else { throw DataError(source, "lists no example; expected one training-split position per line") }
        var seen = Set<Int>()
        for (line, i) in given.enumerated() {
            guard labels.indices.contains(i) else {
                throw DataError(source, "line \(line + 1): \(i) is not a position in the training split (0 to \(labels.count - 1))")
            }
            guard labels[i] >= 0 else { throw DataError(source, "line \(line + 1): training example \(i) has no label") }
            guard seen.insert(i).inserted else { throw DataError(source, "line \(line + 1): training example \(i) is listed twice") }
        }
        labelled = given.sorted()
        unlabelled = Self.unlabelled(count: labels.count, labelled: labelled, including: includeLabelledInUnlabelled)
    }

    /// The unlabelled set: every example, or (not `including`) those not labelled.
    static func unlabelled(count: Int, labelled: [Int], including: Bool) -> [Int] {
        guard !including else { return Array(0..<count) }
        let set = Set(labelled)
        return (0..<count).filter { !set.contains($0) }
    }

    /// Training-split positions from a text file, one per line (blank lines and lines starting with # skipped).
    public static func readPositions(_ path: String) throws -> [Int] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DataError(path, "cannot be read as a text file of training-split positions")
        }
        var positions: [Int] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let i = Int(line) else {
                throw DataError(path, "line \(n + 1): '\(line.prefix(40))' is not a training-split position (a whole number)")
            }
            positions.append(i)
        }
        return positions
    }

    /// No labelled examples; all `count` examples unlabelled (M1, which ignores labels).
    public init(unlabelledOnly count: Int) {
        labelled = []
        unlabelled = Array(0..<count)
    }

    public init(labels: [Int32], classes: Int, perClass: Int?, total: Int?, includeLabelledInUnlabelled: Bool,
                seed: UInt64, sampling: Sampling = .stratified) throws {
        if sampling == .proportional {
            guard perClass == nil, let n = total else {
                throw DataError("--label-sampling", "proportional sampling takes --labels N (not --labels-per-class)")
            }
            let candidates = labels.indices.filter { labels[$0] >= 0 }
            guard n > 0, n <= candidates.count else {
                throw DataError("--labels", "\(n) must be between 1 and the \(candidates.count) labelled training examples")
            }
            var g = NoiseSource(seed: seed).generator(stream: .labelSplit, -2)
            labelled = g.permutation(candidates.count).prefix(n).map { candidates[$0] }.sorted()
            unlabelled = Self.unlabelled(count: labels.count, labelled: labelled, including: includeLabelledInUnlabelled)
            return
        }
        let byClass = indicesByClass(labels, classes: classes)
        let noise = NoiseSource(seed: seed)
        var quota = [Int](repeating: 0, count: classes)
        switch (perClass, total) {
        case (let n?, nil):
            guard n > 0 else { throw DataError("--labels-per-class", "\(n) must be positive") }
            quota = [Int](repeating: n, count: classes)
        case (nil, let n?):
            guard n > 0 else { throw DataError("--labels", "\(n) must be positive") }
            let labelledCount = labels.filter { $0 >= 0 }.count
            guard n <= labelledCount else { throw DataError("--labels", "\(n) exceeds the \(labelledCount) labelled training examples") }
            quota = [Int](repeating: n / classes, count: classes)
            var g = noise.generator(stream: .labelSplit, -1)
            for c in g.permutation(classes).prefix(n % classes) { quota[c] += 1 }
        case (nil, nil):
            throw DataError("--labels-per-class", "give --labels-per-class N or --labels N")
        default:
            throw DataError("--labels", "give either --labels-per-class or --labels, not both")
        }
        var chosen: [Int] = []
        for c in 0..<classes {
            let idx = byClass[c]
            guard quota[c] <= idx.count else {
                let flag = perClass != nil ? "--labels-per-class" : "--labels"
                throw DataError(flag, "class \(c) has only \(idx.count) training examples, \(quota[c]) labels requested")
            }
            var g = noise.generator(stream: .labelSplit, c)
            chosen += g.permutation(idx.count).prefix(quota[c]).map { idx[$0] }
        }
        labelled = chosen.sorted()
        unlabelled = Self.unlabelled(count: labels.count, labelled: labelled, including: includeLabelledInUnlabelled)
    }
}
