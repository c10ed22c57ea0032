import CBLAS
import CConvolutionProducts
import Foundation

/// How the convolutions compute their thin matrix products — a Winograd
/// layer's 64 per chunk of tiles (Conv3DWinograd.swift) and the im2col
/// layers' patch products (Conv3D.swift, and the one-channel first layer's
/// tap-major ones in Conv3DSingleChannel.swift): with OpenBLAS's
/// sgemm on any CPU, or with simba's AVX-512 kernel
/// (Sources/CConvolutionProducts), which reads the matrices where they lie
/// instead of packing them and runs these thin shapes at two to three times
/// sgemm's rate on the CPUs that have it (measured in the README). Both
/// compute the same sums up to float reassociation.
public enum ConvolutionProducts: String, Sendable, CaseIterable {
    case sgemm
    case avx512

    /// avx512 where this CPU has it, unless the environment variable
    /// SIMBA_CONV_PRODUCTS=sgemm asks for sgemm (to time the two side by side).
    public static let fastest: ConvolutionProducts = {
        let available = simba_strided_products_available()
        let asked = ProcessInfo.processInfo.environment["SIMBA_CONV_PRODUCTS"].flatMap(ConvolutionProducts.init(rawValue:))
        return asked == .sgemm || !available ? .sgemm : .avx512
    }()

    /// What `simba info` says of the choice.
    public var summary: String {
        switch self {
        case .avx512: return "avx512 (simba's AVX-512 kernel)"
        case .sgemm: return Self.avx512Available ? "sgemm (SIMBA_CONV_PRODUCTS=sgemm)" : "sgemm (this CPU has no AVX-512F)"
        }
    }

    /// Whether this CPU runs the avx512 products.
    public static var avx512Available: Bool { simba_strided_products_available() }

