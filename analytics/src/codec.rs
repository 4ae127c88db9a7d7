//! The compact binary form of an [`Event`], used in the journals and as redb values.
//!
//! Why not JSON: encoding sits on the path of every recorded call (budget: a few µs for the
//! whole recording) and the size of an event is the size of the store. This form takes about a
//! tenth of a microsecond and a third of the bytes of JSON.
//!
//! Layout: a tag byte (1 = call, 2 = step), then the fields in declaration order. Integers are
//! LEB128 varints (signed ones zig-zag), floats 8 bytes little-endian, strings a varint length
//! and UTF-8 bytes, options a presence byte. Fields appended to the event types later are
//! appended here and decoded only when bytes remain, so older records stay readable.

use std::collections::BTreeMap;

use crate::event::{
    CallEvent, CallView, ErrorInfo, Event, EventType, Machine, ParametersView, Performance,
    PluginRef, StepEvent, StepType, StepView,
};
use crate::table::{CallRow, CallTable};

/// A record that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed analytics record: {0}")]
pub struct DecodeError(&'static str);

const TAG_CALL: u8 = 1;
const TAG_STEP: u8 = 2;

/// Appends the encoding of `event` to `out`.
pub fn encode(event: &Event, out: &mut Vec<u8>) {
    match event {
        Event::Call(c) => encode_call(c, out),
        Event::Step(s) => encode_step(s, out),
    }
}

/// Decodes one event.
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a record of this format.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    let mut r = Reader { b: bytes };
    match r.u8()? {
        TAG_CALL => decode_call(&mut r).map(Event::Call),
        TAG_STEP => decode_step(&mut r).map(Event::Step),
        _ => Err(DecodeError("unknown record tag")),
    }
}

/// The user id of an encoded event, read without decoding the rest (deleting one user's
/// events scans the whole store with this).
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a record of this format.
pub fn user_id(bytes: &[u8]) -> Result<&str, DecodeError> {
    let mut r = Reader { b: bytes };
    match r.u8()? {
        TAG_CALL => {
            r.u64()?;
            r.u64()?;
            skip_call_to_user(&mut r)?;
        }
        TAG_STEP => {
            r.u64()?;
            r.u64()?;
            r.skip_str()?;
            r.skip_str()?;
            r.u64()?;
            r.u8()?;
            r.skip_str()?;
            if r.presence()? {
                r.skip_str()?;
            }
            r.u64()?;
            r.u8()?;
        }
        _ => return Err(DecodeError("unknown record tag")),
    }
    r.str_ref()
}

/// Skips a call record's fields from its event type to its success flag (after id and
/// timestamp), leaving the reader at the user id: the part `user_id` and `peek` both pass over.
fn skip_call_to_user(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    r.u8()?;
    r.skip_str()?;
    if r.presence()? {
        for _ in 0..3 {
            r.skip_str()?;
        }
    }
    let n = r.u64()?;
    for _ in 0..n {
        r.skip_str()?;
        r.skip_str()?;
    }
    r.u64()?;
    r.u8()?;
    Ok(())
}

/// Decodes a record that must be a call (a value of the store's `calls` table).
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a call record of this format.
pub fn decode_call_record(bytes: &[u8]) -> Result<CallEvent, DecodeError> {
    let mut r = Reader { b: bytes };
    match r.u8()? {
        TAG_CALL => decode_call(&mut r),
        _ => Err(DecodeError("not a call record")),
    }
}

/// Decodes a record that must be a workflow step (a value of the store's `steps` table).
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a step record of this format.
pub fn decode_step_record(bytes: &[u8]) -> Result<StepEvent, DecodeError> {
    let mut r = Reader { b: bytes };
    match r.u8()? {
        TAG_STEP => decode_step(&mut r),
        _ => Err(DecodeError("not a step record")),
    }
}

