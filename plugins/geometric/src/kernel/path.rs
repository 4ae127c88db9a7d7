//! The demeaned path both estimators measure, built in two streaming passes over the input.
//!
//! The first pass checks finiteness and takes the mean at once: it sums `x_i − x_0` in sixteen
//! independent lanes (a single running sum would serialise on the addition's latency), and a
//! non-finite value or an overflow shows as a non-finite sum. Shifting by `x_0` keeps the
//! summands at the scale of the series' spread, so a large common offset costs no accuracy.
//!
//! The second pass is a blocked prefix sum. Within a block of 256 terms the running sum
//! starts from zero, so its rounding stays at the scale of the block's own partial sums; the
//! sum of the blocks before is carried in double-double (TwoSum) and each path value is the
//! block's local sum plus that offset, rounded once. The error of a value is about one ulp of
//! the value plus the in-block rounding, and does not grow with n (as with the serial
//! compensated profile it replaces). With AVX2 the block sum runs four terms at a time by an
//! in-register scan, eight terms per step of the only loop-carried addition.
//!
//! For sweeps that only take differences X_{t+τ} − X_t, `LaneRows` builds the same path
//! as four segments side by side, so that every load is an aligned row, block by block so
//! that the sweep can follow the build through the cache.

use lrdbench_numerics::cpu::Avx2Fma;
use lrdbench_numerics::lanes::zip_sum;
use lrdbench_numerics::prefix::shifted_sum;
use lrdbench_numerics::validate;
use lrdbench_plugin_api::PluginError;

use super::Input;

/// Terms per block of the prefix sum (a multiple of 8, the AVX2 step).
const BLOCK: usize = 256;

/// Validates `x` as [`lrdbench_numerics::validate::series`] does (finite, at least `min_len`
/// points, not constant) and returns the mean of its increments (of `x` itself for
/// [`Input::Increments`], of its first differences for [`Input::Path`]).
///
/// # Errors
///
/// `invalid_input` for a non-finite or constant series, or one whose sum overflows;
/// `insufficient_data` below `min_len`.
pub(crate) fn checked_mean(
    x: &[f64],
    input: Input,
    min_len: usize,
    method: &str,
) -> Result<f64, PluginError> {
    let terms = match input {
        Input::Increments => x.len(),
        Input::Path => x.len().saturating_sub(1),
    };
    let sum = if x.len() < min_len || terms == 0 {
        f64::NAN
    } else {
        match input {
            Input::Increments => shifted_sum(x, x[0]),
            Input::Path => diff_sum(x),
        }
    };
    if !sum.is_finite() {
        // The slow scan finds the first offending value (or the length) for the message.
        validate::series(x, min_len, method)?;
        return Err(PluginError::invalid_input(format!(
            "{method}: the values are too large to sum in f64"
        )));
    }
    check_not_constant(x, method)?;
    let first = x[0];
    Ok(match input {
        Input::Increments => first + sum / terms as f64,
        Input::Path => sum / terms as f64,
    })
}

/// Rejects a constant series (the check of [`checked_mean`] after finiteness; it stops at the
/// first value that differs from `x[0]`, so it costs a few reads on real data).
///
/// # Errors
///
/// `invalid_input` if every value equals `x[0]` (or `x` is empty).
pub(crate) fn check_not_constant(x: &[f64], method: &str) -> Result<(), PluginError> {
    let first = x.first().copied().unwrap_or(f64::NAN);
    if x.is_empty() || x.iter().all(|v| *v == first) {
        return Err(PluginError::invalid_input(format!(
            "{method}: the series is constant"
        )));
    }
    Ok(())
}

/// The i-th demeaned increment.
#[inline(always)]
fn term(x: &[f64], input: Input, mean: f64, i: usize) -> f64 {
    match input {
        Input::Increments => x[i] - mean,
        Input::Path => (x[i + 1] - x[i]) - mean,
    }
}

