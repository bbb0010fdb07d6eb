import CPNG
import Foundation

/// An 8-bit grayscale image, written and read as PNG with libpng.
public struct GrayImage: Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fill: UInt8 = 0) {
        self.width = width; self.height = height
        pixels = [UInt8](repeating: fill, count: width * height)
    }

    /// Writes PNG to `path`, or to standard output when `path` is "-".
    public func writePNG(to path: String) throws {
        var image = png_image()
        image.version = ssl_png_image_version()
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = ssl_png_format_gray()
        let ok = pixels.withUnsafeBytes { buf -> Int32 in
            path == "-" ? png_image_write_to_stdio(&image, stdout, 0, buf.baseAddress, 0, nil)
                        : png_image_write_to_file(&image, path, 0, buf.baseAddress, 0, nil)
        }
        defer { png_image_free(&image) }
        guard ok != 0 else {
            let message = withUnsafeBytes(of: image.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw ImageError(path: path, problem: "cannot write PNG: \(message)")
        }
        if path == "-" { fflush(stdout) }
    }

    /// Reads an 8-bit grayscale PNG (other formats are converted by libpng).
    public static func readPNG(_ path: String) throws -> GrayImage {
        var image = png_image()
        image.version = ssl_png_image_version()
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            let message = withUnsafeBytes(of: image.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw ImageError(path: path, problem: "not a readable PNG: \(message)")
        }
        image.format = ssl_png_format_gray()
        var out = GrayImage(width: Int(image.width), height: Int(image.height))
        let ok = out.pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard ok != 0 else { throw ImageError(path: path, problem: "PNG decoding failed") }
        return out
    }
}

public struct ImageError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "\(path): \(problem)" }
}

/// Image side for a model over D features: √D when D is a square (28 for MNIST, 8 for the digits).
public func squareImageSide(_ d: Int) -> Int? {
    let s = Int(Double(d).squareRoot().rounded())
    return s * s == d ? s : nil
}
