//! Ctrl-C and SIGTERM, handled once for the whole host: the first signal asks long jobs to
//! stop cleanly (they poll [`requested`]), the second flushes the analytics recorder, runs the
//! registered hooks and exits with status 130. Only long jobs (`run`) install this handler;
//! other commands use the analytics crate's own flush-and-exit handler.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static HOOKS: Mutex<Vec<Box<dyn Fn() + Send>>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Installs the handler (idempotent). Returns false when another handler was already set by
/// someone else, in which case signals keep their default behaviour.
pub fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        ctrlc::set_handler(|| {
            let n = SIGNALS.fetch_add(1, Ordering::SeqCst);
            STOP.store(true, Ordering::SeqCst);
            if n == 0 {
                eprintln!("\nstopping after the calls in flight (press Ctrl-C again to quit now)");
            } else {
                lrdbench_analytics::flush_all();
                run_hooks();
                std::process::exit(130);
            }
        })
        .is_ok()
    })
}

/// The flag long jobs poll: true once a stop was asked for.
pub fn flag() -> &'static AtomicBool {
    &STOP
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Registers work to do before a forced exit (e.g. flushing the analytics recorder).
pub fn on_forced_exit(hook: impl Fn() + Send + 'static) {
    if let Ok(mut hooks) = HOOKS.lock() {
        hooks.push(Box::new(hook));
    }
}

fn run_hooks() {
    if let Ok(hooks) = HOOKS.lock() {
        for h in hooks.iter() {
            h();
        }
    }
}