/// Decodes a call record (a value of the store's `calls` table) into a new row of `table`,
/// borrowing its strings from `bytes` until they are interned.
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a call record of this format; `table` then has no
/// new row (it may have new interned strings).
pub fn decode_call_into(bytes: &[u8], table: &mut CallTable) -> Result<(), DecodeError> {
    let mut r = Reader { b: bytes };
    if r.u8()? != TAG_CALL {
        return Err(DecodeError("not a call record"));
    }
    let id = r.u64()?;
    let timestamp_us = r.i64()?;
    let event_type = event_type(r.u8()?)?;
    let component = r.str_ref()?;
    if r.presence()? {
        for _ in 0..3 {
            r.skip_str()?;
        }
    }
    let n = r.u64()?;
    table.begin_params();
    for _ in 0..n {
        let k = r.str_ref()?;
        let v = r.str_ref()?;
        table.push_param(k, v);
    }
    let params = table.end_params();
    let data_length = r.u64()?;
    let success = r.u8()? != 0;
    let user = r.str_ref()?;
    let session = r.str_ref()?;
    for _ in 0..3 {
        // run id, workflow, cell
        if r.presence()? {
            r.skip_str()?;
        }
    }
    let truth_h = r.opt(Reader::f64)?;
    let perf = r.opt(|r| {
        let wall = r.u64()?;
        r.u64()?;
        r.u64()?;
        let cpu = r.f64()?;
        r.u64()?;
        r.u64()?;
        let heap = r.u64()?;
        Ok((wall, heap, cpu))
    })?;
    let error = r.opt(|r| {
        let kind = r.str_ref()?;
        let message = r.str_ref()?;
        if r.presence()? {
            r.skip_str()?;
        }
        if r.presence()? {
            r.skip_str()?;
        }
        Ok((kind, message))
    })?;
    table.push_row(
        &CallRow {
            id,
            timestamp_us,
            event_type,
            component,
            data_length,
            success,
            user,
            session,
            truth_h,
            perf,
            error,
        },
        params,
    );
    Ok(())
}

fn event_type(b: u8) -> Result<EventType, DecodeError> {
    Ok(match b {
        0 => EventType::EstimatorUsage,
        1 => EventType::ModelUsage,
        2 => EventType::BenchmarkRun,
        3 => EventType::Custom,
        _ => return Err(DecodeError("unknown event type")),
    })
}

/// What the store needs of an encoded event to file it, read without decoding the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peek<'a> {
    /// The event id.
    pub id: u64,
    /// Whether it is a workflow step (else a call).
    pub is_step: bool,
    /// The error kind of a failed call.
    pub error_kind: Option<&'a str>,
}

/// Reads the id, the record type and the error kind of an encoded event.
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a record of this format (as far as read).
pub fn peek(bytes: &[u8]) -> Result<Peek<'_>, DecodeError> {
    let mut r = Reader { b: bytes };
    let tag = r.u8()?;
    let id = r.u64()?;
    match tag {
        TAG_STEP => Ok(Peek {
            id,
            is_step: true,
            error_kind: None,
        }),
        TAG_CALL => {
            r.u64()?;
            skip_call_to_user(&mut r)?;
            r.skip_str()?;
            r.skip_str()?;
            for _ in 0..3 {
                if r.presence()? {
                    r.skip_str()?;
                }
            }
            if r.presence()? {
                r.take(8)?;
            }
            if r.presence()? {
                for _ in 0..3 {
                    r.u64()?;
                }
                r.take(8)?;
                for _ in 0..3 {
                    r.u64()?;
                }
            }
            let error_kind = if r.presence()? {
                Some(r.str_ref()?)
            } else {
                None
            };
            Ok(Peek {
                id,
                is_step: false,
                error_kind,
            })
        }
        _ => Err(DecodeError("unknown record tag")),
    }
}

/// The timestamp (µs since the epoch) of an encoded event, read without decoding the rest.
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a record of this format.
pub fn timestamp(bytes: &[u8]) -> Result<i64, DecodeError> {
    let mut r = Reader { b: bytes };
    match r.u8()? {
        TAG_CALL | TAG_STEP => {
            r.u64()?;
            r.i64()
        }
        _ => Err(DecodeError("unknown record tag")),
    }
}

