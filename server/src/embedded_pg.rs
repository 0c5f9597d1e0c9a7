//! An embedded PostgreSQL cluster, so that `petition-server` works out of the
//! box when no `DATABASE_URL` is configured.
//!
//! The cluster lives inside the server's data directory:
//!
//! - `pgdata/`: the cluster itself, created by `initdb` on first start and
//!   reused afterwards (mode 0700, as PostgreSQL requires);
//! - `pgsocket/`: the Unix socket directory (mode 0700). The cluster uses
//!   `trust` authentication, so these directory permissions *are* the access
//!   control: only the cluster's owner and root can connect;
//! - `postgres.log`: the server log, appended to on every start.
//!
//! The server listens on its Unix socket only (`listen_addresses = ''`): it
//! opens no TCP port, so it cannot clash with another PostgreSQL on the
//! machine. The port number (5432) only names the socket file.
//!
//! **Running as root.** PostgreSQL refuses to run as root. When the server
//! runs as root, every PostgreSQL program is run as the `postgres` system
//! user instead, `pgdata/`, `pgsocket/` and the log are owned by that user,
//! and the data directory is made searchable (not readable) by others so that
//! user can reach them. If a parent directory blocks that user (`/root` is
//! usually 0700), [`EmbeddedPostgres::start`] fails and names that directory.
//!
//! **A cluster that is already running** on the data directory, typically left
//! behind when a previous server process was killed before it could stop it,
//! is adopted: this instance reuses it and stops it when done. Two servers
//! sharing one data directory at the same time are not supported.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tracing::{info, warn};

/// The database the server uses, created on first start.
const DATABASE: &str = "petition";
/// The cluster's superuser, named by `initdb -U`, whatever the OS user.
const SUPERUSER: &str = "postgres";
/// Names the socket file (`.s.PGSQL.5432`); no TCP port is opened.
const PORT: u16 = 5432;
/// How long `pg_ctl` waits for the server to start or stop, in seconds.
const PG_CTL_TIMEOUT_SECS: &str = "60";
/// The programs this module runs. `pg_ctl` starts the `postgres` next to it.
const PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "psql"];
/// Where Debian and Ubuntu keep each version's programs, off PATH.
const DEBIAN_PG_ROOT: &str = "/usr/lib/postgresql";
/// The system account PostgreSQL runs as when we are root.
const SYSTEM_USER: &str = "postgres";
/// Where clusters go whose data directory the cluster account cannot enter.
const FALLBACK_CLUSTERS: &str = "/var/lib/petition/clusters";
/// Longest Unix socket path, excluding the NUL: `sun_path` is 108 bytes on
/// Linux and 104 on the BSDs and macOS.
#[cfg(target_os = "linux")]
const MAX_SOCKET_PATH: usize = 107;
#[cfg(not(target_os = "linux"))]
const MAX_SOCKET_PATH: usize = 103;
/// Characters that pg_ctl cannot carry through the `/bin/sh -c` command line
/// it builds to launch the server: it puts paths in double quotes unescaped.
const SHELL_UNSAFE: [char; 5] = ['"', '$', '`', '\\', '\n'];
/// How many lines of a failed program's output (or of the log) errors show.
const TAIL_LINES: usize = 20;
/// How much of the end of the log is read to find those lines.
const LOG_TAIL_BYTES: u64 = 16 * 1024;

