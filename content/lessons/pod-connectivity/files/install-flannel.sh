#!/usr/bin/env bash
# install-flannel.sh
# Install the pinned Flannel release on the cluster of the current kubectl
# context, then wait until Flannel and every node are ready.
#
# What the official manifest (kube-flannel.yml) creates:
#   Namespace          kube-flannel   (labelled pod-security ... enforce: privileged)
#   ClusterRole        flannel        (get pods; get/list/watch nodes; patch nodes/status)
#   ClusterRoleBinding flannel
#   ServiceAccount     kube-flannel/flannel
#   ConfigMap          kube-flannel/kube-flannel-cfg
#       cni-conf.json  -> written to /etc/cni/net.d/10-flannel.conflist (plugins: flannel, portmap)
#       net-conf.json  -> {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}, ...}
#   DaemonSet          kube-flannel/kube-flannel-ds  (labels app=flannel, tier=node; hostNetwork)
#       init container install-cni-plugin  (image ghcr.io/flannel-io/flannel-cni-plugin)
#                      copies the "flannel" CNI binary into /opt/cni/bin
#       init container install-cni         writes the CNI config file (/opt/bin/install-conf)
#       container      kube-flannel        runs flanneld --ip-masq --kube-subnet-mgr --healthz-port=8081
#                      and writes /run/flannel/subnet.env on every node
#
# Before running it on a kind cluster created without a CNI, run
# prepare-kind-nodes.sh (br_netfilter check + the "bridge" plugin).
#
# In the exam you would simply run the kubectl apply line with the URL you are given.
set -euo pipefail

FLANNEL_VERSION="v0.28.9"
FLANNEL_MANIFEST="https://github.com/flannel-io/flannel/releases/download/${FLANNEL_VERSION}/kube-flannel.yml"
# The project's README points at .../releases/latest/download/kube-flannel.yml;
# a pinned version keeps this lesson reproducible.

# flannel's net-conf.json assumes 10.244.0.0/16: show each node's podCIDR so a
# mismatch is visible before anything is installed.
echo "Node pod CIDRs (must lie inside 10.244.0.0/16 for the unmodified manifest):"
kubectl get nodes -o custom-columns=NAME:.metadata.name,PODCIDR:.spec.podCIDR

kubectl apply -f "$FLANNEL_MANIFEST"

kubectl -n kube-flannel rollout status daemonset/kube-flannel-ds --timeout=180s
kubectl wait --for=condition=Ready nodes --all --timeout=180s

kubectl -n kube-flannel get pods -l app=flannel -o wide
kubectl get nodes
