//! The binary frames between the supervisor and a worker, and their encoding.
//!
//! Every frame is `u32` little-endian payload length, then the payload. A request payload is a
//! head (tag, component, parameters, ...) followed by the series as raw little-endian `f64`
//! bytes, which the worker reads straight into its series buffer: a 2^20-point series crosses
//! as 8 MiB of bytes, never as decimal text. Results and parameters use a small tagged encoding
//! written by hand here, since the ABI types are not `Serialize`.
//!
//! The decoder is total: any byte string yields a value or a [`DecodeError`], never a panic and
//! never an allocation larger than the input it was given (lengths are checked against the
//! bytes that remain before anything is reserved).

use abi_stable::std_types::{RBox, ROption, RString, RVec};
use lrdbench_plugin_api::{
    CiMethod, ComponentDescriptor, ComponentKind, ErrorKind, Estimate, Family, Generated, Interval,
    NamedValues, Param, ParamKind, ParamSpec, ParamValue, PluginDescriptor, ScalingFit, TrueValue,
};

use crate::call_error::{CallError, CallErrorKind};

/// First bytes of the worker's greeting, so a supervisor never mistakes stray output (or a
/// stale binary speaking another version) for a worker.
pub(crate) const MAGIC: &[u8; 8] = b"LRDWRK01";

/// The largest frame either side accepts: 1 GiB, far above a 2^26-point series.
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload ended before a value was complete.
    #[error("frame truncated at byte {0}")]
    Truncated(usize),
    /// An unknown tag byte.
    #[error("unknown tag {tag} at byte {at}")]
    BadTag {
        /// The byte found.
        tag: u8,
        /// Its offset.
        at: usize,
    },
    /// Text that is not UTF-8.
    #[error("invalid utf-8 at byte {0}")]
    Utf8(usize),
    /// Bytes left over after a complete value.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A length field beyond [`MAX_FRAME`].
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(u64),
    /// The greeting did not start with [`MAGIC`].
    #[error("not a worker greeting")]
    BadMagic,
}

/// What the supervisor asks of a worker. The series of an estimate request travels after the
/// head, see [`encode_estimate_request`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RequestHead {
    /// Run estimator `component` on the series that follows, of `n` points.
    Estimate {
        /// The component index.
        component: u32,
        /// Resolved parameters.
        params: Vec<Param>,
        /// Number of points of the series that follows the head.
        n: u64,
    },
    /// Run model `component`.
    Generate {
        /// The component index.
        component: u32,
        /// Length asked for.
        length: u64,
        /// Seed.
        seed: u64,
        /// Resolved parameters.
        params: Vec<Param>,
    },
}

/// Resource use of one call, measured by the worker itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkerUsage {
    /// Wall-clock time of the plugin call inside the worker, nanoseconds.
    pub wall_ns: u64,
    /// CPU time of the worker thread during the call, nanoseconds.
    pub cpu_ns: u64,
    /// The worker's resident set size when the call started, bytes.
    pub rss_before: u64,
    /// The worker's peak resident set size during the call, bytes (its high-water mark is reset
    /// at the start of each call, so this is the call's own peak, not the worker's lifetime one).
    pub peak_rss: u64,
    /// Peak heap bytes the call allocated on the worker's calling thread, plugin allocations
    /// included (jemalloc's `thread.peak`; 0 when jemalloc is not the worker's allocator).
    pub heap_peak: u64,
}

impl WorkerUsage {
    /// Peak memory the call added above the level at its start, bytes.
    pub fn peak_above_start(&self) -> u64 {
        self.peak_rss.saturating_sub(self.rss_before)
    }
}

/// What a worker answers.
// One response is built and moved once per call: boxing the estimate would add an allocation
// per call to save a few hundred bytes of stack.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Response {
    /// An estimator's result.
    Estimate(Estimate, WorkerUsage),
    /// A model's result.
    Generated(Generated, WorkerUsage),
    /// A failed call (a plugin's typed error, or the worker's own failure).
    Error(CallError, Option<WorkerUsage>),
}

