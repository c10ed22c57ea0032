extension VectorField {
    /// Fewest squaring steps N such that the largest scaled velocity |v|/2^N is below
    /// `maxStepVoxels` of the smallest voxel size — the condition under which the first-order
    /// start exp(v/2^N) ≈ id + v/2^N is accurate.
    public func scalingAndSquaringSteps(maxStepVoxels: Double = 0.5) -> Int {
        let limit = maxStepVoxels * grid.spacing.min()
        var steps = 0
        var norm = Double(maxNorm)
        while norm >= limit && steps < 30 {
            norm /= 2
            steps += 1
        }
        return steps
    }

    /// Displacement field of exp(v) for this stationary velocity field (mm), by scaling and
    /// squaring: d = v / 2^N, then N times d ← d ∘ d. `steps` nil chooses N from the max norm.
    /// (An interleaved-SIMD variant of the squaring measured no faster on this hardware, so
    /// the planar `composed(after:into:)` kernel is reused.)
    public func exponentiated(steps: Int? = nil) -> VectorField {
        let n = steps ?? scalingAndSquaringSteps()
        precondition((0...30).contains(n), "steps must be in 0...30")
        var current = scaled(by: 1 / Float(1 << n))
        var next = VectorField(zerosOn: grid)
        for _ in 0..<n {
            current.composed(after: current, into: &next)
            swap(&current, &next)
        }
        return current
    }

    /// exp(v) computed on a grid about `coarsening` times coarser per axis (`Grid.coarsened(by:)`,
    /// spanning exactly the fine voxel centres), then trilinearly upsampled. Velocity fields are smooth, so this trades a small error (measured in the
    /// tests and NOTES.md) for ~coarsening³ less work. Steps are chosen on the coarse grid
    /// unless given. No anti-alias smoothing: it would shrink the smooth field it protects.
    public func exponentiated(coarsening: Int, steps: Int? = nil) -> VectorField {
        precondition(coarsening >= 1, "coarsening must be >= 1")
        if coarsening == 1 { return exponentiated(steps: steps) }
        let coarseGrid = grid.coarsened(by: coarsening)
        return resampled(to: coarseGrid).exponentiated(steps: steps).resampled(to: grid)
    }

    /// Displacement of the inverse map, exp(−v).
    public func inverseExponentiated(steps: Int? = nil, coarsening: Int = 1) -> VectorField {
        (-self).exponentiated(coarsening: coarsening, steps: steps)
    }
}
