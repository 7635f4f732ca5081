//! Finding the PostgreSQL server programs (`initdb`, `pg_ctl`) and the user that may run them.
//!
//! Distributions rarely put the server programs on `PATH` (Debian keeps them in
//! `/usr/lib/postgresql/<major>/bin`, Homebrew's `postgresql@16` is keg-only), so after `PATH`
//! we look in the usual install locations. `initdb` refuses to run as root, so when we are root
//! every program is run as the `postgres` system user through `runuser`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The system user that owns the cluster when we run as root; Debian's `postgresql` package
/// creates it.
pub const SERVICE_USER: &str = "postgres";

/// Debian/Ubuntu install every major version side by side under this directory.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";
/// Homebrew on Apple silicon links unversioned formulae here.
const HOMEBREW_BIN: &str = "/opt/homebrew/bin";
/// Homebrew prefixes that hold keg-only (versioned) formulae such as `postgresql@16`.
const HOMEBREW_OPT_DIRS: [&str; 2] = ["/opt/homebrew/opt", "/usr/local/opt"];

/// What to tell a user who has no PostgreSQL server programs at all.
const INSTALL_HINT: &str = "PostgreSQL server programs (initdb, pg_ctl) were not found on PATH, \
in /usr/lib/postgresql/*/bin, /opt/homebrew/bin or /usr/local/opt/postgresql*/bin. Install them \
(Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@16`) or set \
DATABASE_URL to use a PostgreSQL server you run yourself.";

/// The two server programs we drive, from one installation.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    /// Creates a cluster.
    pub initdb: PathBuf,
    /// Starts, stops and inspects a cluster.
    pub pg_ctl: PathBuf,
}

impl PgBinaries {
    /// Finds an installation, preferring one whose major version is `preferred_major` (the
    /// `PG_VERSION` of an existing cluster: a server of another major cannot open it).
    pub fn find(preferred_major: Option<&str>) -> anyhow::Result<PgBinaries> {
        let candidates: Vec<PgBinaries> = candidate_dirs()
            .into_iter()
            .filter_map(|dir| PgBinaries::in_dir(&dir))
            .collect();
        if let Some(major) = preferred_major {
            if let Some(found) = candidates
                .iter()
                .find(|bins| bins.major_version().as_deref() == Some(major))
            {
                return Ok(found.clone());
            }
        }
        // With no version match, the first candidate still gets to try: PostgreSQL's own
        // "incompatible data directory" error then says exactly what is wrong.
        candidates
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!(INSTALL_HINT))
    }

    fn in_dir(dir: &Path) -> Option<PgBinaries> {
        let initdb = dir.join("initdb");
        let pg_ctl = dir.join("pg_ctl");
        (initdb.is_file() && pg_ctl.is_file()).then_some(PgBinaries { initdb, pg_ctl })
    }

    /// The major version `pg_ctl --version` reports ("pg_ctl (PostgreSQL) 15.19 (Debian…)" → "15").
    pub fn major_version(&self) -> Option<String> {
        let output = Command::new(&self.pg_ctl).arg("--version").output().ok()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let version = text.split(')').nth(1)?.split_whitespace().next()?;
        Some(version.split('.').next()?.to_owned())
    }
}

/// Directories to look in, most preferred first.
fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.extend(
        versioned_subdirs(Path::new(DEBIAN_ROOT), "")
            .into_iter()
            .map(|dir| dir.join("bin")),
    );
    dirs.push(PathBuf::from(HOMEBREW_BIN));
    for opt in HOMEBREW_OPT_DIRS {
        dirs.extend(
            versioned_subdirs(Path::new(opt), "postgresql")
                .into_iter()
                .map(|dir| dir.join("bin")),
        );
    }
    dirs
}

