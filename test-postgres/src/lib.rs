//! Throwaway PostgreSQL clusters for tests, so no test needs a database someone
//! started by hand.
//!
//! [`TestPostgres::start`] uses the server at `PAYMENTS_TEST_POSTGRES_URL` when that is
//! set; otherwise it runs the machine's PostgreSQL binaries (`initdb` and `pg_ctl`,
//! found through `pg_config --bindir` or under `/usr/lib/postgresql/*/bin`) on a fresh
//! data directory in a temporary folder, listening on `127.0.0.1` at a free port, as an
//! unprivileged user when the test runs as root (PostgreSQL refuses to run as root).
//! Dropping the value stops the cluster and removes its folder. [`TestPostgres::shared`]
//! starts one cluster per test binary, and each test takes a fresh database of it.
//!
//! Where there are no binaries, [`TestPostgres::start`] answers
//! [`Unavailable`](StartError::Unavailable); [`TestPostgres::start_or_skip`] turns that
//! into a loud skip, except under `CI=true`, where a missing PostgreSQL is a failure.
//!
//! ```no_run
//! let Some(postgres) = test_postgres::TestPostgres::start_or_skip("store suite") else {
//!     return; // no PostgreSQL on this machine, and not in CI
//! };
//! let url = postgres.create_database("store_suite").unwrap();
//! assert!(url.starts_with("postgres://"));
//! ```

use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming an already running server to use instead of a throwaway one.
pub const URL_VARIABLE: &str = "PAYMENTS_TEST_POSTGRES_URL";

/// Why no database could be had.
#[derive(Debug)]
pub enum StartError {
    /// This machine has no PostgreSQL binaries (and no URL was given).
    Unavailable(String),
    /// The binaries exist but the cluster did not start; the text holds their output.
    Failed(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "no PostgreSQL for tests: {why}"),
            Self::Failed(why) => write!(f, "the throwaway PostgreSQL did not start: {why}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A PostgreSQL server for one test binary: a throwaway cluster, or the one at
/// `PAYMENTS_TEST_POSTGRES_URL`.
#[derive(Debug)]
pub struct TestPostgres {
    url: String,
    psql: PathBuf,
    // Held for its drop, which stops the cluster.
    _cluster: Option<Cluster>,
}

/// A cluster this process started, stopped on drop.
#[derive(Debug)]
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    user: Option<(u32, u32)>,
    /// Started with `ssl = on` and the certificates in the folder.
    tls: bool,
    running: bool,
    // Dropped after the cluster is stopped (fields drop in order, after `Drop::drop`).
    _dir: tempfile::TempDir,
}

impl TestPostgres {
    /// Starts a throwaway cluster, or connects to `PAYMENTS_TEST_POSTGRES_URL`.
    ///
    /// # Errors
    /// [`StartError::Unavailable`] when there are no binaries and no URL;
    /// [`StartError::Failed`] with the tools' output when they fail.
    pub fn start() -> Result<Self, StartError> {
        Self::start_cluster(false).map(|(postgres, _)| postgres)
    }

    /// A throwaway cluster that speaks TLS (`ssl = on`), with a certificate for
    /// `127.0.0.1` and `localhost` signed by a CA made for it (with the machine's
    /// `openssl`); returns the cluster and the CA's PEM file, for `sslrootcert`. It
    /// still accepts plain connections, so a test can tell the two apart. Always a
    /// cluster of its own, never `PAYMENTS_TEST_POSTGRES_URL`.
    ///
    /// # Errors
    /// As [`start`](Self::start), and when `openssl` is missing or fails
    /// ([`StartError::Unavailable`] when it is missing).
    pub fn start_tls() -> Result<(Self, PathBuf), StartError> {
        Self::start_cluster(true).map(|(postgres, ca)| (postgres, ca.unwrap_or_default()))
    }