fn encode_call(c: &CallEvent, out: &mut Vec<u8>) {
    let who = Who {
        id: c.id,
        user_id: &c.user_id,
        session_id: &c.session_id,
        machine: c.machine.as_ref(),
    };
    encode_call_view(&c.view(), &who, out);
}

/// What a [`CallView`] leaves to the recorder: the event's id, who recorded it, and the
/// machine facts (on a session's first call event).
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// The event's id.
    pub id: u64,
    /// User id (already hashed in privacy mode).
    pub user_id: &'a str,
    /// Session id.
    pub session_id: &'a str,
    /// The machine facts, when this event carries them.
    pub machine: Option<&'a Machine>,
}

/// A sanitized parameter map in its encoded form (count, then name and value of each entry),
/// made once per distinct set and copied into each record: a repeated set costs one `memcpy`
/// instead of a map clone and its re-encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedParameters(Vec<u8>);

impl EncodedParameters {
    /// Encodes `map`.
    pub fn new(map: &BTreeMap<String, String>) -> EncodedParameters {
        let mut out = Vec::new();
        put_parameters(&mut out, map);
        EncodedParameters(out)
    }

    /// Encodes `pairs`, which must be in strictly increasing key order: the same bytes as
    /// [`EncodedParameters::new`] of the map they make, without building the map.
    pub fn from_sorted_pairs<'a>(
        pairs: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    ) -> EncodedParameters {
        let mut out = Vec::with_capacity(16 * pairs.len());
        put_u64(&mut out, pairs.len() as u64);
        for (k, v) in pairs {
            put_str(&mut out, k);
            put_str(&mut out, v);
        }
        EncodedParameters(out)
    }
}

fn put_parameters(out: &mut Vec<u8>, map: &BTreeMap<String, String>) {
    put_u64(out, map.len() as u64);
    for (k, v) in map {
        put_str(out, k);
        put_str(out, v);
    }
}

/// Appends the encoding of the call event `v` recorded as `who` to `out`: the same bytes as
/// [`encode`] of the owned event.
pub fn encode_call_view(v: &CallView<'_>, who: &Who<'_>, out: &mut Vec<u8>) {
    out.push(TAG_CALL);
    put_u64(out, who.id);
    put_i64(out, v.timestamp_us);
    out.push(match v.event_type {
        EventType::EstimatorUsage => 0,
        EventType::ModelUsage => 1,
        EventType::BenchmarkRun => 2,
        EventType::Custom => 3,
    });
    put_str(out, v.component);
    put_opt(out, v.plugin.as_ref(), |out, p| {
        put_str(out, p.name);
        put_str(out, p.version);
        put_str(out, p.sha256);
    });
    match v.parameters {
        ParametersView::Map(map) => put_parameters(out, map),
        ParametersView::Encoded(enc) => out.extend_from_slice(&enc.0),
    }
    put_u64(out, v.data_length);
    out.push(u8::from(v.success));
    put_str(out, who.user_id);
    put_str(out, who.session_id);
    put_opt(out, v.run_id, put_str);
    put_opt(out, v.workflow, put_str);
    put_opt(out, v.cell, put_str);
    put_opt(out, v.truth_h.as_ref(), |o, h| put_f64(o, *h));
    put_opt(out, v.performance.as_ref(), |o, p| {
        put_u64(o, p.wall_ns);
        put_u64(o, p.cpu_thread_ns);
        put_u64(o, p.cpu_process_ns);
        put_f64(o, p.cpu_percent);
        put_u64(o, p.rss_before);
        put_u64(o, p.rss_after);
        put_u64(o, p.heap_peak);
    });
    put_opt(out, v.error, |o, e| {
        put_str(o, &e.kind);
        put_str(o, &e.message);
        put_opt(o, e.location.as_ref(), |o, s| put_str(o, s));
        put_opt(o, e.backtrace.as_ref(), |o, s| put_str(o, s));
    });
    // Appended field: written only when present (one event per session), so the other events
    // stay as they were. A field appended after this one must write the `0` of a `None` here.
    if let Some(m) = who.machine {
        out.push(1);
        put_str(out, &m.cpu);
        put_u64(out, m.cores);
        put_u64(out, m.memory_bytes);
        put_str(out, &m.os);
    }
}