const REQ_ESTIMATE: u8 = 1;
const REQ_GENERATE: u8 = 2;
const RESP_ESTIMATE: u8 = 1;
const RESP_GENERATED: u8 = 2;
const RESP_ERROR: u8 = 3;

/// Encodes the greeting a worker sends once its plugin is loaded: magic, then the SHA-256 of
/// the library it loaded (or a load error message).
pub(crate) fn encode_greeting(out: &mut Vec<u8>, loaded: Result<&str, &str>) {
    let mut w = Writer::frame(out);
    w.bytes(MAGIC);
    match loaded {
        Ok(sha) => {
            w.u8(0);
            w.str(sha);
        }
        Err(msg) => {
            w.u8(1);
            w.str(msg);
        }
    }
    w.finish();
}

/// Decodes a greeting payload: `Ok(Ok(sha256))` for a loaded plugin, `Ok(Err(message))` when
/// the worker could not load it.
///
/// # Errors
///
/// A [`DecodeError`] for anything that is not a greeting.
pub(crate) fn decode_greeting(payload: &[u8]) -> Result<Result<String, String>, DecodeError> {
    let mut r = Reader::new(payload);
    if r.take(MAGIC.len())? != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let at = r.pos;
    let out = match r.u8()? {
        0 => Ok(r.string()?),
        1 => Err(r.string()?),
        tag => return Err(DecodeError::BadTag { tag, at }),
    };
    r.end()?;
    Ok(out)
}

/// Encodes a plugin's self-description, sent by a worker started with `--describe` right after
/// its greeting: the host learns an isolated plugin's components without loading it.
pub fn encode_descriptor(out: &mut Vec<u8>, d: &PluginDescriptor) {
    let mut w = Writer::frame(out);
    w.str(&d.name);
    w.str(&d.version);
    w.str(&d.api_version);
    w.u32(d.components.len() as u32);
    for c in d.components.iter() {
        w.str(&c.name);
        w.u8(match c.kind {
            ComponentKind::Estimator => 0,
            ComponentKind::Model => 1,
        });
        w.u8(match c.family {
            Family::Temporal => 0,
            Family::Geometric => 1,
            Family::Spectral => 2,
            Family::Wavelet => 3,
            Family::Multifractal => 4,
            Family::Other => 5,
        });
        w.str(&c.estimand);
        w.str(&c.description);
        w.str(&c.reference);
        w.u32(c.params.len() as u32);
        for p in c.params.iter() {
            w.str(&p.name);
            w.u8(match p.kind {
                ParamKind::Int => 0,
                ParamKind::Float => 1,
                ParamKind::Bool => 2,
                ParamKind::Str => 3,
                ParamKind::Enum => 4,
                ParamKind::List => 5,
            });
            match &p.default {
                ROption::RSome(v) => {
                    w.u8(1);
                    w.value(v);
                }
                ROption::RNone => w.u8(0),
            }
            w.opt_f64(&p.min);
            w.opt_f64(&p.max);
            w.strs(&p.choices);
            w.str(&p.help);
        }
    }
    w.finish();
}

