import Randomness
// Keras Dropout (inverted): in train mode each value is kept with
// probability 1 − rate and scaled by 1 / (1 − rate); in eval mode it passes
// through unchanged. The mask is drawn from the model's seeded generator, so
// a run is reproducible and a restored generator state replays it.

/// mask [count]: 0 for dropped, 1 / (1 − rate) for kept (kept when u ≥ rate).
public func dropoutDrawMask(
    mask: UnsafeMutablePointer<Float>, count: Int, rate: Float, generator: inout SeededGenerator
) {
    let keepScale = rate < 1 ? 1 / (1 - rate) : 0
    for i in 0..<count { mask[i] = generator.unitFloat() >= rate ? keepScale : 0 }
}

/// out = x · mask; out, x, mask [count]
public func dropoutForward(
    out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int
) {
    for i in 0..<count { out[i] = x[i] * mask[i] }
}

/// dx = dOut · mask; dx, dOut, mask [count]
public func dropoutBackward(
    dx: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int
) {
    for i in 0..<count { dx[i] = dOut[i] * mask[i] }
}