fn decode_call(r: &mut Reader<'_>) -> Result<CallEvent, DecodeError> {
    let id = r.u64()?;
    let timestamp_us = r.i64()?;
    let event_type = event_type(r.u8()?)?;
    let component = r.string()?;
    let plugin = r.opt(|r| {
        Ok(PluginRef {
            name: r.string()?,
            version: r.string()?,
            sha256: r.string()?,
        })
    })?;
    let n = r.u64()?;
    let mut parameters = BTreeMap::new();
    for _ in 0..n {
        let k = r.string()?;
        let v = r.string()?;
        parameters.insert(k, v);
    }
    let data_length = r.u64()?;
    let success = r.u8()? != 0;
    let user_id = r.string()?;
    let session_id = r.string()?;
    let run_id = r.opt(Reader::string)?;
    let workflow = r.opt(Reader::string)?;
    let cell = r.opt(Reader::string)?;
    let truth_h = r.opt(Reader::f64)?;
    let performance = r.opt(|r| {
        Ok(Performance {
            wall_ns: r.u64()?,
            cpu_thread_ns: r.u64()?,
            cpu_process_ns: r.u64()?,
            cpu_percent: r.f64()?,
            rss_before: r.u64()?,
            rss_after: r.u64()?,
            heap_peak: r.u64()?,
        })
    })?;
    let error = r.opt(|r| {
        Ok(ErrorInfo {
            kind: r.string()?,
            message: r.string()?,
            location: r.opt(Reader::string)?,
            backtrace: r.opt(Reader::string)?,
        })
    })?;
    let machine = if r.b.is_empty() {
        None
    } else {
        r.opt(|r| {
            Ok(Machine {
                cpu: r.string()?,
                cores: r.u64()?,
                memory_bytes: r.u64()?,
                os: r.string()?,
            })
        })?
    };
    Ok(CallEvent {
        id,
        timestamp_us,
        event_type,
        component,
        plugin,
        parameters,
        data_length,
        success,
        user_id,
        session_id,
        run_id,
        workflow,
        cell,
        truth_h,
        performance,
        error,
        machine,
    })
}

fn encode_step(s: &StepEvent, out: &mut Vec<u8>) {
    let view = StepView {
        timestamp_us: s.timestamp_us,
        run_id: &s.run_id,
        workflow: &s.workflow,
        seq: s.seq,
        step_type: s.step_type,
        component: &s.component,
        cell: s.cell.as_deref(),
        duration_ns: s.duration_ns,
        success: s.success,
    };
    let who = Who {
        id: s.id,
        user_id: &s.user_id,
        session_id: &s.session_id,
        machine: None,
    };
    encode_step_view(&view, &who, out);
}

/// Appends the encoding of the step `s` recorded as `who` to `out`: the same bytes as
/// [`encode`] of the owned event (`who.machine` is not part of a step).
pub fn encode_step_view(s: &StepView<'_>, who: &Who<'_>, out: &mut Vec<u8>) {
    out.push(TAG_STEP);
    put_u64(out, who.id);
    put_i64(out, s.timestamp_us);
    put_str(out, s.run_id);
    put_str(out, s.workflow);
    put_u64(out, s.seq);
    out.push(match s.step_type {
        StepType::Generate => 0,
        StepType::Contaminate => 1,
        StepType::Estimate => 2,
        StepType::Evaluate => 3,
        StepType::Report => 4,
    });
    put_str(out, s.component);
    put_opt(out, s.cell, put_str);
    put_u64(out, s.duration_ns);
    out.push(u8::from(s.success));
    put_str(out, who.user_id);
    put_str(out, who.session_id);
}