/// Why the embedded cluster could not be set up or started. Each message is
/// complete on its own (an `Io` error's message includes the OS error), and
/// those the operator can fix say how, including by not embedding at all.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    /// No installation holds all of `initdb`, `pg_ctl` and `psql`.
    #[error(
        "PostgreSQL programs not found: {} (looked on PATH and in {DEBIAN_PG_ROOT}/<version>/bin). \
         On Debian/Ubuntu, `apt-get install postgresql` provides them; on other systems, install \
         the PostgreSQL server package. Alternatively, set DATABASE_URL (or --database-url) to \
         use an existing PostgreSQL server.",
        .missing.join(", ")
    )]
    MissingPrograms { missing: Vec<&'static str> },

    /// The data directory's path is too long for the socket, or has
    /// characters pg_ctl cannot pass on.
    #[error(
        "cannot use {} as the data directory: {reason}. Choose another --data-dir, or set \
         DATABASE_URL (or --database-url) to use an existing PostgreSQL server.",
        .path.display()
    )]
    UnsupportedDataDir { path: PathBuf, reason: String },

    /// We are root and there is no `postgres` user to run PostgreSQL as.
    #[error(
        "running as root, but PostgreSQL refuses to run as root and there is no `{SYSTEM_USER}` \
         system user to run it as. Create that user (installing the PostgreSQL server package \
         usually does), run petition-server as an unprivileged user, or set DATABASE_URL (or \
         --database-url) to use an existing PostgreSQL server."
    )]
    NoPostgresUser,

    /// We are root and the `postgres` user cannot enter `blocked`, a parent
    /// of the data directory (or the data directory itself).
    #[error(
        "running as root, so PostgreSQL runs as the `{SYSTEM_USER}` user, but that user cannot \
         enter {} on the way to the data directory {}. Choose a --data-dir it can reach (e.g. \
         /var/lib/petition), or set DATABASE_URL (or --database-url) to use an existing \
         PostgreSQL server.",
        .blocked.display(),
        .data_dir.display()
    )]
    DataDirUnreachable { blocked: PathBuf, data_dir: PathBuf },

    /// A server runs on the cluster but was not started by this module (its
    /// socket is elsewhere), so it can be neither used nor adopted.
    #[error(
        "a PostgreSQL server is already running on {} but has no socket at {}; stop it \
         (`pg_ctl stop -D {}`) and retry",
        .pgdata.display(),
        .socket.display(),
        .pgdata.display()
    )]
    ForeignServer { pgdata: PathBuf, socket: PathBuf },

    /// A PostgreSQL program failed; `details` is the end of its output.
    #[error("{command} failed ({status}):\n{details}")]
    CommandFailed { command: String, status: String, details: String },

    /// A file system operation or program launch failed.
    #[error("{context}: {error}")]
    Io { context: String, error: io::Error },
}

/// A running PostgreSQL cluster in a data directory; stopped on drop.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    account: Option<Account>,
    layout: Layout,
    running: bool,
}

impl EmbeddedPostgres {
    /// Starts the cluster in `<data_dir>/pgdata`, creating it (and the
    /// `petition` database) if needed. Blocks until the server accepts
    /// connections: call it before the async runtime needs the database, or
    /// from `spawn_blocking`.
    ///
    /// # Errors
    ///
    /// When the PostgreSQL programs are missing, the data directory is
    /// unusable (see [`EmbeddedPgError`]), or a program fails: the error then
    /// carries the end of its output and, for the server, of its log.
    pub fn start(data_dir: &Path) -> Result<EmbeddedPostgres, EmbeddedPgError> {
        Self::start_in(data_dir, Some(Path::new(FALLBACK_CLUSTERS)))
    }

    /// [`start`](Self::start), with the cluster placed under `fallback` (in
    /// a directory named after the data directory) when the cluster account
    /// cannot enter the data directory — as for a checkout under `/root`,
    /// which is closed to other users. With no fallback that is an error.
    pub fn start_in(data_dir: &Path, fallback: Option<&Path>) -> Result<EmbeddedPostgres, EmbeddedPgError> {
        let bin_dir = find_bin_dir()?;
        let mut layout = Layout::create(data_dir)?;
        let account = cluster_account()?;
        if let Some(account) = account {
            grant_traversal(&layout.data_dir)?;
            match (ensure_reachable(account, &layout.data_dir), fallback) {
                (Ok(()), _) => {}
                (Err(EmbeddedPgError::DataDirUnreachable { blocked, .. }), Some(fallback)) => {
                    let digest = crate::crypto::sha256(layout.data_dir.as_os_str().as_bytes());
                    let elsewhere = fallback.join(crate::convert::hex(&digest[..8]));
                    warn!(
                        blocked = %blocked.display(),
                        cluster = %elsewhere.display(),
                        "the {SYSTEM_USER} user cannot enter the data directory; keeping the cluster elsewhere"
                    );
                    layout = Layout::create(&elsewhere)?;
                    grant_traversal(&layout.data_dir)?;
                    ensure_reachable(account, &layout.data_dir)?;
                }
                (Err(error), _) => return Err(error),
            }
        }
        layout.prepare(account)?;
        let mut pg = EmbeddedPostgres { bin_dir, account, layout, running: false };
        if !pg.is_initialized() {
            pg.initdb()?;
        }
        pg.start_server()?;
        // From here on, an error drops `pg`, which stops the server again.
        pg.ensure_database()?;
        info!(url = %pg.database_url(), "embedded PostgreSQL is ready");
        Ok(pg)
    }

