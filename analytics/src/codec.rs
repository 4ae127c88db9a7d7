//! The journal form of an [`Event`]: what the recorder appends to a journal frame, and what
//! the store reads back when it ingests a journal. (The store keeps events in another, smaller
//! form: [`crate::compact`].)
//!
//! Why not JSON: encoding sits on the path of every recorded call (budget: a few µs for the
//! whole recording). This form takes about a tenth of a microsecond and a third of the bytes
//! of JSON.
//!
//! Layout: a tag byte (1 = call, 2 = step), then the fields in declaration order. Integers are
//! LEB128 varints (signed ones zig-zag), floats 8 bytes little-endian, strings a varint length
//! and UTF-8 bytes, options a presence byte. Fields appended to the event types later are
//! appended here and decoded only when bytes remain, so older records stay readable.
//!
//! The layout is written in one place ([`encode_call_view`], [`encode_step_view`]) and read in
//! one place ([`read`], which borrows every field); everything else that reads a record (the
//! owned decoders, [`peek`], [`user_id`], [`timestamp`], the store's conversion) goes through
//! [`read`], so a field appended to the format is appended in exactly two functions.

use std::collections::BTreeMap;

use crate::event::{
    CallEvent, CallView, ErrorInfo, Event, EventType, Machine, ParametersView, Performance,
    PluginRef, PluginView, StepEvent, StepType, StepView,
};
use crate::wire::{put_f64, put_i64, put_opt, put_str, put_u64, Reader};

pub(crate) use crate::event::EncodedParameters;
pub(crate) use crate::wire::DecodeError;

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
pub(crate) fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    read(bytes).map(|r| r.to_event())
}

/// The user id of an encoded event, read without copying the rest.
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a record of this format.
#[cfg(test)]
pub(crate) fn user_id(bytes: &[u8]) -> Result<&str, DecodeError> {
    read(bytes).map(|r| match r {
        RecordRef::Call(c) => c.user_id,
        RecordRef::Step(s) => s.user_id,
    })
}

/// What the store needs of an encoded event to file it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg(test)]
pub(crate) struct Peek<'a> {
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
/// [`DecodeError`] when the bytes are not a record of this format.
#[cfg(test)]
pub(crate) fn peek(bytes: &[u8]) -> Result<Peek<'_>, DecodeError> {
    Ok(match read(bytes)? {
        RecordRef::Call(c) => Peek {
            id: c.id,
            is_step: false,
            error_kind: c.error.map(|e| e.kind),
        },
        RecordRef::Step(s) => Peek {
            id: s.id,
            is_step: true,
            error_kind: None,
        },
    })
}

/// A record of this format with every field borrowed from its bytes.
// Read one at a time and never stored in bulk: boxing the call would cost an allocation per
// record read.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
pub(crate) enum RecordRef<'a> {
    /// A call.
    Call(CallRef<'a>),
    /// A workflow step.
    Step(StepRef<'a>),
}

impl RecordRef<'_> {
    /// The event id.
    pub(crate) fn id(&self) -> u64 {
        match self {
            RecordRef::Call(c) => c.id,
            RecordRef::Step(s) => s.id,
        }
    }

    /// The owned event.
    pub(crate) fn to_event(self) -> Event {
        match self {
            RecordRef::Call(c) => Event::Call(c.to_event()),
            RecordRef::Step(s) => Event::Step(s.to_event()),
        }
    }
}

/// A call record's fields, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallRef<'a> {
    /// Event id.
    pub id: u64,
    /// Start time, µs since the epoch.
    pub timestamp_us: i64,
    /// Kind of call.
    pub event_type: EventType,
    /// Component name.
    pub component: &'a str,
    /// The plugin.
    pub plugin: Option<PluginView<'a>>,
    /// The parameters.
    pub parameters: ParamsRef<'a>,
    /// Series length.
    pub data_length: u64,
    /// Success.
    pub success: bool,
    /// User id.
    pub user_id: &'a str,
    /// Session id.
    pub session_id: &'a str,
    /// Run id.
    pub run_id: Option<&'a str>,
    /// Workflow name.
    pub workflow: Option<&'a str>,
    /// Cell id.
    pub cell: Option<&'a str>,
    /// True H.
    pub truth_h: Option<f64>,
    /// Resource use.
    pub performance: Option<Performance>,
    /// The error.
    pub error: Option<ErrorRef<'a>>,
    /// The machine facts.
    pub machine: Option<MachineRef<'a>>,
}

