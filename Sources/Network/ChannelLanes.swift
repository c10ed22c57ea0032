// Channel loops of the memory-bound layers run 16 channels at a time in
// SIMD registers. Any channel count works: a last group of fewer than 16
// channels goes through the same arithmetic with partial loads and stores,
// so there is one code path (and the small-width tests exercise it).

typealias Lanes = SIMD16<Float>
let laneCount = Lanes.scalarCount
typealias HalfLanes = SIMD8<Float>
let halfLaneCount = HalfLanes.scalarCount

/// body(firstChannel, channelsInGroup) for consecutive groups of ≤ 16 channels.
@inline(__always)
func forEachLaneGroup(_ channels: Int, _ body: (_ first: Int, _ count: Int) -> Void) {
    var first = 0
    while first < channels {
        body(first, Swift.min(laneCount, channels - first))
        first += laneCount
    }
}

@inline(__always)
func loadLanes(_ pointer: UnsafePointer<Float>, _ count: Int) -> Lanes {
    if count == laneCount { return UnsafeRawPointer(pointer).loadUnaligned(as: Lanes.self) }
    // Eight channels (the first block of the quickstart and whole-brain
    // networks) in one half-width load rather than eight scalar inserts.
    if count == halfLaneCount {
        return Lanes(lowHalf: UnsafeRawPointer(pointer).loadUnaligned(as: HalfLanes.self), highHalf: HalfLanes())
    }
    var lanes = Lanes()
    for i in 0..<count { lanes[i] = pointer[i] }
    return lanes
}

@inline(__always)
func storeLanes(_ lanes: Lanes, _ pointer: UnsafeMutablePointer<Float>, _ count: Int) {
    if count == laneCount { UnsafeMutableRawPointer(pointer).storeBytes(of: lanes, as: Lanes.self); return }
    if count == halfLaneCount {
        UnsafeMutableRawPointer(pointer).storeBytes(of: lanes.lowHalf, as: HalfLanes.self)
        return
    }
    for i in 0..<count { pointer[i] = lanes[i] }
}

/// Long per-channel sums (batch-norm statistics over millions of voxels)
/// accumulate in float lanes for `partialSumLength` rows at a time and are
/// then added into doubles: vector speed, double-precision totals.
let partialSumLength = 64

@inline(__always)
func addLanes(_ lanes: Lanes, into pointer: UnsafeMutablePointer<Float>, _ count: Int) {
    storeLanes(loadLanes(pointer, count) + lanes, pointer, count)
}

/// Lane-wise clamp written as compare-and-select: the standard library's
/// pointwiseMin/Max compile to a scalar loop through the stack here.
@inline(__always)
func clamp(_ x: Lanes, _ low: Float, _ high: Float) -> Lanes {
    x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
}

/// e^x for 16 lanes at once (Cephes's expf: x = n·ln2 + r with |r| ≤ ln2/2,
/// a degree-7 polynomial for e^r, then 2ⁿ built in the exponent bits).
/// Within 2 ulp of the correctly rounded value for x in [−87, 88]; inputs
/// outside are clamped (sigmoid only needs the saturated ends to saturate).
/// Only +, −, × and bit casts, so it stays in SIMD registers.
@inline(__always)
func exponential(_ x: Lanes) -> Lanes {
    let clamped = clamp(x, -87, 88)
    // Round x·log2(e) to the nearest integer by adding and removing 1.5·2²³.
    let magic: Float = 12_582_912
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    let r = clamped - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p = Lanes(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let expR = p * r * r + r + 1
    // The low mantissa bits of `shifted` hold n (two's complement).
    let exponentBits = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return expR * unsafeBitCast(exponentBits, to: Lanes.self)
}

extension Activation {
    @inline(__always)
    func apply(_ y: Lanes) -> Lanes {
        switch self {
        case .relu: return Lanes().replacing(with: y, where: y .> 0)
        case .sigmoid: return 1 / (1 + exponential(-y))
        }
    }

    @inline(__always)
    func derivative(output s: Lanes) -> Lanes {
        switch self {
        case .sigmoid: return s * (1 - s)
        case .relu: return Lanes().replacing(with: 1, where: s .> 0)
        }
    }
}