/// Rejects a path whose demeaned increments are all (numerically) zero: a straight line has no
/// roughness. Stops at the first increment above the threshold, so it costs a few reads.
pub(crate) fn check_not_straight(
    x: &[f64],
    input: Input,
    mean: f64,
    method: &str,
) -> Result<(), PluginError> {
    let m = match input {
        Input::Increments => x.len(),
        Input::Path => x.len() - 1,
    };
    let threshold = f64::EPSILON * 16.0 * m as f64;
    if (0..m).all(|i| term(x, input, mean, i).abs() <= threshold) {
        return Err(PluginError::invalid_input(format!(
            "{method}: the increments are constant (the path is a straight line)"
        )));
    }
    Ok(())
}

/// The path X_0 = 0, X_j = Σ_{i<j} z_i of the demeaned increments z_i of `x` (`mean` from
/// `checked_mean`), length m + 1 for m increments.
pub fn demeaned_path(x: &[f64], input: Input, mean: f64) -> Vec<f64> {
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx2Fma::detect() {
        // SAFETY: `cpu` proves that the CPU executes AVX2 and FMA.
        return unsafe { demeaned_path_avx2(cpu, x, input, mean) };
    }
    demeaned_path_portable(x, input, mean)
}

/// [`demeaned_path`] without SIMD: the same blocks, one term at a time (public so that tests
/// can hold both builds to the same reference).
pub fn demeaned_path_portable(x: &[f64], input: Input, mean: f64) -> Vec<f64> {
    demeaned_path_body(x, input, mean)
}

/// [`demeaned_path_portable`] compiled for AVX2 and FMA: the yardstick the hand-written
/// route of [`demeaned_path`] is benchmarked against (`benches/simd_routes.rs`), not a route
/// of its own.
#[doc(hidden)]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub fn demeaned_path_portable_avx2(_cpu: Avx2Fma, x: &[f64], input: Input, mean: f64) -> Vec<f64> {
    demeaned_path_body(x, input, mean)
}

/// The body of [`demeaned_path_portable`], inlined into each build of it.
#[inline(always)]
fn demeaned_path_body(x: &[f64], input: Input, mean: f64) -> Vec<f64> {
    let m = match input {
        Input::Increments => x.len(),
        Input::Path => x.len().saturating_sub(1),
    };
    let mut out = Vec::with_capacity(m + 1);
    out.push(0.0);
    let (mut hi, mut lo) = (0.0f64, 0.0f64);
    let mut start = 0;
    while start < m {
        let end = (start + BLOCK).min(m);
        let mut local = 0.0;
        for i in start..end {
            local += term(x, input, mean, i);
            out.push(hi + local);
        }
        (hi, lo) = add_to_offset(hi, lo, local);
        start = end;
    }
    out
}

/// `(hi, lo) + v` in double-double (TwoSum, then renormalised).
#[inline(always)]
fn add_to_offset(hi: f64, lo: f64, v: f64) -> (f64, f64) {
    let s = hi + v;
    let bb = s - hi;
    let e = (hi - (s - bb)) + (v - bb);
    let t = e + lo;
    let h = s + t;
    (h, t - (h - s))
}

