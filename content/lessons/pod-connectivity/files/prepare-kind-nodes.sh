#!/usr/bin/env bash
# prepare-kind-nodes.sh
# Make a kind cluster that was created WITHOUT a CNI (kind-config.yaml,
# disableDefaultCNI: true) ready for Flannel:
#   1. Flannel needs the br_netfilter kernel module. kind nodes are containers
#      that share the Docker host's kernel, so the module must be loaded there.
#   2. Flannel's CNI plugin hands the real work to the "bridge" plugin, which
#      kind node images do not ship (they have host-local, loopback, ptp and
#      portmap only). This script downloads the official containernetworking
#      plugins release, checks its sha256 and copies every plugin into
#      /opt/cni/bin of every node of the cluster.
#
# Usage:  ./prepare-kind-nodes.sh [cluster-name]     (default: kubelab)
# Needs:  docker, kind, curl, tar, and sha256sum or shasum.
# Safe to run again: it only overwrites the plugin binaries.
set -euo pipefail

CLUSTER_NAME="${1:-kubelab}"

# Pinned release. The checksums are the sha256 of the release tarballs as
# published by containernetworking/plugins (the .sha256 files next to each
# tarball on the release page). Change all three lines together.
CNI_PLUGINS_VERSION="v1.9.1"
CNI_PLUGINS_SHA256_AMD64="b98f74a0f8522f0a83867178729c1aa70f2158f90c45a2ca8fa791db1c76b303"
CNI_PLUGINS_SHA256_ARM64="56171987d3947707c3563db2f4001bccaf50fd63468611b9f3cbecb1375ee7ec"

die() { echo "error: $*" >&2; exit 1; }

for tool in docker kind curl tar; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed or not in PATH"
done

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  else
    die "neither sha256sum nor shasum is available to verify the download"
  fi
}

# --- the cluster's nodes ------------------------------------------------------
NODES=()
while IFS= read -r node; do
  if [[ -n "$node" ]]; then NODES+=("$node"); fi
done < <(kind get nodes --name "$CLUSTER_NAME" 2>/dev/null)
if [[ ${#NODES[@]} -eq 0 ]]; then
  die "kind cluster '$CLUSTER_NAME' has no nodes; create it first: kind create cluster --config kind-config.yaml"
fi
echo "Nodes of kind cluster '$CLUSTER_NAME': ${NODES[*]}"

# --- 1. br_netfilter -----------------------------------------------------------
# Without it flanneld exits with "Failed to check br_netfilter: stat
# /proc/sys/net/bridge/bridge-nf-call-iptables: no such file or directory".
# Check on the host when it is Linux, and inside a node in every case (that is
# what flanneld sees; on Docker Desktop the kernel belongs to Docker's VM).
BRNF=/proc/sys/net/bridge/bridge-nf-call-iptables
if [[ "$(uname -s)" == "Linux" && ! -e "$BRNF" ]]; then
  die "$BRNF does not exist: the br_netfilter module is not loaded.
  Load it on this host:       sudo modprobe br_netfilter
  Keep it after a reboot:     echo br_netfilter | sudo tee /etc/modules-load.d/br_netfilter.conf
  Then run this script again."
fi
if ! docker exec "${NODES[0]}" test -e "$BRNF"; then
  die "$BRNF is missing inside node ${NODES[0]}: load br_netfilter in the kernel that runs Docker
  (on Linux: sudo modprobe br_netfilter), then run this script again."
fi
echo "br_netfilter: loaded ($BRNF exists)"

# --- 2. the containernetworking plugins -----------------------------------------
# Use the nodes' architecture (the same kernel as Docker's), not a guess.
case "$(docker exec "${NODES[0]}" uname -m)" in
  x86_64|amd64)  ARCH=amd64; EXPECTED_SHA256="$CNI_PLUGINS_SHA256_AMD64" ;;
  aarch64|arm64) ARCH=arm64; EXPECTED_SHA256="$CNI_PLUGINS_SHA256_ARM64" ;;
  *) die "unsupported node architecture: $(docker exec "${NODES[0]}" uname -m)" ;;
esac

TARBALL="cni-plugins-linux-${ARCH}-${CNI_PLUGINS_VERSION}.tgz"
URL="https://github.com/containernetworking/plugins/releases/download/${CNI_PLUGINS_VERSION}/${TARBALL}"

WORKDIR="$(mktemp -d)"
trap 'rm -rf "$WORKDIR"' EXIT

echo "Downloading $URL"
curl -fsSL --retry 3 -o "$WORKDIR/$TARBALL" "$URL"

ACTUAL_SHA256="$(sha256_of "$WORKDIR/$TARBALL")"
if [[ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]]; then
  die "checksum mismatch for $TARBALL
  expected $EXPECTED_SHA256
  got      $ACTUAL_SHA256"
fi
echo "sha256 verified: $ACTUAL_SHA256"

mkdir -p "$WORKDIR/bin"
tar -xzf "$WORKDIR/$TARBALL" -C "$WORKDIR/bin"
[[ -x "$WORKDIR/bin/bridge" ]] || die "the tarball has no 'bridge' plugin"

for node in "${NODES[@]}"; do
  echo "Copying CNI plugins into $node:/opt/cni/bin"
  docker exec "$node" mkdir -p /opt/cni/bin
  docker cp "$WORKDIR/bin/." "$node:/opt/cni/bin/"
  docker exec "$node" test -x /opt/cni/bin/bridge || die "bridge plugin missing on $node after copy"
done

echo
echo "Done. Every node now has /opt/cni/bin/bridge (and the other ${CNI_PLUGINS_VERSION} plugins)."
echo "Next: install Flannel, e.g. ./install-flannel.sh"