fn decode_step(r: &mut Reader<'_>) -> Result<StepEvent, DecodeError> {
    Ok(StepEvent {
        id: r.u64()?,
        timestamp_us: r.i64()?,
        run_id: r.string()?,
        workflow: r.string()?,
        seq: r.u64()?,
        step_type: match r.u8()? {
            0 => StepType::Generate,
            1 => StepType::Contaminate,
            2 => StepType::Estimate,
            3 => StepType::Evaluate,
            4 => StepType::Report,
            _ => return Err(DecodeError("unknown step type")),
        },
        component: r.string()?,
        cell: r.opt(Reader::string)?,
        duration_ns: r.u64()?,
        success: r.u8()? != 0,
        user_id: r.string()?,
        session_id: r.string()?,
    })
}

fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt<T: ?Sized>(out: &mut Vec<u8>, v: Option<&T>, f: impl FnOnce(&mut Vec<u8>, &T)) {
    match v {
        Some(x) => {
            out.push(1);
            f(out, x);
        }
        None => out.push(0),
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&first, rest) = self.b.split_first().ok_or(DecodeError("truncated"))?;
        self.b = rest;
        Ok(first)
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint too long"))
    }

    fn i64(&mut self) -> Result<i64, DecodeError> {
        let u = self.u64()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn f64(&mut self) -> Result<f64, DecodeError> {
        let bytes = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(bytes);
        Ok(f64::from_le_bytes(a))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.b.len() < n {
            return Err(DecodeError("truncated"));
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    fn str_ref(&mut self) -> Result<&'a str, DecodeError> {
        let n = usize::try_from(self.u64()?).map_err(|_| DecodeError("string too long"))?;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError("invalid utf-8"))
    }

    fn skip_str(&mut self) -> Result<(), DecodeError> {
        let n = usize::try_from(self.u64()?).map_err(|_| DecodeError("string too long"))?;
        self.take(n).map(|_| ())
    }

    fn presence(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError("bad option tag")),
        }
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let n = usize::try_from(self.u64()?).map_err(|_| DecodeError("string too long"))?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("invalid utf-8"))
    }

    fn opt<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => f(self).map(Some),
            _ => Err(DecodeError("bad option tag")),
        }
    }
}

