//! The store's form of an event: a few dozen bytes per call instead of several hundred.
//!
//! A sweep records the same strings over and over (user, session, run, workflow, component,
//! plugin, parameter names, error kinds) and strings that differ only in their numbers (cell
//! ids such as `fgn[H=0.70]=12|clean|dfa`, parameter sets that differ only in their seed).
//! So a record holds:
//!
//! - **symbols** for repeated strings: small integers into a dictionary stored once per store
//!   (the store's `strings` table, [`Dict`]);
//! - **templates** for strings with numbers in them: the string with every run of ASCII
//!   digits cut out is a symbol, and each run follows as one varint
//!   (`value << 5 | digits`, runs longer than 17 digits split); leading zeros survive, so
//!   every string comes back byte for byte. A parameter map is one template of its pairs
//!   joined by NUL bytes (or, when a name or value holds a NUL, one symbol of its journal
//!   encoding);
//! - **numbers relative to their neighbours**: the timestamp as its distance from the time in
//!   the event id (the key), the CPU clocks as their distance from the wall time, RSS after as
//!   its distance from RSS before (RSS before rotated so that whole pages are small), floats
//!   as a short decimal when one is exact (`0.05` is `5 × 10^-2`: 2 bytes) else 8 raw bytes.
//!
//! Layout of a call (key: its id): tag `0x21`, a varint of flags (event type, success and
//! which optional fields follow), the timestamp's distance, user, session, component,
//! \[plugin\], parameters, data length, \[run\], \[workflow\], \[cell\], \[truth H\], \[performance\],
//! \[error kind, message, \[location\], \[backtrace\]\], \[machine\]. A step: tag `0x22`, flags (step
//! type, success, cell), timestamp distance, user, session, run, workflow, sequence number,
//! component, \[cell\], duration. Every record starts with tag, flags, timestamp, user and
//! session, so [`head`] reads those without the rest.
//!
//! Written in one place ([`encode`]) and read in one place ([`decode`]); a field appended to
//! an event type gets a new flag bit, so records without it still decode.

use crate::codec::{self, CallRef, MachineRef, RecordRef, StepRef};
use crate::event::{
    CallEvent, ErrorInfo, Event, EventType, Machine, Performance, PluginRef, PluginView, StepEvent,
};
use crate::table::FastMap;
use crate::wire::{put_u64, unzigzag, zigzag, DecodeError, Reader};

const TAG_CALL: u8 = 0x21;
const TAG_STEP: u8 = 0x22;

// Call flags (bits 0–1: event type).
const SUCCESS: u64 = 1 << 2;
const PLUGIN: u64 = 1 << 3;
const TRUTH: u64 = 1 << 4;
const PERF: u64 = 1 << 5;
const ERROR: u64 = 1 << 6;
const RUN: u64 = 1 << 7;
const WORKFLOW: u64 = 1 << 8;
const CELL: u64 = 1 << 9;
const MACHINE: u64 = 1 << 10;
const LOCATION: u64 = 1 << 11;
const BACKTRACE: u64 = 1 << 12;
// Step flags (bits 0–2: step type).
const STEP_SUCCESS: u64 = 1 << 3;
const STEP_CELL: u64 = 1 << 4;

/// What a dictionary entry is; its first byte. Entries of different kinds never share a
/// symbol, so deleting one user's entry (`analytics forget`) touches nothing else.
mod kind {
    /// A plain string (session, run, workflow, component, error kind).
    pub(super) const TEXT: u8 = b's';
    /// A user id.
    pub(super) const USER: u8 = b'u';
    /// A template: a string with each digit run replaced by `0xFF` (never in UTF-8).
    pub(super) const TEMPLATE: u8 = b't';
    /// A parameter map as a template of its pairs joined by NUL bytes.
    pub(super) const PARAMS: u8 = b'p';
    /// A parameter map in the journal's encoding (a name or value holds a NUL).
    pub(super) const PARAMS_RAW: u8 = b'P';
    /// A plugin: name, version and SHA-256, each length-prefixed.
    pub(super) const PLUGIN: u8 = b'g';
    /// Machine facts: CPU, cores, memory, OS, as in the journal's encoding.
    pub(super) const MACHINE: u8 = b'm';
}

/// Where a digit run is cut out of a template.
const HOLE: u8 = 0xFF;
/// The longest digit run one varint holds (10^17 < 2^57, so `value << 5 | digits` fits).
const MAX_RUN: usize = 17;
/// Exact powers of ten for the decimal form of floats.
const POW10: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/// The decimal exponent code that marks 8 raw bytes.
const RAW_FLOAT: u64 = 15;

