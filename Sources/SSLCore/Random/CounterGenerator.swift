import CKernels
import Foundation

/// A sequential view over a Philox counter range (for shuffles).
public struct CounterGenerator: RandomNumberGenerator {
    let philox: Philox
    let c1: UInt32, c2: UInt32, c3: UInt32
    var block: UInt32 = 0

    public mutating func next() -> UInt64 {
        let (a, b, _, _) = philox.block(block, c1, c2, c3)
        block &+= 1
        return UInt64(a) << 32 | UInt64(b)
    }

    public mutating func nextDouble() -> Double {
        let (a, b, _, _) = philox.block(block, c1, c2, c3)
        block &+= 1
        return unitDouble(a, b)
    }

    /// Uniform integer in 0..<n (Lemire's unbiased method via the stdlib).
    public mutating func nextInt(_ n: Int) -> Int { Int.random(in: 0..<n, using: &self) }

    /// A seeded Fisher–Yates permutation of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = nextInt(i + 1)
            p.swapAt(i, j)
        }
        return p
    }
}
