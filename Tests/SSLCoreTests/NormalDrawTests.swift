import CKernels
import Foundation
import SSLCore
import XCTest

/// The Float normals (`NormalDraw.float`, `ssl_philox_normals`) against the Double Box–Muller they replace for new
/// runs, and against themselves on every instruction set.
final class NormalDrawTests: XCTestCase {
    /// Draws of both kinds for `examples` examples of `n` values each (n not a multiple of 4, to cover the last block).
    func draws(_ kind: NormalDraw, examples: Int, n: Int, replica: Int = 0) -> [Float] {
        let noise = NoiseSource(seed: 0x5EED_0000_0000_0042, normals: kind)
        var out = [Float](repeating: .nan, count: examples * n)
        out.withUnsafeMutableBufferPointer { p in
            for e in 0..<examples {
                noise.normals(step: 1_000_003 + e % 7, example: e, stream: .latentZ, population: .unlabelled, sub: e % 10,
                              replica: replica, into: p.baseAddress! + e * n, count: n)
            }
        }
        return out
    }

    /// Each value within 5e-7·(1 + |x|) of the Double formula's (a wrong quadrant, a swapped word or a lost block
    /// would miss by order 1), over 1.2 million draws reaching |x| > 5.
    func testFloatDrawsMatchTheDoubleBoxMuller() {
        for replica in [0, 3] {
            let f = draws(.float, examples: 12_000, n: 101, replica: replica)
            let d = draws(.double, examples: 12_000, n: 101, replica: replica)
            var worst: Float = 0, largest: Float = 0
            for i in f.indices {
                worst = max(worst, abs(f[i] - d[i]) / (1 + abs(d[i])))
                largest = max(largest, abs(d[i]))
            }
            print(String(format: "float vs double normals, replica %d: largest difference %.3g·(1 + |x|), largest |x| %.2f",
                         replica, worst, largest))
            XCTAssertLessThanOrEqual(worst, 5e-7)
            XCTAssertGreaterThan(largest, 5)
        }
    }

    /// The AVX-512, AVX2 and scalar paths give the same bits (paths this CPU lacks fall back to the best it has).
    func testEveryInstructionSetGivesTheSameBits() {
        let n = 4 * 1_000 + 3
        var byLevel: [[Float]] = []
        for level in [0, 1, 2] {
            var out = [Float](repeating: .nan, count: n)
            out.withUnsafeMutableBufferPointer {
                ssl_philox_normals(0x1234_5678, 0x9ABC_DEF0, 7 << 16, 11, 1_000_003, 0x0201_0005, $0.baseAddress!, Int64(n), Int32(level))
            }
            byLevel.append(out)
        }
        for level in [1, 2] {
            let differing = zip(byLevel[level], byLevel[0]).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(differing, 0, "level \(level) against scalar: \(differing) of \(n) values differ")
            XCTAssertFalse(byLevel[level].contains { !$0.isFinite })
        }
    }

    /// Mean, variance, and the tails of 1.2 million draws are those of N(0, 1).
    func testFloatDrawsAreStandardNormal() {
        let f = draws(.float, examples: 12_000, n: 101)
        let n = Double(f.count)
        let mean = f.reduce(0.0) { $0 + Double($1) } / n
        let variance = f.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        let beyond2 = Double(f.filter { abs($0) > 2 }.count) / n
        XCTAssertEqual(mean, 0, accuracy: 4 / n.squareRoot())
        XCTAssertEqual(variance, 1, accuracy: 6 * (2 / n).squareRoot())
        XCTAssertEqual(beyond2, 0.0455, accuracy: 0.001)
    }

    /// Model configs written before `normals` existed decode as `double` (so old checkpoints resume and evaluate with
    /// their draws); new ones are `float` and keep it through a round trip.
    func testConfigsWithoutTheFieldDrawInDouble() throws {
        var config = ModelConfig(kind: .m2, inputDim: 4, classes: 2, hidden: [3], latent: 2, auxiliary: 0, activation: .softplus,
                                 alpha: 1, evalSamples: 1)
        XCTAssertEqual(config.normals, .float)
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any])
        XCTAssertEqual(json["normals"] as? Int, 2)
        XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(config)).normals, .float)
        json["normals"] = nil
        config = try JSONDecoder().decode(ModelConfig.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(config.normals, .double)
        XCTAssertEqual(config.noise(seed: 5).normalDraw, .double)
    }
}
