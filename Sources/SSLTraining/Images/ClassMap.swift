import Foundation

/// Class maps of a hyperspectral cube: one pixel per pixel, each class its fixed colour, pixels without a class black.
public enum ClassMap {
    /// Kelly's colours of maximum contrast (without black and white), then golden-angle hues for more classes.
    static let kelly: [(UInt8, UInt8, UInt8)] = [
        (0xF3, 0xC3, 0x00), (0x87, 0x56, 0x92), (0xF3, 0x84, 0x00), (0xA1, 0xCA, 0xF1), (0xBE, 0x00, 0x32),
        (0xC2, 0xB2, 0x80), (0x84, 0x84, 0x82), (0x00, 0x88, 0x56), (0xE6, 0x8F, 0xAC), (0x00, 0x67, 0xA5),
        (0xF9, 0x93, 0x79), (0x60, 0x4E, 0x97), (0xF6, 0xA6, 0x00), (0xB3, 0x44, 0x6C), (0xDC, 0xD3, 0x00),
        (0x88, 0x2D, 0x17), (0x8D, 0xB6, 0x00), (0x65, 0x45, 0x22), (0xE2, 0x58, 0x22), (0x2B, 0x3D, 0x26),
    ]
    /// No class (a pixel without a label in a ground-truth map, or outside the predicted split).
    public static let none: (UInt8, UInt8, UInt8) = (0, 0, 0)

    /// The colour of class `k`: the same in every map ssl-dist draws.
    public static func color(_ k: Int) -> (UInt8, UInt8, UInt8) {
        if k < 0 { return none }
        if k < kelly.count { return kelly[k] }
        let hue = (Double(k) * 137.508).truncatingRemainder(dividingBy: 360) / 60
        let x = 1 - abs(hue.truncatingRemainder(dividingBy: 2) - 1)
        let (r, g, b): (Double, Double, Double) = [(1, x, 0), (x, 1, 0), (0, 1, x), (0, x, 1), (x, 0, 1), (1, 0, x)][Int(hue) % 6]
        return (UInt8(55 + 200 * r), UInt8(55 + 200 * g), UInt8(55 + 200 * b))
    }

    /// The map of `classes` (row-major, −1 for no class) over a `height` × `width` grid.
    public static func image(_ classes: [Int32], height: Int, width: Int) -> RGBImage {
        var img = RGBImage(width: width, height: height)
        for y in 0..<height { for x in 0..<width { img[x, y] = color(Int(classes[y * width + x])) } }
        return img
    }

    /// The class of each pixel of a map drawn by `image` (−1 for black); nil for a colour no class has.
    public static func classes(of img: RGBImage, classCount k: Int) -> [Int32?] {
        var lookup: [UInt32: Int32] = [key(none): -1]
        for c in 0..<k { lookup[key(color(c))] = Int32(c) }
        return (0..<(img.width * img.height)).map { lookup[key(img[$0 % img.width, $0 / img.width])] }
    }

    static func key(_ c: (UInt8, UInt8, UInt8)) -> UInt32 { UInt32(c.0) << 16 | UInt32(c.1) << 8 | UInt32(c.2) }

    /// The map with a legend strip below it: a swatch per class and its number, the stored class (0…K−1) plus
    /// `firstNumber` (1 for cubes, whose ground-truth maps number the classes 1…K).
    public static func withLegend(_ map: RGBImage, classes k: Int, firstNumber: Int = 0) -> RGBImage {
        let swatch = 12, cellWidth = 36, perRow = max(1, max(map.width, cellWidth) / cellWidth)
        let rows = (k + perRow - 1) / perRow
        var out = RGBImage(width: max(map.width, cellWidth), height: map.height + 4 + rows * (swatch + 4), fill: (255, 255, 255))
        blit(map, into: &out, x: 0, y: 0)
        for c in 0..<k {
            let x0 = (c % perRow) * cellWidth + 2, y0 = map.height + 4 + (c / perRow) * (swatch + 4)
            for y in 0..<swatch { for x in 0..<swatch { out[x0 + x, y0 + y] = color(c) } }
            drawNumber(c + firstNumber, into: &out, x: x0 + swatch + 3, y: y0 + 3)
        }
        return out
    }

    /// Prediction, ground truth and their disagreements side by side (gaps of 4 white pixels). The ground truth's
    /// labelled pixels are drawn in their class's colour on dark grey; the disagreements panel dims the prediction and
    /// marks each labelled pixel green where the prediction matches it and red where it does not. On maps 100 pixels
    /// wide or more, labelled pixels are drawn 3×3 so a sparse ground truth stays visible.
    public static func comparison(predicted: [Int32], truth: [Int32], height: Int, width: Int) -> RGBImage {
        var out = RGBImage(width: 3 * width + 8, height: height, fill: (255, 255, 255))
        let map = image(predicted, height: height, width: width)
        blit(map, into: &out, x: 0, y: 0)
        for y in 0..<height {
            for x in 0..<width {
                out[width + 4 + x, y] = (40, 40, 40)
                let c = map[x, y]
                out[2 * width + 8 + x, y] = (c.0 / 3, c.1 / 3, c.2 / 3)
            }
        }
        let r = width >= 100 ? 1 : 0
        for y in 0..<height {
            for x in 0..<width where truth[y * width + x] >= 0 {
                let t = truth[y * width + x]
                let mark: (UInt8, UInt8, UInt8) = predicted[y * width + x] == t ? (40, 200, 80) : (240, 30, 30)
                for dy in -r...r { for dx in -r...r where x + dx >= 0 && x + dx < width && y + dy >= 0 && y + dy < height {
                    out[width + 4 + x + dx, y + dy] = color(Int(t))
                    out[2 * width + 8 + x + dx, y + dy] = mark
                } }
            }
        }
        return out
    }

    static func blit(_ src: RGBImage, into dst: inout RGBImage, x x0: Int, y y0: Int) {
        for y in 0..<src.height { for x in 0..<src.width { dst[x0 + x, y0 + y] = src[x, y] } }
    }

    /// 3×5 digit glyphs, one row of bits per line (high bit on the left).
    static let glyphs: [[UInt8]] = [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    ]

    static func drawNumber(_ n: Int, into img: inout RGBImage, x x0: Int, y y0: Int) {
        for (i, ch) in String(n).enumerated() {
            let g = glyphs[Int(String(ch))!]
            for (row, bits) in g.enumerated() {
                for col in 0..<3 where bits & (4 >> col) != 0 {
                    let x = x0 + 4 * i + col, y = y0 + row
                    if x < img.width && y < img.height { img[x, y] = (0, 0, 0) }
                }
            }
        }
    }
}
