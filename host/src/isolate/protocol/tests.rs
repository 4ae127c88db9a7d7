//! Round trips of every frame, and a short fuzz run of the decoders.
#![allow(clippy::unwrap_used)]

use super::*;

fn payload(frame: &[u8]) -> &[u8] {
    let len = frame_len([frame[0], frame[1], frame[2], frame[3]]).unwrap();
    assert_eq!(len, frame.len() - 4);
    &frame[4..]
}

fn full_estimate() -> Estimate {
    Estimate {
        value: 0.71,
        estimand: "H".into(),
        stderr: ROption::RSome(0.02),
        ci: ROption::RSome(Interval {
            low: 0.67,
            high: 0.75,
            level: 0.95,
            method: lrdbench_plugin_api::CiMethod::Calibrated,
        }),
        r_squared: ROption::RSome(0.998),
        fit: ROption::RSome(RBox::new(ScalingFit {
            x_label: "log2(s)".into(),
            y_label: "log2(F)".into(),
            x: RVec::from(vec![4.0, 5.0, 6.0]),
            y: RVec::from(vec![1.0, 1.7, 2.4]),
            fitted: RVec::from(vec![1.01, 1.69, 2.41]),
        })),
        warnings: RVec::from(vec![RString::from("few scales"), RString::from("é ü")]),
        diagnostics: RVec::from(vec![NamedValues {
            name: "h(q)".into(),
            values: RVec::from(vec![0.7, f64::NAN, -0.0]),
        }]),
    }
}

fn all_params() -> Vec<Param> {
    vec![
        Param {
            name: "order".into(),
            value: ParamValue::Int(-3),
        },
        Param {
            name: "alpha".into(),
            value: ParamValue::Float(0.25),
        },
        Param {
            name: "flag".into(),
            value: ParamValue::Bool(true),
        },
        Param {
            name: "method".into(),
            value: ParamValue::Str("bootstrap".into()),
        },
        Param {
            name: "q".into(),
            value: ParamValue::List(RVec::from(vec![-2.0, 2.0, 4.5])),
        },
    ]
}

/// Bitwise comparison, so NaN and -0.0 count as round-tripped only when exact.
fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn estimate_request_round_trips_params_and_series_bits() {
    let series = vec![1.5, -0.0, f64::MIN_POSITIVE, 1e300, f64::NAN];
    let mut frame = Vec::new();
    encode_estimate_request(&mut frame, 7, &all_params(), &series);
    let p = payload(&frame);
    let (head, start) = decode_request_head(p).unwrap();
    assert_eq!(
        head,
        RequestHead::Estimate {
            component: 7,
            params: all_params(),
            n: 5
        }
    );
    assert_eq!(start % 8, 0, "the series starts 8-aligned in the payload");
    let mut back = Vec::new();
    read_f64s(&p[start..], &mut back);
    assert!(same_bits(&back, &series));
    // From an unaligned buffer the view copies; from an aligned one it borrows in place.
    let mut scratch = Vec::new();
    assert!(same_bits(series_view(&p[start..], &mut scratch), &series));
    let mut words = vec![0u64; p.len().div_ceil(8)];
    // SAFETY: the words own at least p.len() bytes; u8 has no alignment or validity needs.
    let aligned =
        unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), p.len()) };
    aligned.copy_from_slice(p);
    let mut unused = Vec::new();
    let view = series_view(&aligned[start..], &mut unused);
    assert!(same_bits(view, &series));
    assert!(unused.is_empty(), "an aligned series is read in place");
}

#[test]
fn head_and_raw_bytes_make_the_same_frame_as_the_whole_request() {
    let series = [1.0, -2.5, 3.25];
    let mut whole = Vec::new();
    encode_estimate_request(&mut whole, 4, &all_params(), &series);
    let mut split = Vec::new();
    encode_estimate_head(&mut split, 4, &all_params(), series.len());
    split.extend_from_slice(&f64_bytes(&series));
    assert_eq!(whole, split);
}

#[test]
fn nonzero_padding_is_rejected() {
    let mut frame = Vec::new();
    // No parameters: tag, component, count and n make 17 bytes, so 7 bytes of padding follow.
    encode_estimate_request(&mut frame, 0, &[], &[1.0]);
    let mut p = frame[4..].to_vec();
    p[17] = 1;
    assert!(matches!(
        decode_request_head(&p),
        Err(DecodeError::BadTag { tag: 1, at: 17 })
    ));
}

#[test]
fn generate_request_round_trips() {
    let mut frame = Vec::new();
    encode_generate_request(&mut frame, 2, 4096, u64::MAX, &all_params());
    let (head, _) = decode_request_head(payload(&frame)).unwrap();
    assert_eq!(
        head,
        RequestHead::Generate {
            component: 2,
            length: 4096,
            seed: u64::MAX,
            params: all_params()
        }
    );
}

#[test]
fn responses_round_trip() {
    let usage = WorkerUsage {
        wall_ns: 1,
        cpu_ns: 2,
        rss_before: 3,
        peak_rss: 4,
        heap_peak: 5,
    };
    let cases = vec![
        Response::Estimate(Estimate::new(0.5, "H"), usage),
        Response::Generated(
            Generated {
                values: RVec::from(vec![0.1, 0.2]),
                truth: RVec::from(vec![TrueValue {
                    name: "H".into(),
                    value: 0.7,
                }]),
                warnings: RVec::new(),
            },
            usage,
        ),
        Response::Error(
            CallError {
                kind: CallErrorKind::Plugin(ErrorKind::Parameter),
                message: "bad".into(),
            },
            Some(usage),
        ),
        Response::Error(
            CallError {
                kind: CallErrorKind::OutOfMemory,
                message: "no room".into(),
            },
            None,
        ),
    ];
    for resp in cases {
        let mut frame = Vec::new();
        encode_response(&mut frame, &resp);
        assert_eq!(decode_response(payload(&frame)).unwrap(), resp);
    }
}

