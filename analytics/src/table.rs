//! The read side for reports: calls decoded into columns, their strings interned.
//!
//! A report over a million calls reads every call once. Decoding each into a
//! [`CallEvent`] allocates a dozen strings and a map per call, and
//! the reports then hash those strings again to group them. A [`CallTable`] instead keeps one
//! column per field the reports use, and every string (component, user, session, error kind and
//! message, parameter set) as a [`Sym`] into one [`Interner`]: decoding borrows the record's
//! bytes and allocates only for a string never seen before, and reports group by small
//! integers in `Vec`-indexed accumulators. The write-side event types are untouched.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::event::{CallEvent, EventType};

/// The multiplicative hash of rustc (FxHash): the read side hashes millions of short, trusted
/// strings, where SipHash's resistance to adversarial keys costs several times more and buys
/// nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A hash map with [`FxHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// An interned string: an index into an [`Interner`].
pub type Sym = u32;

/// An interned parameter set: an index into [`CallTable::param_sets`].
pub type SetId = u32;

/// Whether a parameter is named as one derived per call: `seed` or `*_seed` (a workflow
/// derives every cell's seed from the workflow seed and the cell's identity). Such a
/// parameter is kept out of the interned parameter sets, whose number would otherwise grow
/// with the calls, and held per row in [`CallTable::derived`].
pub fn is_seed_key(key: &str) -> bool {
    key == "seed" || key.ends_with("_seed")
}

/// The value of a derived (seed) parameter: a number when the text is exactly a `u64`'s
/// decimal form (no sign, no leading zero), which most seeds are, so that it costs no
/// string; else the interned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DerivedValue {
    /// The decimal text of this number.
    Num(u64),
    /// Any other text.
    Str(Sym),
}

impl DerivedValue {
    /// The number of `text` when it is exactly a `u64`'s decimal form.
    pub fn number(text: &str) -> Option<u64> {
        let b = text.as_bytes();
        if b.is_empty() || b.len() > 20 || (b.len() > 1 && b[0] == b'0') {
            return None;
        }
        if !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        text.parse().ok()
    }
}

/// The derived (seed) parameters of one call: none, one pair, or several (an index into
/// [`CallTable::derived_many`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived {
    /// No derived parameter.
    None,
    /// One (key, value) pair.
    One((Sym, DerivedValue)),
    /// Several pairs, in key order: [`CallTable::derived_many`]`[i]`.
    Many(u32),
}

/// Strings stored once, each named by a [`Sym`] in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    ids: FastMap<Box<str>, Sym>,
    strings: Vec<Box<str>>,
}

impl Interner {
    /// The symbol of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = Sym::try_from(self.strings.len()).unwrap_or(Sym::MAX);
        self.strings.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The string of `sym`.
    ///
    /// # Panics
    ///
    /// When `sym` was not made by this interner.
    pub fn get(&self, sym: Sym) -> &str {
        &self.strings[sym as usize]
    }