/// The write side's dictionary: every entry of the store's `strings` table, and the symbol of
/// each. Symbols are positions: an entry is never moved, only blanked (a tombstone) or, with
/// everything else, purged; the store's `dict_epoch` changes then, and every writer reloads.
#[derive(Debug, Default)]
pub(crate) struct Dict {
    entries: Vec<Box<[u8]>>,
    // FxHash: a handful of lookups per ingested record, of trusted local strings.
    ids: FastMap<Box<[u8]>, u32>,
    committed: usize,
    key: Vec<u8>,
    /// The store's dictionary epoch these entries were loaded under.
    pub epoch: u64,
}

impl Dict {
    /// An empty dictionary of `epoch`.
    pub(crate) fn new(epoch: u64) -> Dict {
        Dict {
            epoch,
            ..Dict::default()
        }
    }

    /// How many entries (committed or not).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds an entry read from the store (its symbol is its position).
    pub(crate) fn load(&mut self, entry: &[u8]) {
        let sym = self.entries.len() as u32;
        let entry: Box<[u8]> = entry.into();
        if !entry.is_empty() {
            self.ids.insert(entry.clone(), sym);
        }
        self.entries.push(entry);
        self.committed = self.entries.len();
    }

    /// The symbol of (`kind`, `bytes`), made when new.
    fn sym(&mut self, kind: u8, bytes: &[u8]) -> u32 {
        self.key.clear();
        self.key.push(kind);
        self.key.extend_from_slice(bytes);
        if let Some(&id) = self.ids.get(self.key.as_slice()) {
            return id;
        }
        let id = self.entries.len() as u32;
        let entry: Box<[u8]> = self.key.as_slice().into();
        self.ids.insert(entry.clone(), id);
        self.entries.push(entry);
        id
    }

    /// The symbol of (`kind`, `bytes`) if it exists.
    pub(crate) fn lookup(&self, kind: u8, bytes: &[u8]) -> Option<u32> {
        let mut key = Vec::with_capacity(bytes.len() + 1);
        key.push(kind);
        key.extend_from_slice(bytes);
        self.ids.get(key.as_slice()).copied()
    }

    /// The symbol of user id `user`, if any record uses it.
    pub(crate) fn user(&self, user: &str) -> Option<u32> {
        self.lookup(kind::USER, user.as_bytes())
    }

    /// Entries made since the last [`Dict::commit`], with their symbols: what the store must
    /// write in the transaction that stores the records using them.
    pub(crate) fn pending(&self) -> impl Iterator<Item = (u32, &[u8])> {
        (self.committed..self.entries.len()).map(|i| (i as u32, &*self.entries[i]))
    }

    /// The pending entries are stored.
    pub(crate) fn commit(&mut self) {
        self.committed = self.entries.len();
    }

    /// The transaction that would have stored the pending entries failed: forget them.
    pub(crate) fn rollback(&mut self) {
        for e in self.entries.drain(self.committed..) {
            self.ids.remove(&e);
        }
    }

    /// Every entry, by symbol (for decoding).
    pub(crate) fn entries(&self) -> &[Box<[u8]>] {
        &self.entries
    }
}

/// Appends the store form of `record`, stored under key `id`, to `out`, making dictionary
/// entries in `dict` as needed. The one writer of this layout.
pub(crate) fn encode(record: &RecordRef<'_>, id: u64, dict: &mut Dict, out: &mut Vec<u8>) {
    let base = (id >> 12) as i64;
    match record {
        RecordRef::Call(c) => encode_call(c, base, dict, out),
        RecordRef::Step(s) => encode_step(s, base, dict, out),
    }
}