    /// A libpq URL for the `petition` database over the cluster's Unix socket.
    #[must_use]
    pub fn database_url(&self) -> String {
        let host = percent_encode(self.layout.socket_dir.as_os_str().as_bytes());
        format!("postgresql://{SUPERUSER}@/{DATABASE}?host={host}&port={PORT}")
    }

    /// Stops the server (fast shutdown: open sessions are disconnected).
    /// Calling it again, or dropping afterwards, does nothing. Failures are
    /// logged, since a caller shutting down could not act on them anyway.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop").arg("-D").arg(&self.layout.pgdata).args(["-m", "fast", "-w", "-t", PG_CTL_TIMEOUT_SECS]);
        match run(&mut cmd, "pg_ctl stop") {
            Ok(_) => info!(pgdata = %self.layout.pgdata.display(), "embedded PostgreSQL stopped"),
            Err(error) => warn!(%error, "could not stop embedded PostgreSQL"),
        }
    }

    fn is_initialized(&self) -> bool {
        self.layout.pgdata.join("PG_VERSION").is_file()
    }

    fn initdb(&self) -> Result<(), EmbeddedPgError> {
        info!(pgdata = %self.layout.pgdata.display(), "creating embedded PostgreSQL cluster");
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&self.layout.pgdata).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        ]);
        run(&mut cmd, "initdb").map(drop)
    }

    /// Starts the server, or adopts it if it is already running with our
    /// socket (see the module docs).
    fn start_server(&mut self) -> Result<(), EmbeddedPgError> {
        if self.server_running()? {
            let socket = self.layout.socket_file();
            if !socket.exists() {
                return Err(EmbeddedPgError::ForeignServer { pgdata: self.layout.pgdata.clone(), socket });
            }
            info!(pgdata = %self.layout.pgdata.display(), "adopting already running embedded PostgreSQL");
        } else {
            self.pg_ctl_start()?;
        }
        self.running = true;
        Ok(())
    }

    /// `pg_ctl status` exits 0 when a server runs on the cluster, 3 when not.
    fn server_running(&self) -> Result<bool, EmbeddedPgError> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("status").arg("-D").arg(&self.layout.pgdata);
        let output = output(&mut cmd, "pg_ctl status")?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(3) => Ok(false),
            _ => Err(command_failed("pg_ctl status", &output, "")),
        }
    }

    fn pg_ctl_start(&self) -> Result<(), EmbeddedPgError> {
        info!(pgdata = %self.layout.pgdata.display(), "starting embedded PostgreSQL");
        let mut cmd = self.command("pg_ctl");
        cmd.arg("start")
            .arg("-D")
            .arg(&self.layout.pgdata)
            .args(["-w", "-t", PG_CTL_TIMEOUT_SECS])
            .arg("-l")
            .arg(&self.layout.log_file)
            .arg("-o")
            .arg(server_options(&self.layout.socket_dir.to_string_lossy()));
        let output = output(&mut cmd, "pg_ctl start")?;
        if output.status.success() {
            return Ok(());
        }
        let log = &self.layout.log_file;
        let log_tail = format!("--- end of {} ---\n{}", log.display(), file_tail(log));
        Err(command_failed("pg_ctl start", &output, &log_tail))
    }

    /// Creates the `petition` database unless it exists. Checked on every
    /// start, not only after `initdb`, so that a first start interrupted
    /// between the two is repaired by the next one.
    fn ensure_database(&self) -> Result<(), EmbeddedPgError> {
        let exists_query = format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'");
        if self.psql("postgres", &exists_query)?.is_empty() {
            info!(database = DATABASE, "creating database");
            self.psql("postgres", &format!("CREATE DATABASE {DATABASE}"))?;
        }
        Ok(())
    }

    /// Runs one SQL statement and returns its unaligned, tuples-only output.
    fn psql(&self, database: &str, sql: &str) -> Result<String, EmbeddedPgError> {
        let mut cmd = self.command("psql");
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"]).arg(&self.layout.socket_dir).args([
            "-p",
            &PORT.to_string(),
            "-U",
            SUPERUSER,
            "-d",
            database,
            "-c",
            sql,
        ]);
        let output = run(&mut cmd, "psql")?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    fn command(&self, program: &str) -> Command {
        command_as(self.account, self.bin_dir.join(program))
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the cluster's files go, all under one absolute data directory.
#[derive(Debug)]
struct Layout {
    data_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
}

impl Layout {
    /// Creates `data_dir` if needed and lays the cluster out under its
    /// absolute path (the socket path in the URL must be absolute).
    fn create(data_dir: &Path) -> Result<Layout, EmbeddedPgError> {
        fs::create_dir_all(data_dir).map_err(io_err(format!("could not create {}", data_dir.display())))?;
        let data_dir =
            fs::canonicalize(data_dir).map_err(io_err(format!("could not resolve {}", data_dir.display())))?;
        let layout = Layout::under(data_dir);
        check_data_dir(&layout.data_dir, &layout.socket_file())
            .map_err(|reason| EmbeddedPgError::UnsupportedDataDir { path: layout.data_dir.clone(), reason })?;
        Ok(layout)
    }

    fn under(data_dir: PathBuf) -> Layout {
        Layout {
            pgdata: data_dir.join("pgdata"),
            socket_dir: data_dir.join("pgsocket"),
            log_file: data_dir.join("postgres.log"),
            data_dir,
        }
    }

    fn socket_file(&self) -> PathBuf {
        self.socket_dir.join(format!(".s.PGSQL.{PORT}"))
    }

    /// Creates the cluster's directories and log, owned by `account` if set:
    /// the server cannot create them itself in a data directory it does not
    /// own.
    fn prepare(&self, account: Option<Account>) -> Result<(), EmbeddedPgError> {
        private_dir(&self.pgdata, account)?;
        private_dir(&self.socket_dir, account)?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(io_err(format!("could not create {}", self.log_file.display())))?;
        chown_to(&self.log_file, account)
    }
}

/// Checks what pg_ctl and the socket can cope with, returning why not.
fn check_data_dir(data_dir: &Path, socket_file: &Path) -> Result<(), String> {
    let Some(text) = data_dir.to_str() else {
        return Err("its path is not valid UTF-8".to_owned());
    };
    if let Some(c) = text.chars().find(|c| SHELL_UNSAFE.contains(c)) {
        return Err(format!("its path contains {c:?}, which pg_ctl cannot pass to the server"));
    }
    let len = socket_file.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(format!(
            "the PostgreSQL socket path {} would be {len} bytes long, over the \
             {MAX_SOCKET_PATH}-byte limit for Unix socket paths",
            socket_file.display()
        ));
    }
    Ok(())
}

