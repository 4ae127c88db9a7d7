//! The lane-wise vector math of the Whittle passes and the local Whittle sums, which lives in
//! [`lrdbench_numerics::vmath`] (one home for the whole workspace); kernels here are written
//! generic over [`Lane`] and run through [`lrdbench_numerics::vmath::dispatch`].

pub(crate) use lrdbench_numerics::vmath::{
    dispatch, exp, ln, sin_quadrant, Lane, LaneKernel, LANES,
};