/// Decodes what [`encode_descriptor`] wrote.
///
/// # Errors
///
/// A `DecodeError` for anything else.
pub fn decode_descriptor(payload: &[u8]) -> Result<PluginDescriptor, DecodeError> {
    let mut r = Reader::new(payload);
    let name = r.rstring()?;
    let version = r.rstring()?;
    let api_version = r.rstring()?;
    // A component is at least 3 strings of 4 bytes, 2 tags and a count.
    let n = r.count(18)?;
    let mut components = RVec::with_capacity(n);
    for _ in 0..n {
        let name = r.rstring()?;
        let at = r.pos;
        let kind = match r.u8()? {
            0 => ComponentKind::Estimator,
            1 => ComponentKind::Model,
            tag => return Err(DecodeError::BadTag { tag, at }),
        };
        let at = r.pos;
        let family = match r.u8()? {
            0 => Family::Temporal,
            1 => Family::Geometric,
            2 => Family::Spectral,
            3 => Family::Wavelet,
            4 => Family::Multifractal,
            5 => Family::Other,
            tag => return Err(DecodeError::BadTag { tag, at }),
        };
        let estimand = r.rstring()?;
        let description = r.rstring()?;
        let reference = r.rstring()?;
        let np = r.count(16)?;
        let mut params = RVec::with_capacity(np);
        for _ in 0..np {
            let name = r.rstring()?;
            let at = r.pos;
            let kind = match r.u8()? {
                0 => ParamKind::Int,
                1 => ParamKind::Float,
                2 => ParamKind::Bool,
                3 => ParamKind::Str,
                4 => ParamKind::Enum,
                5 => ParamKind::List,
                tag => return Err(DecodeError::BadTag { tag, at }),
            };
            let default = if r.flag()? {
                ROption::RSome(r.value()?)
            } else {
                ROption::RNone
            };
            params.push(ParamSpec {
                name,
                kind,
                default,
                min: r.opt_f64()?,
                max: r.opt_f64()?,
                choices: r.strs()?,
                help: r.rstring()?,
            });
        }
        components.push(ComponentDescriptor {
            name,
            kind,
            family,
            estimand,
            description,
            reference,
            params,
        });
    }
    r.end()?;
    Ok(PluginDescriptor {
        name,
        version,
        api_version,
        components,
    })
}

/// Appends a complete estimate request frame for `series` to `out`.
#[cfg(test)]
pub(crate) fn encode_estimate_request(
    out: &mut Vec<u8>,
    component: u32,
    params: &[Param],
    series: &[f64],
) {
    encode_estimate_head(out, component, params, series.len());
    let mut w = Writer {
        start: out.len(),
        out,
    };
    w.f64s_raw(series);
}

/// Appends the frame header and head of an estimate request for a series of `n` points; the
/// frame is complete once the series' raw bytes ([`f64_bytes`]) follow. Sending the series
/// straight from the caller's slice saves copying it into the request.
///
/// The head is padded with zeros so that the series starts at a multiple of 8 bytes into the
/// payload: a worker whose buffer is 8-aligned reads the points in place, without a copy.
pub(crate) fn encode_estimate_head(out: &mut Vec<u8>, component: u32, params: &[Param], n: usize) {
    let mut w = Writer::frame(out);
    w.u8(REQ_ESTIMATE);
    w.u32(component);
    w.params(params);
    w.u64(n as u64);
    while !(w.out.len() - w.start - 4).is_multiple_of(8) {
        w.u8(0);
    }
    let head = w.out.len() - w.start - 4;
    // The length covers the series that follows; beyond u32 the reader's limit rejects it.
    let len = u32::try_from(head + n * 8).unwrap_or(u32::MAX);
    let start = w.start;
    w.out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// The raw bytes of a series as the wire carries them, borrowed on little-endian targets.
pub(crate) fn f64_bytes(series: &[f64]) -> std::borrow::Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        // SAFETY: any initialised f64 slice is a valid byte slice of 8x its length (u8 has
        // alignment 1 and no invalid values), and on a little-endian target those bytes are
        // exactly the little-endian encoding the wire format prescribes.
        std::borrow::Cow::Borrowed(unsafe {
            std::slice::from_raw_parts(series.as_ptr().cast::<u8>(), std::mem::size_of_val(series))
        })
    } else {
        std::borrow::Cow::Owned(series.iter().flat_map(|x| x.to_le_bytes()).collect())
    }
}