/// Creates `dir` if needed with mode 0700, and hands it to `account`.
fn private_dir(dir: &Path, account: Option<Account>) -> Result<(), EmbeddedPgError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(format!("could not create {}", dir.display())))?;
    // Also for a directory that existed with other permissions.
    fs::set_permissions(dir, Permissions::from_mode(0o700))
        .map_err(io_err(format!("could not set permissions of {}", dir.display())))?;
    chown_to(dir, account)
}

fn chown_to(path: &Path, account: Option<Account>) -> Result<(), EmbeddedPgError> {
    let Some(Account { uid, gid }) = account else {
        return Ok(());
    };
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(io_err(format!("could not hand {} to the {SYSTEM_USER} user", path.display())))
}

/// An OS account to run the PostgreSQL programs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Account {
    uid: u32,
    gid: u32,
}

/// The account PostgreSQL must run as: `None` (ourselves) unless we are root.
fn cluster_account() -> Result<Option<Account>, EmbeddedPgError> {
    if effective_uid()? != 0 {
        return Ok(None);
    }
    // System users are local, so /etc/passwd suffices (no NSS lookup).
    let passwd = fs::read_to_string("/etc/passwd").map_err(io_err("could not read /etc/passwd".to_owned()))?;
    match passwd_account(&passwd, SYSTEM_USER) {
        Some(account) => Ok(Some(account)),
        None => Err(EmbeddedPgError::NoPostgresUser),
    }
}

