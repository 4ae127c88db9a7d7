//! Starting the workers of process plugins (programs declared by a manifest, any language) and
//! asking one for its description.
//!
//! A process plugin speaks the worker protocol of [`super::protocol`] as
//! `docs/process-plugins.md` specifies it: on start it sends the greeting frame, then its
//! descriptor frame, then answers one request frame at a time until its input closes.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lrdbench_plugin_api::PluginDescriptor;

use super::protocol;
use crate::plugin::ProcessLaunch;

/// How long a process plugin may take to start and describe itself (an interpreter importing
/// numpy and scipy takes a second or two).
pub(super) const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(30);

/// The most of a failing plugin's standard error kept to explain the failure.
const STDERR_KEEP: u64 = 64 << 10;

/// The command that starts one worker of `launch`, with its environment and working directory,
/// and its address space limited to `memory_limit` bytes when given. Its standard streams are
/// left for the caller to set.
pub(super) fn command(launch: &ProcessLaunch, memory_limit: Option<u64>) -> Command {
    let mut cmd = Command::new(&launch.program);
    cmd.args(&launch.args)
        .current_dir(&launch.workdir)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        // An interpreter that buffers its own output would hold replies back: ask Python not to.
        .env("PYTHONUNBUFFERED", "1")
        .env(
            "LRDBENCH_PROTOCOL",
            std::str::from_utf8(protocol::MAGIC).unwrap_or(""),
        );
    // A process group of its own, as the library workers: Ctrl-C reaches the host only.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    if let Some(limit) = memory_limit {
        let limit = limit as libc::rlim_t;
        // SAFETY: the closure runs in the forked child before exec and calls only setrlimit,
        // which is async-signal-safe; it allocates nothing and touches no lock.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                let rl = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &rl) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    cmd
}

/// The program as the manifest names it, for messages.
pub(super) fn program_name(launch: &ProcessLaunch) -> String {
    let mut words = vec![launch.program.display().to_string()];
    words.extend(launch.args.iter().cloned());
    words.join(" ")
}

/// Starts the plugin's program with its input closed and reads its greeting and descriptor.
///
/// # Errors
///
/// A one-line message: the program could not start, died or timed out before describing
/// itself (with the last line of its standard error), or sent something that is not the
/// protocol.
pub fn describe_process(launch: &ProcessLaunch) -> Result<PluginDescriptor, String> {
    let mut cmd = command(launch, None);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", program_name(launch)))?;
    let (Some(mut stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the plugin started without its pipes".into());
    };
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.take(STDERR_KEEP).read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let frames = read_frame(&mut stdout).and_then(|greeting| {
            let descriptor = read_frame(&mut stdout)?;
            Ok((greeting, descriptor))
        });
        let _ = tx.send(frames);
    });
    let got = rx.recv_timeout(DESCRIBE_TIMEOUT);
    // The description is all that is needed: the process is stopped either way.
    let _ = child.kill();
    let _ = child.wait();
    let last_err = || {
        err_reader
            .join()
            .ok()
            .and_then(|t| {
                t.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(|l| format!(" (last output: {})", l.trim()))
            })
            .unwrap_or_default()
    };
    let (greeting, descriptor) = match got {
        Ok(Ok(frames)) => frames,
        Ok(Err(e)) => {
            return Err(format!(
                "`{}` ended before describing itself: {e}{}",
                program_name(launch),
                last_err()
            ))
        }
        Err(_) => {
            return Err(format!(
                "`{}` did not describe itself within {} s",
                program_name(launch),
                DESCRIBE_TIMEOUT.as_secs()
            ))
        }
    };
    match protocol::decode_greeting(&greeting) {
        Ok(Ok(_)) => {}
        Ok(Err(msg)) => return Err(format!("the plugin could not start: {msg}")),
        Err(e) => {
            return Err(format!(
                "`{}` does not speak the lrdbench process protocol ({e})",
                program_name(launch)
            ))
        }
    }
    protocol::decode_descriptor(&descriptor)
        .map_err(|e| format!("malformed plugin description: {e}"))
}

/// Reads one frame's payload, blocking.
fn read_frame(r: &mut impl Read) -> Result<Vec<u8>, String> {
    let mut header = [0u8; 4];
    r.read_exact(&mut header)
        .map_err(|_| "no complete frame".to_string())?;
    // A description is small: a length beyond 16 MiB is not one.
    let len = protocol::frame_len(header).map_err(|e| e.to_string())?;
    if len > 16 << 20 {
        return Err(format!("a frame of {len} bytes is not a description"));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)
        .map_err(|_| "a truncated frame".to_string())?;
    Ok(buf)
}
