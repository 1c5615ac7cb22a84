//! The pinned containernetworking plugins: get the tarball, verify it, put `bridge` into nodes.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::error::KindError;
use super::run::{Programs, Scratch, stream};
use crate::content::model::PluginsPin;

/// Where the tarball goes inside a node.
const NODE_TARBALL: &str = "/tmp/cni-plugins.tgz";

/// A node architecture the plugins are released for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64.
    Amd64,
    /// 64-bit ARM.
    Arm64,
}

impl Arch {
    /// The architecture for what `uname -m` printed, if the plugins exist for it.
    pub fn from_uname(machine: &str) -> Option<Self> {
        match machine.trim() {
            "x86_64" | "amd64" => Some(Arch::Amd64),
            "aarch64" | "arm64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The name used in release file names and in `lesson.yaml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lowercase hex SHA-256 of a file, read in chunks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buf)?;
        if read == 0 {
            break;
        }
        hasher.update(&buf[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// Fails early when a given tarball is not a readable file.
pub(crate) fn check_readable(path: &Path) -> Result<(), KindError> {
    let unreadable = |source| KindError::TarballUnreadable {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(unreadable(std::io::Error::other("not a regular file")));
    }
    std::fs::File::open(path).map_err(unreadable)?;
    Ok(())
}

/// A verified tarball on this machine.
#[derive(Debug)]
pub(crate) struct Tarball {
    pub(crate) path: PathBuf,
    pub(crate) sha256: String,
}

/// The tarball for `arch`: the given file, or a download of the pinned URL with curl;
/// either way only returned when its SHA-256 equals the pin.
pub(crate) fn obtain(
    programs: &Programs,
    pin: &PluginsPin,
    arch: Arch,
    given: Option<&Path>,
    scratch: &Scratch,
    out: &mut dyn Write,
) -> Result<Tarball, KindError> {
    let expected = pin
        .sha256
        .get(arch.as_str())
        .map(|sum| sum.trim().to_ascii_lowercase())
        .ok_or_else(|| KindError::NoChecksum {
            arch: arch.to_string(),
        })?;
    let (path, origin) = match given {
        Some(path) => {
            let _ = writeln!(
                out,
                "Using the CNI plugins tarball {} (KUBELAB_CNI_PLUGINS_TARBALL)",
                path.display()
            );
            (path.to_path_buf(), path.display().to_string())
        }
        None => {
            let url = pin.url.replace("{arch}", arch.as_str());
            let path = scratch.path("cni-plugins.tgz");
            download(programs, &url, &path, out)?;
            (path, url)
        }
    };
    let actual = sha256_file(&path).map_err(|source| KindError::TarballUnreadable {
        path: path.clone(),
        source,
    })?;
    if actual != expected {
        return Err(KindError::ChecksumMismatch {
            origin,
            expected,
            actual,
        });
    }
    let _ = writeln!(out, "sha256 verified: {actual}");
    Ok(Tarball {
        path,
        sha256: actual,
    })
}

/// `curl -fsSL --retry 3 -o PATH URL`; curl's own error message goes to stderr.
fn download(
    programs: &Programs,
    url: &str,
    path: &Path,
    out: &mut dyn Write,
) -> Result<(), KindError> {
    let curl = programs.curl.as_ref().ok_or(KindError::CurlMissing)?;
    let _ = writeln!(out, "Downloading {url}");
    let mut command = Command::new(curl);
    command
        .args(["-fsSL", "--retry", "3", "-o"])
        .arg(path)
        .arg(url);
    let status = stream("curl", &mut command)?;
    if status.success() {
        Ok(())
    } else {
        Err(KindError::DownloadFailed {
            url: url.to_string(),
            status: status.to_string(),
        })
    }
}

/// Copies the tarball into `node`, extracts `bridge` into /opt/cni/bin and checks it is there.
/// Only `./bridge` is extracted, so the node's other plugins (and Flannel's) stay as they are.
pub(crate) fn install(programs: &Programs, tarball: &Path, node: &str) -> Result<(), KindError> {
    let target = format!("{node}:{NODE_TARBALL}");
    let copy: [&OsStr; 3] = [OsStr::new("cp"), tarball.as_os_str(), OsStr::new(&target)];
    programs.docker_output(&copy)?;
    programs.docker_output(&[
        "exec",
        node,
        "tar",
        "-xzf",
        NODE_TARBALL,
        "-C",
        "/opt/cni/bin",
        "./bridge",
    ])?;
    programs.docker_output(&["exec", node, "rm", "-f", NODE_TARBALL])?;
    if programs.node_test(node, "-x", "/opt/cni/bin/bridge")? {
        Ok(())
    } else {
        Err(KindError::BridgeMissing {
            node: node.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uname_maps_to_release_arch() {
        assert_eq!(Arch::from_uname("x86_64\n"), Some(Arch::Amd64));
        assert_eq!(Arch::from_uname("aarch64"), Some(Arch::Arm64));
        assert_eq!(Arch::from_uname("arm64"), Some(Arch::Arm64));
        assert_eq!(Arch::from_uname("riscv64"), None);
    }

    #[test]
    fn sha256_of_a_file() {
        let dir = std::env::temp_dir().join(format!("kubelab-sha-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("abc");
        std::fs::write(&file, b"abc").expect("write");
        assert_eq!(
            sha256_file(&file).expect("hash"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