/// [`ErrorInfo`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ErrorRef<'a> {
    /// Kind.
    pub kind: &'a str,
    /// Message.
    pub message: &'a str,
    /// Location.
    pub location: Option<&'a str>,
    /// Backtrace.
    pub backtrace: Option<&'a str>,
}

/// [`Machine`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MachineRef<'a> {
    /// CPU model.
    pub cpu: &'a str,
    /// Logical cores.
    pub cores: u64,
    /// Memory, bytes.
    pub memory_bytes: u64,
    /// Operating system.
    pub os: &'a str,
}

/// The parameters of a [`CallRef`]: their encoded bytes, already checked by [`read`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamsRef<'a> {
    len: u64,
    bytes: &'a [u8],
}

impl<'a> ParamsRef<'a> {
    /// How many parameters.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// The (name, value) pairs, in name order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        let mut r = Reader::new(self.bytes);
        // The bytes were checked when the record was read, so reading cannot fail here.
        std::iter::from_fn(move || Some((r.str_ref().ok()?, r.str_ref().ok()?)))
    }
}

/// A step record's fields, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepRef<'a> {
    /// Event id.
    pub id: u64,
    /// The step.
    pub view: StepView<'a>,
    /// User id.
    pub user_id: &'a str,
    /// Session id.
    pub session_id: &'a str,
}

impl CallRef<'_> {
    /// The owned event.
    pub(crate) fn to_event(self) -> CallEvent {
        CallEvent {
            id: self.id,
            timestamp_us: self.timestamp_us,
            event_type: self.event_type,
            component: self.component.into(),
            plugin: self.plugin.map(|p| PluginRef {
                name: p.name.into(),
                version: p.version.into(),
                sha256: p.sha256.into(),
            }),
            parameters: self
                .parameters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            data_length: self.data_length,
            success: self.success,
            user_id: self.user_id.into(),
            session_id: self.session_id.into(),
            run_id: self.run_id.map(Into::into),
            workflow: self.workflow.map(Into::into),
            cell: self.cell.map(Into::into),
            truth_h: self.truth_h,
            performance: self.performance,
            error: self.error.map(|e| ErrorInfo {
                kind: e.kind.into(),
                message: e.message.into(),
                location: e.location.map(Into::into),
                backtrace: e.backtrace.map(Into::into),
            }),
            machine: self.machine.map(|m| Machine {
                cpu: m.cpu.into(),
                cores: m.cores,
                memory_bytes: m.memory_bytes,
                os: m.os.into(),
            }),
        }
    }
}

impl StepRef<'_> {
    /// The owned event.
    pub(crate) fn to_event(self) -> StepEvent {
        let s = &self.view;
        StepEvent {
            id: self.id,
            timestamp_us: s.timestamp_us,
            run_id: s.run_id.into(),
            workflow: s.workflow.into(),
            seq: s.seq,
            step_type: s.step_type,
            component: s.component.into(),
            cell: s.cell.map(Into::into),
            duration_ns: s.duration_ns,
            success: s.success,
            user_id: self.user_id.into(),
            session_id: self.session_id.into(),
        }
    }
}

/// Reads a record, borrowing every field: the one reader of this layout.
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a record of this format.
pub(crate) fn read(bytes: &[u8]) -> Result<RecordRef<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    match r.u8()? {
        TAG_CALL => read_call(&mut r).map(RecordRef::Call),
        TAG_STEP => read_step(&mut r).map(RecordRef::Step),
        _ => Err(DecodeError("unknown record tag")),
    }
}