fn encode_call(c: &CallRef<'_>, base: i64, dict: &mut Dict, out: &mut Vec<u8>) {
    let mut flags = u64::from(codec::event_type_code(c.event_type));
    for (on, bit) in [
        (c.success, SUCCESS),
        (c.plugin.is_some(), PLUGIN),
        (c.truth_h.is_some(), TRUTH),
        (c.performance.is_some(), PERF),
        (c.error.is_some(), ERROR),
        (c.run_id.is_some(), RUN),
        (c.workflow.is_some(), WORKFLOW),
        (c.cell.is_some(), CELL),
        (c.machine.is_some(), MACHINE),
        (c.error.is_some_and(|e| e.location.is_some()), LOCATION),
        (c.error.is_some_and(|e| e.backtrace.is_some()), BACKTRACE),
    ] {
        if on {
            flags |= bit;
        }
    }
    out.push(TAG_CALL);
    put_u64(out, flags);
    put_u64(out, zigzag(base.wrapping_sub(c.timestamp_us)));
    put_sym(out, dict, kind::USER, c.user_id.as_bytes());
    put_sym(out, dict, kind::TEXT, c.session_id.as_bytes());
    put_sym(out, dict, kind::TEXT, c.component.as_bytes());
    if let Some(p) = c.plugin {
        let mut b = Vec::with_capacity(96);
        crate::wire::put_str(&mut b, p.name);
        crate::wire::put_str(&mut b, p.version);
        crate::wire::put_str(&mut b, p.sha256);
        put_sym(out, dict, kind::PLUGIN, &b);
    }
    put_params(out, dict, c);
    put_u64(out, c.data_length);
    for s in [c.run_id, c.workflow].into_iter().flatten() {
        put_sym(out, dict, kind::TEXT, s.as_bytes());
    }
    if let Some(cell) = c.cell {
        put_template(out, dict, kind::TEMPLATE, cell.as_bytes());
    }
    if let Some(h) = c.truth_h {
        put_float(out, h);
    }
    if let Some(p) = c.performance {
        put_u64(out, p.wall_ns);
        put_u64(out, zigzag(p.cpu_thread_ns.wrapping_sub(p.wall_ns) as i64));
        put_u64(
            out,
            zigzag(p.cpu_process_ns.wrapping_sub(p.cpu_thread_ns) as i64),
        );
        put_float(out, p.cpu_percent);
        put_u64(out, p.rss_before.rotate_right(12));
        put_u64(out, zigzag(p.rss_after.wrapping_sub(p.rss_before) as i64));
        put_u64(out, p.heap_peak);
    }
    if let Some(e) = c.error {
        put_sym(out, dict, kind::TEXT, e.kind.as_bytes());
        put_template(out, dict, kind::TEMPLATE, e.message.as_bytes());
        for s in [e.location, e.backtrace].into_iter().flatten() {
            put_template(out, dict, kind::TEMPLATE, s.as_bytes());
        }
    }
    if let Some(m) = c.machine {
        let mut b = Vec::with_capacity(96);
        crate::wire::put_str(&mut b, m.cpu);
        put_u64(&mut b, m.cores);
        put_u64(&mut b, m.memory_bytes);
        crate::wire::put_str(&mut b, m.os);
        put_sym(out, dict, kind::MACHINE, &b);
    }
}

fn encode_step(s: &StepRef<'_>, base: i64, dict: &mut Dict, out: &mut Vec<u8>) {
    let v = &s.view;
    let mut flags = u64::from(codec::step_type_code(v.step_type));
    if v.success {
        flags |= STEP_SUCCESS;
    }
    if v.cell.is_some() {
        flags |= STEP_CELL;
    }
    out.push(TAG_STEP);
    put_u64(out, flags);
    put_u64(out, zigzag(base.wrapping_sub(v.timestamp_us)));
    put_sym(out, dict, kind::USER, s.user_id.as_bytes());
    put_sym(out, dict, kind::TEXT, s.session_id.as_bytes());
    put_sym(out, dict, kind::TEXT, v.run_id.as_bytes());
    put_sym(out, dict, kind::TEXT, v.workflow.as_bytes());
    put_u64(out, v.seq);
    put_sym(out, dict, kind::TEXT, v.component.as_bytes());
    if let Some(cell) = v.cell {
        put_template(out, dict, kind::TEMPLATE, cell.as_bytes());
    }
    put_u64(out, v.duration_ns);
}

fn put_sym(out: &mut Vec<u8>, dict: &mut Dict, kind: u8, bytes: &[u8]) {
    put_u64(out, u64::from(dict.sym(kind, bytes)));
}

fn put_params(out: &mut Vec<u8>, dict: &mut Dict, c: &CallRef<'_>) {
    let mut joined = Vec::with_capacity(128);
    let mut clean = true;
    for (i, (k, v)) in c.parameters.iter().enumerate() {
        if i > 0 {
            joined.push(0);
        }
        clean &= !k.contains('\0') && !v.contains('\0');
        joined.extend_from_slice(k.as_bytes());
        joined.push(0);
        joined.extend_from_slice(v.as_bytes());
    }
    if clean {
        put_template(out, dict, kind::PARAMS, &joined);
    } else {
        let mut b = Vec::new();
        put_u64(&mut b, c.parameters.len() as u64);
        for (k, v) in c.parameters.iter() {
            crate::wire::put_str(&mut b, k);
            crate::wire::put_str(&mut b, v);
        }
        put_sym(out, dict, kind::PARAMS_RAW, &b);
    }
}