/// The points of an estimate request's series, `bytes` being the payload from the offset
/// [`decode_request_head`] returned: borrowed in place when `bytes` is 8-aligned (on a
/// little-endian target), else copied into `scratch`.
pub(crate) fn series_view<'a>(bytes: &'a [u8], scratch: &'a mut Vec<f64>) -> &'a [f64] {
    if cfg!(target_endian = "little") {
        // SAFETY: every bit pattern is a valid f64, so reinterpreting the aligned middle of
        // a byte slice as f64s is sound; `align_to` only returns a non-empty prefix or suffix
        // when the bytes are not aligned or not a multiple of 8, which is checked.
        let (prefix, points, suffix) = unsafe { bytes.align_to::<f64>() };
        if prefix.is_empty() && suffix.is_empty() {
            return points;
        }
    }
    read_f64s(bytes, scratch);
    scratch
}

/// Appends a complete generate request frame to `out`.
pub(crate) fn encode_generate_request(
    out: &mut Vec<u8>,
    component: u32,
    length: u64,
    seed: u64,
    params: &[Param],
) {
    let mut w = Writer::frame(out);
    w.u8(REQ_GENERATE);
    w.u32(component);
    w.u64(length);
    w.u64(seed);
    w.params(params);
    w.finish();
}

/// Decodes the head of a request payload. Returns the head and the offset at which the series
/// bytes (`8 * n` of them, for an estimate) start.
///
/// # Errors
///
/// A [`DecodeError`]; for an estimate, also when the payload does not hold exactly `n` points.
pub(crate) fn decode_request_head(payload: &[u8]) -> Result<(RequestHead, usize), DecodeError> {
    let mut r = Reader::new(payload);
    let at = r.pos;
    match r.u8()? {
        REQ_ESTIMATE => {
            let component = r.u32()?;
            let params = r.params()?;
            let n = r.u64()?;
            while !r.pos.is_multiple_of(8) {
                let at = r.pos;
                match r.u8()? {
                    0 => {}
                    tag => return Err(DecodeError::BadTag { tag, at }),
                }
            }
            let start = r.pos;
            let expected = n.checked_mul(8).ok_or(DecodeError::TooLarge(n))?;
            let remaining = (payload.len() - start) as u64;
            if remaining < expected {
                return Err(DecodeError::Truncated(payload.len()));
            }
            if remaining > expected {
                return Err(DecodeError::Trailing((remaining - expected) as usize));
            }
            Ok((
                RequestHead::Estimate {
                    component,
                    params,
                    n,
                },
                start,
            ))
        }
        REQ_GENERATE => {
            let component = r.u32()?;
            let length = r.u64()?;
            let seed = r.u64()?;
            let params = r.params()?;
            r.end()?;
            Ok((
                RequestHead::Generate {
                    component,
                    length,
                    seed,
                    params,
                },
                payload.len(),
            ))
        }
        tag => Err(DecodeError::BadTag { tag, at }),
    }
}

/// Copies raw little-endian `f64` bytes into `out` (cleared first).
pub(crate) fn read_f64s(bytes: &[u8], out: &mut Vec<f64>) {
    out.clear();
    out.extend(
        bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
    );
}

/// Appends a complete response frame to `out`.
pub(crate) fn encode_response(out: &mut Vec<u8>, resp: &Response) {
    let mut w = Writer::frame(out);
    match resp {
        Response::Estimate(e, u) => {
            w.u8(RESP_ESTIMATE);
            w.usage(u);
            w.estimate(e);
        }
        Response::Generated(g, u) => {
            w.u8(RESP_GENERATED);
            w.usage(u);
            w.generated(g);
        }
        Response::Error(e, u) => {
            w.u8(RESP_ERROR);
            match u {
                Some(u) => {
                    w.u8(1);
                    w.usage(u);
                }
                None => w.u8(0),
            }
            w.u8(kind_code(e.kind));
            w.str(&e.message);
        }
    }
    w.finish();
}

