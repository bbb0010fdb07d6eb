import Foundation
import SSLCore
import SSLData

/// A setting's value as given on the command line or in a config file.
public enum SettingValue: Equatable {
    case int(Int), double(Double), string(String), bool(Bool), ints([Int])
}

/// The kind of value a setting takes, as messages name it.
public enum SettingKind: String { case int = "an integer", double = "a number", string = "a string", bool = "true or false", ints = "a list of integers" }

/// A problem with a setting, naming where it came from (a flag, or a config file's key and line).
public struct SettingError: Error, CustomStringConvertible {
    public let place: String
    public let problem: String
    public var description: String { "\(place): \(problem)" }
}

/// A given setting: its name, value and where it came from ("--lr", "run.toml line 3").
public typealias GivenSetting = (name: String, value: SettingValue, place: String)

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

/// Any training setting, whatever the type of its value: what the parser, the TOML reader, `--help`, the resume
/// rule and the checkpoint's JSON need of a declaration.
public protocol AnySetting {
    var name: String { get }
    var kind: SettingKind { get }
    /// The help, with the choices and "0: off" where they apply.
    var help: String { get }
    var harmlessOnResume: Bool { get }
    func get(_ c: TrainConfig) -> SettingValue?
    func set(_ c: inout TrainConfig, _ v: SettingValue) throws
    /// Sets this setting to its cleared value (`SettingType.cleared`, else its default).
    func clear(_ c: inout TrainConfig)
    func encode(_ c: TrainConfig, into container: inout KeyedEncodingContainer<SettingKey>, key: SettingKey) throws
    func decode(_ container: KeyedDecodingContainer<SettingKey>, key: SettingKey, into c: inout TrainConfig) throws
}

/// A JSON key of a config: a setting's Swift name (snake_case in checkpoints).
public struct SettingKey: CodingKey {
    public let stringValue: String
    public init(stringValue: String) { self.stringValue = stringValue }
    public var intValue: Int? { nil }
    public init?(intValue: Int) { nil }
}

/// One training setting, declared once in `TrainSettings`: its flag (without "--", also the TOML key), its default
/// (before a model's recipe), its help, the range of a given value, the settings it replaces when given (the other ways
/// of saying the same thing), and whether it may differ from a checkpoint's on resume. Its Swift name in
/// `TrainSettings` is how code reads it (`config.vat`) and its key in config.json and checkpoints.
public struct Setting<Value: SettingType>: AnySetting {
    public let name: String
    public let defaultValue: Value
    let text: String
    /// May differ from the checkpoint's on resume (it does not change what is computed).
    public let harmlessOnResume: Bool
    let check: SettingCheck?
    /// A given 0 sets the value to nil: turns off what a recipe turned on.
    let zeroIsOff: Bool
    let replaces: [String]

    public init(_ name: String, _ defaultValue: Value, check: SettingCheck? = nil, replaces: [String] = [], resume: Bool = false,
                _ help: String) {
        self.name = name; self.defaultValue = defaultValue; text = help; harmlessOnResume = resume; self.check = check
        zeroIsOff = false; self.replaces = replaces
    }

    public var kind: SettingKind { Value.kind }
    public var help: String { text + (zeroIsOff ? " (0: off)" : "") + (Value.choices.map { " (\($0))" } ?? "") }

    public func get(_ c: TrainConfig) -> SettingValue? { c[self].setting }

    public func set(_ c: inout TrainConfig, _ v: SettingValue) throws {
        if zeroIsOff, SettingChecks.number(v) == 0, let off = Value.cleared { c[self] = off; return }
        if let problem = check?(v) { throw SettingError(place: name, problem: problem) }
        guard let value = Value(setting: v) else { throw SettingError(place: name, problem: Value.problem(with: v)) }
        for other in replaces { TrainSettings.named(other)?.clear(&c) }
        c[self] = value
    }

    public func clear(_ c: inout TrainConfig) { c[self] = Value.cleared ?? defaultValue }

    public func encode(_ c: TrainConfig, into container: inout KeyedEncodingContainer<SettingKey>, key: SettingKey) throws {
        if c[self].setting != nil { try container.encode(c[self], forKey: key) }
    }

    public func decode(_ container: KeyedDecodingContainer<SettingKey>, key: SettingKey, into c: inout TrainConfig) throws {
        c[self] = try container.decode(Value.self, forKey: key)
    }
}

public extension Setting where Value: ExpressibleByNilLiteral {
    /// An optional setting; with `zeroIsOff`, a given 0 unsets it.
    init(_ name: String, _ defaultValue: Value, zeroIsOff: Bool, check: SettingCheck? = nil, resume: Bool = false, _ help: String) {
        self.name = name; self.defaultValue = defaultValue; text = help; harmlessOnResume = resume; self.check = check
        self.zeroIsOff = zeroIsOff; replaces = []
    }
}
