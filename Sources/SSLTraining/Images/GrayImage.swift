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

/// Cells of `cellHeight × cellWidth` in a grid, separated and framed by `pad` gray pixels.
public struct ImageGrid {
    public let rows: Int, cols: Int, cellHeight: Int, cellWidth: Int, pad: Int
    public var image: GrayImage

    public init(rows: Int, cols: Int, cellHeight: Int, cellWidth: Int, pad: Int = 2) {
        self.rows = rows; self.cols = cols; self.cellHeight = cellHeight; self.cellWidth = cellWidth; self.pad = pad
        image = GrayImage(width: cols * (cellWidth + pad) + pad, height: rows * (cellHeight + pad) + pad, fill: 96)
    }

    /// The pixel value for a Bernoulli mean in [0, 1].
    public static func pixel(_ p: Float) -> UInt8 { UInt8((max(0, min(1, p)) * 255).rounded()) }

    /// Draws values in [0, 1] (row-major cellHeight × cellWidth) into cell (r, c).
    public mutating func draw(_ values: UnsafePointer<Float>, row r: Int, col c: Int) {
        let x0 = pad + c * (cellWidth + pad), y0 = pad + r * (cellHeight + pad)
        for y in 0..<cellHeight {
            for x in 0..<cellWidth {
                image.pixels[(y0 + y) * image.width + x0 + x] = Self.pixel(values[y * cellWidth + x])
            }
        }
    }

    /// The pixel at (x, y) of cell (r, c).
    public func pixel(row r: Int, col c: Int, x: Int, y: Int) -> UInt8 {
        image.pixels[(pad + r * (cellHeight + pad) + y) * image.width + pad + c * (cellWidth + pad) + x]
    }
}

/// Image side for a model over D features: √D when D is a square (28 for MNIST, 8 for the digits).
public func squareImageSide(_ d: Int) -> Int? {
    let s = Int(Double(d).squareRoot().rounded())
    return s * s == d ? s : nil
}