/// Decodes a response payload.
///
/// # Errors
///
/// A [`DecodeError`] for a malformed payload.
pub(crate) fn decode_response(payload: &[u8]) -> Result<Response, DecodeError> {
    let mut r = Reader::new(payload);
    let at = r.pos;
    let resp = match r.u8()? {
        RESP_ESTIMATE => {
            let u = r.usage()?;
            Response::Estimate(r.estimate()?, u)
        }
        RESP_GENERATED => {
            let u = r.usage()?;
            Response::Generated(r.generated()?, u)
        }
        RESP_ERROR => {
            let u = if r.flag()? { Some(r.usage()?) } else { None };
            let at = r.pos;
            let code = r.u8()?;
            let kind = kind_from_code(code).ok_or(DecodeError::BadTag { tag: code, at })?;
            let message = r.string()?;
            Response::Error(CallError { kind, message }, u)
        }
        tag => return Err(DecodeError::BadTag { tag, at }),
    };
    r.end()?;
    Ok(resp)
}

/// Reads the payload length of a frame header.
///
/// # Errors
///
/// [`DecodeError::TooLarge`] beyond [`MAX_FRAME`].
pub(crate) fn frame_len(header: [u8; 4]) -> Result<usize, DecodeError> {
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        Err(DecodeError::TooLarge(len as u64))
    } else {
        Ok(len)
    }
}

fn kind_code(kind: CallErrorKind) -> u8 {
    match kind {
        CallErrorKind::Plugin(k) => match k {
            ErrorKind::InvalidInput => 0,
            ErrorKind::InsufficientData => 1,
            ErrorKind::Parameter => 2,
            ErrorKind::Numerical => 3,
            ErrorKind::NonConvergence => 4,
            ErrorKind::Internal => 5,
        },
        CallErrorKind::Panic => 16,
        CallErrorKind::Crash => 17,
        CallErrorKind::Timeout => 18,
        CallErrorKind::OutOfMemory => 19,
        CallErrorKind::Load => 20,
    }
}

fn kind_from_code(code: u8) -> Option<CallErrorKind> {
    Some(match code {
        0 => CallErrorKind::Plugin(ErrorKind::InvalidInput),
        1 => CallErrorKind::Plugin(ErrorKind::InsufficientData),
        2 => CallErrorKind::Plugin(ErrorKind::Parameter),
        3 => CallErrorKind::Plugin(ErrorKind::Numerical),
        4 => CallErrorKind::Plugin(ErrorKind::NonConvergence),
        5 => CallErrorKind::Plugin(ErrorKind::Internal),
        16 => CallErrorKind::Panic,
        17 => CallErrorKind::Crash,
        18 => CallErrorKind::Timeout,
        19 => CallErrorKind::OutOfMemory,
        20 => CallErrorKind::Load,
        _ => return None,
    })
}