/// Writes `text` (UTF-8, so never holding `HOLE`) as a template symbol and its digit runs.
fn put_template(out: &mut Vec<u8>, dict: &mut Dict, kind: u8, text: &[u8]) {
    let mut template = Vec::with_capacity(text.len());
    let mut runs: Vec<u64> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i].is_ascii_digit() {
            let start = i;
            let mut value = 0u64;
            while i < text.len() && text[i].is_ascii_digit() && i - start < MAX_RUN {
                value = value * 10 + u64::from(text[i] - b'0');
                i += 1;
            }
            template.push(HOLE);
            runs.push(value << 5 | (i - start) as u64);
        } else {
            template.push(text[i]);
            i += 1;
        }
    }
    put_sym(out, dict, kind, &template);
    for r in runs {
        put_u64(out, r);
    }
}

/// Writes `v` as `zigzag(m) << 4 | e` when `v` is exactly `m / 10^e` (`e` ≤ 9), else as the
/// code [`RAW_FLOAT`] and its 8 bytes.
fn put_float(out: &mut Vec<u8>, v: f64) {
    for (e, &p) in POW10.iter().enumerate() {
        let m = (v * p).round();
        if m.abs() < 9.0e15 {
            let mi = m as i64;
            if ((mi as f64) / p).to_bits() == v.to_bits() {
                put_u64(out, zigzag(mi) << 4 | e as u64);
                return;
            }
        }
    }
    put_u64(out, RAW_FLOAT);
    out.extend_from_slice(&v.to_le_bytes());
}

/// The part every record starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// Whether the record is a step (else a call).
    pub is_step: bool,
    /// The record's flags.
    pub flags: u64,
    /// The event's timestamp, µs since the epoch.
    pub timestamp_us: i64,
    /// The user id's symbol.
    pub user: u32,
    /// The session id's symbol.
    pub session: u32,
}

/// Reads the start of the record stored under key `id`.
///
/// # Errors
///
/// [`DecodeError`] when the bytes are not a record of this form.
pub(crate) fn head(id: u64, bytes: &[u8]) -> Result<Head, DecodeError> {
    read_head(id, &mut Reader::new(bytes))
}

fn read_head(id: u64, r: &mut Reader<'_>) -> Result<Head, DecodeError> {
    let is_step = match r.u8()? {
        TAG_CALL => false,
        TAG_STEP => true,
        _ => return Err(DecodeError("unknown record tag")),
    };
    let flags = r.u64()?;
    let timestamp_us = ((id >> 12) as i64).wrapping_sub(unzigzag(r.u64()?));
    Ok(Head {
        is_step,
        flags,
        timestamp_us,
        user: r.u32()?,
        session: r.u32()?,
    })
}

/// A stored record, decoded: strings the dictionary holds are borrowed from it; strings
/// rebuilt from a template are owned.
// Decoded one at a time and consumed at once: boxing the call would cost an allocation per
// record read.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Record<'d> {
    /// A call.
    Call(CallRec<'d>),
    /// A workflow step.
    Step(StepEvent),
}

/// A stored call, decoded (see [`Record`]).
#[derive(Debug, Clone)]
pub(crate) struct CallRec<'d> {
    /// Event id.
    pub id: u64,
    /// Start time, µs since the epoch.
    pub timestamp_us: i64,
    /// Kind of call.
    pub event_type: EventType,
    /// Component name.
    pub component: &'d str,
    /// The plugin.
    pub plugin: Option<PluginView<'d>>,
    /// The parameters.
    pub parameters: Params<'d>,
    /// Series length.
    pub data_length: u64,
    /// Success.
    pub success: bool,
    /// User id.
    pub user_id: &'d str,
    /// Session id.
    pub session_id: &'d str,
    /// Run id.
    pub run_id: Option<&'d str>,
    /// Workflow name.
    pub workflow: Option<&'d str>,
    /// Cell id.
    pub cell: Option<String>,
    /// True H.
    pub truth_h: Option<f64>,
    /// Resource use.
    pub performance: Option<Performance>,
    /// The error: kind, message, location, backtrace.
    pub error: Option<(&'d str, String, Option<String>, Option<String>)>,
    /// Machine facts.
    pub machine: Option<MachineRef<'d>>,
}

