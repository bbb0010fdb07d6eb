import Foundation
import SSLCore
import SSLData

/// A problem with a setting, naming where it came from (a flag, or a config file's key and line).
public struct SettingError: Error, CustomStringConvertible {
    public let place: String
    public let problem: String
    public var description: String { "\(place): \(problem)" }
}

/// A given setting: its name, value and where it came from ("--lr", "run.toml line 3").
public typealias GivenSetting = (name: String, value: SettingValue, place: String)

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