/// [`demeaned_path`] four terms at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn demeaned_path_avx2(_cpu: Avx2Fma, x: &[f64], input: Input, mean: f64) -> Vec<f64> {
    use std::arch::x86_64::*;
    let m = match input {
        Input::Increments => x.len(),
        Input::Path => x.len().saturating_sub(1),
    };
    let mut out: Vec<f64> = Vec::with_capacity(m + 1);
    let dst = out.as_mut_ptr();
    let src = x.as_ptr();
    let path = input == Input::Path;
    let mv = _mm256_set1_pd(mean);
    let zero = _mm256_setzero_pd();
    // Four demeaned increments from i on (requires i + 4 ≤ m).
    let load = |i: usize| -> __m256d {
        // SAFETY: i + 4 ≤ m ≤ x.len(), and i + 5 ≤ x.len() for a path.
        unsafe {
            if path {
                let d = _mm256_sub_pd(_mm256_loadu_pd(src.add(i + 1)), _mm256_loadu_pd(src.add(i)));
                _mm256_sub_pd(d, mv)
            } else {
                _mm256_sub_pd(_mm256_loadu_pd(src.add(i)), mv)
            }
        }
    };
    // Inclusive prefix sum within the four lanes.
    let scan4 = |v: __m256d| -> __m256d {
        let s1 = _mm256_blend_pd::<0b0001>(_mm256_permute4x64_pd::<0b10_01_00_00>(v), zero);
        let v = _mm256_add_pd(v, s1);
        _mm256_add_pd(v, _mm256_permute2f128_pd::<0x08>(v, v))
    };
    let last = |v: __m256d| _mm256_permute4x64_pd::<0xFF>(v);
    // SAFETY: every write below is to an index ≤ m, inside the capacity m + 1.
    unsafe { dst.write(0.0) };
    let (mut hi, mut lo) = (0.0f64, 0.0f64);
    let mut i = 0;
    while i < m {
        let end = (i + BLOCK).min(m);
        let off = _mm256_set1_pd(hi);
        let mut carry = zero;
        while i + 8 <= end {
            let a = scan4(load(i));
            let b = _mm256_add_pd(scan4(load(i + 4)), last(a));
            let (la, lb) = (_mm256_add_pd(a, carry), _mm256_add_pd(b, carry));
            carry = _mm256_add_pd(carry, last(b));
            // SAFETY: i + 8 ≤ m, so indices 1 + i .. 1 + i + 8 are ≤ m.
            unsafe {
                _mm256_storeu_pd(dst.add(1 + i), _mm256_add_pd(off, la));
                _mm256_storeu_pd(dst.add(5 + i), _mm256_add_pd(off, lb));
            }
            i += 8;
        }
        let mut local = _mm256_cvtsd_f64(carry);
        while i < end {
            local += term(x, input, mean, i);
            // SAFETY: i < m.
            unsafe { dst.add(1 + i).write(hi + local) };
            i += 1;
        }
        (hi, lo) = add_to_offset(hi, lo, local);
    }
    // SAFETY: all m + 1 values were written above.
    unsafe { out.set_len(m + 1) };
    out
}

/// Four path values in one 32-byte-aligned row (see [`LaneRows`]).
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(32))]
pub(crate) struct Row(pub [f64; 4]);

/// Rows per block of [`LaneRows`]: each lane sums 64 terms locally per block.
pub(crate) const LANE_BLOCK: usize = 64;

/// The path cut into four segments laid side by side, for sweeps that only take differences
/// X_{t+τ} − X_t, built block by block so that a sweep can consume the rows while they are
/// still in cache: lane l of row i holds X_{lS+i} − X_{lS} (the segment's own path, from 0),
/// rows 0..R with R = N − 3S, so every lane runs on past its segment by R − S ≥ `reach` rows.
///
/// A difference of lag τ ≤ `reach` at t < 4S is then `row[i + τ].0[l] − row[i].0[l]` with
/// t = lS + i, i < S, and one aligned load serves four t at once; t ≥ 4S are in lane 3 at
/// row t − 3S. The offsets between lanes cancel in every difference, so none is stored.
///
/// Each block is built as [`demeaned_path`] builds its blocks, lane by lane in the four lanes
/// of a vector: a 4 × 4 transpose turns four contiguous loads into four rows, each lane sums
/// the block locally on a double-double offset, and the loop-carried chain is two additions
/// per four rows. The same pass sums the squares of the demeaned increments (the lag-1
/// moment needs no path), on the fused multiply-add ports the prefix sum leaves idle.
///
/// The increments are shifted by a constant `shift` rather than by the exact mean, so that a
/// caller can build the lanes in the same pass that reads x for the first time and correct
/// for the mean afterwards: with z_i − c in place of z_i − x̄ every path value gains
/// t (x̄ − c), which a sweep of differences removes analytically (see `ghe::square_moments`).
///
/// Its fields are private: `build_to` loads from `x` at offsets computed from S and R without
/// bounds checks, so only [`LaneRows::new`] may set them.
#[derive(Debug, Clone)]
pub(crate) struct LaneRows<'a> {
    x: &'a [f64],
    input: Input,
    /// The proof that the CPU runs the AVX2 and FMA build.
    cpu: Avx2Fma,
    /// The constant taken off every increment.
    shift: f64,
    /// Segment length S.
    segment: usize,
    /// Number of rows R.
    rows: usize,
    /// Length N of the whole path.
    len: usize,
    /// Rows built so far.
    built: usize,
    /// Per-lane double-double offsets (sum of the blocks before).
    hi: [f64; 4],
    lo: [f64; 4],
    /// Σ z² of every increment each lane has added (four vectors of four).
    squares: [f64; 16],
    /// Σ z² of the rows summed one at a time.
    squares_tail: f64,
}