/// The parameters of a [`CallRec`].
#[derive(Debug, Clone)]
pub(crate) enum Params<'d> {
    /// Names and values joined by NUL bytes.
    Joined(String),
    /// The journal's encoding (count, then length-prefixed names and values).
    Encoded(&'d [u8]),
}

impl Params<'_> {
    /// The (name, value) pairs, in name order.
    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        match self {
            Params::Joined(text) if text.is_empty() => Vec::new(),
            Params::Joined(text) => {
                let mut parts = text.split('\0');
                std::iter::from_fn(|| Some((parts.next()?, parts.next()?))).collect()
            }
            Params::Encoded(raw) => {
                let mut r = Reader::new(raw);
                let n = r.u64().unwrap_or(0);
                (0..n)
                    .map_while(|_| Some((r.str_ref().ok()?, r.str_ref().ok()?)))
                    .collect()
            }
        }
    }
}

impl CallRec<'_> {
    /// The owned event.
    pub(crate) fn to_event(&self) -> CallEvent {
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
                .pairs()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            data_length: self.data_length,
            success: self.success,
            user_id: self.user_id.into(),
            session_id: self.session_id.into(),
            run_id: self.run_id.map(Into::into),
            workflow: self.workflow.map(Into::into),
            cell: self.cell.clone(),
            truth_h: self.truth_h,
            performance: self.performance,
            error: self
                .error
                .as_ref()
                .map(|(kind, message, location, backtrace)| ErrorInfo {
                    kind: (*kind).into(),
                    message: message.clone(),
                    location: location.clone(),
                    backtrace: backtrace.clone(),
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

/// Decodes the record stored under key `id` with the dictionary `dict`, into an owned event.
///
/// # Errors
///
/// [`DecodeError`] when the bytes (or the dictionary entries they name) are not of this form.
pub(crate) fn decode(id: u64, bytes: &[u8], dict: &[Box<[u8]>]) -> Result<Event, DecodeError> {
    Ok(match read(id, bytes, dict)? {
        Record::Call(c) => Event::Call(c.to_event()),
        Record::Step(s) => Event::Step(s),
    })
}

/// Reads the record stored under key `id` with the dictionary `dict`. The one reader of this
/// layout.
///
/// # Errors
///
/// [`DecodeError`] when the bytes (or the dictionary entries they name) are not of this form.
pub(crate) fn read<'d>(
    id: u64,
    bytes: &[u8],
    dict: &'d [Box<[u8]>],
) -> Result<Record<'d>, DecodeError> {
    let mut r = Reader::new(bytes);
    let h = read_head(id, &mut r)?;
    let d = Symbols(dict);
    let user_id = d.text(kind::USER, h.user)?;
    let session_id = d.text(kind::TEXT, h.session)?;
    let flags = h.flags;
    let on = |bit: u64| flags & bit != 0;
    if h.is_step {
        let step_type = codec::step_type((flags & 7) as u8)?;
        let run_id = d.text(kind::TEXT, r.u32()?)?.into();
        let workflow = d.text(kind::TEXT, r.u32()?)?.into();
        let seq = r.u64()?;
        let component = d.text(kind::TEXT, r.u32()?)?.into();
        let cell = on(STEP_CELL)
            .then(|| d.template(&mut r, kind::TEMPLATE))
            .transpose()?;
        let duration_ns = r.u64()?;
        if !r.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        return Ok(Record::Step(StepEvent {
            id,
            timestamp_us: h.timestamp_us,
            run_id,
            workflow,
            seq,
            step_type,
            component,
            cell,
            duration_ns,
            success: on(STEP_SUCCESS),
            user_id: user_id.into(),
            session_id: session_id.into(),
        }));
    }
    let event_type = codec::event_type((flags & 3) as u8)?;
    let component = d.text(kind::TEXT, r.u32()?)?;
    let plugin = on(PLUGIN)
        .then(|| -> Result<PluginView<'d>, DecodeError> {
            let mut p = Reader::new(d.entry(kind::PLUGIN, r.u32()?)?);
            Ok(PluginView {
                name: p.str_ref()?,
                version: p.str_ref()?,
                sha256: p.str_ref()?,
            })
        })
        .transpose()?;
    let parameters = d.params(&mut r)?;
    let data_length = r.u64()?;
    let run_id = on(RUN).then(|| d.text(kind::TEXT, r.u32()?)).transpose()?;
    let workflow = on(WORKFLOW)
        .then(|| d.text(kind::TEXT, r.u32()?))
        .transpose()?;
    let cell = on(CELL)
        .then(|| d.template(&mut r, kind::TEMPLATE))
        .transpose()?;
    let truth_h = on(TRUTH).then(|| read_float(&mut r)).transpose()?;
    let performance = on(PERF)
        .then(|| -> Result<Performance, DecodeError> {
            let wall_ns = r.u64()?;
            let cpu_thread_ns = wall_ns.wrapping_add(unzigzag(r.u64()?) as u64);
            let cpu_process_ns = cpu_thread_ns.wrapping_add(unzigzag(r.u64()?) as u64);
            let cpu_percent = read_float(&mut r)?;
            let rss_before = r.u64()?.rotate_left(12);
            let rss_after = rss_before.wrapping_add(unzigzag(r.u64()?) as u64);
            Ok(Performance {
                wall_ns,
                cpu_thread_ns,
                cpu_process_ns,
                cpu_percent,
                rss_before,
                rss_after,
                heap_peak: r.u64()?,
            })
        })
        .transpose()?;
    let error = on(ERROR)
        .then(|| -> Result<_, DecodeError> {
            Ok((
                d.text(kind::TEXT, r.u32()?)?,
                d.template(&mut r, kind::TEMPLATE)?,
                on(LOCATION)
                    .then(|| d.template(&mut r, kind::TEMPLATE))
                    .transpose()?,
                on(BACKTRACE)
                    .then(|| d.template(&mut r, kind::TEMPLATE))
                    .transpose()?,
            ))
        })
        .transpose()?;
    let machine = on(MACHINE)
        .then(|| -> Result<MachineRef<'d>, DecodeError> {
            let mut m = Reader::new(d.entry(kind::MACHINE, r.u32()?)?);
            Ok(MachineRef {
                cpu: m.str_ref()?,
                cores: m.u64()?,
                memory_bytes: m.u64()?,
                os: m.str_ref()?,
            })
        })
        .transpose()?;
    if !r.is_empty() {
        return Err(DecodeError("trailing bytes"));
    }
    Ok(Record::Call(CallRec {
        id,
        timestamp_us: h.timestamp_us,
        event_type,
        component,
        plugin,
        parameters,
        data_length,
        success: on(SUCCESS),
        user_id,
        session_id,
        run_id,
        workflow,
        cell,
        truth_h,
        performance,
        error,
        machine,
    }))
}

