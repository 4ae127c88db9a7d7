//! Privacy: keyed user-id hashes, parameter redaction and message scrubbing. Everything that
//! may carry private data passes through here before an event is built; the export side reuses [`sanitize_parameter`] and [`scrub_message`].
//!
//! In privacy mode (the default):
//! - user ids are HMAC-SHA-256 under a per-install secret (`<store>/analytics/secret`, mode
//!   0600), never a plain hash that a dictionary could invert;
//! - a parameter is redacted when its key names something private (path, file, dir, token, key,
//!   secret, password, email, user, host, url) or its value looks private (a path, an e-mail
//!   address, a URL, a token, a string over 64 characters) or is an array of numbers;
//! - messages lose paths, the home directory, the user's name, e-mail addresses and URLs.
//!
//! With privacy off, ids and parameters are kept as given, except that arrays of numbers longer
//! than [`MAX_LIST`] are summarised: a series' values are never recorded.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Longest list of numbers kept as a parameter with privacy off.
pub const MAX_LIST: usize = 16;

/// Longest string kept as a parameter in privacy mode.
pub const MAX_STRING: usize = 64;

const PRIVATE_KEYS: &[&str] = &[
    "path", "file", "dir", "token", "key", "secret", "password", "passwd", "email", "mail", "user",
    "host", "url", "uri",
];

/// A parameter value, as the sanitizer sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamView<'a> {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string (also enum choices).
    Text(&'a str),
    /// A list of numbers.
    Numbers(&'a [f64]),
}

/// The text recorded for parameter `key` = `value`.
pub fn sanitize_parameter(key: &str, value: ParamView<'_>, privacy: bool) -> String {
    if let ParamView::Numbers(xs) = value {
        if privacy || xs.len() > MAX_LIST {
            return format!("[{} numbers]", xs.len());
        }
        let items: Vec<String> = xs.iter().map(|x| x.to_string()).collect();
        return format!("[{}]", items.join(", "));
    }
    if privacy && is_private_key(key) {
        return REDACTED.to_string();
    }
    match value {
        ParamView::Int(i) => i.to_string(),
        ParamView::Float(x) => x.to_string(),
        ParamView::Bool(b) => b.to_string(),
        ParamView::Text(s) => {
            if privacy {
                if let Some(n) = number_list_len(s) {
                    return format!("[{n} numbers]");
                }
                if looks_private(s) {
                    return REDACTED.to_string();
                }
            }
            s.to_string()
        }
        ParamView::Numbers(_) => REDACTED.to_string(),
    }
}

/// Sanitizes parameters given as text (the library API's form): a value that parses as a
/// number or boolean is kept as one; any other is a string.
pub fn sanitize_text_parameters<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    privacy: bool,
) -> BTreeMap<String, String> {
    params
        .into_iter()
        .map(|(k, v)| {
            let view = if let Ok(i) = v.parse::<i64>() {
                ParamView::Int(i)
            } else if let Ok(x) = v.parse::<f64>() {
                ParamView::Float(x)
            } else if let Ok(b) = v.parse::<bool>() {
                ParamView::Bool(b)
            } else {
                ParamView::Text(v)
            };
            let key = if privacy && looks_private(k) {
                REDACTED.to_string()
            } else {
                k.to_string()
            };
            (key, sanitize_parameter(k, view, privacy))
        })
        .collect()
}

fn is_private_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    PRIVATE_KEYS.iter().any(|p| k.contains(p))
}

/// Whether a string looks like a path, an e-mail address, a URL, a token, or is too long to be
/// a setting.
pub fn looks_private(s: &str) -> bool {
    s.chars().count() > MAX_STRING
        || s.contains('/')
        || s.contains('\\')
        || s.starts_with('~')
        || s.contains("://")
        || is_email(s)
        || is_token(s)
}

fn is_email(s: &str) -> bool {
    match s.find('@') {
        Some(at) => at > 0 && s[at + 1..].contains('.'),
        None => false,
    }
}