impl<'a> LaneRows<'a> {
    /// The builder of the lane layout of the increments of `x` less `shift` (the mean from
    /// [`checked_mean`] gives the demeaned path; any other finite value a path that drifts by
    /// mean − `shift` per step) for lags up to `reach`, or `None` without AVX2 and FMA (or for
    /// a path shorter than 32 + `reach`).
    pub(crate) fn new(
        x: &'a [f64],
        input: Input,
        shift: f64,
        reach: usize,
    ) -> Option<LaneRows<'a>> {
        let m = match input {
            Input::Increments => x.len(),
            Input::Path => x.len().saturating_sub(1),
        };
        let len = m + 1;
        let cpu = Avx2Fma::detect()?;
        if len < 32 + reach {
            return None;
        }
        let segment = (len - reach) / 4;
        Some(LaneRows {
            x,
            input,
            cpu,
            shift,
            segment,
            rows: len - 3 * segment,
            len,
            built: 0,
            hi: [0.0; 4],
            lo: [0.0; 4],
            squares: [0.0; 16],
            squares_tail: 0.0,
        })
    }

    /// Rows built so far (rows 0..`built()`).
    pub(crate) fn built(&self) -> usize {
        self.built
    }

    /// Segment length S.
    pub(crate) fn segment(&self) -> usize {
        self.segment
    }

    /// Number of rows R.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Length N of the whole path.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The proof of AVX2 and FMA this builder was made with, for the sweeps over its rows.
    pub(crate) fn cpu(&self) -> Avx2Fma {
        self.cpu
    }

    /// Builds whole blocks of rows into `dst` (row `built()` at `dst[0]`) until at least
    /// `target` rows (or all R) are built, and returns how many rows it wrote. Blocks start at
    /// rows 1, 1 + [`LANE_BLOCK`], …, so at most `target − built() + LANE_BLOCK` rows are
    /// written (one more from row 0).
    ///
    /// # Panics
    ///
    /// If `dst` is shorter than the rows to write.
    pub(crate) fn build_to(&mut self, target: usize, dst: &mut [Row]) -> usize {
        let start = self.built;
        let target = target.min(self.rows);
        if start >= target {
            return 0;
        }
        // Blocks end at 1 + k·LANE_BLOCK or at R.
        let end = (1 + (target - 1).div_ceil(LANE_BLOCK) * LANE_BLOCK).min(self.rows);
        assert!(dst.len() >= end - start, "the blocks do not fit");
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `self.cpu` proves AVX2 and FMA; `dst` holds the rows (asserted above); `new`
        // set S and R, and `built` only grows to R, so every load of `x` is in bounds.
        unsafe {
            self.blocks_avx2(dst.as_mut_ptr(), end)
        };
        self.built = end;
        end - start
    }

    /// Σ z_i² over all m shifted increments, once every row is built (`None` before).
    ///
    /// Rows S + 1..R of lanes 0 to 2 repeat the first R − S − 1 increments of the next
    /// segment, so their squares (at most 3 (`reach` + 3) terms, recomputed here) come off
    /// the total. They are part of it, so the subtraction cancels at most half of the total
    /// and the relative error stays that of the summation.
    pub(crate) fn square_sum(&self) -> Option<f64> {
        if self.built < self.rows {
            return None;
        }
        let (s, r) = (self.segment, self.rows);
        let mut repeated = 0.0;
        for l in 0..3 {
            for i in s + 1..r {
                repeated += term(self.x, self.input, self.shift, l * s + i - 1).powi(2);
            }
        }
        let v = &self.squares;
        let lanes: f64 = (0..4)
            .map(|k| (v[k] + v[4 + k]) + (v[8 + k] + v[12 + k]))
            .sum();
        Some(lanes + self.squares_tail - repeated)
    }

    /// Rows `built..end` into `dst` (row `built` at `dst`), `end` the end of a block.
    ///
    /// # Safety
    ///
    /// The CPU must execute AVX2 and FMA (`self.cpu` proves it), `built < end ≤ R`, and `dst`
    /// must be valid for writes of `end − built` rows, 32-byte aligned (a `[Row]` is).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn blocks_avx2(&mut self, dst: *mut Row, end: usize) {
        use std::arch::x86_64::*;
        let (x, input, mean, s) = (self.x, self.input, self.shift, self.segment);
        let src = x.as_ptr();
        let path = input == Input::Path;
        let mv = _mm256_set1_pd(mean);
        let one = _mm256_set1_pd(1.0);
        // Four demeaned increments from k on (k + 4 ≤ m). a − b is computed as a · 1 − b, a
        // fused multiply-subtract with the same single rounding, so that it runs on the
        // multiply ports, which the prefix sum's additions leave idle.
        let load = |k: usize| -> __m256d {
            // SAFETY: k + 4 ≤ m ≤ x.len(), and k + 5 ≤ x.len() for a path.
            unsafe {
                if path {
                    let d = _mm256_fmsub_pd(
                        _mm256_loadu_pd(src.add(k + 1)),
                        one,
                        _mm256_loadu_pd(src.add(k)),
                    );
                    _mm256_fmsub_pd(d, one, mv)
                } else {
                    _mm256_fmsub_pd(_mm256_loadu_pd(src.add(k)), one, mv)
                }
            }
        };
        let mut i = self.built;
        // `out` points at row 0 of the caller's numbering.
        let out = dst.cast::<f64>().wrapping_sub(4 * i);
        if i == 0 {
            // SAFETY: row 0 is the first row of `dst`.
            unsafe { dst.write(Row([0.0; 4])) };
            i = 1;
        }
        // The state stays in registers from block to block: a round trip through scalars
        // would stall on store forwarding once per block.
        // SAFETY: for the loads of the state, the arrays hold four f64 per vector.
        let (mut hi, mut lo, mut sq) = unsafe {
            (
                _mm256_loadu_pd(self.hi.as_ptr()),
                _mm256_loadu_pd(self.lo.as_ptr()),
                [0, 4, 8, 12].map(|k| _mm256_loadu_pd(self.squares.as_ptr().add(k))),
            )
        };
        // Row i (≥ 1) of lane l adds the increment lS + i − 1; lane 3's last row, R − 1, adds
        // increment 3S + R − 2 = m − 1.
        while i < end {
            let block_end = (i + LANE_BLOCK).min(end);
            let mut carry = _mm256_setzero_pd();
            while i + 4 <= block_end {
                let k = i - 1;
                let (a0, a1, a2, a3) = (load(k), load(k + s), load(k + 2 * s), load(k + 3 * s));
                sq = [
                    _mm256_fmadd_pd(a0, a0, sq[0]),
                    _mm256_fmadd_pd(a1, a1, sq[1]),
                    _mm256_fmadd_pd(a2, a2, sq[2]),
                    _mm256_fmadd_pd(a3, a3, sq[3]),
                ];
                let (t0, t1) = (_mm256_unpacklo_pd(a0, a1), _mm256_unpackhi_pd(a0, a1));
                let (t2, t3) = (_mm256_unpacklo_pd(a2, a3), _mm256_unpackhi_pd(a2, a3));
                let r0 = _mm256_permute2f128_pd::<0x20>(t0, t2);
                let r1 = _mm256_permute2f128_pd::<0x20>(t1, t3);
                let r2 = _mm256_permute2f128_pd::<0x31>(t0, t2);
                let r3 = _mm256_permute2f128_pd::<0x31>(t1, t3);
                let l0 = _mm256_add_pd(carry, r0);
                let l1 = _mm256_add_pd(carry, _mm256_add_pd(r0, r1));
                let l2 = _mm256_add_pd(l1, r2);
                let l3 = _mm256_add_pd(l1, _mm256_add_pd(r2, r3));
                carry = l3;
                // SAFETY: rows i..i + 4 < end are inside the caller's rows, 32-byte aligned.
                unsafe {
                    let row = out.wrapping_add(4 * i);
                    _mm256_store_pd(row, _mm256_add_pd(hi, l0));
                    _mm256_store_pd(row.add(4), _mm256_add_pd(hi, l1));
                    _mm256_store_pd(row.add(8), _mm256_add_pd(hi, l2));
                    _mm256_store_pd(row.add(12), _mm256_add_pd(hi, l3));
                }
                i += 4;
            }
            if i < block_end {
                // Only the last block of all has rows left over; one at a time.
                let mut c = [0.0f64; 4];
                let h = _mm256_storeu_pd_array(hi);
                // SAFETY: `c` holds four f64; AVX by the caller's contract.
                unsafe { _mm256_storeu_pd(c.as_mut_ptr(), carry) };
                while i < block_end {
                    let mut row = Row([0.0; 4]);
                    for l in 0..4 {
                        let z = term(x, input, mean, l * s + i - 1);
                        self.squares_tail += z * z;
                        c[l] += z;
                        row.0[l] = h[l] + c[l];
                    }
                    // SAFETY: row i < end is inside the caller's rows.
                    unsafe { out.wrapping_add(4 * i).cast::<Row>().write(row) };
                    i += 1;
                }
                // SAFETY: `c` holds four f64.
                carry = unsafe { _mm256_loadu_pd(c.as_ptr()) };
            }
            // The block's sum joins the offset: `add_to_offset` lane by lane.
            let sum = _mm256_add_pd(hi, carry);
            let bb = _mm256_sub_pd(sum, hi);
            let e = _mm256_add_pd(
                _mm256_sub_pd(hi, _mm256_sub_pd(sum, bb)),
                _mm256_sub_pd(carry, bb),
            );
            let t = _mm256_add_pd(e, lo);
            hi = _mm256_add_pd(sum, t);
            lo = _mm256_sub_pd(t, _mm256_sub_pd(hi, sum));
        }
        // SAFETY: the arrays hold four f64 per vector.
        unsafe {
            _mm256_storeu_pd(self.hi.as_mut_ptr(), hi);
            _mm256_storeu_pd(self.lo.as_mut_ptr(), lo);
            for (k, v) in sq.iter().enumerate() {
                _mm256_storeu_pd(self.squares.as_mut_ptr().add(4 * k), *v);
            }
        }
    }
}