#[test]
fn full_estimate_round_trips_bitwise() {
    let e = full_estimate();
    let mut frame = Vec::new();
    encode_response(
        &mut frame,
        &Response::Estimate(e.clone(), WorkerUsage::default()),
    );
    let Response::Estimate(back, _) = decode_response(payload(&frame)).unwrap() else {
        panic!("not an estimate")
    };
    // NaN in the diagnostics makes PartialEq fail by design; compare the floats bitwise.
    let (ROption::RSome(f1), ROption::RSome(f2)) = (&e.fit, &back.fit) else {
        panic!("fit lost")
    };
    assert!(same_bits(&f1.fitted, &f2.fitted));
    assert!(same_bits(
        &e.diagnostics[0].values,
        &back.diagnostics[0].values
    ));
    assert_eq!(back.warnings, e.warnings);
    assert_eq!(back.ci, e.ci);
    assert_eq!(back.value.to_bits(), e.value.to_bits());
}

#[test]
fn every_error_kind_has_a_distinct_code() {
    let mut kinds: Vec<CallErrorKind> = ErrorKind::ALL
        .iter()
        .map(|k| CallErrorKind::Plugin(*k))
        .collect();
    kinds.extend([
        CallErrorKind::Panic,
        CallErrorKind::Crash,
        CallErrorKind::Timeout,
        CallErrorKind::OutOfMemory,
        CallErrorKind::Load,
    ]);
    for k in &kinds {
        assert_eq!(kind_from_code(kind_code(*k)), Some(*k));
    }
}

#[test]
fn greeting_round_trips_and_rejects_other_bytes() {
    let mut frame = Vec::new();
    encode_greeting(&mut frame, Ok("abc"));
    assert_eq!(decode_greeting(payload(&frame)), Ok(Ok("abc".to_string())));
    frame.clear();
    encode_greeting(&mut frame, Err("cannot load"));
    assert_eq!(
        decode_greeting(payload(&frame)),
        Ok(Err("cannot load".to_string()))
    );
    assert_eq!(
        decode_greeting(b"hello world, not a worker"),
        Err(DecodeError::BadMagic)
    );
}

#[test]
fn estimate_request_with_wrong_series_length_is_rejected() {
    let mut frame = Vec::new();
    encode_estimate_request(&mut frame, 0, &[], &[1.0, 2.0]);
    let p = payload(&frame);
    assert!(matches!(
        decode_request_head(&p[..p.len() - 1]),
        Err(DecodeError::Truncated(_))
    ));
    let mut longer = p.to_vec();
    longer.push(0);
    assert_eq!(decode_request_head(&longer), Err(DecodeError::Trailing(1)));
}

#[test]
fn oversized_frame_header_is_rejected() {
    assert_eq!(
        frame_len(u32::MAX.to_le_bytes()),
        Err(DecodeError::TooLarge(u32::MAX as u64))
    );
}

/// xorshift64*: a fixed-seed generator, so a failing fuzz case replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A short fuzz run: random bytes, and valid frames with random bytes overwritten, truncated or
/// extended, must decode to a value or an error, never panic. Counts in the mutations are what
/// reaches the length checks: a flipped byte inside a length field asks for up to 4 GiB.
#[test]
fn decoders_never_panic_on_arbitrary_input() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut f = Vec::new();
    encode_estimate_request(&mut f, 3, &all_params(), &[1.0, 2.0, 3.0]);
    seeds.push(f[4..].to_vec());
    f.clear();
    encode_generate_request(&mut f, 1, 10, 42, &all_params());
    seeds.push(f[4..].to_vec());
    f.clear();
    encode_response(
        &mut f,
        &Response::Estimate(full_estimate(), WorkerUsage::default()),
    );
    seeds.push(f[4..].to_vec());
    f.clear();
    encode_greeting(&mut f, Ok("0123"));
    seeds.push(f[4..].to_vec());

    let mut decoded_ok = 0usize;
    for i in 0..60_000 {
        let input: Vec<u8> = if i % 4 == 0 {
            let len = rng.below(64);
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            let mut s = seeds[rng.below(seeds.len())].clone();
            match rng.below(3) {
                0 => {
                    for _ in 0..=rng.below(4) {
                        let at = rng.below(s.len());
                        s[at] = rng.next() as u8;
                    }
                }
                1 => s.truncate(rng.below(s.len())),
                _ => s.extend((0..=rng.below(8)).map(|_| rng.next() as u8)),
            }
            s
        };
        decoded_ok += usize::from(decode_request_head(&input).is_ok());
        decoded_ok += usize::from(decode_response(&input).is_ok());
        decoded_ok += usize::from(decode_greeting(&input).is_ok());
    }
    // Mutations that only touch float or text payload bytes still decode: the run must have
    // exercised the success paths too, not only the early rejections.
    assert!(decoded_ok > 1000, "only {decoded_ok} inputs decoded");
}
