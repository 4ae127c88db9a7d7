//! A damaged store is an error, never a crash: redb answers some damage (a garbled page) with a
//! panic (`unreachable!`, an index out of bounds) instead of an error. [`catch`] runs store work
//! and turns such a panic into [`StoreError::Corrupt`], and keeps its message and backtrace off
//! standard error: the caller reports one line.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use crate::store::StoreError;

thread_local! {
    /// How many [`catch`] calls this thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// How many [`catch`] calls any thread is inside (store work may fan out to rayon's threads).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

static HOOK: Once = Once::new();

/// Runs `work` on the store at `path`; a panic inside it becomes [`StoreError::Corrupt`].
///
/// # Errors
///
/// What `work` returns, or the panic as [`StoreError::Corrupt`].
pub fn catch<T>(
    path: &Path,
    work: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    install_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    ACTIVE.fetch_add(1, Ordering::AcqRel);
    let out = panic::catch_unwind(AssertUnwindSafe(work));
    ACTIVE.fetch_sub(1, Ordering::AcqRel);
    DEPTH.with(|d| d.set(d.get() - 1));
    match out {
        Ok(r) => r,
        Err(payload) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!(
                "the database failed its own check: {}",
                text(payload.as_ref())
            ),
        }),
    }
}

fn text(payload: &(dyn std::any::Any + Send)) -> String {
    let s = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    };
    // One line: the caller prints it as part of a one-line error.
    s.lines().next().unwrap_or("panic").to_string()
}

/// Wraps the process's panic hook once: a panic on a thread inside [`catch`], or raised by
/// redb's code while any thread is, is not printed (it is returned as an error instead). Every
/// other panic goes to the hook that was there before.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !quiet(info) {
                previous(info);
            }
        }));
    });
}

fn quiet(info: &PanicHookInfo<'_>) -> bool {
    if DEPTH.with(Cell::get) > 0 {
        return true;
    }
    ACTIVE.load(Ordering::Acquire) > 0
        && info
            .location()
            .is_some_and(|l| l.file().contains("/redb-") || l.file().contains("\\redb-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_store_work_is_a_corrupt_error_and_other_results_pass_through() {
        let p = Path::new("/x/analytics.redb");
        let e = catch::<()>(p, || panic!("entered unreachable code\nmore")).unwrap_err();
        match e {
            StoreError::Corrupt { detail, .. } => {
                assert_eq!(
                    detail,
                    "the database failed its own check: entered unreachable code"
                )
            }
            other => panic!("{other}"),
        }
        assert_eq!(catch(p, || Ok(3)).unwrap(), 3);
        assert!(matches!(
            catch::<()>(p, || Err(StoreError::Busy { path: p.into() })),
            Err(StoreError::Busy { .. })
        ));
    }
}