/// The four lanes of `v`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn _mm256_storeu_pd_array(v: std::arch::x86_64::__m256d) -> [f64; 4] {
    let mut a = [0.0f64; 4];
    // SAFETY: `a` holds four f64.
    unsafe { std::arch::x86_64::_mm256_storeu_pd(a.as_mut_ptr(), v) };
    a
}

/// Σ (x_{i+1} − x_i) in sixteen lanes (the rounded increments the path is built from).
fn diff_sum(x: &[f64]) -> f64 {
    let (hi, lo) = (&x[1..], &x[..x.len() - 1]);
    #[cfg(target_arch = "x86_64")]
    if let Some(cpu) = Avx2Fma::detect() {
        // SAFETY: `cpu` proves that the CPU executes AVX2 and FMA.
        return unsafe { diff_sum_avx2(cpu, hi, lo) };
    }
    zip_sum(hi, lo, |a, b| a - b)
}

/// [`diff_sum`] compiled for AVX2 (the sixteen lanes become four registers).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn diff_sum_avx2(_cpu: Avx2Fma, hi: &[f64], lo: &[f64]) -> f64 {
    zip_sum(hi, lo, |a, b| a - b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use lrdbench_numerics::prefix::Dd;

    /// The exact path of the rounded demeaned increments, summed in double-double.
    fn reference(x: &[f64], input: Input, mean: f64) -> Vec<f64> {
        let m = match input {
            Input::Increments => x.len(),
            Input::Path => x.len() - 1,
        };
        let mut acc = Dd::default();
        let mut out = vec![0.0];
        for i in 0..m {
            acc = acc.add(Dd::from_f64(term(x, input, mean, i)));
            out.push(acc.to_f64());
        }
        out
    }

    fn assert_close(fast: &[f64], exact: &[f64], scale: f64, what: &str) {
        // One rounding of the value (ulp of the largest |X|) plus the in-block rounding: a
        // block sums at most 256 terms of size ≤ `scale` with partial sums ≤ 256·scale, so
        // 256 · 256 · ε · scale bounds it; both are far below anything the estimators see.
        let big = exact.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let tol = 2.0 * f64::EPSILON * big + 256.0 * 256.0 * f64::EPSILON * scale;
        assert_eq!(fast.len(), exact.len(), "{what}");
        for (j, (a, b)) in fast.iter().zip(exact).enumerate() {
            assert!((a - b).abs() <= tol, "{what} j={j}: {a} vs {b} (tol {tol})");
        }
    }

    #[test]
    fn both_builds_match_the_double_double_path() {
        // Lengths that leave every remainder of the eight-term step and a partial block; H
        // near 1 makes the path large against its increments.
        for n in [33usize, 263, 1029, 70_001] {
            let z = lrdbench_numerics::fgn::fgn(0.95, n, 7).unwrap();
            let mean = checked_mean(&z, Input::Increments, 8, "t").unwrap();
            let exact = reference(&z, Input::Increments, mean);
            let scale = z.iter().fold(0.0f64, |a, v| a.max(v.abs())) + mean.abs();
            assert_close(
                &demeaned_path(&z, Input::Increments, mean),
                &exact,
                scale,
                "fast",
            );
            assert_close(
                &demeaned_path_portable(&z, Input::Increments, mean),
                &exact,
                scale,
                "portable",
            );
        }
    }

    #[test]
    fn a_large_offset_costs_no_accuracy() {
        // fBm riding on 1e9: the path representation differences away the offset, and the
        // increments representation with offset 1e3 keeps the shift-by-x_0 mean exact to the
        // data's own rounding (ulp(1e3) ≈ 1.1e-13).
        let z = lrdbench_numerics::fgn::fgn(0.8, 5000, 3).unwrap();
        let mut fbm = vec![1e9];
        for v in &z {
            fbm.push(fbm[fbm.len() - 1] + v);
        }
        let mean = checked_mean(&fbm, Input::Path, 8, "t").unwrap();
        let exact = reference(&fbm, Input::Path, mean);
        assert_close(
            &demeaned_path(&fbm, Input::Path, mean),
            &exact,
            4.0,
            "path input",
        );
        let shifted: Vec<f64> = z.iter().map(|v| v + 1e3).collect();
        let mean = checked_mean(&shifted, Input::Increments, 8, "t").unwrap();
        let direct = lrdbench_numerics::prefix::neumaier_sum(shifted.iter().copied()) / 5000.0;
        assert!(
            (mean - direct).abs() <= 4.0 * f64::EPSILON * 1e3,
            "{mean} vs {direct}"
        );
        let exact = reference(&shifted, Input::Increments, mean);
        assert_close(
            &demeaned_path(&shifted, Input::Increments, mean),
            &exact,
            4.0,
            "offset",
        );
    }

    #[test]
    fn lane_rows_hold_the_segments_and_their_squares() {
        // Rows built in uneven steps (a partial first target, then block by block, then the
        // rest) against the double-double path: lane l of row i is X_{lS+i} − X_{lS}, to the
        // path's own tolerance doubled (two values of it). The squared increments the build
        // sums, with the repeated rows taken off, against a compensated sum of the same
        // increments at 1e-13 relative (the sum has at most 2n terms of one sign; the lanes'
        // plain sums err by far less than that on these lengths).
        for (n, input, reach) in [
            (1001usize, Input::Increments, 64usize),
            (4099, Input::Path, 31),
            (70_003, Input::Increments, 700),
        ] {
            let z = lrdbench_numerics::fgn::fgn(0.9, n, 5).unwrap();
            let x: Vec<f64> = match input {
                Input::Increments => z,
                Input::Path => z
                    .iter()
                    .scan(1e6, |a, v| {
                        *a += v;
                        Some(*a)
                    })
                    .collect(),
            };
            let mean = checked_mean(&x, input, 8, "t").unwrap();
            let exact = reference(&x, input, mean);
            let Some(mut lanes) = LaneRows::new(&x, input, mean, reach) else {
                assert!(Avx2Fma::detect().is_none());
                return;
            };
            let mut rows = vec![Row::default(); lanes.rows() + LANE_BLOCK];
            for target in [10, 11, 200, 201, usize::MAX] {
                let b = lanes.built();
                lanes.build_to(target, &mut rows[b..]);
            }
            assert_eq!(lanes.built(), lanes.rows());
            let m = exact.len() - 1;
            let scale = (0..m).fold(0.0f64, |a, i| a.max(term(&x, input, mean, i).abs()));
            let big = exact.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let tol = 2.0 * (2.0 * f64::EPSILON * big + 256.0 * 256.0 * f64::EPSILON * scale);
            let s = lanes.segment();
            for (i, row) in rows[..lanes.rows()].iter().enumerate() {
                for (l, v) in row.0.iter().enumerate() {
                    let want = exact[l * s + i] - exact[l * s];
                    assert!(
                        (v - want).abs() <= tol,
                        "n={n} row {i} lane {l}: {v} vs {want}"
                    );
                }
            }
            let squares = lrdbench_numerics::prefix::neumaier_sum(
                (0..m).map(|i| term(&x, input, mean, i).powi(2)),
            );
            let got = lanes.square_sum().unwrap();
            assert!(
                ((got - squares) / squares).abs() < 1e-13,
                "n={n}: {got} vs {squares}"
            );
        }
    }

    #[test]
    fn bad_series_get_the_validation_errors() {
        use lrdbench_plugin_api::ErrorKind;
        let mut x = lrdbench_numerics::fgn::fgn(0.5, 100, 1).unwrap();
        let kind = |x: &[f64], input| checked_mean(x, input, 32, "t").unwrap_err().kind;
        assert_eq!(
            kind(&x[..20], Input::Increments),
            ErrorKind::InsufficientData
        );
        assert_eq!(kind(&[2.0; 50], Input::Path), ErrorKind::InvalidInput);
        x[60] = f64::INFINITY;
        assert_eq!(kind(&x, Input::Increments), ErrorKind::InvalidInput);
        x[60] = 1e308;
        x[61] = -1e308;
        assert_eq!(kind(&x, Input::Path), ErrorKind::InvalidInput);
        let line: Vec<f64> = (0..64).map(|i| 3.0 * i as f64).collect();
        let mean = checked_mean(&line, Input::Path, 32, "t").unwrap();
        assert!(check_not_straight(&line, Input::Path, mean, "t").is_err());
    }
}
