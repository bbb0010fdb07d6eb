import CKernels
import Dispatch
import Foundation

/// This machine's own arithmetic peaks, measured now: independent FMA chains held in registers (no memory
/// traffic), on `threads` threads at once. The denominators of "share of peak" in `ssl-dist bench`: what the
/// hardware can do, not what a library's kernel for an older CPU reaches.
public struct MachinePeak {
    /// fp32 GFLOP/s: the better of the 256-bit (AVX2+FMA) and 512-bit (AVX-512F) FMA probes.
    public var fp32: Double
    /// Which FMA width gave `fp32`.
    public var fp32Width: Int
    /// bf16 GFLOP/s (fp32 accumulation): the better of vdpbf16ps (AVX512-BF16) and AMX's tile products
    /// (TDPBF16PS); nil when the CPU has neither.
    public var bf16: Double?
    /// Which unit gave `bf16`: "vdpbf16ps" or "AMX".
    public var bf16Unit: String?
    public var threads: Int

    /// Measures each probe for about `seconds` on `threads` threads.
    public static func measure(threads: Int, seconds: Double = 0.5) -> MachinePeak {
        var best = 0.0, width = 0
        for w in [256, 512] where ssl_peak_has_fp32(Int32(w)) != 0 {
            let r = rate(threads: threads, seconds: seconds) { n, sink in ssl_peak_fp32(Int32(w), n, sink) }
            if r > best { best = r; width = w }
        }
        var bf16: Double?, unit: String?
        if ssl_peak_has_bf16() != 0 {
            bf16 = rate(threads: threads, seconds: seconds) { ssl_peak_bf16($0, $1) }
            unit = "vdpbf16ps"
        }
        if ssl_peak_has_amx_bf16() != 0 {
            let amx = rate(threads: threads, seconds: seconds) { ssl_peak_amx_bf16($0, $1) }
            if amx > bf16 ?? 0 { bf16 = amx; unit = "AMX" }
        }
        return MachinePeak(fp32: best, fp32Width: width, bf16: bf16, bf16Unit: unit, threads: threads)
    }

    /// GFLOP/s of `probe` run on every thread at once: the slowest thread's time sets the rate.
    static func rate(threads: Int, seconds: Double, _ probe: @escaping @Sendable (Int64, UnsafeMutablePointer<Float>) -> Double) -> Double {
        // Calibrate the iteration count on one thread, then run all threads together.
        var sink: Float = 0
        var n: Int64 = 1 << 16
        while true {
            let t = Date()
            _ = probe(n, &sink)
            let dt = Date().timeIntervalSince(t)
            if dt > 0.05 { n = Int64(Double(n) * seconds / dt); break }
            n *= 4
        }
        let iterations = max(n, 1)
        let results = UnsafeMutablePointer<(Double, Double)>.allocate(capacity: threads)
        defer { results.deallocate() }
        // All threads start together (a barrier), so cores that share execution units (SMT siblings, a hypervisor's
        // vCPUs) show up as a lower total rate instead of hiding behind a staggered start.
        let ready = DispatchGroup(), go = DispatchSemaphore(value: 0), done = DispatchGroup()
        nonisolated(unsafe) let out = results  // each thread writes its own slot; read after `done`
        for i in 0..<threads {
            ready.enter(); done.enter()
            Thread.detachNewThread {
                ready.leave()
                go.wait()
                var s: Float = 0
                let flops = probe(iterations, &s)
                out[i] = (flops, Date().timeIntervalSinceReferenceDate)
                done.leave()
            }
        }
        ready.wait()
        let start = Date().timeIntervalSinceReferenceDate
        for _ in 0..<threads { go.signal() }
        done.wait()
        var flops = 0.0, slowest = 0.0
        for i in 0..<threads { flops += results[i].0; slowest = max(slowest, results[i].1 - start) }
        return flops / slowest / 1e9
    }
}
