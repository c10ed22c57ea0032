import Foundation
import XCTest
@testable import Volumes

final class PNGTests: XCTestCase {
    private var directory = ""
    override func setUpWithError() throws { directory = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// Decodes our PNG with Python's zlib and struct (an independent decoder), checking
    /// signature, chunk CRCs and pixels.
    private func decodeWithPython(_ path: String) throws -> (width: Int, height: Int, colorType: Int, pixels: [UInt8]) {
        try Python.requirePython()
        let script = """
        import sys, zlib, struct, json
        data = open(sys.argv[1], "rb").read()
        assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "signature"
        pos, idat, info = 8, b"", None
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
            assert crc == zlib.crc32(kind + body) & 0xffffffff, "crc of " + kind.decode()
            if kind == b"IHDR": info = struct.unpack(">IIBBBBB", body)
            if kind == b"IDAT": idat += body
            pos += 12 + length
        w, h, depth, color = info[:4]
        raw = zlib.decompress(idat)
        channels = 1 if color == 0 else 3
        stride = w * channels + 1
        rows = [raw[r * stride:(r + 1) * stride] for r in range(h)]
        assert all(row[0] == 0 for row in rows), "filter type"
        print(json.dumps(dict(w=w, h=h, depth=depth, color=color, pixels=list(b"".join(row[1:] for row in rows)))))
        """
        struct Decoded: Decodable { let w: Int, h: Int, depth: Int, color: Int, pixels: [UInt8] }
        let decoded = try JSONDecoder().decode(Decoded.self, from: Data(try Python.run(script, arguments: [path]).utf8))
        XCTAssertEqual(decoded.depth, 8)
        return (decoded.w, decoded.h, decoded.color, decoded.pixels)
    }

    func testGrayAndRGBImagesDecodeToTheSamePixels() throws {
        var rng = SeededGenerator(seed: 8)
        for kind in [Image8.Kind.gray, .rgb] {
            let channels = kind == .gray ? 1 : 3
            let image = Image8(width: 13, height: 7, kind: kind,
                               pixels: (0..<(13 * 7 * channels)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            let path = directory + "/image-\(kind).png"
            try PNG.write(image, path: path)
            let decoded = try decodeWithPython(path)
            XCTAssertEqual(decoded.width, 13)
            XCTAssertEqual(decoded.height, 7)
            XCTAssertEqual(decoded.colorType, kind == .gray ? 0 : 2)
            XCTAssertEqual(decoded.pixels, image.pixels)
        }
    }

    func testMontageOutlinesRegionBorders() throws {
        let grid = Grid(dims: SIMD3(20, 20, 20))
        let volume = Volume<Float>(grid: grid) { i, j, k in Float(i + j + k) }
        // A cube of label 5 at 6...13 and label 9 elsewhere inside 2...17.
        let labels = Volume<Int32>(grid: grid) { i, j, k in
            let p = SIMD3(i, j, k)
            if p.min() >= 6 && p.max() <= 13 { return 5 }
            return p.min() >= 2 && p.max() <= 17 ? 9 : 0
        }
        let montage = SliceMontage(slicesPerPlane: 3, pixelScale: 2)
        let image = montage.render(volume, labels: labels, outlines: [RegionOutline(labels: [5], color: .red)])
        XCTAssertEqual(image.kind, .rgb)
        // 3 panels of 20 voxels × 2 pixels plus 4 gaps; 3 rows of 40 plus 4 gaps.
        XCTAssertEqual(image.width, 3 * 40 + 4 * 2)
        XCTAssertEqual(image.height, 3 * 40 + 4 * 2)
        func pixel(_ x: Int, _ y: Int) -> RGB {
            let o = 3 * (y * image.width + x)
            return RGB(image.pixels[o], image.pixels[o + 1], image.pixels[o + 2])
        }
        // Slices are spread over the outlined cube (6...13), so the middle axial panel cuts it.
        // Middle column, first row: panel left = 2 + 42, top = 2. Voxel (6, y, z) is on the
        // cube's face; voxel (9, 10) is inside it; voxel (3, 10) is outside.
        let left = 2 + 42, top = 2
        func panelPixel(_ u: Int, _ v: Int) -> RGB { pixel(left + 2 * u, top + 2 * v) }
        XCTAssertEqual(panelPixel(6, 19 - 10), .red, "cube border is outlined")
        XCTAssertNotEqual(panelPixel(9, 19 - 10), .red, "cube interior is not")
        XCTAssertNotEqual(panelPixel(3, 19 - 10), .red, "outside is not")
        let redCount = stride(from: 0, to: image.pixels.count, by: 3).filter {
            RGB(image.pixels[$0], image.pixels[$0 + 1], image.pixels[$0 + 2]) == .red
        }.count
        XCTAssertGreaterThan(redCount, 100)
        try PNG.write(image, path: directory + "/montage.png")
        XCTAssertEqual(try decodeWithPython(directory + "/montage.png").pixels, image.pixels)
    }
}
