import Foundation
import SSLData
import XCTest

/// Label split, held-out splits and the global batch sampler.
final class SplitTests: XCTestCase {
    /// 10 classes × 30 examples, labels interleaved.
    func labels(_ k: Int = 10, perClass: Int = 30) -> [Int32] { (0..<(k * perClass)).map { Int32($0 % k) } }

    func testLabelSplitBalancedDeterministicAndSeeded() throws {
        let y = labels()
        let a = try LabelSplit(labels: y, classes: 10, perClass: 3, total: nil, includeLabelledInUnlabelled: true, seed: 7)
        let b = try LabelSplit(labels: y, classes: 10, perClass: 3, total: nil, includeLabelledInUnlabelled: true, seed: 7)
        let c = try LabelSplit(labels: y, classes: 10, perClass: 3, total: nil, includeLabelledInUnlabelled: true, seed: 8)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.labelled, c.labelled)
        XCTAssertEqual(a.labelled.count, 30)
        var perClass = [Int](repeating: 0, count: 10)
        for i in a.labelled { perClass[Int(y[i])] += 1 }
        XCTAssertEqual(perClass, [Int](repeating: 3, count: 10))
        XCTAssertEqual(Set(a.labelled).count, 30)
        XCTAssertEqual(a.unlabelled.count, y.count)
    }

    func testLabelSplitExcludingLabelledAndTotal() throws {
        let y = labels()
        let s = try LabelSplit(labels: y, classes: 10, perClass: nil, total: 25, includeLabelledInUnlabelled: false, seed: 1)
        XCTAssertEqual(s.labelled.count, 25)
        XCTAssertTrue(Set(s.labelled).isDisjoint(with: s.unlabelled))
        XCTAssertEqual(s.labelled.count + s.unlabelled.count, y.count)
        var perClass = [Int](repeating: 0, count: 10)
        for i in s.labelled { perClass[Int(y[i])] += 1 }
        XCTAssertEqual(perClass.max()! - perClass.min()!, 1)
    }

    func testLabelSplitErrorsNameTheFlag() {
        XCTAssertThrowsError(try LabelSplit(labels: labels(), classes: 10, perClass: 31, total: nil, includeLabelledInUnlabelled: true, seed: 1)) {
            XCTAssertEqual(($0 as? DataError)?.file, "--labels-per-class")
        }
        XCTAssertThrowsError(try LabelSplit(labels: labels(), classes: 10, perClass: 1, total: 5, includeLabelledInUnlabelled: true, seed: 1)) {
            XCTAssertEqual(($0 as? DataError)?.file, "--labels")
        }
    }

    func testStratifiedHeldOutSplitsAreDisjointAndSeeded() throws {
        let dir = NSTemporaryDirectory() + "ssl-split-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var csv = ""
        for i in 0..<200 { csv += "\(i),\(i % 7),\(i % 4)\n" }  // feature 0 identifies the row
        let path = "\(dir)/d.csv"
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        let spec = try DataSpec(parsing: "csv:\(path)")
        let s = try DataSplits.make(spec, SplitOptions(validationFraction: 0.1, testFraction: 0.2, seed: 3))
        XCTAssertEqual(s.test.count, 40); XCTAssertEqual(s.validation.count, 16); XCTAssertEqual(s.train.count, 144)
        func ids(_ d: Dataset) -> Set<Int> { Set((0..<d.count).map { Int((d.features[$0 * 2] * s.scale).rounded()) }) }
        XCTAssertTrue(ids(s.train).isDisjoint(with: ids(s.test)))
        XCTAssertTrue(ids(s.train).isDisjoint(with: ids(s.validation)))
        XCTAssertTrue(ids(s.validation).isDisjoint(with: ids(s.test)))
        XCTAssertEqual(ids(s.train).count + ids(s.validation).count + ids(s.test).count, 200)
        XCTAssertEqual(s.scale, Float(ids(s.train).max()!))  // the training split's maximum
        XCTAssertEqual(s.train.maxFeature, 1)
        for c in 0..<4 { XCTAssertEqual(s.test.labels.filter { $0 == c }.count, 10) }  // stratified
        let again = try DataSplits.make(spec, SplitOptions(validationFraction: 0.1, testFraction: 0.2, seed: 3))
        XCTAssertEqual(again.test.features, s.test.features)
        let other = try DataSplits.make(spec, SplitOptions(validationFraction: 0.1, testFraction: 0.2, seed: 4))
        XCTAssertNotEqual(other.test.features, s.test.features)
    }

    func testSamplerIsAPureFunctionOfStepAndCoversEachEpoch() {
        let s1 = GlobalBatchSampler(labelledCount: 7, unlabelledCount: 50, labelledBatch: 3, unlabelledBatch: 10, seed: 5)
        let s2 = GlobalBatchSampler(labelledCount: 7, unlabelledCount: 50, labelledBatch: 3, unlabelledBatch: 10, seed: 5)
        XCTAssertEqual(s1.stepsPerEpoch, 5)
        var seen: [Int] = []
        for step in 0..<5 { seen += s1.unlabelled(step: step, range: 0..<10) }
        XCTAssertEqual(Set(seen).count, 50, "one epoch visits every unlabelled example once")
        // Out-of-order queries (as on resume) give the same batches.
        XCTAssertEqual(s2.unlabelled(step: 7, range: 0..<10), s1.unlabelled(step: 7, range: 0..<10))
        XCTAssertEqual(s2.labelled(step: 11, range: 0..<3), s1.labelled(step: 11, range: 0..<3))
        XCTAssertNotEqual(s1.unlabelled(step: 5, range: 0..<10), s1.unlabelled(step: 0, range: 0..<10))
        // Labelled stream cycles through every labelled example.
        var lab: [Int] = []
        for step in 0..<7 { lab += s1.labelled(step: step, range: 0..<3) }
        XCTAssertEqual(Set(lab.prefix(7)).count, 7)
    }

    func testRankSlicesPartitionTheBatch() {
        for total in [0, 1, 7, 100] {
            for world in 1...5 {
                let parts = (0..<world).map { slice(total: total, rank: $0, world: world) }
                XCTAssertEqual(parts.map(\.count).reduce(0, +), total)
                XCTAssertLessThanOrEqual(parts.map(\.count).max()! - parts.map(\.count).min()!, 1)
                for i in 1..<world { XCTAssertEqual(parts[i - 1].upperBound, parts[i].lowerBound) }
            }
        }
    }

    /// The sharded order: every world size W ≤ S computes the same global batches (the union of the ranks' parts, as one
    /// rank takes it), a rank takes examples of its own shards only, an epoch visits every example but the last partial
    /// batch's once, the workspace bound holds, and a batch of a file sorted by class is not one class.
    func testShardedOrderIsTheSameForEveryWorldAndEachRankReadsOnlyItsShards() {
        for (count, batch, shards) in [(50, 10, 4), (103, 10, 8), (1000, 100, 256), (37, 5, 64)] {
            let one = GlobalBatchSampler(labelledCount: 5, unlabelledCount: count, labelledBatch: 2, unlabelledBatch: batch, seed: 9,
                                         shards: shards)
            let s = one.shards!
            XCTAssertEqual(s, min(shards, count))
            XCTAssertEqual(one.stepsPerEpoch, count / batch)
            var epoch: [Int] = []
            for t in 0..<one.stepsPerEpoch { epoch += one.unlabelled(step: t, rank: 0, world: 1) }
            XCTAssertEqual(Set(epoch).count, epoch.count, "an epoch visits no example twice")
            XCTAssertEqual(epoch.count, one.stepsPerEpoch * batch, "an epoch leaves out only the last partial batch")
            for world in [2, 3, 4].filter({ $0 <= s }) {
                let ranks = (0..<world).map { _ in
                    GlobalBatchSampler(labelledCount: 5, unlabelledCount: count, labelledBatch: 2, unlabelledBatch: batch, seed: 9,
                                       shards: shards)
                }
                let bound = one.mostUnlabelledPerRank(world: world)
                for t in [0, 1, one.stepsPerEpoch - 1, one.stepsPerEpoch, 3 * one.stepsPerEpoch + 1] {
                    let parts = ranks.indices.map { ranks[$0].unlabelled(step: t, rank: $0, world: world) }
                    XCTAssertEqual(parts.flatMap { $0 }.sorted(), one.unlabelled(step: t, rank: 0, world: 1).sorted(),
                                   "\(count)/\(batch)/\(shards), \(world) ranks, step \(t): the same global batch")
                    for (r, part) in parts.enumerated() {
                        XCTAssertTrue(Set(part).isSubset(of: ranks[r].unlabelledExamples(rank: r, world: world)),
                                      "rank \(r) reads its shards only")
                        XCTAssertLessThanOrEqual(part.count, bound)
                    }
                }
                // Each example belongs to exactly one rank.
                let owned = (0..<world).map { Set(one.unlabelledExamples(rank: $0, world: world)) }
                XCTAssertEqual(owned.map(\.count).reduce(0, +), count)
                XCTAssertEqual(owned.reduce(Set<Int>()) { $0.union($1) }.count, count)
            }
            // A new epoch reshuffles within the shards; the order is a pure function of the step.
            let again = GlobalBatchSampler(labelledCount: 5, unlabelledCount: count, labelledBatch: 2, unlabelledBatch: batch, seed: 9,
                                           shards: shards)
            XCTAssertEqual(again.unlabelled(step: one.stepsPerEpoch + 1, rank: 0, world: 1), one.unlabelled(step: one.stepsPerEpoch + 1, rank: 0, world: 1))
            if count / s > 1 {
                XCTAssertNotEqual(one.unlabelled(step: one.stepsPerEpoch, rank: 0, world: 1), one.unlabelled(step: 0, rank: 0, world: 1))
            }
        }
    }

    /// With W dividing S the ranks' parts of a batch differ by at most one example per round a batch spans; the
    /// batches of a file sorted into 10 classes each hold every class.
    func testShardedBatchesAreBalancedOverRanksAndSpreadOverTheFile() {
        let sampler = GlobalBatchSampler(labelledCount: 5, unlabelledCount: 50_000, labelledBatch: 2, unlabelledBatch: 100, seed: 1,
                                         shards: 256)
        for world in [2, 4, 8] { XCTAssertLessThanOrEqual(sampler.mostUnlabelledPerRank(world: world), 100 / world + 2, "\(world) ranks") }
        for t in [0, 7, 250, 499] {
            let classes = Set(sampler.unlabelled(step: t, rank: 0, world: 1).map { $0 / 5_000 })
            XCTAssertEqual(classes.count, 10, "step \(t): a batch of a class-sorted file holds every class")
        }
    }

    /// `keepOnly` moves the kept rows forward in their own buffer: the same examples, labels and file positions as a
    /// copy would hold, and the rows past the end given back.
    func testKeepOnlyEqualsASubsetInPlace() {
        let n = 5_000, d = 3
        let full = Dataset(features: (0..<(n * d)).map { Float($0) }, labels: (0..<n).map { Int32($0 % 7) }, dim: d, classes: 7, shape: [d])
        let kept = stride(from: 1, to: n, by: 3).map { $0 }
        var inPlace = full.subset(Array(0..<n))   // a dataset with file positions, as the readers' are after a split
        inPlace.keepOnly(kept)
        let copy = full.subset(kept)
        XCTAssertEqual(inPlace.features, copy.features); XCTAssertEqual(inPlace.labels, copy.labels)
        XCTAssertEqual(kept.indices.map(inPlace.position), kept)
        var again = inPlace
        again.keepOnly([0, 2])
        XCTAssertEqual(again.features, Array(copy.features[0..<3]) + Array(copy.features[6..<9]))
        XCTAssertEqual(again.position(1), kept[2])
    }

    /// A rank's copy of the training set keeps every label and the features of its own examples, at their places.
    func testKeepingFeaturesOfSomeExamples() {
        let d = Dataset(features: (0..<20).map(Float.init), labels: [0, 1, 0, 1, 0, 1, 0, 1, 0, 1], dim: 2, classes: 2, shape: [2])
        let kept = d.keepingFeatures(of: [1, 4, 7])
        XCTAssertEqual(kept.count, 10); XCTAssertEqual(kept.labels, d.labels)
        XCTAssertEqual(kept.features.count, 6)
        for i in [1, 4, 7] { XCTAssertEqual(kept.features[kept.offset(ofExample: i)], Float(2 * i)) }
        XCTAssertEqual(kept.subset([7, 1]).features, [14, 15, 2, 3])
    }
}
