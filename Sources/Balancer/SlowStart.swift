/// `slow_start=D`: after a server comes up (at start, after a health transition, on enable) its
/// effective weight ramps linearly from near 0 to its weight over D.
///
/// Effective weights are fixed-point, in 1/`scale` of a weight unit, so that a server of weight 1
/// still ramps smoothly and the weighted algorithms keep interleaving during the ramp (smooth
/// round-robin and the least-connections ratio give the same picks for weights scaled by a constant,
/// so a server that is not ramping behaves exactly as with its plain weight).
public enum SlowStart {
    /// Fixed-point units per weight unit.
    public static let scale = 1000

    /// The effective weight of a server of `weight` that came up `elapsedMs` ago, with a ramp of
    /// `durationMs`: `weight * scale * elapsed / D`, but never below 1 while ramping (a server that
    /// is up takes some traffic), and `weight * scale` from D on or when there is no ramp
    /// (D <= 0). A negative elapsed time (a clock step) counts as 0. A weight <= 0 gives 0.
    public static func effectiveWeight(weight: Int, elapsedMs: Int64, durationMs: Int64) -> Int {
        guard weight > 0 else { return 0 }
        let full = weight * scale
        guard durationMs > 0, elapsedMs < durationMs else { return full }
        // full * elapsed in 128 bits; the quotient is below full, so it fits.
        let product = Int64(full).multipliedFullWidth(by: max(0, elapsedMs))
        return max(1, Int(durationMs.dividingFullWidth(product).quotient))
    }
}