    /// The symbol of `s`, if interned.
    pub fn lookup(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    /// How many distinct strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

/// The error of a failed call, interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorSyms {
    /// The error kind.
    pub kind: Sym,
    /// The message.
    pub message: Sym,
}

/// Calls as columns: row `i` of every column is the `i`-th call. Only the fields the reports
/// read are kept (not the plugin, run, workflow, cell, CPU clocks, RSS or error locations);
/// exports, which write everything, read [`CallEvent`]s.
#[derive(Debug, Clone, Default)]
pub struct CallTable {
    /// Every string of the table.
    pub strings: Interner,
    /// Distinct parameter sets, each as (key, value) pairs in key order.
    pub param_sets: Vec<Box<[(Sym, Sym)]>>,
    set_ids: FastMap<Box<[(Sym, Sym)]>, SetId>,
    scratch: Vec<(Sym, Sym)>,
    derived_scratch: Vec<(Sym, DerivedValue)>,
    /// The pairs of the calls with more than one derived parameter.
    pub derived_many: Vec<Box<[(Sym, DerivedValue)]>>,
    /// Event ids.
    pub id: Vec<u64>,
    /// Start times, µs since the epoch.
    pub timestamp_us: Vec<i64>,
    /// Event types.
    pub event_type: Vec<EventType>,
    /// Component names.
    pub component: Vec<Sym>,
    /// Parameter sets, without the derived (seed) parameters ([`is_seed_key`]).
    pub params: Vec<SetId>,
    /// The derived (seed) parameters of each call.
    pub derived: Vec<Derived>,
    /// Series lengths.
    pub data_length: Vec<u64>,
    /// Whether each call succeeded.
    pub success: Vec<bool>,
    /// User ids.
    pub user: Vec<Sym>,
    /// Session ids.
    pub session: Vec<Sym>,
    /// True H of the input, when known.
    pub truth_h: Vec<Option<f64>>,
    /// Whether the call was measured (the next three columns are 0 when not).
    pub measured: Vec<bool>,
    /// Wall time, ns.
    pub wall_ns: Vec<u64>,
    /// Heap peak, bytes.
    pub heap_peak: Vec<u64>,
    /// Process CPU over wall time, %.
    pub cpu_percent: Vec<f64>,
    /// The error, for failed calls that carry one.
    pub error: Vec<Option<ErrorSyms>>,
    /// Stored records of the period (calls and steps) that could not be decoded and were
    /// skipped: not rows of the table, but a report should say how many.
    pub skipped: u64,
}

/// One call's fields as the decoder reads them, borrowing the record's bytes.
#[derive(Debug, Clone, Copy)]
pub struct CallRow<'a> {
    /// Event id.
    pub id: u64,
    /// Start time.
    pub timestamp_us: i64,
    /// Event type.
    pub event_type: EventType,
    /// Component name.
    pub component: &'a str,
    /// Series length.
    pub data_length: u64,
    /// Success.
    pub success: bool,
    /// User id.
    pub user: &'a str,
    /// Session id.
    pub session: &'a str,
    /// True H.
    pub truth_h: Option<f64>,
    /// (wall ns, heap peak, CPU %) when measured.
    pub perf: Option<(u64, u64, f64)>,
    /// (kind, message) of the error.
    pub error: Option<(&'a str, &'a str)>,
}

