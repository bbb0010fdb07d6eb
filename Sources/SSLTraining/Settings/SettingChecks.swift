import Foundation
import SSLCore
import SSLData

/// A given value's own range: nil when it is allowed, else what is wrong ("-1.0 must be positive").
public typealias SettingCheck = (SettingValue) -> String?

public enum SettingChecks {
    static func number(_ v: SettingValue) -> Double? {
        switch v { case .int(let i): return Double(i); case .double(let d): return d; default: return nil }
    }
    static func bound(_ text: String, _ ok: @escaping (Double) -> Bool) -> SettingCheck {
        { v in
            guard let d = number(v), !ok(d) else { return nil }
            if case .int(let i) = v { return "\(i) \(text)" }
            return "\(d) \(text)"
        }
    }
    public static let positive = bound("must be positive") { $0 > 0 }
    public static let notNegative = bound("must be 0 or more") { $0 >= 0 }
    public static func within(_ text: String, _ ok: @escaping (Double) -> Bool) -> SettingCheck { bound("must be in \(text)", ok) }
    /// Layer sizes: at least one, each positive.
    public static let sizes: SettingCheck = { v in
        guard case .ints(let h) = v, h.isEmpty || h.contains(where: { $0 <= 0 }) else { return nil }
        return "\(h) must be positive sizes, e.g. 500,500"
    }
    public static func atLeast(_ m: Int) -> SettingCheck {
        { v in if case .int(let i) = v, i < m { return "\(i) must be at least \(m)" }; return nil }
    }
}
