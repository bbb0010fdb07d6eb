import SSLTraining
import XCTest

/// The projection of `bench --distributed` (`ScalingProjection`): its allreduce model against hand-computed values, and
/// what must hold of any projection (communication hidden up to the window, never faster than p ranks).
final class ScalingProjectionTests: XCTestCase {
    let link = ScalingProjection.Network(name: "test", bytesPerSecond: 1e9, latency: 1e-5)

    func testRingAllreduceTime() {
        // 2(p−1)/p·B/β + k·2(p−1)·α: p 4, 8 MB, 1 GB/s, 3 buckets of 10 µs: 12 ms + 180 µs.
        XCTAssertEqual(ScalingProjection.allreduceSeconds(bytes: 8_000_000, buckets: 3, ranks: 4, network: link), 0.01218, accuracy: 1e-9)
        XCTAssertEqual(ScalingProjection.allreduceSeconds(bytes: 8_000_000, buckets: 3, ranks: 1, network: link), 0)
    }

    func testCommunicationIsHiddenUpToTheWindowAndSpeedupNeverPassesTheRanks() {
        // 8 ranks: allreduce 2·7/8·4 MB/1 GB/s + 2·2·7·10 µs = 7.28 ms; a 5 ms window leaves 2.28 ms exposed.
        let p = ScalingProjection(computeSeconds: 0.050, windowSeconds: 0.005, gradientBytes: 4_000_000, buckets: 2,
                                  perRankBatch: 100, examples: 50_000, epochsToTarget: 10)
        let r = p.row(ranks: 8, network: link)
        XCTAssertEqual(r.allreduceSeconds, 0.00728, accuracy: 1e-9)
        XCTAssertEqual(r.stepSeconds, 0.05228, accuracy: 1e-9)
        // ⌈50000/800⌉ = 63 steps an epoch against 500 on one rank.
        XCTAssertEqual(r.secondsToTarget, 32.9364, accuracy: 1e-9)
        let one: Double = 10 * 500 * 0.05, eight: Double = 10 * 63 * 0.05228
        XCTAssertEqual(r.speedup, one / eight, accuracy: 1e-9)
        var slower = p
        slower.epochsAtScale = 20
        XCTAssertEqual(slower.row(ranks: 8, network: link).speedup, r.speedup / 2, accuracy: 1e-9, "twice the epochs at scale, half the gain")
        XCTAssertEqual(slower.row(ranks: 1, network: link).speedup, 1, accuracy: 1e-12)
        var wide = p
        wide.windowSeconds = 1
        for row in wide.rows(ranks: [2, 8, 64], networks: [link]) {
            XCTAssertEqual(row.stepSeconds, 0.05, "a window longer than the allreduce hides it all")
            XCTAssertLessThanOrEqual(row.speedup, Double(row.ranks) + 1e-9)
        }
    }
}