fn is_token(s: &str) -> bool {
    // Keys and tokens: long runs of letters and digits (often with - or _) that mix both.
    s.len() >= 20
        && !s.contains(char::is_whitespace)
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().any(|c| c.is_ascii_alphabetic())
}

fn number_list_len(s: &str) -> Option<usize> {
    let parts: Vec<&str> = s
        .trim_matches(|c| c == '[' || c == ']')
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    (parts.len() >= 2 && parts.iter().all(|p| p.parse::<f64>().is_ok())).then_some(parts.len())
}

/// Keyed pseudonyms for names a user chose (data file names, inline series names, workflow
/// names, run ids): `h-` and 16 hex digits of HMAC-SHA-256 under a key derived from the
/// per-install secret. Stable for one install, so reports still group by them; not
/// invertible without the secret. Generated-series labels (`fgn[H=0.7]/n=512/r=0`) are the
/// model's and the workflow grid's, not a user's, and stay readable.
#[derive(Clone)]
pub struct Pseudonyms {
    key: Vec<u8>,
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms(..)")
    }
}

impl Pseudonyms {
    /// Pseudonyms keyed by the install's secret.
    pub fn new(secret: &[u8]) -> Pseudonyms {
        let key = hash_user_id(secret, "lrdbench pseudonyms v1").into_bytes();
        Pseudonyms { key }
    }

    /// The pseudonym of `name`; a name that already is one is kept.
    pub fn name(&self, name: &str) -> String {
        self.name_shared(name).to_string()
    }

    /// [`Pseudonyms::name`], shared: a run records the same workflow name and run id with
    /// every call and step, so the last few pseudonyms of this thread are kept, and each is one
    /// HMAC per run and a reference count per event, not an HMAC or a copy.
    pub(crate) fn name_shared(&self, name: &str) -> std::rc::Rc<str> {
        /// A cached pseudonym: the key it was made under, the name, and the pseudonym.
        type Recent = (Vec<u8>, String, std::rc::Rc<str>);
        thread_local! {
            static RECENT: std::cell::RefCell<Vec<Recent>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        RECENT.with(|recent| {
            let mut recent = recent.borrow_mut();
            if let Some(e) = recent.iter().find(|e| e.1 == name && e.0 == self.key) {
                return std::rc::Rc::clone(&e.2);
            }
            let p: std::rc::Rc<str> = if is_pseudonym(name) {
                name.into()
            } else {
                format!("h-{}", &hash_user_id(&self.key, name)[..16]).into()
            };
            if recent.len() >= 8 {
                recent.remove(0);
            }
            recent.push((self.key.clone(), name.to_string(), std::rc::Rc::clone(&p)));
            p
        })
    }

    /// A series id with a user-chosen name (`file:NAME`, `inline:NAME`) replaced by its
    /// pseudonym; generated-series ids are kept.
    pub fn series(&self, id: &str) -> String {
        self.series_ref(id).into_owned()
    }

    /// [`Pseudonyms::series`], borrowing the id when it is kept (every generated series).
    pub(crate) fn series_ref<'a>(&self, id: &'a str) -> Cow<'a, str> {
        for prefix in ["file:", "inline:"] {
            if let Some(name) = id.strip_prefix(prefix) {
                return Cow::Owned(format!("{prefix}{}", self.name_shared(name)));
            }
        }
        Cow::Borrowed(id)
    }

    /// A cell id `series|contamination|variant` with its series id pseudonymized.
    pub fn cell(&self, cell: &str) -> String {
        self.cell_ref(cell).into_owned()
    }

    /// [`Pseudonyms::cell`], borrowing the id when it is kept (a generated series' cell): no
    /// allocation per event in a sweep of generated series.
    pub(crate) fn cell_ref<'a>(&self, cell: &'a str) -> Cow<'a, str> {
        match cell.split_once('|') {
            Some((series, rest)) => match self.series_ref(series) {
                Cow::Borrowed(_) => Cow::Borrowed(cell),
                Cow::Owned(s) => Cow::Owned(format!("{s}|{rest}")),
            },
            None => self.series_ref(cell),
        }
    }
}

