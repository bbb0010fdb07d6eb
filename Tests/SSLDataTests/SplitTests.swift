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
}
