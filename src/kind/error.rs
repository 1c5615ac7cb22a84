//! Errors of the kind layer, each worded for the learner at the terminal.

use std::path::PathBuf;

/// Why creating, preparing or deleting a kind cluster stopped.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    /// The cluster name is not one kind accepts.
    #[error("`{name}` is not a usable kind cluster name: {reason}")]
    BadName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `docker` is not on PATH.
    #[error(
        "docker is not installed (or not on PATH): kind runs its nodes as Docker containers, install Docker from https://docs.docker.com/get-docker/"
    )]
    DockerMissing,
    /// `docker` is there but its engine does not answer.
    #[error(
        "docker is installed but its engine is not reachable (`docker info` failed: {detail}): start Docker and try again"
    )]
    DockerNotRunning {
        /// The last line docker printed.
        detail: String,
    },
    /// `kind` is not on PATH.
    #[error(
        "kind is not installed (or not on PATH): see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
    )]
    KindMissing,
    /// `curl` is needed to download the plugins and is not on PATH.
    #[error(
        "curl is not installed (or not on PATH): install curl, or download the CNI plugins tarball yourself and set KUBELAB_CNI_PLUGINS_TARBALL to its path"
    )]
    CurlMissing,
    /// The host kernel lacks the `br_netfilter` module Flannel needs.
    #[error(
        "{path} does not exist: the br_netfilter kernel module is not loaded, and Flannel needs it (kind nodes share this host's kernel).\n  Load it now:          sudo modprobe br_netfilter\n  Keep it after reboot: echo br_netfilter | sudo tee /etc/modules-load.d/br_netfilter.conf\n  Then run `kubelab cluster create` again."
    )]
    BrNetfilterMissing {
        /// The file that should exist.
        path: PathBuf,
    },
    /// A node does not see `br_netfilter` (the kernel running Docker lacks it).
    #[error(
        "/proc/sys/net/bridge/bridge-nf-call-iptables is missing inside node {node}: load br_netfilter in the kernel that runs Docker (on Linux: sudo modprobe br_netfilter), then run `kubelab cluster create` again"
    )]
    BrNetfilterMissingInNode {
        /// The node checked.
        node: String,
    },
    /// The lesson's kind config cannot be adjusted.
    #[error("the lesson's kind config `{file}` cannot be used: {detail}")]
    KindConfig {
        /// The file name in the lesson's files/.
        file: String,
        /// What is wrong.
        detail: String,
    },
    /// A program could not be started at all.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A program ran and failed.
    #[error("`{command}` failed ({status}){detail}")]
    CommandFailed {
        /// The command line, for the learner to re-run.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr, prefixed with `: ` when there is any.
        detail: String,
    },
    /// `kind create cluster` failed; its output was streamed above.
    #[error("kind could not create cluster `{name}` ({status}); its output is above")]
    CreateFailed {
        /// The cluster name.
        name: String,
        /// kind's exit status.
        status: String,
    },
    /// `kind delete cluster` failed; its output was streamed above.
    #[error("kind could not delete cluster `{name}` ({status}); its output is above")]
    DeleteFailed {
        /// The cluster name.
        name: String,
        /// kind's exit status.
        status: String,
    },
    /// kind lists no nodes for the cluster.
    #[error(
        "kind cluster `{name}` has no nodes (`kind get nodes --name {name}` printed none); delete it with `kubelab cluster delete --name {name}` and create it again"
    )]
    NoNodes {
        /// The cluster name.
        name: String,
    },
    /// The nodes run on an architecture the lesson pins no plugins for.
    #[error(
        "node {node} runs on `{machine}`, and the CNI plugins are pinned for amd64 (x86_64) and arm64 (aarch64) only"
    )]
    UnsupportedArch {
        /// The node asked.
        node: String,
        /// What `uname -m` printed.
        machine: String,
    },
    /// The lesson pins no checksum for this architecture.
    #[error(
        "the lesson pins no sha256 for the {arch} CNI plugins (cluster.cni_plugins.sha256.{arch} in lesson.yaml), so they cannot be verified"
    )]
    NoChecksum {
        /// The architecture.
        arch: String,
    },
    /// The given tarball cannot be read.
    #[error("cannot read the CNI plugins tarball {path} (KUBELAB_CNI_PLUGINS_TARBALL): {source}")]
    TarballUnreadable {
        /// The path given.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// curl could not download the tarball.
    #[error(
        "downloading {url} failed (curl {status}); check the network, or download it yourself and set KUBELAB_CNI_PLUGINS_TARBALL to its path"
    )]
    DownloadFailed {
        /// The URL.
        url: String,
        /// curl's exit status.
        status: String,
    },
    /// The tarball is not the pinned release; nothing was copied.
    #[error(
        "the CNI plugins tarball from {origin} does not match the lesson's pinned checksum, so nothing was copied into the nodes.\n  expected sha256 {expected}\n  got      sha256 {actual}"
    )]
    ChecksumMismatch {
        /// Where the tarball came from (URL or path).
        origin: String,
        /// The pinned checksum.
        expected: String,
        /// The checksum of the file.
        actual: String,
    },
    /// The plugin is still missing after extraction.
    #[error(
        "/opt/cni/bin/bridge is still missing on node {node} after extracting the CNI plugins into it"
    )]
    BridgeMissing {
        /// The node.
        node: String,
    },
    /// A local file operation failed (temporary files, reading the tarball).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
}