    fn start_cluster(tls: bool) -> Result<(Self, Option<PathBuf>), StartError> {
        if !tls
            && let Ok(url) = std::env::var(URL_VARIABLE)
            && !url.trim().is_empty()
        {
            let psql = bin_dir()
                .map(|dir| dir.join("psql"))
                .unwrap_or_else(|| PathBuf::from("psql"));
            return Ok((
                Self {
                    url: url.trim().to_owned(),
                    psql,
                    _cluster: None,
                },
                None,
            ));
        }
        let bin = bin_dir().ok_or_else(|| {
            StartError::Unavailable(
                "no initdb/pg_ctl found (pg_config --bindir, /usr/lib/postgresql/*/bin); \
                 install PostgreSQL's server binaries or set PAYMENTS_TEST_POSTGRES_URL"
                    .into(),
            )
        })?;
        let dir = tempfile::Builder::new()
            .prefix("test-postgres-")
            .tempdir()
            .map_err(|e| StartError::Failed(format!("temporary folder: {e}")))?;
        let user = unprivileged_user()?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| StartError::Failed(format!("chown of the temporary folder: {e}")))?;
        }
        let data = dir.path().join("data");
        run(
            &bin.join("initdb"),
            user,
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        let ca = if tls {
            Some(certificates(dir.path(), user)?)
        } else {
            None
        };
        let mut cluster = Cluster {
            bin: bin.clone(),
            data,
            user,
            tls,
            running: false,
            _dir: dir,
        };
        // A free port can be taken between our probe and the server's bind: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            match cluster.start(port) {
                Ok(()) => {
                    cluster.running = true;
                    return Ok((
                        Self {
                            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                            psql: bin.join("psql"),
                            _cluster: Some(cluster),
                        },
                        ca,
                    ));
                }
                Err(error) => last = error.to_string(),
            }
        }
        Err(StartError::Failed(last))
    }

    /// A server someone else runs, at `url` (for tools such as the benchmark that are
    /// given one): [`create_database`](Self::create_database) makes fresh databases on
    /// it with the machine's `psql`; nothing is stopped on drop.
    pub fn existing(url: &str) -> Self {
        let psql = bin_dir()
            .map(|dir| dir.join("psql"))
            .unwrap_or_else(|| PathBuf::from("psql"));
        Self {
            url: url.trim().to_owned(),
            psql,
            _cluster: None,
        }
    }

    /// [`start`](Self::start), or `None` with a loud message when this machine has no
    /// PostgreSQL and `CI` is not set.
    ///
    /// # Panics
    /// When the cluster fails to start, and under `CI=true` when PostgreSQL is missing:
    /// CI must run every store test.
    pub fn start_or_skip(what: &str) -> Option<Self> {
        match Self::start() {
            Ok(postgres) => Some(postgres),
            Err(StartError::Unavailable(why)) if !in_ci() => {
                eprintln!(
                    "\n*** SKIPPED {what}: {why} ***\n*** (under CI=true this is a failure) ***\n"
                );
                None
            }
            Err(error) => panic!("{what}: {error}"),
        }
    }

    /// One server for the whole test binary, started on the first call and shared by
    /// every test after it; each test takes a fresh database of its own with
    /// [`create_database`](Self::create_database), so tests stay isolated and a binary
    /// pays for one `initdb` only. A static is never dropped, so the cluster is stopped
    /// (and its folder removed) by a small watchdog process once this process is gone.
    ///
    /// # Errors
    /// As [`start`](Self::start), the same error for every caller.
    pub fn shared() -> Result<&'static Self, &'static StartError> {
        static SHARED: OnceLock<Result<TestPostgres, StartError>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let postgres = Self::start()?;
                if let Some(cluster) = &postgres._cluster {
                    cluster.stop_when_process_exits()?;
                }
                Ok(postgres)
            })
            .as_ref()
    }

    /// [`shared`](Self::shared), or `None` with a loud message when this machine has no
    /// PostgreSQL and `CI` is not set.
    ///
    /// # Panics
    /// As [`start_or_skip`](Self::start_or_skip).
    pub fn shared_or_skip(what: &str) -> Option<&'static Self> {
        match Self::shared() {
            Ok(postgres) => Some(postgres),
            Err(StartError::Unavailable(why)) if !in_ci() => {
                eprintln!(
                    "\n*** SKIPPED {what}: {why} ***\n*** (under CI=true this is a failure) ***\n"
                );
                None
            }
            Err(error) => panic!("{what}: {error}"),
        }
    }

    /// The URL of the server's `postgres` database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates a fresh, uniquely named database whose name starts with `prefix`
    /// (letters, digits and `_`), so tests sharing a server never see each other's
    /// rows; returns its URL.
    ///
    /// # Errors
    /// [`StartError::Failed`] with psql's output.
    pub fn create_database(&self, prefix: &str) -> Result<String, StartError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let clean: String = prefix
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        let name = format!(
            "{}_{}_{}",
            if clean.is_empty() { "test" } else { &clean },
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
        .to_ascii_lowercase();
        self.sql(&format!("CREATE DATABASE \"{name}\""))?;
        Ok(replace_database(&self.url, &name))
    }

    /// Runs one SQL command with psql against the server's `postgres` database and
    /// returns what it printed (unaligned, tuples only).
    ///
    /// # Errors
    /// [`StartError::Failed`] with psql's output.
    pub fn sql(&self, command: &str) -> Result<String, StartError> {
        let output = Command::new(&self.psql)
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.url,
                "-c",
                command,
            ])
            .output()
            .map_err(|e| StartError::Failed(format!("{}: {e}", self.psql.display())))?;
        checked(&self.psql, output)
    }
}