/// Appends one frame to a buffer; the length is patched in by [`Writer::finish`].
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Writer<'a> {
    fn frame(out: &'a mut Vec<u8>) -> Self {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        Writer { out, start }
    }

    fn finish(self) {
        // Frames beyond u32 cannot be sent; the reader rejects anything above MAX_FRAME anyway,
        // so saturating here turns an oversized request into a clean decode error on the far
        // side rather than a silently wrapped length.
        let len = u32::try_from(self.out.len() - self.start - 4).unwrap_or(u32::MAX);
        self.out[self.start..self.start + 4].copy_from_slice(&len.to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }
    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.bytes(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes(s.as_bytes());
    }
    fn f64s_raw(&mut self, xs: &[f64]) {
        self.out.reserve(xs.len() * 8);
        if cfg!(target_endian = "little") {
            // SAFETY: any initialised f64 slice is a valid byte slice of 8x its length (u8 has
            // alignment 1 and no invalid values), and on a little-endian target those bytes
            // are exactly the little-endian encoding the wire format prescribes.
            let bytes =
                unsafe { std::slice::from_raw_parts(xs.as_ptr().cast::<u8>(), xs.len() * 8) };
            self.out.extend_from_slice(bytes);
        } else {
            for x in xs {
                self.f64(*x);
            }
        }
    }
    fn f64s(&mut self, xs: &[f64]) {
        self.u64(xs.len() as u64);
        self.f64s_raw(xs);
    }
    fn opt_f64(&mut self, v: &ROption<f64>) {
        match v {
            ROption::RSome(x) => {
                self.u8(1);
                self.f64(*x);
            }
            ROption::RNone => self.u8(0),
        }
    }
    fn strs(&mut self, xs: &[RString]) {
        self.u32(xs.len() as u32);
        for s in xs {
            self.str(s);
        }
    }
    fn params(&mut self, params: &[Param]) {
        self.u32(params.len() as u32);
        for p in params {
            self.str(&p.name);
            self.value(&p.value);
        }
    }
    fn value(&mut self, value: &ParamValue) {
        match value {
            ParamValue::Int(v) => {
                self.u8(0);
                self.i64(*v);
            }
            ParamValue::Float(v) => {
                self.u8(1);
                self.f64(*v);
            }
            ParamValue::Bool(v) => {
                self.u8(2);
                self.u8(u8::from(*v));
            }
            ParamValue::Str(v) => {
                self.u8(3);
                self.str(v);
            }
            ParamValue::List(v) => {
                self.u8(4);
                self.f64s(v);
            }
        }
    }
    fn usage(&mut self, u: &WorkerUsage) {
        self.u64(u.wall_ns);
        self.u64(u.cpu_ns);
        self.u64(u.rss_before);
        self.u64(u.peak_rss);
        self.u64(u.heap_peak);
    }
    fn estimate(&mut self, e: &Estimate) {
        self.f64(e.value);
        self.str(&e.estimand);
        self.opt_f64(&e.stderr);
        match &e.ci {
            ROption::RSome(ci) => {
                self.u8(1);
                self.f64(ci.low);
                self.f64(ci.high);
                self.f64(ci.level);
                self.u8(ci.method as u8);
            }
            ROption::RNone => self.u8(0),
        }
        self.opt_f64(&e.r_squared);
        match &e.fit {
            ROption::RSome(fit) => {
                self.u8(1);
                self.str(&fit.x_label);
                self.str(&fit.y_label);
                self.f64s(&fit.x);
                self.f64s(&fit.y);
                self.f64s(&fit.fitted);
            }
            ROption::RNone => self.u8(0),
        }
        self.strs(&e.warnings);
        self.u32(e.diagnostics.len() as u32);
        for d in e.diagnostics.iter() {
            self.str(&d.name);
            self.f64s(&d.values);
        }
    }
    fn generated(&mut self, g: &Generated) {
        self.f64s(&g.values);
        self.u32(g.truth.len() as u32);
        for t in g.truth.iter() {
            self.str(&t.name);
            self.f64(t.value);
        }
        self.strs(&g.warnings);
    }
}

