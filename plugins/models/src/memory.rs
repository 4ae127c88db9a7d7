//! Memory checks before large allocations: a length the machine cannot hold is a clear
//! `invalid_input` error, not an abort by the allocator or the kernel's OOM killer.

use lrdbench_plugin_api::PluginError;

/// Bytes the machine has available now: `MemAvailable` of /proc/meminfo on Linux, `None`
/// elsewhere (then only the allocator's own refusal is caught).
pub(crate) fn available_bytes() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Checks that `bytes` (an estimate of what generating a series of length `n` holds at once)
/// fits in the available memory.
///
/// # Errors
///
/// `invalid_input` naming the length, the estimate and what is available.
pub(crate) fn check(n: usize, bytes: u128) -> Result<(), PluginError> {
    // Reading /proc/meminfo costs more than generating a short series (about 25 µs against a
    // few µs at n = 1,024), so small requests skip it: a machine with less than this free
    // cannot run the host at all, and the allocator still refuses what does not fit.
    if bytes <= ALWAYS_AVAILABLE {
        return Ok(());
    }
    check_against(n, bytes, available_bytes())
}

/// Requests up to this many bytes are taken to fit without asking the system.
const ALWAYS_AVAILABLE: u128 = 16 << 20;

/// [`check`] against a given amount of available memory.
///
/// # Errors
///
/// As [`check`].
pub(crate) fn check_against(
    n: usize,
    bytes: u128,
    available: Option<u128>,
) -> Result<(), PluginError> {
    // Address space itself: nothing beyond isize::MAX bytes can be allocated anywhere.
    let hard = isize::MAX as u128;
    let limit = available.map_or(hard, |a| a.min(hard));
    if bytes > limit {
        let what = match available {
            Some(a) => format!("{} MiB available", a >> 20),
            None => "the address space".to_string(),
        };
        return Err(PluginError::invalid_input(format!(
            "length {n} needs about {} MiB, more than {what}",
            bytes >> 20
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn check_over_available_names_sizes() {
        let e = check_against(1 << 30, 96 << 30, Some(8 << 30)).unwrap_err();
        assert_eq!(
            e.message.as_str(),
            "length 1073741824 needs about 98304 MiB, more than 8192 MiB available"
        );
        assert!(check_against(1024, 1 << 20, Some(8 << 30)).is_ok());
    }

    #[test]
    fn small_requests_pass_and_impossible_ones_fail_without_a_given_limit() {
        assert!(check(1024, ALWAYS_AVAILABLE).is_ok());
        // More than any address space: refused whatever the machine has.
        assert!(check(usize::MAX, u128::MAX).is_err());
    }

    #[test]
    fn available_bytes_is_positive_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(available_bytes().unwrap() > 0);
        }
    }
}