/// CRC-32 (IEEE, reflected, polynomial 0xEDB88320) of `bytes`: the journal's frame checksum.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc = CRC_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The byte-at-a-time CRC-32 (IEEE, reflected) table.
pub(crate) const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_call(id: u64) -> CallEvent {
        let mut parameters = BTreeMap::new();
        parameters.insert("min_scale".to_string(), "16".to_string());
        CallEvent {
            id,
            timestamp_us: 1_700_000_000_000_000 + id as i64,
            event_type: EventType::EstimatorUsage,
            component: "dfa".into(),
            plugin: Some(PluginRef {
                name: "temporal".into(),
                version: "0.1.0".into(),
                sha256: "ab".repeat(32),
            }),
            parameters,
            data_length: 4096,
            success: false,
            user_id: "u".into(),
            session_id: "s".into(),
            run_id: Some("r".into()),
            workflow: None,
            cell: Some("c1".into()),
            truth_h: Some(0.7),
            performance: Some(Performance {
                wall_ns: 123,
                cpu_thread_ns: 100,
                cpu_process_ns: 110,
                cpu_percent: 89.4,
                rss_before: 1 << 20,
                rss_after: 2 << 20,
                heap_peak: 65536,
            }),
            error: Some(ErrorInfo {
                kind: "numerical".into(),
                message: "singular fit".into(),
                location: Some("src/x.rs:3".into()),
                backtrace: None,
            }),
            machine: None,
        }
    }

    #[test]
    fn parameters_from_sorted_pairs_are_the_maps_bytes() {
        let mut map = BTreeMap::new();
        for (k, v) in [("seed", "12"), ("ci", "asymptotic"), ("level", "0.95")] {
            map.insert(k.to_string(), v.to_string());
        }
        let pairs = map.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        assert_eq!(
            EncodedParameters::from_sorted_pairs(pairs),
            EncodedParameters::new(&map)
        );
        assert_eq!(
            EncodedParameters::from_sorted_pairs(std::iter::empty()),
            EncodedParameters::new(&BTreeMap::new())
        );
    }

    #[test]
    fn codec_step_view_writes_the_owned_steps_bytes() {
        let owned = StepEvent {
            id: 77,
            timestamp_us: 1_700_000_000_000_000,
            run_id: "run".into(),
            workflow: "sweep".into(),
            seq: 12,
            step_type: StepType::Estimate,
            component: "dfa".into(),
            cell: Some("cell-3".into()),
            duration_ns: 9_000,
            success: false,
            user_id: "u".into(),
            session_id: "s".into(),
        };
        let mut expected = Vec::new();
        encode(&Event::Step(owned.clone()), &mut expected);
        let view = StepView {
            timestamp_us: owned.timestamp_us,
            run_id: "run",
            workflow: "sweep",
            seq: 12,
            step_type: StepType::Estimate,
            component: "dfa",
            cell: Some("cell-3"),
            duration_ns: 9_000,
            success: false,
        };
        let who = Who {
            id: 77,
            user_id: "u",
            session_id: "s",
            machine: None,
        };
        let mut got = Vec::new();
        encode_step_view(&view, &who, &mut got);
        assert_eq!(got, expected);
        assert_eq!(decode(&got).unwrap(), Event::Step(owned));
    }

    #[test]
    fn codec_call_roundtrips_exactly() {
        let e = Event::Call(sample_call(42));
        let mut buf = Vec::new();
        encode(&e, &mut buf);
        assert_eq!(decode(&buf).unwrap(), e);
    }

    #[test]
    fn codec_view_with_encoded_parameters_writes_the_owned_events_bytes() {
        let mut owned = sample_call(42);
        owned.parameters.insert("detrend".into(), "linear".into());
        owned.machine = Some(Machine {
            cpu: "cpu".into(),
            cores: 2,
            memory_bytes: 1 << 30,
            os: "os".into(),
        });
        let mut expected = Vec::new();
        encode(&Event::Call(owned.clone()), &mut expected);
        let params = EncodedParameters::new(&owned.parameters);
        let view = CallView {
            parameters: ParametersView::Encoded(&params),
            ..owned.view()
        };
        let who = Who {
            id: 42,
            user_id: "u",
            session_id: "s",
            machine: owned.machine.as_ref(),
        };
        let mut got = Vec::new();
        encode_call_view(&view, &who, &mut got);
        assert_eq!(got, expected);
        assert_eq!(decode(&got).unwrap(), Event::Call(owned));
    }

    #[test]
    fn codec_step_roundtrips_exactly() {
        let e = Event::Step(StepEvent {
            id: u64::MAX,
            timestamp_us: -5,
            run_id: "r".into(),
            workflow: "w".into(),
            seq: 3,
            step_type: StepType::Evaluate,
            component: "bias".into(),
            cell: None,
            duration_ns: 9,
            success: true,
            user_id: "u".into(),
            session_id: "s".into(),
        });
        let mut buf = Vec::new();
        encode(&e, &mut buf);
        assert_eq!(decode(&buf).unwrap(), e);
    }

    #[test]
    fn codec_user_id_reads_the_field_of_both_record_types() {
        let mut call = sample_call(7);
        call.user_id = "the-user".into();
        let mut buf = Vec::new();
        encode(&Event::Call(call.clone()), &mut buf);
        assert_eq!(user_id(&buf).unwrap(), "the-user");
        // Without plugin and parameters, the optional fields are skipped the other way.
        call.plugin = None;
        call.parameters.clear();
        buf.clear();
        encode(&Event::Call(call), &mut buf);
        assert_eq!(user_id(&buf).unwrap(), "the-user");
        for cell in [None, Some("c".to_string())] {
            let step = StepEvent {
                id: 1,
                timestamp_us: 2,
                run_id: "r".into(),
                workflow: "w".into(),
                seq: 3,
                step_type: StepType::Report,
                component: "x".into(),
                cell,
                duration_ns: 4,
                success: false,
                user_id: "step-user".into(),
                session_id: "s".into(),
            };
            buf.clear();
            encode(&Event::Step(step), &mut buf);
            assert_eq!(user_id(&buf).unwrap(), "step-user");
        }
        assert!(user_id(&buf[..buf.len() - 4]).is_err());
    }

    #[test]
    fn codec_call_into_table_matches_the_table_of_the_decoded_event() {
        let mut calls = vec![sample_call(1), sample_call(2)];
        calls[1].plugin = None;
        calls[1].performance = None;
        calls[1].error = None;
        calls[1].truth_h = None;
        calls[1].run_id = None;
        calls[1].parameters.insert("order".into(), "2".into());
        let mut table = CallTable::default();
        let mut buf = Vec::new();
        for c in &calls {
            buf.clear();
            encode(&Event::Call(c.clone()), &mut buf);
            decode_call_into(&buf, &mut table).unwrap();
        }
        let direct = CallTable::from_events(&calls);
        assert_eq!(format!("{table:?}"), format!("{direct:?}"));
        assert_eq!(table.wall_ns, vec![123, 0]);
        assert_eq!(table.cpu_percent, vec![89.4, 0.0]);
        let e = table.error[0].unwrap();
        assert_eq!(
            (table.str(e.kind), table.str(e.message)),
            ("numerical", "singular fit")
        );
        for n in 0..buf.len() {
            let before = table.len();
            assert!(decode_call_into(&buf[..n], &mut table).is_err());
            assert_eq!(table.len(), before);
        }
    }

    #[test]
    fn codec_peek_reads_id_type_and_error_kind() {
        let mut buf = Vec::new();
        encode(&Event::Call(sample_call(42)), &mut buf);
        assert_eq!(
            peek(&buf).unwrap(),
            Peek {
                id: 42,
                is_step: false,
                error_kind: Some("numerical")
            }
        );
        let mut ok = sample_call(43);
        ok.error = None;
        ok.performance = None;
        ok.truth_h = None;
        buf.clear();
        encode(&Event::Call(ok), &mut buf);
        assert_eq!(peek(&buf).unwrap().error_kind, None);
        assert!(peek(&buf[..buf.len() - 1]).is_err());
    }

    #[test]
    fn codec_truncated_record_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        encode(&Event::Call(sample_call(1)), &mut buf);
        for n in 0..buf.len() {
            assert!(decode(&buf[..n]).is_err(), "prefix of {n} bytes decoded");
        }
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The CRC-32/ISO-HDLC check value of "123456789" is 0xCBF43926 (the catalogue of
        // parametrised CRC algorithms, Greg Cook).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn codec_machine_facts_roundtrip_and_records_without_them_still_decode() {
        let mut with = sample_call(7);
        with.machine = Some(Machine {
            cpu: "Some CPU @ 3.0GHz".into(),
            cores: 16,
            memory_bytes: 64 << 30,
            os: "Linux 6.1".into(),
        });
        let mut buf = Vec::new();
        encode(&Event::Call(with.clone()), &mut buf);
        assert_eq!(decode(&buf).unwrap(), Event::Call(with));
        // A record written before the field existed ends after `error`: it decodes as `None`.
        let mut old = Vec::new();
        encode(&Event::Call(sample_call(7)), &mut old);
        assert_eq!(buf[..old.len()], old[..]);
        match decode(&old).unwrap() {
            Event::Call(c) => assert_eq!(c.machine, None),
            Event::Step(_) => panic!("decoded a call as a step"),
        }
    }
}
