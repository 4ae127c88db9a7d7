//! Learning what an isolated plugin provides without loading it in the host: a worker started
//! with `--describe` loads the library in its own process and sends its descriptor.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lrdbench_plugin_api::PluginDescriptor;

use super::protocol;
use super::worker::WORKER_COMMAND;

/// How long a worker may take to load a library and describe it.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `program __worker LIBRARY --sha256 SHA --describe` and returns the plugin's descriptor.
/// The worker refuses the file unless its bytes hash to `sha256`, so what it describes is what
/// the host hashed.
///
/// # Errors
///
/// A one-line message: the worker could not start, could not load the library, timed out, or
/// answered something else.
pub fn describe_in_worker(
    program: &Path,
    library: &Path,
    sha256: &str,
    memory_limit: Option<u64>,
) -> Result<PluginDescriptor, String> {
    let mut cmd = Command::new(program);
    cmd.arg(WORKER_COMMAND)
        .arg(library)
        .arg("--sha256")
        .arg(sha256)
        .arg("--describe");
    if let Some(limit) = memory_limit {
        cmd.arg("--memory-limit").arg(limit.to_string());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start worker {}: {e}", program.display()))?;
    let Some(mut stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("worker started without its output pipe".into());
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        // Bounded: a descriptor is small; a worker that floods its output is cut off.
        let r = (&mut stdout)
            .take(protocol::MAX_FRAME as u64)
            .read_to_end(&mut out);
        let _ = tx.send(r.map(|_| out));
    });
    let got = rx.recv_timeout(DESCRIBE_TIMEOUT);
    if got.is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let bytes = match got {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(format!("cannot read the worker's answer: {e}")),
        Err(_) => {
            return Err(format!(
                "the worker did not describe the plugin within {} s",
                DESCRIBE_TIMEOUT.as_secs()
            ))
        }
    };
    let (greeting, rest) = split_frame(&bytes)?;
    match protocol::decode_greeting(greeting) {
        Ok(Ok(sha)) if sha == sha256 => {}
        Ok(Ok(sha)) => return Err(format!("the worker loaded SHA-256 {sha}, not {sha256}")),
        Ok(Err(load)) => return Err(load),
        Err(e) => return Err(format!("not an lrdbench worker answer ({e})")),
    }
    let (payload, _) = split_frame(rest)?;
    protocol::decode_descriptor(payload).map_err(|e| format!("malformed plugin description: {e}"))
}

fn split_frame(bytes: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let died = || "the worker died before describing the plugin".to_string();
    let header: [u8; 4] = bytes
        .get(..4)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(died)?;
    let len = protocol::frame_len(header).map_err(|e| e.to_string())?;
    let payload = bytes.get(4..4 + len).ok_or_else(died)?;
    Ok((payload, &bytes[4 + len..]))
}