fn read_float(r: &mut Reader<'_>) -> Result<f64, DecodeError> {
    let x = r.u64()?;
    match x & 15 {
        RAW_FLOAT if x == RAW_FLOAT => r.f64(),
        e if e < POW10.len() as u64 => Ok((unzigzag(x >> 4) as f64) / POW10[e as usize]),
        _ => Err(DecodeError("bad float code")),
    }
}

/// The dictionary as the decoder reads it: every lookup checks the entry's kind.
struct Symbols<'d>(&'d [Box<[u8]>]);

impl<'d> Symbols<'d> {
    fn entry(&self, kind: u8, sym: u32) -> Result<&'d [u8], DecodeError> {
        match self.0.get(sym as usize).map(|e| e.split_first()) {
            Some(Some((&k, rest))) if k == kind => Ok(rest),
            _ => Err(DecodeError("unknown or mismatched symbol")),
        }
    }

    fn text(&self, kind: u8, sym: u32) -> Result<&'d str, DecodeError> {
        std::str::from_utf8(self.entry(kind, sym)?).map_err(|_| DecodeError("invalid utf-8"))
    }

    /// A template's symbol and runs, read back into its bytes.
    fn expand(&self, r: &mut Reader<'_>, kind: u8) -> Result<Vec<u8>, DecodeError> {
        let template = self.entry(kind, r.u32()?)?;
        fill_template(template, r)
    }

    fn template(&self, r: &mut Reader<'_>, kind: u8) -> Result<String, DecodeError> {
        String::from_utf8(self.expand(r, kind)?).map_err(|_| DecodeError("invalid utf-8"))
    }

    fn params(&self, r: &mut Reader<'_>) -> Result<Params<'d>, DecodeError> {
        let sym = r.u32()?;
        if let Ok(raw) = self.entry(kind::PARAMS_RAW, sym) {
            // Checked here, so that `Params::pairs` cannot meet a bad entry.
            let mut p = Reader::new(raw);
            for _ in 0..p.u64()? {
                p.str_ref()?;
                p.str_ref()?;
            }
            return Ok(Params::Encoded(raw));
        }
        let joined = fill_template(self.entry(kind::PARAMS, sym)?, r)?;
        let text = String::from_utf8(joined).map_err(|_| DecodeError("invalid utf-8"))?;
        if !text.is_empty() && text.matches('\0').count() % 2 == 0 {
            return Err(DecodeError("odd parameter list"));
        }
        Ok(Params::Joined(text))
    }
}