    /// M[ξ] (tiles × Cout) = U[ξ] (tiles × Cin) · V[ξ] (Cin × Cout) for every
    /// point ξ, on tile-major U and M ([tiles][64][C]) and V [64][Cin][Cout].
    func winogradProducts(tiles: Int, cin: Int, cout: Int, u: UnsafePointer<Float>, v: UnsafePointer<Float>,
                  into m: UnsafeMutablePointer<Float>) {
        for point in 0..<winogradPoints {
            let a = u + point * cin, b = v + point * cin * cout, c = m + point * cout
            switch self {
            case .sgemm:
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(tiles), Int32(cout), Int32(cin),
                            1, a, Int32(winogradPoints * cin), b, Int32(cout), 0, c, Int32(winogradPoints * cout))
            case .avx512:
                simba_strided_products(tiles, cout, cin, a, winogradPoints * cin, 1, b, cout, c, winogradPoints * cout,
                                       false)
            }
        }
    }

    /// dV[ξ] (Cin × Cout) += U[ξ]ᵀ · dM[ξ] for every point ξ.
    func addWinogradKernelProducts(tiles: Int, cin: Int, cout: Int, u: UnsafePointer<Float>, dm: UnsafePointer<Float>,
                           into dv: UnsafeMutablePointer<Float>) {
        for point in 0..<winogradPoints {
            let a = u + point * cin, b = dm + point * cout, c = dv + point * cin * cout
            switch self {
            case .sgemm:
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(cin), Int32(cout), Int32(tiles),
                            1, a, Int32(winogradPoints * cin), b, Int32(winogradPoints * cout), 1, c, Int32(cout))
            case .avx512:
                simba_strided_products(cin, cout, tiles, a, 1, winogradPoints * cin, b, winogradPoints * cout, c, cout,
                                       true)
            }
        }
    }

    /// dU[ξ] (tiles × Cin) = dM[ξ] · V[ξ]ᵀ for every point ξ, from the
    /// transformed kernel, laid out as `transposesKernel` says.
    func winogradInputProducts(tiles: Int, cin: Int, cout: Int, dm: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
                       into du: UnsafeMutablePointer<Float>) {
        for point in 0..<winogradPoints {
            let a = dm + point * cout, c = du + point * cin
            switch self {
            case .sgemm:
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(tiles), Int32(cin), Int32(cout),
                            1, a, Int32(winogradPoints * cout), kernel + point * cin * cout, Int32(cout),
                            0, c, Int32(winogradPoints * cin))
            case .avx512:
                simba_strided_products(tiles, cin, cout, a, winogradPoints * cout, 1, kernel + point * cout * cin, cin,
                                       c, winogradPoints * cin, false)
            }
        }
    }

    /// How a chunk of im2col patches lies: one row per output voxel
    /// ([rows][K], Conv3D.swift) or one row per tap ([K][rows], the
    /// one-channel layer's tap-major layout, Conv3DSingleChannel.swift),
    /// rows `stride` floats apart.
    struct Patches {
        let data: UnsafePointer<Float>
        let tapMajor: Bool
        let stride: Int

        /// The strides in floats of entry (row, tap): along rows, along taps.
        var strides: (row: Int, tap: Int) { tapMajor ? (1, stride) : (stride, 1) }
        var sgemmTranspose: CBLAS_TRANSPOSE { tapMajor ? CblasTrans : CblasNoTrans }
    }

    /// out [rows, Cout] = patches [rows, K] · kernel [K, Cout].
    func patchProducts(rows: Int, taps: Int, cout: Int, patches: Patches, kernel: UnsafePointer<Float>,
                       into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .sgemm:
            cblas_sgemm(CblasRowMajor, patches.sgemmTranspose, CblasNoTrans, Int32(rows), Int32(cout), Int32(taps),
                        1, patches.data, Int32(patches.stride), kernel, Int32(cout), 0, out, Int32(cout))
        case .avx512:
            simba_strided_products(rows, cout, taps, patches.data, patches.strides.row, patches.strides.tap, kernel,
                                   cout, out, cout, false)
        }
    }

    /// dKernel [K, Cout] += patches [rows, K]ᵀ · dOut [rows, Cout].
    func addPatchKernelProducts(rows: Int, taps: Int, cout: Int, patches: Patches, dOut: UnsafePointer<Float>,
                                into dKernel: UnsafeMutablePointer<Float>) {
        switch self {
        case .sgemm:
            let transpose = patches.tapMajor ? CblasNoTrans : CblasTrans
            cblas_sgemm(CblasRowMajor, transpose, CblasNoTrans, Int32(taps), Int32(cout), Int32(rows),
                        1, patches.data, Int32(patches.stride), dOut, Int32(cout), 1, dKernel, Int32(cout))
        case .avx512:
            simba_strided_products(taps, cout, rows, patches.data, patches.strides.tap, patches.strides.row, dOut,
                                   cout, dKernel, cout, true)
        }
    }

    /// winogradInputProducts reads V [64][Cin][Cout] for sgemm (which transposes it
    /// as it packs) and Vᵀ [64][Cout][Cin] for avx512 (whose rows of b are
    /// the kernel's rows).
    var transposesKernel: Bool { self == .avx512 }
}

/// out [taps][columns][rows] = kernel [taps][rows][columns], in blocks that
/// keep both sides' cache lines in use.
func transposeEachTap(_ kernel: UnsafePointer<Float>, taps: Int, rows: Int, columns: Int,
                      into out: UnsafeMutablePointer<Float>) {
    let block = 16
    for tap in 0..<taps {
        let from = kernel + tap * rows * columns, to = out + tap * rows * columns
        for row0 in stride(from: 0, to: rows, by: block) {
            for column0 in stride(from: 0, to: columns, by: block) {
                for row in row0..<Swift.min(row0 + block, rows) {
                    for column in column0..<Swift.min(column0 + block, columns) {
                        to[column * rows + row] = from[row * columns + column]
                    }
                }
            }
        }
    }
}