/// The uid and gid of `user` in `/etc/passwd` contents
/// (`name:password:uid:gid:gecos:home:shell`).
fn passwd_account(passwd: &str, user: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != user {
            return None;
        }
        let uid = fields.nth(1)?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(Account { uid, gid })
    })
}

/// The effective uid, without libc: `/proc/self` is owned by it on Linux;
/// elsewhere, ask `id -u`.
fn effective_uid() -> Result<u32, EmbeddedPgError> {
    if let Ok(proc_self) = fs::metadata("/proc/self") {
        return Ok(proc_self.uid());
    }
    let output = run(Command::new("id").arg("-u"), "id -u")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().parse().map_err(|_| EmbeddedPgError::Io {
        context: "could not determine the effective user id".to_owned(),
        error: io::Error::other(format!("`id -u` printed {:?}", text.trim())),
    })
}

/// Makes `dir` searchable (not readable) by group and others, so that the
/// `postgres` user can pass through it to the cluster's directories.
fn grant_traversal(dir: &Path) -> Result<(), EmbeddedPgError> {
    let context = || format!("could not make {} searchable", dir.display());
    let mode = fs::metadata(dir).map_err(io_err(context()))?.mode() & 0o7777;
    if mode & 0o011 == 0o011 {
        return Ok(());
    }
    info!(dir = %dir.display(), "letting the {SYSTEM_USER} user pass through the data directory");
    fs::set_permissions(dir, Permissions::from_mode(mode | 0o011)).map_err(io_err(context()))
}

/// Prints the first of its arguments that the running user cannot search.
const FIRST_UNSEARCHABLE: &str = r#"for d; do test -x "$d" || { printf '%s' "$d"; exit 1; }; done"#;

/// Checks, as `account`, that every directory down to `dir` can be entered:
/// asking the OS as that user covers groups and ACLs, unlike mode bits.
fn ensure_reachable(account: Account, dir: &Path) -> Result<(), EmbeddedPgError> {
    let mut path_dirs: Vec<&Path> = dir.ancestors().collect();
    path_dirs.reverse();
    let mut cmd = command_as(Some(account), "/bin/sh");
    cmd.args(["-c", FIRST_UNSEARCHABLE, "sh"]).args(&path_dirs);
    let output = output(&mut cmd, "sh")?;
    if output.status.success() {
        return Ok(());
    }
    let blocked = match output.stdout.as_slice() {
        [] => dir.to_path_buf(),
        printed => PathBuf::from(OsStr::from_bytes(printed)),
    };
    Err(EmbeddedPgError::DataDirUnreachable { blocked, data_dir: dir.to_path_buf() })
}

