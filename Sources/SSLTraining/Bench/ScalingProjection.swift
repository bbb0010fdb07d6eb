/// Time per step and to a target accuracy for p ranks, each with the measured per-rank batch (weak scaling: the
/// global batch grows with p), from what `bench --distributed` measured on this machine and a model of the allreduce:
///
///     allreduce(p) = the buckets' algorithm (`Algorithm`) on B bytes in k buckets, link β bytes/s, latency α:
///                    recursive doubling (ssl-dist's default)  r(p) · (B/β + k·α),  r = log2 p, ⌊log2 p⌋ + 2 if p is no power of 2
///                    ring                                     2(p−1)/p · B/β + k · 2(p−1) · α
///                    Rabenseifner                             2(p−1)/p · B/β + k · 2⌈log2 p⌉ · α
///     step(p)      = compute + max(0, allreduce(p) − window)  (window: backward left after the first bucket leaves)
///     epoch(p)     = ⌈N / (p · b)⌉ · step(p)                   (N unlabelled examples, b per rank)
///     to target    = E(p) · epoch(p)                           (E(p) epochs to the target accuracy at batch p·b)
///
/// E is an input: the epochs one rank's recipe needs (E(1)), and those it needs at the larger global batches of
/// p > 1 ranks (`epochsAtScale`, default E(1): accuracy per epoch assumed kept; m2 at 800 needs about twice as many).
public struct ScalingProjection {
    /// How each bucket's MPI_Iallreduce runs (Open MPI's libnbc, `OMPI_MCA_coll_libnbc_iallreduce_algorithm`).
    /// Recursive doubling sends every byte log2(p) times in log2(p) rounds: it hid the most at 4 and 8 emulated hosts
    /// (non-blocking rounds progress only inside MPI calls), but at 512 ranks it moves 4.5× the ring's bytes. The ring
    /// sends 2(p−1)/p of them in 2(p−1) rounds; Rabenseifner sends the ring's bytes in 2 log2(p) rounds.
    public enum Algorithm: String, Sendable, CaseIterable {
        case recursiveDoubling = "recursive doubling", ring, rabenseifner = "Rabenseifner"

        /// The algorithm a run of ssl-dist in this environment uses: the variable's value, or recursive doubling, which
        /// `MPICommunicator` sets when the variable is unset; libnbc's own choice ("0") and binomial are modelled as ring.
        public static func inUse(_ environment: [String: String]) -> Algorithm {
            switch environment["OMPI_MCA_coll_libnbc_iallreduce_algorithm"] {
            case nil, "4", "recursive_doubling": return .recursiveDoubling
            case "3", "rabenseifner": return .rabenseifner
            default: return .ring
            }
        }

        public var formula: String {
            switch self {
            case .recursiveDoubling: return "r(p) * (B/bandwidth + k * latency), r = log2 p (floor(log2 p) + 2 if p is no power of 2)"
            case .ring: return "2(p-1)/p * B/bandwidth + k * 2(p-1) * latency"
            case .rabenseifner: return "2(p-1)/p * B/bandwidth + k * 2 ceil(log2 p) * latency"
            }
        }
    }

    public struct Network: Sendable {
        public let name: String
        public let bytesPerSecond: Double
        public let latency: Double
        public init(name: String, bytesPerSecond: Double, latency: Double) {
            self.name = name; self.bytesPerSecond = bytesPerSecond; self.latency = latency
        }
        public static let standard: [Network] = [
            Network(name: "10 GbE", bytesPerSecond: 1.25e9, latency: 25e-6),
            Network(name: "25 GbE", bytesPerSecond: 3.125e9, latency: 25e-6),
            Network(name: "100 GbE", bytesPerSecond: 12.5e9, latency: 10e-6),
            Network(name: "IB 200 Gb/s", bytesPerSecond: 25e9, latency: 2e-6),
        ]
    }

    public struct Row {
        public let ranks: Int
        public let network: String
        public let allreduceSeconds: Double
        public let stepSeconds: Double
        public let secondsToTarget: Double
        /// One rank's time to the target (at its own batch b, E epochs) over this one's.
        public let speedup: Double
    }

    /// Per-rank compute seconds per step (forward, backward, update) at `perRankBatch` unlabelled examples.
    public var computeSeconds: Double
    public var windowSeconds: Double
    public var gradientBytes: Int
    public var buckets: Int
    public var perRankBatch: Int
    public var examples: Int
    public var epochsToTarget: Double
    /// Epochs to the target at the global batches of several ranks (nil: `epochsToTarget`).
    public var epochsAtScale: Double? = nil
    /// The buckets' allreduce algorithm (ssl-dist's default: recursive doubling).
    public var algorithm: Algorithm = .recursiveDoubling

    public init(computeSeconds: Double, windowSeconds: Double, gradientBytes: Int, buckets: Int, perRankBatch: Int, examples: Int,
                epochsToTarget: Double) {
        self.computeSeconds = computeSeconds; self.windowSeconds = windowSeconds; self.gradientBytes = gradientBytes
        self.buckets = buckets; self.perRankBatch = perRankBatch; self.examples = examples; self.epochsToTarget = epochsToTarget
    }

    public static func allreduceSeconds(bytes: Int, buckets k: Int, ranks p: Int, network n: Network,
                                        algorithm: Algorithm) -> Double {
        guard p > 1 else { return 0 }
        let transfer = Double(bytes) / n.bytesPerSecond, share = 2 * Double(p - 1) / Double(p)
        let log = Int.bitWidth - 1 - p.leadingZeroBitCount  // ⌊log2 p⌋
        let powerOfTwo = p & (p - 1) == 0
        switch algorithm {
        case .ring: return share * transfer + Double(k) * 2 * Double(p - 1) * n.latency
        case .recursiveDoubling: return Double(powerOfTwo ? log : log + 2) * (transfer + Double(k) * n.latency)
        case .rabenseifner: return share * transfer + Double(k) * 2 * Double(powerOfTwo ? log : log + 1) * n.latency
        }
    }

    func stepsPerEpoch(_ p: Int) -> Double { (Double(examples) / Double(p * perRankBatch)).rounded(.up) }

    public func row(ranks p: Int, network n: Network) -> Row {
        let a = Self.allreduceSeconds(bytes: gradientBytes, buckets: buckets, ranks: p, network: n, algorithm: algorithm)
        let step = computeSeconds + max(0, a - windowSeconds)
        let toTarget = (p > 1 ? epochsAtScale ?? epochsToTarget : epochsToTarget) * stepsPerEpoch(p) * step
        let one = epochsToTarget * stepsPerEpoch(1) * computeSeconds
        return Row(ranks: p, network: n.name, allreduceSeconds: a, stepSeconds: step, secondsToTarget: toTarget, speedup: one / toTarget)
    }

    public func rows(ranks: [Int] = [8, 64, 512], networks: [Network] = Network.standard) -> [Row] {
        ranks.flatMap { p in networks.map { row(ranks: p, network: $0) } }
    }
}
