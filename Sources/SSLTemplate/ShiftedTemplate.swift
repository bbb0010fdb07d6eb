import Foundation
import SSLCore

// K images of H×W pixels, a face of H×w pixels at one of S = W − w + 1 horizontal shifts.

/// The translation-invariant template model: image k is a background B (H×W) with a face F (H×w) written over
/// columns d_k … d_k+w−1, at an unknown shift d_k with prior a, plus Gaussian noise of standard deviation s:
///   log p(X_k | d, F, B, s) = Σ_ij log N(X_k[i,j] | M^d[i,j], s²),  M^d = B with F at columns d…d+w−1.
/// Fitted by EM: the E-step is q(d_k) ∝ p(X_k | d_k)·a[d_k] (in log space), the bound
///   L = Σ_k E_q[log p(X_k|d_k) + log a[d_k] − log q(d_k)]
/// (equal to log p(X) right after an E-step), and the M-step updates a, F, B, s in that order from sufficient
/// statistics that are sums over images, so a distributed run sums them across ranks in one allreduce.
public struct ShiftedTemplate: Equatable {
    public var face: [Double]        // H×w
    public var background: [Double]  // H×W
    public var prior: [Double]       // S
    public var sigma: Double
    public let height: Int, width: Int, faceWidth: Int
    public var shifts: Int { width - faceWidth + 1 }

    public init(face: [Double], background: [Double], prior: [Double], sigma: Double, height: Int, width: Int, faceWidth: Int) {
        precondition(face.count == height * faceWidth && background.count == height * width && prior.count == width - faceWidth + 1)
        self.face = face; self.background = background; self.prior = prior; self.sigma = sigma
        self.height = height; self.width = width; self.faceWidth = faceWidth
    }

    /// The mean image M^d at shift d, pixel (i, j).
    @inline(__always) func mean(_ d: Int, _ i: Int, _ j: Int) -> Double {
        j >= d && j < d + faceWidth ? face[i * faceWidth + j - d] : background[i * width + j]
    }

    /// log p(X_k | d) for every shift d of one image `x` (H×W, row-major), into `out` (S).
    public func logLikelihoods(_ x: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        let n = Double(height * width), s2 = sigma * sigma
        let constant = -0.5 * n * Foundation.log(2 * Double.pi * s2)
        // Σ over the pixels outside the face differs between shifts only by the face's columns.
        var backgroundTerm = [Double](repeating: 0, count: width)  // per column j: Σ_i (x − B)²
        for j in 0..<width { for i in 0..<height { let e = x[i * width + j] - background[i * width + j]; backgroundTerm[j] += e * e } }
        let total = backgroundTerm.reduce(0, +)
        for d in 0..<shifts {
            var sq = total
            for m in 0..<faceWidth {
                sq -= backgroundTerm[d + m]
                for i in 0..<height { let e = x[i * width + d + m] - face[i * faceWidth + m]; sq += e * e }
            }
            out[d] = constant - sq / (2 * s2)
        }
    }

    /// The E-step for one image: q(d) ∝ exp(logp[d])·a[d] into `q`; returns the image's term of the bound,
    /// Σ_d q (logp + log a − log q) = log Σ_d a[d]·p(X|d).
    public func posterior(logLikelihoods lp: UnsafePointer<Double>, into q: UnsafeMutablePointer<Double>) -> Double {
        var m = -Double.infinity
        for d in 0..<shifts { q[d] = lp[d] + Foundation.log(prior[d]); m = max(m, q[d]) }
        var sum = 0.0
        for d in 0..<shifts { q[d] = Foundation.exp(q[d] - m); sum += q[d] }
        for d in 0..<shifts { q[d] /= sum }
        return m + Foundation.log(sum)
    }

    /// The bound Σ_k Σ_d q (logp + log a − log q) for a given q (S×K, one column per image) and log-likelihoods
    /// (S×K), with 0·log 0 = 0.
    public func bound(q: [Double], logLikelihoods lp: [Double], images k: Int) -> Double {
        var l = 0.0
        for d in 0..<shifts {
            for n in 0..<k where q[d * k + n] > 0 {
                l += q[d * k + n] * (lp[d * k + n] + Foundation.log(prior[d]) - Foundation.log(q[d * k + n]))
            }
        }
        return l
    }