/// Whether `s` is a pseudonym made by [`Pseudonyms::name`].
pub fn is_pseudonym(s: &str) -> bool {
    s.len() == 18 && s.starts_with("h-") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether a series id is a generated series' label (`model[..]/n=N/r=R` or `model/n=N/r=R`):
/// a model name and the workflow's grid, nothing a user typed as a name.
pub fn is_generated_label(id: &str) -> bool {
    let Some(i) = id.find("/n=") else {
        return false;
    };
    let model = id[..i].split('[').next().unwrap_or("");
    !model.is_empty()
        && model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && id[i..].split('/').skip(1).all(|p| {
            p.split_once('=')
                .is_some_and(|(k, v)| !k.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// A cell id as exports may show it in privacy mode: generated-series labels, pseudonyms,
/// contamination labels and variants are kept whole (they are what joins an export to
/// `estimates.csv`); any other part is scrubbed like a message.
pub fn scrub_cell(cell: &str, who: &Identity) -> String {
    cell.split('|')
        .enumerate()
        .map(|(i, part)| {
            let keep = if i == 0 {
                is_generated_label(part)
                    || ["file:", "inline:"]
                        .iter()
                        .any(|p| part.strip_prefix(p).is_some_and(is_pseudonym))
            } else {
                // Contamination ids and variant labels come from the workflow grid.
                part.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-=.,[]/ +:".contains(&b))
                    && !part.contains("//")
                    && !part.starts_with('/')
            };
            if keep {
                part.to_string()
            } else {
                scrub_message(part, who)
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Who is running, as [`scrub_message`] needs to know.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The home directory, when known.
    pub home: Option<String>,
    /// The login name, when known.
    pub user: Option<String>,
    /// The machine's host name, when known.
    pub host: Option<String>,
}

impl Identity {
    /// The identity of the current process: `$HOME` and the login name.
    pub fn current() -> Identity {
        Identity {
            home: std::env::var("HOME").ok().filter(|h| h.len() > 1),
            user: login_name(),
            host: host_name(),
        }
    }
}

/// The host name, from `gethostname(2)`.
pub fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the result is NUL-terminated within it or
    // truncated, and only the bytes before the first NUL are read.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    std::str::from_utf8(&buf[..end])
        .ok()
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

/// The login name: `$USER`, `$LOGNAME`, or the password database's entry for the uid.
pub fn login_name() -> Option<String> {
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return Some(v);
            }
        }
    }
    password_entry_name()
}

/// The user name of the password database's entry for the real uid, through the re-entrant
/// `getpwuid_r` (`getpwuid` returns a static record another thread may overwrite).
fn password_entry_name() -> Option<String> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: all-zero bytes are a valid `passwd` (integers and null pointers).
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `entry` and `found` are valid for writes, and `buf` for `buf.len()` bytes;
        // on success the strings of `entry` point into `buf`, which outlives their use below.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut entry,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: `pw_name` is a NUL-terminated string inside `buf`, still alive and unchanged.
        let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
        return name.to_str().ok().map(str::to_string);
    }
}

/// A message with paths, the home directory, the user's name, e-mail addresses and URLs
/// replaced by placeholders.
pub fn scrub_message(message: &str, who: &Identity) -> String {
    let mut s = message.to_string();
    if let Some(home) = &who.home {
        s = s.replace(home.as_str(), "~");
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while !rest.is_empty() {
        let start = rest.find(|c: char| !is_separator(c)).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(is_separator).unwrap_or(rest.len());
        let word = &rest[..end];
        let trimmed = word.trim_end_matches(['.', ',', ':', ';', ')', ']', '\'', '"']);
        let tail = &word[trimmed.len()..];
        if trimmed.contains("://") {
            out.push_str("[url]");
            out.push_str(tail);
        } else if is_email(trimmed) {
            out.push_str("[email]");
            out.push_str(tail);
        } else if is_pathlike(trimmed) {
            out.push_str("[path]");
            // A path with spaces: the words up to the last one on this line that continues
            // the path (holds a '/') belong to it, unless a word in between ends a clause.
            let after = &rest[end..];
            let line_end = after.find('\n').unwrap_or(after.len());
            let line = &after[..line_end];
            let mut swallow = 0;
            let mut at = 0;
            for w in line.split(' ') {
                at += w.len() + 1;
                if w.ends_with([':', ';', ',']) || w.contains('@') || w.contains("://") {
                    break;
                }
                if w.starts_with(['/', '~', '.', '\'', '"', '(']) {
                    break;
                }
                if w.contains('/') {
                    swallow = (at - 1).min(line.len());
                }
            }
            if swallow > 0 {
                let swallowed = &line[..swallow];
                let t = swallowed.trim_end();
                let last = t.rsplit(' ').next().unwrap_or("");
                let kept = last.trim_end_matches(['.', ',', ':', ';', ')', ']', '\'', '"']);
                out.push_str(&last[kept.len()..]);
                rest = &after[swallow..];
                continue;
            }
            out.push_str(tail);
        } else if is_token(trimmed) {
            out.push_str("[token]");
            out.push_str(tail);
        } else if who
            .host
            .as_deref()
            .is_some_and(|h| h.len() >= 3 && trimmed.contains(h))
        {
            out.push_str("[host]");
            out.push_str(tail);
        } else {
            out.push_str(word);
        }
        rest = &rest[end..];
    }
    if let Some(user) = &who.user {
        // Short names ("me", "a") would scrub ordinary words; those are unlikely to identify.
        if user.len() >= 3 {
            out = out.replace(user.as_str(), "[user]");
        }
    }
    out
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '(' | '[' | '=' | '<' | '>')
}

fn is_pathlike(w: &str) -> bool {
    w.starts_with('/')
        || w.starts_with("~/")
        || w.starts_with("./")
        || w.starts_with("../")
        || w.contains('\\')
        || (w.contains('/') && w.len() > 3)
}

/// A panic location reduced to what identifies code, not a machine: the path from the last
/// `src/` on (or the file name), with line and column.
pub fn scrub_location(location: &str) -> String {
    if let Some(i) = location.rfind("src/") {
        return location[i..].to_string();
    }
    match location.rfind('/') {
        Some(i) => location[i + 1..].to_string(),
        None => location.to_string(),
    }
}

/// HMAC-SHA-256 of `user` under `secret`, lowercase hex.
pub fn hash_user_id(secret: &[u8], user: &str) -> String {
    // HMAC takes a key of any length; new_from_slice fails for no length.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::from("unknown"),
    };
    mac.update(user.as_bytes());
    // One push per digit: a `format!` per byte was most of the cost of a pseudonym.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in mac.finalize().into_bytes() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// Length of the per-install secret, bytes.
pub const SECRET_LEN: usize = 32;

/// Reads the secret at `path`: a regular file (not a symbolic link) of exactly
/// [`SECRET_LEN`] bytes, read with that bound. `Ok(None)` when there is none.
fn read_secret(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let bad = |what: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is {what}, not a {SECRET_LEN}-byte secret; remove it to make a new one \
                 (hashed user ids will then differ from those recorded before)",
                path.display()
            ),
        )
    };
    // No symbolic link (a link to /dev/zero would be read without end), and a FIFO is opened
    // without blocking so it is refused instead of waited on.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(bad("a symbolic link".into()))
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    if meta.len() != SECRET_LEN as u64 {
        return Err(bad(format!("{} bytes long", meta.len())));
    }
    let mut bytes = Vec::with_capacity(SECRET_LEN);
    file.take(SECRET_LEN as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() != SECRET_LEN {
        return Err(bad(format!("{} bytes long", bytes.len())));
    }
    Ok(Some(bytes))
}

/// The per-install secret in `dir` (`secret`, 32 random bytes, mode 0600), created on first
/// use. An existing secret must be a regular file of exactly 32 bytes: an empty, short or long
/// file, a link, a FIFO or a device is an error, never used as a key (an empty key would make
/// the hashed ids a public function of the user name).
///
/// # Errors
///
/// An I/O error reading or creating it, or an `InvalidData` error for an unusable secret.
pub fn load_or_create_secret(dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = dir.join("secret");
    if let Some(bytes) = read_secret(&path)? {
        // Repair a mode loosened by hand: the secret is what keeps ids unlinkable.
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        return Ok(bytes);
    }
    std::fs::create_dir_all(dir)?;
    let secret = crate::recorder::random_bytes(SECRET_LEN);
    let tmp = dir.join(format!("secret.{}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&secret)?;
    f.sync_all()?;
    // Two processes creating it at once: the first link wins and both read it back.
    match std::fs::hard_link(&tmp, &path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    }
    let _ = std::fs::remove_file(&tmp);
    read_secret(&path)?.ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} vanished after it was created", path.display()),
        )
    })
}