impl CallTable {
    /// The number of calls.
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// Interns a parameter set given as (key, value) pairs in key order.
    pub fn intern_params<'s>(&mut self, pairs: impl Iterator<Item = (&'s str, &'s str)>) -> SetId {
        self.begin_params();
        for (k, v) in pairs {
            self.push_param(k, v);
        }
        self.end_params()
    }

    /// Starts a parameter set pair by pair (the decoder's way, without collecting the pairs):
    /// [`CallTable::push_param`] each, then [`CallTable::end_params`].
    pub fn begin_params(&mut self) {
        self.scratch.clear();
        self.derived_scratch.clear();
    }

    /// Adds a pair to the set begun by [`CallTable::begin_params`]; a derived (seed) pair
    /// ([`is_seed_key`]) is held apart for the next row ([`CallTable::push_row`]).
    pub fn push_param(&mut self, key: &str, value: &str) {
        let k = self.strings.intern(key);
        if is_seed_key(key) {
            let v = match DerivedValue::number(value) {
                Some(n) => DerivedValue::Num(n),
                None => DerivedValue::Str(self.strings.intern(value)),
            };
            self.derived_scratch.push((k, v));
            return;
        }
        let pair = (k, self.strings.intern(value));
        self.scratch.push(pair);
    }

    /// The derived (seed) pairs of call `i`, in key order.
    pub fn derived_pairs(&self, i: usize) -> &[(Sym, DerivedValue)] {
        match &self.derived[i] {
            Derived::None => &[],
            Derived::One(pair) => std::slice::from_ref(pair),
            Derived::Many(j) => &self.derived_many[*j as usize],
        }
    }

    /// The text of a derived value (allocates for a number).
    pub fn derived_text(&self, v: DerivedValue) -> std::borrow::Cow<'_, str> {
        match v {
            DerivedValue::Num(n) => std::borrow::Cow::Owned(n.to_string()),
            DerivedValue::Str(s) => std::borrow::Cow::Borrowed(self.str(s)),
        }
    }

    fn take_derived(&mut self) -> Derived {
        let d = match self.derived_scratch.as_slice() {
            [] => Derived::None,
            [one] => Derived::One(*one),
            many => {
                let j = u32::try_from(self.derived_many.len()).unwrap_or(u32::MAX);
                self.derived_many.push(many.into());
                Derived::Many(j)
            }
        };
        self.derived_scratch.clear();
        d
    }

    /// Interns the set built since [`CallTable::begin_params`].
    pub fn end_params(&mut self) -> SetId {
        if let Some(&id) = self.set_ids.get(self.scratch.as_slice()) {
            return id;
        }
        let id = SetId::try_from(self.param_sets.len()).unwrap_or(SetId::MAX);
        let set: Box<[(Sym, Sym)]> = self.scratch.as_slice().into();
        self.param_sets.push(set.clone());
        self.set_ids.insert(set, id);
        id
    }

    /// Appends one call, its parameter set already interned (and its derived pairs, if any,
    /// pushed since the last row).
    pub fn push_row(&mut self, row: &CallRow<'_>, params: SetId) {
        let derived = self.take_derived();
        self.derived.push(derived);
        self.id.push(row.id);
        self.timestamp_us.push(row.timestamp_us);
        self.event_type.push(row.event_type);
        let component = self.strings.intern(row.component);
        self.component.push(component);
        self.params.push(params);
        self.data_length.push(row.data_length);
        self.success.push(row.success);
        let user = self.strings.intern(row.user);
        self.user.push(user);
        let session = self.strings.intern(row.session);
        self.session.push(session);
        self.truth_h.push(row.truth_h);
        let (wall, heap, cpu) = row.perf.unwrap_or((0, 0, 0.0));
        self.measured.push(row.perf.is_some());
        self.wall_ns.push(wall);
        self.heap_peak.push(heap);
        self.cpu_percent.push(cpu);
        let error = row.error.map(|(kind, message)| ErrorSyms {
            kind: self.strings.intern(kind),
            message: self.strings.intern(message),
        });
        self.error.push(error);
    }

    /// Appends one call event.
    pub fn push(&mut self, c: &CallEvent) {
        let params = self.intern_params(c.parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.push_row(
            &CallRow {
                id: c.id,
                timestamp_us: c.timestamp_us,
                event_type: c.event_type,
                component: &c.component,
                data_length: c.data_length,
                success: c.success,
                user: &c.user_id,
                session: &c.session_id,
                truth_h: c.truth_h,
                perf: c
                    .performance
                    .map(|p| (p.wall_ns, p.heap_peak, p.cpu_percent)),
                error: c
                    .error
                    .as_ref()
                    .map(|e| (e.kind.as_str(), e.message.as_str())),
            },
            params,
        );
    }

    /// The table of `calls`, in their order.
    pub fn from_events(calls: &[CallEvent]) -> CallTable {
        let mut t = CallTable::default();
        t.reserve(calls.len());
        for c in calls {
            t.push(c);
        }
        t
    }

    /// Reserves room for `n` more calls.
    pub fn reserve(&mut self, n: usize) {
        self.id.reserve(n);
        self.timestamp_us.reserve(n);
        self.event_type.reserve(n);
        self.component.reserve(n);
        self.params.reserve(n);
        self.derived.reserve(n);
        self.data_length.reserve(n);
        self.success.reserve(n);
        self.user.reserve(n);
        self.session.reserve(n);
        self.truth_h.reserve(n);
        self.measured.reserve(n);
        self.wall_ns.reserve(n);
        self.heap_peak.reserve(n);
        self.cpu_percent.reserve(n);
        self.error.reserve(n);
    }

    /// Appends the rows of `other` (a table decoded apart, with its own symbols), mapping its
    /// strings and parameter sets into this table's.
    pub fn append(&mut self, other: CallTable) {
        let strings: Vec<Sym> = other
            .strings
            .strings
            .iter()
            .map(|s| self.strings.intern(s))
            .collect();
        let map = |s: Sym| strings[s as usize];
        let sets: Vec<SetId> = other
            .param_sets
            .iter()
            .map(|set| self.intern_params_syms(set.iter().map(|&(k, v)| (map(k), map(v)))))
            .collect();
        self.reserve(other.len());
        self.skipped += other.skipped;
        self.id.extend_from_slice(&other.id);
        self.timestamp_us.extend_from_slice(&other.timestamp_us);
        self.event_type.extend_from_slice(&other.event_type);
        self.component
            .extend(other.component.iter().map(|&s| map(s)));
        self.params
            .extend(other.params.iter().map(|&s| sets[s as usize]));
        let map_value = |v: DerivedValue| match v {
            DerivedValue::Num(n) => DerivedValue::Num(n),
            DerivedValue::Str(s) => DerivedValue::Str(map(s)),
        };
        for d in &other.derived {
            let d = match *d {
                Derived::None => Derived::None,
                Derived::One((k, v)) => Derived::One((map(k), map_value(v))),
                Derived::Many(j) => {
                    let pairs: Box<[(Sym, DerivedValue)]> = other.derived_many[j as usize]
                        .iter()
                        .map(|&(k, v)| (map(k), map_value(v)))
                        .collect();
                    let j = u32::try_from(self.derived_many.len()).unwrap_or(u32::MAX);
                    self.derived_many.push(pairs);
                    Derived::Many(j)
                }
            };
            self.derived.push(d);
        }
        self.data_length.extend_from_slice(&other.data_length);
        self.success.extend_from_slice(&other.success);
        self.user.extend(other.user.iter().map(|&s| map(s)));
        self.session.extend(other.session.iter().map(|&s| map(s)));
        self.truth_h.extend_from_slice(&other.truth_h);
        self.measured.extend_from_slice(&other.measured);
        self.wall_ns.extend_from_slice(&other.wall_ns);
        self.heap_peak.extend_from_slice(&other.heap_peak);
        self.cpu_percent.extend_from_slice(&other.cpu_percent);
        self.error.extend(other.error.iter().map(|e| {
            e.map(|e| ErrorSyms {
                kind: map(e.kind),
                message: map(e.message),
            })
        }));
    }

    fn intern_params_syms(&mut self, pairs: impl Iterator<Item = (Sym, Sym)>) -> SetId {
        self.scratch.clear();
        self.scratch.extend(pairs);
        self.end_params()
    }

    /// The string of `sym`.
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.get(sym)
    }

    /// The (key, value) pairs of parameter set `set`.
    pub fn param_set(&self, set: SetId) -> &[(Sym, Sym)] {
        &self.param_sets[set as usize]
    }

    /// Keeps the rows whose `keep` is true, in order.
    pub fn retain_rows(&mut self, keep: impl Fn(&CallTable, usize) -> bool) {
        let rows: Vec<usize> = (0..self.len()).filter(|&i| keep(self, i)).collect();
        if rows.len() != self.len() {
            self.gather(&rows);
        }
    }

    /// Sorts the rows by (timestamp, id), the order reports read them in; a no-op (one check)
    /// when they already are.
    pub fn sort_by_time(&mut self) {
        let key = |i: usize| (self.timestamp_us[i], self.id[i]);
        if (1..self.len()).all(|i| key(i - 1) <= key(i)) {
            return;
        }
        let mut rows: Vec<usize> = (0..self.len()).collect();
        rows.sort_by_key(|&i| key(i));
        self.gather(&rows);
    }

    /// Replaces every column by its rows `rows`, in that order.
    fn gather(&mut self, rows: &[usize]) {
        fn pick<T: Copy>(v: &mut Vec<T>, rows: &[usize]) {
            *v = rows.iter().map(|&i| v[i]).collect();
        }
        pick(&mut self.id, rows);
        pick(&mut self.timestamp_us, rows);
        pick(&mut self.event_type, rows);
        pick(&mut self.component, rows);
        pick(&mut self.params, rows);
        pick(&mut self.derived, rows);
        pick(&mut self.data_length, rows);
        pick(&mut self.success, rows);
        pick(&mut self.user, rows);
        pick(&mut self.session, rows);
        pick(&mut self.truth_h, rows);
        pick(&mut self.measured, rows);
        pick(&mut self.wall_ns, rows);
        pick(&mut self.heap_peak, rows);
        pick(&mut self.cpu_percent, rows);
        pick(&mut self.error, rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn call(id: u64, ts: i64, component: &str, params: &[(&str, &str)]) -> CallEvent {
        CallEvent {
            id,
            timestamp_us: ts,
            event_type: EventType::EstimatorUsage,
            component: component.into(),
            plugin: None,
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            data_length: id * 10,
            success: id.is_multiple_of(2),
            user_id: "u".into(),
            session_id: format!("s{}", id % 3),
            run_id: None,
            workflow: None,
            cell: None,
            truth_h: (id % 2 == 1).then_some(0.5),
            performance: None,
            error: None,
            machine: None,
        }
    }

    #[test]
    fn table_interns_strings_and_parameter_sets_once() {
        let calls = [
            call(1, 10, "dfa", &[("order", "1")]),
            call(2, 20, "rs", &[]),
            call(3, 30, "dfa", &[("order", "1")]),
            call(4, 40, "dfa", &[("order", "2")]),
        ];
        let t = CallTable::from_events(&calls);
        assert_eq!(t.len(), 4);
        assert_eq!(t.component[0], t.component[2]);
        assert_eq!(t.str(t.component[1]), "rs");
        assert_eq!(t.params[0], t.params[2]);
        assert_ne!(t.params[0], t.params[3]);
        assert!(t.param_set(t.params[1]).is_empty());
        let (k, v) = t.param_set(t.params[3])[0];
        assert_eq!((t.str(k), t.str(v)), ("order", "2"));
        assert_eq!(t.truth_h, vec![Some(0.5), None, Some(0.5), None]);
    }

    #[test]
    fn table_append_maps_symbols_of_a_table_decoded_apart() {
        let calls = [
            call(1, 10, "dfa", &[("order", "1")]),
            call(2, 20, "rs", &[]),
            call(3, 30, "higuchi", &[("kmax", "8")]),
            call(4, 40, "dfa", &[("order", "1")]),
        ];
        let mut joined = CallTable::from_events(&calls[..2]);
        joined.append(CallTable::from_events(&calls[2..]));
        let whole = CallTable::from_events(&calls);
        assert_eq!(joined.id, whole.id);
        let names = |t: &CallTable| -> Vec<String> {
            t.component.iter().map(|&s| t.str(s).to_string()).collect()
        };
        assert_eq!(names(&joined), names(&whole));
        assert_eq!(joined.params[0], joined.params[3]);
        let sets = |t: &CallTable| -> Vec<Vec<(String, String)>> {
            t.params
                .iter()
                .map(|&p| {
                    t.param_set(p)
                        .iter()
                        .map(|&(k, v)| (t.str(k).to_string(), t.str(v).to_string()))
                        .collect()
                })
                .collect()
        };
        assert_eq!(sets(&joined), sets(&whole));
        assert_eq!(joined.session, whole.session);
    }

    #[test]
    fn seeds_are_kept_out_of_the_parameter_sets_and_read_back_per_call() {
        let calls = [
            call(1, 10, "dfa", &[("order", "1"), ("seed", "123")]),
            call(2, 20, "dfa", &[("order", "1"), ("seed", "0042")]),
            call(
                3,
                30,
                "dfa",
                &[
                    ("model_seed", "7"),
                    ("order", "1"),
                    ("seed", "18446744073709551615"),
                ],
            ),
            call(4, 40, "dfa", &[("order", "1")]),
        ];
        let whole = CallTable::from_events(&calls);
        // One set for all four calls: the seeds differ, the chosen parameters do not.
        assert!(whole.params.iter().all(|&p| p == whole.params[0]));
        assert_eq!(whole.param_sets.len(), 1);
        let text = |t: &CallTable, i: usize| -> Vec<(String, String)> {
            t.derived_pairs(i)
                .iter()
                .map(|&(k, v)| (t.str(k).to_string(), t.derived_text(v).into_owned()))
                .collect()
        };
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(text(&whole, 0), pairs(&[("seed", "123")]));
        // Not a canonical number: kept as text, leading zeros and all.
        assert_eq!(text(&whole, 1), pairs(&[("seed", "0042")]));
        assert_eq!(
            text(&whole, 2),
            pairs(&[("model_seed", "7"), ("seed", "18446744073709551615")])
        );
        assert!(text(&whole, 3).is_empty());
        let mut joined = CallTable::from_events(&calls[..1]);
        joined.append(CallTable::from_events(&calls[1..]));
        for i in 0..4 {
            assert_eq!(text(&joined, i), text(&whole, i));
        }
        joined.retain_rows(|_, i| i != 0);
        assert_eq!(text(&joined, 1), text(&whole, 2));
        assert_eq!(DerivedValue::number("0"), Some(0));
        assert_eq!(DerivedValue::number("-1"), None);
        assert_eq!(DerivedValue::number("18446744073709551616"), None);
    }

    #[test]
    fn table_sorts_by_time_then_id_and_retains_in_order() {
        let calls = [
            call(5, 30, "c", &[]),
            call(2, 10, "a", &[]),
            call(1, 30, "b", &[]),
        ];
        let mut t = CallTable::from_events(&calls);
        t.sort_by_time();
        assert_eq!(t.id, vec![2, 1, 5]);
        let names: Vec<&str> = t.component.iter().map(|&s| t.str(s)).collect();
        assert_eq!(names, ["a", "b", "c"]);
        t.retain_rows(|t, i| t.timestamp_us[i] >= 30);
        assert_eq!(t.id, vec![1, 5]);
        assert_eq!(t.data_length, vec![10, 50]);
    }
}
