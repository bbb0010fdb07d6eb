import Foundation
import SSLCore

/// Writes the final parameters as raw little-endian float32 in layout order; `parameters.json`
/// beside it lists each tensor's name, shape and offset.
func writeParameters(_ store: ParameterStore, to path: String) throws {
    let data = Data(bytes: store.values.pointer, count: store.values.count * MemoryLayout<Float>.size)
    try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try enc.encode(store.layout).write(to: URL(fileURLWithPath: path.replacingOccurrences(of: ".f32", with: ".json")), options: .atomic)
}