/// Makes the store private to its owner: directories 0700, files 0600 (the store directory, its
/// `analytics/` tree and `config.toml`). Best effort: a file another user owns is left as it is.
pub fn restrict_permissions(store_dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fn walk(dir: &Path, depth: usize) {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let path = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() && depth > 0 => walk(&path, depth - 1),
                    Ok(t) if t.is_file() => {
                        let _ =
                            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
                    }
                    _ => {}
                }
            }
        }
        let _ = std::fs::set_permissions(store_dir, std::fs::Permissions::from_mode(0o700));
        let config = store_dir.join("config.toml");
        if config.is_file() {
            let _ = std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600));
        }
        walk(&store_dir.join("analytics"), 2);
    }
    #[cfg(not(unix))]
    let _ = store_dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_pseudonyms_follow_their_key_and_name() {
        let (a, b) = (Pseudonyms::new(&[1; 32]), Pseudonyms::new(&[2; 32]));
        let first = a.name("sweep");
        for _ in 0..3 {
            assert_eq!(a.name("sweep"), first);
            assert_ne!(b.name("sweep"), first);
            assert_ne!(a.name("sweep2"), first);
        }
        // More names than the cache holds: each still maps to its own pseudonym.
        let names: Vec<String> = (0..20).map(|i| format!("run-{i}")).collect();
        let once: Vec<String> = names.iter().map(|n| a.name(n)).collect();
        let again: Vec<String> = names.iter().map(|n| a.name(n)).collect();
        assert_eq!(once, again);
        assert_eq!(first, format!("h-{}", &hash_user_id(&a.key, "sweep")[..16]));
    }

    #[test]
    fn sanitize_redacts_private_keys_in_privacy_mode_only() {
        let v = ParamView::Text("report.csv");
        assert_eq!(sanitize_parameter("output_file", v, true), REDACTED);
        assert_eq!(sanitize_parameter("output_file", v, false), "report.csv");
        assert_eq!(sanitize_parameter("window", ParamView::Int(10), true), "10");
    }

    #[test]
    fn sanitize_redacts_private_shapes() {
        for s in [
            "/home/alice/data.csv",
            "C:\\Users\\alice",
            "~/x",
            "alice@example.org",
            "https://example.org/a",
            "ghp_0123456789abcdefABCDEF",
            &"x".repeat(65),
        ] {
            assert_eq!(
                sanitize_parameter("method", ParamView::Text(s), true),
                REDACTED,
                "{s}"
            );
        }
        assert_eq!(
            sanitize_parameter("method", ParamView::Text("1.0, 2.0, 3.5"), true),
            "[3 numbers]"
        );
        assert_eq!(
            sanitize_parameter("method", ParamView::Text("ols"), true),
            "ols"
        );
    }

    #[test]
    fn sanitize_never_keeps_long_number_arrays() {
        let xs: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(
            sanitize_parameter("scales", ParamView::Numbers(&xs), false),
            "[1000 numbers]"
        );
        assert_eq!(
            sanitize_parameter("scales", ParamView::Numbers(&xs[..3]), false),
            "[0, 1, 2]"
        );
        assert_eq!(
            sanitize_parameter("scales", ParamView::Numbers(&xs[..3]), true),
            "[3 numbers]"
        );
    }

    #[test]
    fn scrub_removes_paths_with_spaces_hostnames_and_tokens() {
        let who = Identity {
            home: None,
            user: None,
            host: Some("buildbox-7".into()),
        };
        let m = scrub_message(
            "dlopen /srv/My Secret Plugins/libx.so failed on buildbox-7.corp: token ghp_a1B2c3D4e5F6g7H8i9J0k1",
            &who,
        );
        for leak in ["Secret", "Plugins", "libx", "buildbox", "ghp_"] {
            assert!(!m.contains(leak), "{leak}: {m}");
        }
        assert!(m.starts_with("dlopen [path] failed on [host]"), "{m}");
    }

    #[test]
    fn generated_labels_survive_export_scrubbing_and_names_become_pseudonyms() {
        let who = Identity::default();
        let cell = "fgn[H=0.7,n_bins=3]/n=512/r=0|outliers[fraction=0.01]|dfa/order2";
        assert_eq!(scrub_cell(cell, &who), cell);
        let p = Pseudonyms::new(b"0123456789abcdef0123456789abcdef");
        let c = p.cell("file:CanaryFile.csv|clean|dfa");
        assert!(!c.contains("Canary"), "{c}");
        assert!(c.starts_with("file:h-") && c.ends_with("|clean|dfa"), "{c}");
        assert_eq!(p.cell("file:CanaryFile.csv|clean|dfa"), c, "stable");
        assert_eq!(scrub_cell(&c, &who), c);
        assert_eq!(p.cell(cell), cell);
        assert_ne!(
            Pseudonyms::new(b"another secret, another install!").name("x"),
            p.name("x")
        );
        let raw = scrub_cell("file:/home/me/Canary.csv|clean|dfa", &who);
        assert!(!raw.contains("Canary"), "{raw}");
    }

    #[test]
    fn scrub_removes_paths_home_user_email_and_urls() {
        let who = Identity {
            home: Some("/home/zed".into()),
            user: Some("zedd".into()),
            host: None,
        };
        let m = scrub_message(
            "cannot open '/data/x.csv': see /home/zed/log, ask zedd@corp.io or https://corp.io/h (user zedd)",
            &who,
        );
        assert!(!m.contains("/data"), "{m}");
        assert!(!m.contains("zed"), "{m}");
        assert!(!m.contains("corp.io"), "{m}");
        assert!(m.starts_with("cannot open '[path]':"), "{m}");
    }

    #[test]
    fn scrub_keeps_plain_messages() {
        let who = Identity::default();
        let m = "series too short: 12 points, at least 64 needed";
        assert_eq!(scrub_message(m, &who), m);
    }

    #[test]
    fn hash_is_keyed_and_stable() {
        // RFC 4231 test case 2: HMAC-SHA-256 with key "Jefe".
        assert_eq!(
            hash_user_id(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(hash_user_id(b"k1", "alice"), hash_user_id(b"k2", "alice"));
    }

    #[test]
    fn unusable_secrets_are_errors_never_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        for (content, want) in [(&b""[..], "0 bytes long"), (&b"short"[..], "5 bytes long")] {
            std::fs::write(&path, content).unwrap();
            let e = load_or_create_secret(dir.path()).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("remove it"), "{e}");
        }
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let e = load_or_create_secret(dir.path()).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        std::fs::remove_file(&path).unwrap();
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path. Nobody writes the FIFO: a blocking read hangs.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = load_or_create_secret(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn secret_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_secret(dir.path()).unwrap();
        let b = load_or_create_secret(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        let mode = std::fs::metadata(dir.path().join("secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn location_keeps_code_not_machine() {
        assert_eq!(
            scrub_location("/home/bob/.cargo/registry/x-1.0/src/lib.rs:10:5"),
            "src/lib.rs:10:5"
        );
    }
}
