import SSLTraining
import XCTest

/// The projection of `bench --distributed` (`ScalingProjection`): its allreduce model against hand-computed values, and
/// what must hold of any projection (communication hidden up to the window, never faster than p ranks).
final class ScalingProjectionTests: XCTestCase {
    let link = ScalingProjection.Network(name: "test", bytesPerSecond: 1e9, latency: 1e-5)

    func testRingAllreduceTime() {
        // 2(p−1)/p·B/β + k·2(p−1)·α: p 4, 8 MB, 1 GB/s, 3 buckets of 10 µs: 12 ms + 180 µs.
        XCTAssertEqual(ScalingProjection.allreduceSeconds(bytes: 8_000_000, buckets: 3, ranks: 4, network: link, algorithm: .ring), 0.01218, accuracy: 1e-9)
        XCTAssertEqual(ScalingProjection.allreduceSeconds(bytes: 8_000_000, buckets: 3, ranks: 1, network: link, algorithm: .ring), 0)
    }

    /// The buckets' default, recursive doubling: log2 p rounds of the whole buffer (2 more when p is no power of 2);
    /// Rabenseifner: the ring's bytes in 2 log2 p rounds; and which one a run uses, from Open MPI's variable.
    func testRecursiveDoublingAndRabenseifnerTimes() {
        func t(_ p: Int, _ a: ScalingProjection.Algorithm) -> Double {
            ScalingProjection.allreduceSeconds(bytes: 8_000_000, buckets: 3, ranks: p, network: link, algorithm: a)
        }
        XCTAssertEqual(t(4, .recursiveDoubling), 2 * (0.008 + 3e-5), accuracy: 1e-12)
        XCTAssertEqual(t(6, .recursiveDoubling), 4 * (0.008 + 3e-5), accuracy: 1e-12)
        XCTAssertEqual(t(512, .recursiveDoubling), 9 * (0.008 + 3e-5), accuracy: 1e-12)
        let rabenseifner8: Double = 1.75 * 0.008 + 18 * 1e-5  // 2·7/8 of the bytes, 3 buckets × 2·3 rounds of latency
        XCTAssertEqual(t(8, .rabenseifner), rabenseifner8, accuracy: 1e-12)
        let ring8: Double = 1.75 * 0.008 + 3 * 2 * 7 * 1e-5  // the ring's formula at p 8
        XCTAssertEqual(t(8, .ring), ring8, accuracy: 1e-12)
        // Bytes alone (no latency): at 512 ranks recursive doubling moves 9/(2·511/512) = 4.5 times the ring's.
        let wire = ScalingProjection.Network(name: "no latency", bytesPerSecond: 1e9, latency: 0)
        let rd = ScalingProjection.allreduceSeconds(bytes: 8_000_000, buckets: 3, ranks: 512, network: wire, algorithm: .recursiveDoubling)
        let ring = ScalingProjection.allreduceSeconds(bytes: 8_000_000, buckets: 3, ranks: 512, network: wire, algorithm: .ring)
        XCTAssertEqual(rd / ring, 9 / (2 * 511.0 / 512), accuracy: 1e-9)
        XCTAssertEqual(ScalingProjection.Algorithm.inUse([:]), .recursiveDoubling)
        XCTAssertEqual(ScalingProjection.Algorithm.inUse(["OMPI_MCA_coll_libnbc_iallreduce_algorithm": "3"]), .rabenseifner)
        XCTAssertEqual(ScalingProjection.Algorithm.inUse(["OMPI_MCA_coll_libnbc_iallreduce_algorithm": "0"]), .ring)
    }

    func testCommunicationIsHiddenUpToTheWindowAndSpeedupNeverPassesTheRanks() {
        // 8 ranks: allreduce 2·7/8·4 MB/1 GB/s + 2·2·7·10 µs = 7.28 ms; a 5 ms window leaves 2.28 ms exposed.
        var p = ScalingProjection(computeSeconds: 0.050, windowSeconds: 0.005, gradientBytes: 4_000_000, buckets: 2,
                                  perRankBatch: 100, examples: 50_000, epochsToTarget: 10)
        p.algorithm = .ring
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
