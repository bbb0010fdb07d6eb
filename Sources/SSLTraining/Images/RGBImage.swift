import CPNG
import Foundation

/// An 8-bit RGB image, written and read as PNG with libpng (class maps).
public struct RGBImage: Equatable {
    public let width: Int
    public let height: Int
    /// Row-major, three bytes per pixel.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 0, count: 3 * width * height)
        for i in 0..<(width * height) { pixels[3 * i] = fill.0; pixels[3 * i + 1] = fill.1; pixels[3 * i + 2] = fill.2 }
    }

    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        get { let i = 3 * (y * width + x); return (pixels[i], pixels[i + 1], pixels[i + 2]) }
        set { let i = 3 * (y * width + x); pixels[i] = newValue.0; pixels[i + 1] = newValue.1; pixels[i + 2] = newValue.2 }
    }

    /// Writes PNG to `path`.
    public func writePNG(to path: String) throws {
        var image = png_image()
        image.version = ssl_png_image_version()
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = ssl_png_format_rgb()
        let ok = pixels.withUnsafeBytes { png_image_write_to_file(&image, path, 0, $0.baseAddress, 0, nil) }
        defer { png_image_free(&image) }
        guard ok != 0 else {
            let message = withUnsafeBytes(of: image.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw ImageError(path: path, problem: "cannot write PNG: \(message)")
        }
    }

    /// Reads a PNG as 8-bit RGB (other formats are converted by libpng).
    public static func readPNG(_ path: String) throws -> RGBImage {
        var image = png_image()
        image.version = ssl_png_image_version()
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            let message = withUnsafeBytes(of: image.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw ImageError(path: path, problem: "not a readable PNG: \(message)")
        }
        image.format = ssl_png_format_rgb()
        var out = RGBImage(width: Int(image.width), height: Int(image.height))
        let ok = out.pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard ok != 0 else { throw ImageError(path: path, problem: "PNG decoding failed") }
        return out
    }
}
