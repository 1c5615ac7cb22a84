//! What the host must provide: programs on PATH and the `br_netfilter` kernel module.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::KindError;

/// Exists once the `br_netfilter` module is loaded; flanneld stats it at start.
pub const BR_NETFILTER_PATH: &str = "/proc/sys/net/bridge/bridge-nf-call-iptables";

/// The first executable file called `name` in a PATH folder, like a shell would find it.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Checks the host for `br_netfilter`: `path` when given, else [`BR_NETFILTER_PATH`] on Linux.
/// Elsewhere (Docker Desktop) the kernel belongs to Docker's VM and only the nodes can tell.
pub(crate) fn check_br_netfilter(
    path: Option<&Path>,
    out: &mut dyn Write,
) -> Result<(), KindError> {
    let path = match path {
        Some(path) => path.to_path_buf(),
        None if cfg!(target_os = "linux") => PathBuf::from(BR_NETFILTER_PATH),
        None => {
            let _ = writeln!(
                out,
                "Not on Linux: br_netfilter is checked inside the nodes once they exist"
            );
            return Ok(());
        }
    };
    if path.exists() {
        let _ = writeln!(out, "br_netfilter: loaded ({} exists)", path.display());
        Ok(())
    } else {
        Err(KindError::BrNetfilterMissing { path })
    }
}