    // MARK: - Sufficient statistics

    /// The sums over images the M-step needs, in one buffer (so ranks sum them in one allreduce):
    /// Σ_k q(d) (S) | Σ_k Σ_d q X_k[i, m+d] (H×w) | Σ_k (1 − Σ_{d covers j} q) X_k[i,j] (H×W) |
    /// Σ_k Σ_{d not covering j} q (W) | Σ_k Σ_ij X_k² | images | the bound.
    public struct Statistics {
        public let shifts: Int, height: Int, width: Int, faceWidth: Int
        public var values: [Double]
        public init(shifts: Int, height: Int, width: Int, faceWidth: Int) {
            self.shifts = shifts; self.height = height; self.width = width; self.faceWidth = faceWidth
            values = [Double](repeating: 0, count: shifts + height * faceWidth + height * width + width + 3)
        }
        var faceOffset: Int { shifts }
        var backgroundOffset: Int { faceOffset + height * faceWidth }
        var coverOffset: Int { backgroundOffset + height * width }
        public var sumSquares: Double { get { values[coverOffset + width] } set { values[coverOffset + width] = newValue } }
        public var images: Double { get { values[coverOffset + width + 1] } set { values[coverOffset + width + 1] = newValue } }
        public var bound: Double { get { values[coverOffset + width + 2] } set { values[coverOffset + width + 2] = newValue } }
    }

    /// Adds one image `x` with posterior `q` (S) to `stats`.
    public func accumulate(_ x: UnsafePointer<Double>, q: UnsafePointer<Double>, into st: inout Statistics) {
        let h = height, w = width, fw = faceWidth
        let faceOffset = st.faceOffset, backgroundOffset = st.backgroundOffset, coverOffset = st.coverOffset
        st.values.withUnsafeMutableBufferPointer { v in
            for d in 0..<shifts { v[d] += q[d] }
            // Probability that column j is covered by the face.
            var covered = [Double](repeating: 0, count: w)
            for d in 0..<shifts { for m in 0..<fw { covered[d + m] += q[d] } }
            for i in 0..<h {
                for d in 0..<shifts where q[d] > 0 {
                    for m in 0..<fw { v[faceOffset + i * fw + m] += q[d] * x[i * w + d + m] }
                }
                for j in 0..<w { v[backgroundOffset + i * w + j] += (1 - covered[j]) * x[i * w + j] }
            }
            for j in 0..<w { v[coverOffset + j] += 1 - covered[j] }
            var sq = 0.0
            for p in 0..<(h * w) { sq += x[p] * x[p] }
            v[coverOffset + w] += sq
            v[coverOffset + w + 1] += 1
        }
    }

    /// The M-step from statistics summed over every image: a, F, B, then s with the new F and B. A background pixel
    /// that no shift leaves uncovered keeps its value (the data say nothing about it).
    public mutating func maximize(_ st: Statistics) {
        let k = st.images, h = height, w = width, fw = faceWidth, v = st.values
        for d in 0..<shifts { prior[d] = v[d] / k }
        for p in 0..<(h * fw) { face[p] = v[st.faceOffset + p] / k }
        for i in 0..<h {
            for j in 0..<w where v[st.coverOffset + j] > 1e-300 {
                background[i * w + j] = v[st.backgroundOffset + i * w + j] / v[st.coverOffset + j]
            }
        }
        // Σ_k Σ_d q Σ_ij (X − M^d)² = Σ X² − 2(Σ B·B-num + Σ F·F-num) + Σ B²·uncovered + K·Σ F².
        var cross = 0.0, squares = 0.0
        for i in 0..<h {
            for j in 0..<w {
                let b = background[i * w + j]
                cross += b * v[st.backgroundOffset + i * w + j]
                squares += b * b * v[st.coverOffset + j]
            }
            for m in 0..<fw { let f = face[i * fw + m]; cross += f * v[st.faceOffset + i * fw + m]; squares += k * f * f }
        }
        sigma = (max(st.sumSquares - 2 * cross + squares, 0) / (Double(h * w) * k)).squareRoot()
    }
}