fn read_call<'a>(r: &mut Reader<'a>) -> Result<CallRef<'a>, DecodeError> {
    let id = r.u64()?;
    let timestamp_us = r.i64()?;
    let event_type = event_type(r.u8()?)?;
    let component = r.str_ref()?;
    let plugin = r.opt(|r| {
        Ok(PluginView {
            name: r.str_ref()?,
            version: r.str_ref()?,
            sha256: r.str_ref()?,
        })
    })?;
    let len = r.u64()?;
    let start = r.b;
    for _ in 0..len {
        r.str_ref()?;
        r.str_ref()?;
    }
    let parameters = ParamsRef {
        len,
        bytes: &start[..start.len() - r.b.len()],
    };
    let data_length = r.u64()?;
    let success = r.u8()? != 0;
    let user_id = r.str_ref()?;
    let session_id = r.str_ref()?;
    let run_id = r.opt(Reader::str_ref)?;
    let workflow = r.opt(Reader::str_ref)?;
    let cell = r.opt(Reader::str_ref)?;
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
        Ok(ErrorRef {
            kind: r.str_ref()?,
            message: r.str_ref()?,
            location: r.opt(Reader::str_ref)?,
            backtrace: r.opt(Reader::str_ref)?,
        })
    })?;
    // Appended field: records written before it end here.
    let machine = if r.is_empty() {
        None
    } else {
        r.opt(|r| {
            Ok(MachineRef {
                cpu: r.str_ref()?,
                cores: r.u64()?,
                memory_bytes: r.u64()?,
                os: r.str_ref()?,
            })
        })?
    };
    Ok(CallRef {
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

fn read_step<'a>(r: &mut Reader<'a>) -> Result<StepRef<'a>, DecodeError> {
    let id = r.u64()?;
    let view = StepView {
        timestamp_us: r.i64()?,
        run_id: r.str_ref()?,
        workflow: r.str_ref()?,
        seq: r.u64()?,
        step_type: step_type(r.u8()?)?,
        component: r.str_ref()?,
        cell: r.opt(Reader::str_ref)?,
        duration_ns: r.u64()?,
        success: r.u8()? != 0,
    };
    Ok(StepRef {
        id,
        view,
        user_id: r.str_ref()?,
        session_id: r.str_ref()?,
    })
}

/// The event type of its code (the one table of codes, shared with [`crate::compact`]).
pub(crate) fn event_type(b: u8) -> Result<EventType, DecodeError> {
    Ok(match b {
        0 => EventType::EstimatorUsage,
        1 => EventType::ModelUsage,
        2 => EventType::BenchmarkRun,
        3 => EventType::Custom,
        _ => return Err(DecodeError("unknown event type")),
    })
}

/// The code of an event type.
pub(crate) fn event_type_code(t: EventType) -> u8 {
    match t {
        EventType::EstimatorUsage => 0,
        EventType::ModelUsage => 1,
        EventType::BenchmarkRun => 2,
        EventType::Custom => 3,
    }
}

/// The step type of its code.
pub(crate) fn step_type(b: u8) -> Result<StepType, DecodeError> {
    Ok(match b {
        0 => StepType::Generate,
        1 => StepType::Contaminate,
        2 => StepType::Estimate,
        3 => StepType::Evaluate,
        4 => StepType::Report,
        _ => return Err(DecodeError("unknown step type")),
    })
}

/// The code of a step type.
pub(crate) fn step_type_code(t: StepType) -> u8 {
    match t {
        StepType::Generate => 0,
        StepType::Contaminate => 1,
        StepType::Estimate => 2,
        StepType::Evaluate => 3,
        StepType::Report => 4,
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
pub(crate) struct Who<'a> {
    /// The event's id.
    pub id: u64,
    /// User id (already hashed in privacy mode).
    pub user_id: &'a str,
    /// Session id.
    pub session_id: &'a str,
    /// The machine facts, when this event carries them.
    pub machine: Option<&'a Machine>,
}

/// Appends the encoding of the call event `v` recorded as `who` to `out`: the same bytes as
/// [`encode`] of the owned event.
pub(crate) fn encode_call_view(v: &CallView<'_>, who: &Who<'_>, out: &mut Vec<u8>) {
    out.push(TAG_CALL);
    put_u64(out, who.id);
    put_i64(out, v.timestamp_us);
    out.push(event_type_code(v.event_type));
    put_str(out, v.component);
    put_opt(out, v.plugin.as_ref(), |out, p| {
        put_str(out, p.name);
        put_str(out, p.version);
        put_str(out, p.sha256);
    });
    match v.parameters {
        ParametersView::Map(map) => out.extend_from_slice(EncodedParameters::new(map).bytes()),
        ParametersView::Encoded(enc) => out.extend_from_slice(enc.bytes()),
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
pub(crate) fn encode_step_view(s: &StepView<'_>, who: &Who<'_>, out: &mut Vec<u8>) {
    out.push(TAG_STEP);
    put_u64(out, who.id);
    put_i64(out, s.timestamp_us);
    put_str(out, s.run_id);
    put_str(out, s.workflow);
    put_u64(out, s.seq);
    out.push(step_type_code(s.step_type));
    put_str(out, s.component);
    put_opt(out, s.cell, put_str);
    put_u64(out, s.duration_ns);
    out.push(u8::from(s.success));
    put_str(out, who.user_id);
    put_str(out, who.session_id);
}

/// CRC-32/ISO-HDLC of `bytes` (the journal's frame checksum), by `crc32fast`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

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