/// `template` with each hole filled by the next digit run of `r`.
fn fill_template(template: &[u8], r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(template.len() + 16);
    for &b in template {
        if b != HOLE {
            out.push(b);
            continue;
        }
        let x = r.u64()?;
        let digits = (x & 31) as usize;
        if digits == 0 || digits > MAX_RUN {
            return Err(DecodeError("bad digit run"));
        }
        let mut value = x >> 5;
        let start = out.len();
        out.resize(start + digits, b'0');
        for slot in out[start..].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        if value != 0 {
            return Err(DecodeError("bad digit run"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CallEvent, StepType};

    fn sweep_call(i: u64) -> CallEvent {
        let mut parameters = std::collections::BTreeMap::new();
        for (k, v) in [("ci", "asymptotic"), ("level", "0.95"), ("min_scale", "2")] {
            parameters.insert(k.to_string(), v.to_string());
        }
        parameters.insert(
            "seed".into(),
            (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1).to_string(),
        );
        CallEvent {
            id: (1_765_000_000_000_000u64 + i * 37) << 12 | 5,
            timestamp_us: 1_765_000_000_000_000 + i as i64 * 37 - 20,
            event_type: EventType::EstimatorUsage,
            component: "dfa".into(),
            plugin: Some(PluginRef {
                name: "temporal".into(),
                version: "0.1.0".into(),
                sha256: "e5".repeat(32),
            }),
            parameters,
            data_length: 256 << (i % 6),
            success: !i.is_multiple_of(33),
            user_id: "a1431cb42d3cd834f487fafc13391d256e5a6a79f0368ecda3899db03530fbb3".into(),
            session_id: "9f3c2a".into(),
            run_id: Some("sweep-20261207T172055Z-0000a3".into()),
            workflow: Some("sweep".into()),
            cell: Some(format!("fgn[H=0.{:02}]={}|clean|dfa", 5 + i % 10, i % 1000)),
            truth_h: Some(0.05 + 0.1 * (i % 10) as f64),
            performance: Some(Performance {
                wall_ns: 40_000 + i,
                cpu_thread_ns: 39_000 + i,
                cpu_process_ns: 39_000 + i,
                cpu_percent: (39_000 + i) as f64 / (40_000 + i) as f64 * 100.0,
                rss_before: 80 << 20,
                rss_after: (80 << 20) + 4096 * (i % 3),
                heap_peak: 24 * 256,
            }),
            error: i.is_multiple_of(33).then(|| ErrorInfo {
                kind: "numerical".into(),
                message: format!("singular fit at scale {i}"),
                location: Some("src/x.rs:3".into()),
                backtrace: None,
            }),
            machine: (i == 0).then(|| Machine {
                cpu: "Some CPU @ 3.0GHz".into(),
                cores: 2,
                memory_bytes: 8 << 30,
                os: "Linux 6.1".into(),
            }),
        }
    }

    fn roundtrip(e: &Event, dict: &mut Dict) -> (Event, usize) {
        let mut journal = Vec::new();
        codec::encode(e, &mut journal);
        let rec = codec::read(&journal).unwrap();
        let id = rec.id();
        let mut out = Vec::new();
        encode(&rec, id, dict, &mut out);
        (decode(id, &out, dict.entries()).unwrap(), out.len())
    }

    #[test]
    fn compact_calls_and_steps_roundtrip_exactly_and_are_small() {
        let mut dict = Dict::new(0);
        let mut total = 0;
        for i in 0..1000 {
            let e = Event::Call(sweep_call(i));
            let (back, len) = roundtrip(&e, &mut dict);
            assert_eq!(back, e);
            total += len;
        }
        // Every record of a sweep shares its strings: the dictionary stays small and the
        // records hold only symbols, digit runs and numbers (the seed alone is ~10 bytes).
        assert!(dict.len() < 40, "{} dictionary entries", dict.len());
        assert!(total / 1000 < 64, "{} bytes per call", total / 1000);
        for cell in [None, Some("c-0007".to_string())] {
            let e = Event::Step(StepEvent {
                id: 77 << 12,
                timestamp_us: 70,
                run_id: "run".into(),
                workflow: "w".into(),
                seq: 12,
                step_type: StepType::Report,
                component: "dfa".into(),
                cell,
                duration_ns: u64::MAX,
                success: false,
                user_id: "u".into(),
                session_id: "s".into(),
            });
            assert_eq!(roundtrip(&e, &mut dict).0, e);
        }
    }

    #[test]
    fn compact_keeps_every_odd_value_byte_for_byte() {
        let mut dict = Dict::new(0);
        let mut c = sweep_call(3);
        c.id = 0;
        c.timestamp_us = -5;
        c.component = "".into();
        c.cell = Some("007x0012345678901234567890123456789".into());
        c.parameters.clear();
        c.parameters.insert("nul\0name".into(), "v\0".into());
        c.performance = Some(Performance {
            wall_ns: 0,
            cpu_thread_ns: u64::MAX,
            cpu_process_ns: 1,
            cpu_percent: -0.0,
            rss_before: u64::MAX,
            rss_after: 0,
            heap_peak: u64::MAX,
        });
        c.truth_h = Some(f64::INFINITY);
        c.error = Some(ErrorInfo {
            kind: "k".into(),
            message: "é 0 00 000 ✓".into(),
            location: None,
            backtrace: Some("0\n1\n".into()),
        });
        let e = Event::Call(c.clone());
        assert_eq!(roundtrip(&e, &mut dict).0, e);
        c.parameters.clear();
        c.plugin = None;
        c.run_id = None;
        c.workflow = None;
        c.cell = None;
        c.truth_h = None;
        c.performance = None;
        c.error = None;
        c.machine = None;
        let e = Event::Call(c);
        assert_eq!(roundtrip(&e, &mut dict).0, e);
    }

    #[test]
    fn compact_floats_are_exact_including_nan_and_signed_zero() {
        for v in [
            0.0,
            -0.0,
            0.05,
            0.95,
            98.0,
            0.1 + 0.2,
            1e-300,
            -1e300,
            f64::NAN,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            123_456.789,
        ] {
            let mut out = Vec::new();
            put_float(&mut out, v);
            let back = read_float(&mut Reader::new(&out)).unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v}");
        }
        let mut out = Vec::new();
        put_float(&mut out, 0.05);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn compact_damaged_records_are_errors_never_panics() {
        let mut dict = Dict::new(0);
        let mut journal = Vec::new();
        codec::encode(&Event::Call(sweep_call(0)), &mut journal);
        let rec = codec::read(&journal).unwrap();
        let mut out = Vec::new();
        encode(&rec, 1 << 12, &mut dict, &mut out);
        for n in 0..out.len() {
            assert!(decode(1 << 12, &out[..n], dict.entries()).is_err(), "{n}");
        }
        // A symbol of the wrong kind (the session where the user should be) is refused.
        let h = head(1 << 12, &out).unwrap();
        assert_ne!(h.user, h.session);
        let mut swapped = out.clone();
        swapped[0] = 0;
        assert!(decode(1 << 12, &swapped, dict.entries()).is_err());
        // Every single flipped byte either fails or decodes to some event: never a panic.
        for i in 0..out.len() {
            for bit in 0..8 {
                let mut bad = out.clone();
                bad[i] ^= 1 << bit;
                let _ = decode(1 << 12, &bad, dict.entries());
            }
        }
    }

    #[test]
    fn dict_rollback_forgets_the_entries_of_a_failed_transaction() {
        let mut dict = Dict::new(0);
        let a = dict.sym(kind::TEXT, b"a");
        dict.commit();
        let b = dict.sym(kind::TEXT, b"b");
        assert_eq!(dict.pending().count(), 1);
        dict.rollback();
        assert_eq!(dict.len(), 1);
        assert_eq!(dict.lookup(kind::TEXT, b"b"), None);
        assert_eq!(dict.sym(kind::TEXT, b"a"), a);
        assert_eq!(dict.sym(kind::TEXT, b"b"), b);
        // Kinds never share a symbol.
        assert_ne!(dict.sym(kind::USER, b"a"), a);
    }
}
