import Foundation
import SSLCore
import SSLData

/// A setting's value as given on the command line or in a config file.
public enum SettingValue: Equatable {
    case int(Int), double(Double), string(String), bool(Bool), ints([Int])
}

/// The kind of value a setting takes, as messages name it.
public enum SettingKind: String { case int = "an integer", double = "a number", string = "a string", bool = "true or false", ints = "a list of integers" }

/// A type a setting can hold: how a flag's or TOML key's value reads into it and back.
public protocol SettingType: Codable, Hashable {
    static var kind: SettingKind { get }
    /// The value `v` stands for; nil when it stands for none (`problem(with:)` says why).
    init?(setting v: SettingValue)
    /// The value as a flag or TOML key gives it; nil: unset.
    var setting: SettingValue? { get }
    /// What is wrong with `v` when `init?(setting:)` refused it.
    static func problem(with v: SettingValue) -> String
    /// The value a replaced setting takes (`Setting.replaces`); nil: its default.
    static var cleared: Self? { get }
    /// Appended to the help: the choices of a closed set of values.
    static var choices: String? { get }
}

public extension SettingType {
    static func problem(with v: SettingValue) -> String { "should be \(kind.rawValue)" }
    static var cleared: Self? { nil }
    static var choices: String? { nil }
}

extension Int: SettingType {
    public static var kind: SettingKind { .int }
    public init?(setting v: SettingValue) { guard case .int(let i) = v else { return nil }; self = i }
    public var setting: SettingValue? { .int(self) }
}

extension UInt64: SettingType {
    public static var kind: SettingKind { .int }
    public init?(setting v: SettingValue) { guard case .int(let i) = v, i >= 0 else { return nil }; self = UInt64(i) }
    public var setting: SettingValue? { .int(Int(truncatingIfNeeded: self)) }
    public static func problem(with v: SettingValue) -> String { "should be 0 or more" }
}

extension Double: SettingType {
    public static var kind: SettingKind { .double }
    public init?(setting v: SettingValue) {
        switch v { case .int(let i): self = Double(i); case .double(let d): self = d; default: return nil }
    }
    public var setting: SettingValue? { .double(self) }
}

extension Float: SettingType {
    public static var kind: SettingKind { .double }
    public init?(setting v: SettingValue) { guard let d = Double(setting: v) else { return nil }; self = Float(d) }
    /// As the Float's shortest decimal form (3e-4, not 0.000300000014...).
    public var setting: SettingValue? { .double(Double("\(self)") ?? Double(self)) }
}

extension String: SettingType {
    public static var kind: SettingKind { .string }
    public init?(setting v: SettingValue) { guard case .string(let s) = v else { return nil }; self = s }
    public var setting: SettingValue? { .string(self) }
}

extension Bool: SettingType {
    public static var kind: SettingKind { .bool }
    public init?(setting v: SettingValue) { guard case .bool(let b) = v else { return nil }; self = b }
    public var setting: SettingValue? { .bool(self) }
}

extension Array: SettingType where Element == Int {
    public static var kind: SettingKind { .ints }
    public init?(setting v: SettingValue) { guard case .ints(let a) = v else { return nil }; self = a }
    public var setting: SettingValue? { .ints(self) }
}

/// An optional setting: unset (nil) is its own value, and a replaced one becomes unset.
extension Optional: SettingType where Wrapped: SettingType {
    public static var kind: SettingKind { Wrapped.kind }
    public init?(setting v: SettingValue) { guard let w = Wrapped(setting: v) else { return nil }; self = .some(w) }
    public var setting: SettingValue? { self?.setting }
    public static func problem(with v: SettingValue) -> String { Wrapped.problem(with: v) }
    public static var cleared: Self? { .some(nil) }
    public static var choices: String? { Wrapped.choices }
}

/// A closed set of values named by strings (models, schedules, ...): the help lists them, a wrong one is named.
public protocol SettingChoice: SettingType, RawRepresentable, CaseIterable where RawValue == String {}

public extension SettingChoice {
    static var kind: SettingKind { .string }
    init?(setting v: SettingValue) { guard case .string(let s) = v, let e = Self(rawValue: s) else { return nil }; self = e }
    var setting: SettingValue? { .string(rawValue) }
    static func problem(with v: SettingValue) -> String { "should be one of \(allCases.map(\.rawValue).joined(separator: ", "))" }
    static var choices: String? { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension ModelKind: SettingChoice {}
extension Activation: SettingChoice {}
extension Likelihood: SettingChoice {}
extension WeightInit: SettingChoice {}
extension LabelSplit.Sampling: SettingChoice {}

extension LabelColumn: SettingType {
    public static var kind: SettingKind { .string }
    public init?(setting v: SettingValue) { guard case .string(let s) = v, let c = LabelColumn(rawValue: s) else { return nil }; self = c }
    public var setting: SettingValue? { .string(rawValue) }
    public static func problem(with v: SettingValue) -> String {
        guard case .string(let s) = v else { return "should be \(kind.rawValue)" }
        return "'\(s)' should be first, last, a column number from 1, or a header name"
    }
}