/// A command for `program`, run as `account` if set. It starts in `/`, since
/// our working directory may be closed to `account` (e.g. `/root`).
fn command_as(account: Option<Account>, program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir("/").stdin(Stdio::null());
    if let Some(Account { uid, gid }) = account {
        // std drops supplementary groups too when it changes the uid.
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Runs `cmd` to completion, capturing its output.
fn output(cmd: &mut Command, what: &str) -> Result<Output, EmbeddedPgError> {
    cmd.output().map_err(io_err(format!("could not run {what}")))
}

/// Runs `cmd`, turning a non-zero exit into an error with its output's tail.
fn run(cmd: &mut Command, what: &str) -> Result<Output, EmbeddedPgError> {
    let output = output(cmd, what)?;
    if output.status.success() { Ok(output) } else { Err(command_failed(what, &output, "")) }
}

/// The programs report failures on stderr; stdout is the fallback for any
/// that do not. `extra` is appended (e.g. the server log's tail).
fn command_failed(what: &str, output: &Output, extra: &str) -> EmbeddedPgError {
    let stream = if output.stderr.trim_ascii().is_empty() { &output.stdout } else { &output.stderr };
    let mut details = tail(&String::from_utf8_lossy(stream), TAIL_LINES);
    if !extra.is_empty() {
        details.push('\n');
        details.push_str(extra);
    }
    EmbeddedPgError::CommandFailed { command: what.to_owned(), status: output.status.to_string(), details }
}

fn io_err(context: String) -> impl FnOnce(io::Error) -> EmbeddedPgError {
    move |error| EmbeddedPgError::Io { context, error }
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The last lines of a file that may have grown large over many starts.
fn file_tail(path: &Path) -> String {
    let read_end = || -> io::Result<Vec<u8>> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    match read_end() {
        Ok(bytes) => tail(&String::from_utf8_lossy(&bytes), TAIL_LINES),
        Err(error) => format!("(could not read it: {error})"),
    }
}

/// `pg_ctl -o` options: Unix socket only, in `socket_dir`. pg_ctl pastes
/// them into a shell command, hence the quoting; the double quotes keep a
/// comma in the path from splitting the directory list.
fn server_options(socket_dir: &str) -> String {
    let socket_dirs = format!("unix_socket_directories=\"{socket_dir}\"");
    let port = PORT.to_string();
    ["-c", "listen_addresses=", "-c", &socket_dirs, "-p", &port].map(shell_quote).join(" ")
}

fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Percent-encodes a URL query value, keeping `/` readable.
fn percent_encode(bytes: &[u8]) -> String {
    let mut encoded = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// Finds one directory holding all of [`PROGRAMS`]: taking them from one
/// installation keeps `initdb` and the server on the same on-disk format.
fn find_bin_dir() -> Result<PathBuf, EmbeddedPgError> {
    let mut candidates: Vec<PathBuf> = path_bin_dir(std::env::var_os("PATH")).into_iter().collect();
    candidates.extend(debian_bin_dirs(Path::new(DEBIAN_PG_ROOT)));
    choose_bin_dir(&candidates, Path::is_file).map_err(|missing| EmbeddedPgError::MissingPrograms { missing })
}

/// The installation that `initdb` on PATH belongs to. Symlinks are resolved
/// because often only some programs are linked onto PATH (e.g.
/// `/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb`), while the
/// real binary's directory holds the whole set.
fn path_bin_dir(path_var: Option<OsString>) -> Option<PathBuf> {
    let initdb =
        std::env::split_paths(&path_var?).map(|dir| dir.join("initdb")).find(|candidate| candidate.is_file())?;
    fs::canonicalize(initdb).ok()?.parent().map(Path::to_path_buf)
}

/// `<root>/<version>/bin` for each installed version, newest first.
fn debian_bin_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let names = entries.filter_map(|entry| entry.ok()?.file_name().into_string().ok());
    versions_newest_first(names).into_iter().map(|version| root.join(version).join("bin")).collect()
}

/// Sorts version names like `9.6`, `15`, `16` numerically, newest first,
/// dropping names that are not versions.
fn versions_newest_first(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut versions: Vec<(Vec<u32>, String)> =
        names.into_iter().filter_map(|name| Some((parse_version(&name)?, name))).collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, name)| name).collect()
}

fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// The first candidate holding every program; otherwise the programs missing
/// from the first (most preferred) candidate, or all of them if none.
fn choose_bin_dir(candidates: &[PathBuf], exists: impl Fn(&Path) -> bool) -> Result<PathBuf, Vec<&'static str>> {
    let missing_in = |dir: &Path| -> Vec<&'static str> {
        PROGRAMS.into_iter().filter(|program| !exists(&dir.join(program))).collect()
    };
    if let Some(dir) = candidates.iter().find(|dir| missing_in(dir).is_empty()) {
        return Ok(dir.clone());
    }
    Err(candidates.first().map_or_else(|| PROGRAMS.to_vec(), |dir| missing_in(dir)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn versions_sort_numerically_newest_first() {
        let names = ["9.6", "15", "10", "16", "README", "9.10", "17beta1"].map(String::from);
        assert_eq!(versions_newest_first(names), ["16", "15", "10", "9.10", "9.6"]);
    }

    #[test]
    fn chooses_first_dir_with_every_program() {
        let present: HashSet<PathBuf> =
            ["/a/initdb", "/a/pg_ctl", "/b/initdb", "/b/pg_ctl", "/b/psql", "/c/initdb", "/c/pg_ctl", "/c/psql"]
                .map(PathBuf::from)
                .into();
        let exists = |path: &Path| present.contains(path);
        let candidates = ["/a", "/b", "/c"].map(PathBuf::from);
        assert_eq!(choose_bin_dir(&candidates, exists), Ok(PathBuf::from("/b")));
    }

    #[test]
    fn reports_programs_missing_from_the_preferred_dir() {
        let present: HashSet<PathBuf> = ["/a/psql"].map(PathBuf::from).into();
        let exists = |path: &Path| present.contains(path);
        let candidates = ["/a", "/b"].map(PathBuf::from);
        assert_eq!(choose_bin_dir(&candidates, exists), Err(vec!["initdb", "pg_ctl"]));
        assert_eq!(choose_bin_dir(&[], exists), Err(PROGRAMS.to_vec()));
    }

    #[test]
    fn missing_programs_error_says_how_to_get_them() {
        let error = EmbeddedPgError::MissingPrograms { missing: vec!["initdb", "pg_ctl"] };
        let message = error.to_string();
        assert!(message.contains("initdb, pg_ctl"), "{message}");
        assert!(message.contains("apt-get install postgresql"), "{message}");
        assert!(message.contains("DATABASE_URL (or --database-url)"), "{message}");
    }

    #[test]
    fn parses_passwd_entries() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgresql:x:7:7::/:/bin/false\n\
                      broken:x:notanumber:1::/:/bin/false\n\
                      postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(passwd_account(passwd, "postgres"), Some(Account { uid: 101, gid: 104 }));
        assert_eq!(passwd_account(passwd, "root"), Some(Account { uid: 0, gid: 0 }));
        assert_eq!(passwd_account(passwd, "broken"), None);
        assert_eq!(passwd_account(passwd, "nobody"), None);
        assert_eq!(passwd_account("", "postgres"), None);
    }

    #[test]
    fn rejects_paths_the_socket_or_pg_ctl_cannot_take() {
        let ok = Layout::under(PathBuf::from("/var/lib/petition, with space's"));
        assert_eq!(check_data_dir(&ok.data_dir, &ok.socket_file()), Ok(()));

        let long = Layout::under(PathBuf::from(format!("/{}", "d".repeat(100))));
        let reason = check_data_dir(&long.data_dir, &long.socket_file());
        assert!(reason.is_err_and(|r| r.contains("limit for Unix socket paths")));

        let quoted = Layout::under(PathBuf::from("/tmp/a\"b"));
        assert!(check_data_dir(&quoted.data_dir, &quoted.socket_file()).is_err());
    }

    #[test]
    fn server_options_survive_the_shell() {
        assert_eq!(
            server_options("/tmp/it's, here"),
            r#"'-c' 'listen_addresses=' '-c' 'unix_socket_directories="/tmp/it'\''s, here"' '-p' '5432'"#
        );
    }

    #[test]
    fn url_encodes_the_socket_dir() {
        let pg = EmbeddedPostgres {
            bin_dir: PathBuf::from("/usr/bin"),
            account: None,
            layout: Layout::under(PathBuf::from("/srv/my data")),
            running: false,
        };
        assert_eq!(pg.database_url(), "postgresql://postgres@/petition?host=/srv/my%20data/pgsocket&port=5432");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("petition-pg-{}-{tag}-{n}", std::process::id());
            let dir = std::env::temp_dir().join(name);
            let _ = fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// The real tests need PostgreSQL installed; without it they pass with a note.
    fn postgres_installed() -> bool {
        match find_bin_dir() {
            Ok(_) => true,
            Err(error) => {
                eprintln!("skipping: {error}");
                false
            }
        }
    }

    /// The postmaster's pid, from the first line of `postmaster.pid`.
    fn postmaster_pid_of(data_dir: &Path) -> Option<String> {
        let text = fs::read_to_string(data_dir.join("pgdata/postmaster.pid")).ok()?;
        text.lines().next().map(str::to_owned)
    }

    #[test]
    fn starts_reuses_adopts_and_stops_a_real_cluster() -> Result<(), EmbeddedPgError> {
        if !postgres_installed() {
            return Ok(());
        }
        let dir = TempDir::new("cluster");

        let mut pg = EmbeddedPostgres::start(&dir.0)?;
        assert_eq!(pg.psql(DATABASE, "SELECT 1")?, "1");
        assert_eq!(pg.psql(DATABASE, "SHOW listen_addresses")?, "");
        let socket_dir = fs::canonicalize(dir.0.join("pgsocket")).map_err(io_err("canonicalize".to_owned()))?;
        assert!(pg.database_url().contains(&format!("host={}&", socket_dir.display())));
        let pgdata = fs::metadata(dir.0.join("pgdata")).map_err(io_err("stat pgdata".to_owned()))?;
        assert_eq!(pgdata.mode() & 0o777, 0o700);
        if let Some(account) = pg.account {
            assert_eq!((pgdata.uid(), pgdata.gid()), (account.uid, account.gid));
        }
        pg.stop();
        pg.stop();
        assert!(!pg.server_running()?);
        drop(pg);

        // Second start: the cluster exists, so no initdb.
        let pg = EmbeddedPostgres::start(&dir.0)?;
        assert_eq!(pg.psql(DATABASE, "SELECT current_database()")?, DATABASE);
        let postmaster_pid = || postmaster_pid_of(&dir.0);
        let first_pid = postmaster_pid();
        assert!(first_pid.is_some());
        // Leave it running, as a killed server process would.
        std::mem::forget(pg);

        let mut pg = EmbeddedPostgres::start(&dir.0)?;
        assert_eq!(postmaster_pid(), first_pid, "the running server was adopted");
        assert_eq!(pg.psql(DATABASE, "SELECT 1")?, "1");
        pg.stop();
        assert!(!pg.server_running()?);
        Ok(())
    }

    #[test]
    fn as_root_reports_a_data_dir_the_postgres_user_cannot_reach() -> Result<(), EmbeddedPgError> {
        if !postgres_installed() || cluster_account().ok().flatten().is_none() {
            eprintln!("skipping: needs root, a postgres user and PostgreSQL");
            return Ok(());
        }
        let dir = TempDir::new("closed");
        fs::create_dir_all(&dir.0).map_err(io_err("create".to_owned()))?;
        let closed = dir.0.join("closed");
        DirBuilder::new().mode(0o700).create(&closed).map_err(io_err("create".to_owned()))?;
        let closed = fs::canonicalize(closed).map_err(io_err("canonicalize".to_owned()))?;
        match EmbeddedPostgres::start_in(&closed.join("data"), None) {
            Err(EmbeddedPgError::DataDirUnreachable { blocked, .. }) => assert_eq!(blocked, closed),
            other => panic!("expected DataDirUnreachable, got {other:?}"),
        }
        // With a fallback, the cluster runs there instead.
        let fallback = dir.0.join("fallback");
        let mut pg = EmbeddedPostgres::start_in(&closed.join("data"), Some(&fallback))?;
        assert!(pg.layout.pgdata.starts_with(&fallback), "{}", pg.layout.pgdata.display());
        assert_eq!(pg.psql(DATABASE, "SELECT 1")?, "1");
        pg.stop();
        Ok(())
    }
}
