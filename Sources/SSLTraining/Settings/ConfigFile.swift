import Foundation
import TOMLKit

/// Training settings in a TOML file: the same names as the command-line flags, at the top level, e.g.
///
///     model = "adgm"
///     labels-per-class = 10
///     hidden = [500, 500]
///     lr = 3e-4
///
/// Command-line flags override the file. Unknown keys, wrong types and TOML syntax errors are errors
/// that name the file, the line and the key.
public enum ConfigFile {
    public static func read(_ path: String) throws -> [(name: String, value: SettingValue, place: String)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingError(place: path, problem: "cannot read the config file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> [(name: String, value: SettingValue, place: String)] {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw SettingError(place: "\(file) line \(e.source.begin.line), column \(e.source.begin.column)", problem: "invalid TOML: \(e.description)")
        }
        let lines = text.components(separatedBy: "\n")
        func line(of key: String) -> Int {
            for (i, l) in lines.enumerated() {
                let t = l.trimmingCharacters(in: .whitespaces)
                for form in [key, "\"\(key)\"", "'\(key)'"] where t.hasPrefix(form) {
                    let rest = t.dropFirst(form.count).trimmingCharacters(in: .whitespaces)
                    if rest.hasPrefix("=") || t.hasPrefix("[\(key)]") { return i + 1 }
                }
                if t == "[\(key)]" { return i + 1 }
            }
            return 0
        }
        var out: [(name: String, value: SettingValue, place: String)] = []
        // In the order the keys appear in the file.
        for key in table.keys.sorted(by: { line(of: $0) < line(of: $1) }) {
            let place = "\(file) line \(line(of: key))"
            guard let setting = TrainSettings.named(key) else {
                let names = TrainSettings.all.map(\.name).joined(separator: ", ")
                throw SettingError(place: place, problem: "unknown key '\(key)'; the keys are the train flags: \(names)")
            }
            let v = table[key]!
            let value: SettingValue?
            switch v.type {
            case .int: value = v.int.map { .int($0) }
            case .double: value = v.double.map { .double($0) }
            case .string: value = v.string.map { .string($0) }
            case .bool: value = v.bool.map { .bool($0) }
            case .array:
                let items = v.array.map { Array($0) } ?? []
                let ints = items.compactMap { $0.int }
                value = ints.count == items.count && !items.isEmpty ? .ints(ints) : nil
            default: value = nil
            }
            guard let value, TrainSettings.fits(value, setting.kind) else {
                throw SettingError(place: place, problem: "'\(key)' should be \(setting.kind.rawValue), got \(v.type)")
            }
            out.append((key, value, place))
        }
        return out
    }

    /// Every setting of `config` as TOML, in a fixed order; settings left to their defaults that have no
    /// value (e.g. the run directory) are written as comments. Reading the output back gives `config`.
    public static func toml(_ config: TrainConfig) -> String {
        var lines = ["# ssl-dist training configuration (ssl-dist train --config FILE; flags override it)"]
        for s in TrainSettings.all {
            guard let v = s.get(config) else { lines.append("# \(s.name) = (not set)"); continue }
            lines.append("\(s.name) = \(literal(v))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func literal(_ v: SettingValue) -> String {
        switch v {
        case .int(let i): return String(i)
        case .double(let d):
            let s = "\(d)"
            return s.contains(".") || s.contains("e") || s.contains("n") || s.contains("i") ? s : s + ".0"
        case .bool(let b): return b ? "true" : "false"
        case .ints(let a): return "[" + a.map(String.init).joined(separator: ", ") + "]"
        case .string(let s):
            let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\""
        }
    }
}