impl Cluster {
    fn start(&self, port: u16) -> Result<(), StartError> {
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            self.socket_dir().display()
        );
        if self.tls {
            let dir = self.socket_dir().display();
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={dir}/server.pem -c ssl_key_file={dir}/server.key"
            ));
        }
        let log = self.socket_dir().join("server.log");
        let started = run(
            &self.bin.join("pg_ctl"),
            self.user,
            &[
                "-D".as_ref(),
                self.data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        );
        started.map(drop).map_err(|error| {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            StartError::Failed(format!("{error}\n{log}"))
        })
    }

    /// Spawns a watchdog that waits for this process to end, then stops the cluster and
    /// removes its folder (for a cluster held in a static, which is never dropped). It
    /// runs as the cluster's user, and watches `/proc` rather than signalling, which
    /// an unprivileged user may not do to a root process.
    fn stop_when_process_exits(&self) -> Result<(), StartError> {
        let script = "while [ -d \"/proc/$0\" ]; do sleep 0.2; done; \
                      \"$1\" -D \"$2\" -m immediate -w stop >/dev/null 2>&1; rm -rf \"$3\"";
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .arg(std::process::id().to_string())
            .arg(self.bin.join("pg_ctl"))
            .arg(&self.data)
            .arg(self._dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid).current_dir("/");
        }
        command
            .spawn()
            .map(drop)
            .map_err(|e| StartError::Failed(format!("the cluster's watchdog: {e}")))
    }

    fn socket_dir(&self) -> &Path {
        self.data.parent().unwrap_or(&self.data)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        let stop = run(
            &self.bin.join("pg_ctl"),
            self.user,
            &[
                "-D".as_ref(),
                self.data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
        if let Err(error) = stop {
            eprintln!("test-postgres: could not stop the cluster: {error}");
        }
    }
}

/// Makes a CA and a server certificate for `127.0.0.1`/`localhost` in `dir` (as the
/// cluster's user, who must read the key); returns the CA's PEM file.
fn certificates(dir: &Path, user: Option<(u32, u32)>) -> Result<PathBuf, StartError> {
    let openssl = Path::new("/usr/bin/openssl");
    let openssl = if openssl.is_file() {
        openssl.to_path_buf()
    } else {
        which("openssl").ok_or_else(|| {
            StartError::Unavailable("no openssl to make the TLS test certificates".into())
        })?
    };
    let file = |name: &str| dir.join(name);
    let extensions = file("server.ext");
    std::fs::write(
        &extensions,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| StartError::Failed(format!("certificate extensions: {e}")))?;
    let os = |path: &Path| path.as_os_str().to_owned();
    let steps: [Vec<std::ffi::OsString>; 3] = [
        vec![
            "req".into(),
            "-x509".into(),
            "-newkey".into(),
            "ec".into(),
            "-pkeyopt".into(),
            "ec_paramgen_curve:prime256v1".into(),
            "-nodes".into(),
            "-days".into(),
            "2".into(),
            "-subj".into(),
            "/CN=test-postgres CA".into(),
            "-addext".into(),
            "basicConstraints=critical,CA:TRUE".into(),
            "-addext".into(),
            "keyUsage=critical,keyCertSign,cRLSign".into(),
            "-keyout".into(),
            os(&file("ca.key")),
            "-out".into(),
            os(&file("ca.pem")),
        ],
        vec![
            "req".into(),
            "-newkey".into(),
            "ec".into(),
            "-pkeyopt".into(),
            "ec_paramgen_curve:prime256v1".into(),
            "-nodes".into(),
            "-subj".into(),
            "/CN=localhost".into(),
            "-keyout".into(),
            os(&file("server.key")),
            "-out".into(),
            os(&file("server.csr")),
        ],
        vec![
            "x509".into(),
            "-req".into(),
            "-in".into(),
            os(&file("server.csr")),
            "-CA".into(),
            os(&file("ca.pem")),
            "-CAkey".into(),
            os(&file("ca.key")),
            "-CAcreateserial".into(),
            "-days".into(),
            "2".into(),
            "-extfile".into(),
            os(&extensions),
            "-out".into(),
            os(&file("server.pem")),
        ],
    ];
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&extensions, Some(uid), Some(gid))
            .map_err(|e| StartError::Failed(format!("chown of the extensions: {e}")))?;
    }
    for step in &steps {
        let args: Vec<&std::ffi::OsStr> = step.iter().map(|a| a.as_os_str()).collect();
        run(&openssl, user, &args)?;
    }
    // PostgreSQL refuses a key others may read.
    std::fs::set_permissions(file("server.key"), std::fs::Permissions::from_mode(0o600))
        .map_err(|e| StartError::Failed(format!("server key permissions: {e}")))?;
    Ok(file("ca.pem"))
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Where initdb and pg_ctl live.
fn bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The (uid, gid) to run PostgreSQL as when this process is root: `postgres` if the
/// machine has that user, else `nobody`. `None` when not root.
fn unprivileged_user() -> Result<Option<(u32, u32)>, StartError> {
    let uid = std::fs::metadata("/proc/self").map_or(1, |m| m.uid());
    if uid != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| StartError::Failed(format!("/etc/passwd: {e}")))?;
    let find = |name: &str| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&name) && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
    };
    find("postgres")
        .or_else(|| find("nobody"))
        .map(Some)
        .ok_or_else(|| {
            StartError::Failed("running as root and no postgres or nobody user to run as".into())
        })
}

fn free_port() -> Result<u16, StartError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| StartError::Failed(format!("no free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| StartError::Failed(format!("no free port: {e}")))
}

fn run(
    program: &Path,
    user: Option<(u32, u32)>,
    args: &[&std::ffi::OsStr],
) -> Result<String, StartError> {
    let mut command = Command::new(program);
    command.args(args).env_remove("PGDATA").env("LC_ALL", "C");
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid).current_dir("/");
    }
    let output = command
        .output()
        .map_err(|e| StartError::Failed(format!("{}: {e}", program.display())))?;
    checked(program, output)
}

fn checked(program: &Path, output: Output) -> Result<String, StartError> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(StartError::Failed(format!(
            "{} exited with {}: {}{}",
            program.display(),
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

/// The same URL naming another database.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn replaces_only_the_database() {
        assert_eq!(
            replace_database("postgres://u@127.0.0.1:5/postgres", "x"),
            "postgres://u@127.0.0.1:5/x"
        );
        assert_eq!(
            replace_database("postgres://u:p@h:5/db?sslmode=require", "x"),
            "postgres://u:p@h:5/x?sslmode=require"
        );
        assert_eq!(replace_database("postgres://h", "x"), "postgres://h/x");
    }
}