/// Reads values from a payload, checking every length against what remains.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated(self.buf.len()));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn end(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::Trailing(n)),
        }
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    fn ci_method(&mut self) -> Result<CiMethod, DecodeError> {
        let at = self.pos;
        Ok(match self.u8()? {
            0 => CiMethod::Asymptotic,
            1 => CiMethod::Regression,
            2 => CiMethod::Calibrated,
            3 => CiMethod::Gls,
            4 => CiMethod::Bootstrap,
            tag => return Err(DecodeError::BadTag { tag, at }),
        })
    }
    fn flag(&mut self) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::BadTag { tag, at }),
        }
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    fn string(&mut self) -> Result<String, DecodeError> {
        let len = self.u32()? as usize;
        let at = self.pos;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| DecodeError::Utf8(at))
    }
    fn rstring(&mut self) -> Result<RString, DecodeError> {
        self.string().map(RString::from)
    }
    /// A count of items each at least `min_size` bytes long, checked against what remains so a
    /// forged count cannot reserve more than the input could hold.
    fn count(&mut self, min_size: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.remaining() {
            return Err(DecodeError::Truncated(self.buf.len()));
        }
        Ok(n)
    }
    fn f64s(&mut self) -> Result<RVec<f64>, DecodeError> {
        let n = self.u64()?;
        let bytes = n
            .checked_mul(8)
            .filter(|b| *b <= self.remaining() as u64)
            .ok_or(DecodeError::Truncated(self.buf.len()))?;
        let mut out = Vec::new();
        read_f64s(self.take(bytes as usize)?, &mut out);
        Ok(RVec::from(out))
    }
    fn opt_f64(&mut self) -> Result<ROption<f64>, DecodeError> {
        Ok(if self.flag()? {
            ROption::RSome(self.f64()?)
        } else {
            ROption::RNone
        })
    }
    fn strs(&mut self) -> Result<RVec<RString>, DecodeError> {
        let n = self.count(4)?;
        (0..n).map(|_| self.rstring()).collect()
    }
    fn params(&mut self) -> Result<Vec<Param>, DecodeError> {
        let n = self.count(5)?;
        (0..n)
            .map(|_| {
                let name = self.rstring()?;
                let value = self.value()?;
                Ok(Param { name, value })
            })
            .collect()
    }
    fn value(&mut self) -> Result<ParamValue, DecodeError> {
        let at = self.pos;
        Ok(match self.u8()? {
            0 => ParamValue::Int(self.i64()?),
            1 => ParamValue::Float(self.f64()?),
            2 => ParamValue::Bool(self.flag()?),
            3 => ParamValue::Str(self.rstring()?),
            4 => ParamValue::List(self.f64s()?),
            tag => return Err(DecodeError::BadTag { tag, at }),
        })
    }
    fn usage(&mut self) -> Result<WorkerUsage, DecodeError> {
        Ok(WorkerUsage {
            wall_ns: self.u64()?,
            cpu_ns: self.u64()?,
            rss_before: self.u64()?,
            peak_rss: self.u64()?,
            heap_peak: self.u64()?,
        })
    }
    fn estimate(&mut self) -> Result<Estimate, DecodeError> {
        let value = self.f64()?;
        let estimand = self.rstring()?;
        let stderr = self.opt_f64()?;
        let ci = if self.flag()? {
            ROption::RSome(Interval {
                low: self.f64()?,
                high: self.f64()?,
                level: self.f64()?,
                method: self.ci_method()?,
            })
        } else {
            ROption::RNone
        };
        let r_squared = self.opt_f64()?;
        let fit = if self.flag()? {
            ROption::RSome(RBox::new(ScalingFit {
                x_label: self.rstring()?,
                y_label: self.rstring()?,
                x: self.f64s()?,
                y: self.f64s()?,
                fitted: self.f64s()?,
            }))
        } else {
            ROption::RNone
        };
        let warnings = self.strs()?;
        let n = self.count(12)?;
        let diagnostics = (0..n)
            .map(|_| {
                Ok(NamedValues {
                    name: self.rstring()?,
                    values: self.f64s()?,
                })
            })
            .collect::<Result<RVec<_>, DecodeError>>()?;
        Ok(Estimate {
            value,
            estimand: estimand.into(),
            stderr,
            ci,
            r_squared,
            fit,
            warnings,
            diagnostics,
        })
    }
    fn generated(&mut self) -> Result<Generated, DecodeError> {
        let values = self.f64s()?;
        let n = self.count(12)?;
        let truth = (0..n)
            .map(|_| {
                Ok(TrueValue {
                    name: self.rstring()?,
                    value: self.f64()?,
                })
            })
            .collect::<Result<RVec<_>, DecodeError>>()?;
        let warnings = self.strs()?;
        Ok(Generated {
            values,
            truth,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests;