/// Subdirectories of `root` named `<prefix><version>` (Homebrew writes `postgresql@16`),
/// highest version first, so the newest installed server wins.
fn versioned_subdirs(root: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(prefix)?.trim_start_matches('@');
            let version: Vec<u32> = rest.split('.').filter_map(|p| p.parse().ok()).collect();
            Some((version, entry.path()))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, path)| path).collect()
}

/// Who runs the PostgreSQL programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// We are not root: run them directly.
    CurrentUser,
    /// We are root: run them as this system user through `runuser`, with its uid and gid so
    /// that directories can be handed over to it.
    ServiceUser { name: String, uid: u32, gid: u32 },
}

impl RunAs {
    /// Decides from our effective uid; as root, requires the `postgres` user and `runuser`.
    pub fn detect() -> anyhow::Result<RunAs> {
        if effective_uid()? != 0 {
            return Ok(RunAs::CurrentUser);
        }
        let uid = id_of(&["-u", SERVICE_USER]);
        let gid = id_of(&["-g", SERVICE_USER]);
        let (Some(uid), Some(gid)) = (uid, gid) else {
            bail!(
                "running as root, and PostgreSQL's initdb refuses to run as root, but there is no \
                 `{SERVICE_USER}` system user to run it as. Install PostgreSQL from your \
                 distribution (Debian/Ubuntu: `apt-get install postgresql` creates that user), \
                 run agent-panel as an unprivileged user, or set DATABASE_URL."
            );
        };
        if Command::new("runuser").arg("--help").output().is_err() {
            bail!(
                "running as root, so PostgreSQL must run as the `{SERVICE_USER}` user, but the \
                 `runuser` program (util-linux) was not found. Install util-linux, run \
                 agent-panel as an unprivileged user, or set DATABASE_URL."
            );
        }
        Ok(RunAs::ServiceUser {
            name: SERVICE_USER.to_owned(),
            uid,
            gid,
        })
    }

    /// A command that runs `program` as the right user.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        match self {
            RunAs::CurrentUser => Command::new(program),
            RunAs::ServiceUser { name, .. } => {
                let mut command = Command::new("runuser");
                command.args(["-u", name, "--"]).arg(program);
                command
            }
        }
    }

    /// Makes `dir` belong to the user that runs PostgreSQL (a no-op when that is us).
    pub fn hand_over(&self, dir: &Path) -> anyhow::Result<()> {
        match self {
            RunAs::CurrentUser => Ok(()),
            RunAs::ServiceUser { name, uid, gid } => chown(dir, *uid, *gid)
                .with_context(|| format!("giving {} to the `{name}` user", dir.display())),
        }
    }
}

#[cfg(unix)]
fn chown(dir: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
}

#[cfg(not(unix))]
fn chown(_dir: &Path, _uid: u32, _gid: u32) -> std::io::Result<()> {
    Ok(())
}

/// Our effective uid, from `/proc/self/status` (Linux) or else `id -u`: no libc needed.
fn effective_uid() -> anyhow::Result<u32> {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        // "Uid:\treal\teffective\tsaved\tfs"
        let effective = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|id| id.parse().ok());
        if let Some(uid) = effective {
            return Ok(uid);
        }
    }
    id_of(&["-u"]).context("could not tell which user we run as (`id -u` failed)")
}

/// Runs `id` with `args` and parses the number it prints.
fn id_of(args: &[&str]) -> Option<u32> {
    let output = Command::new("id").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// Whether this process runs as root (then PostgreSQL must run as another user).
pub fn running_as_root() -> bool {
    effective_uid().map(|uid| uid == 0).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_subdirs_put_the_highest_version_first() {
        let root = std::env::temp_dir().join(format!("ap-pgbin-{}", std::process::id()));
        for name in ["postgresql@9.6", "postgresql@16", "postgresql@14", "other"] {
            std::fs::create_dir_all(root.join(name)).unwrap();
        }
        let names: Vec<String> = versioned_subdirs(&root, "postgresql")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(names, ["postgresql@16", "postgresql@14", "postgresql@9.6"]);
    }
}
