#!/usr/bin/env bash
# Entry point of the learner environment Pod (see Dockerfile). kubelab sets:
#   KUBELAB_ENV_NAME  the kind cluster's name (the Pod's name)
#   KUBELAB_WORKERS   worker nodes
#   KUBELAB_SECRET    the Secret to publish the kubeconfig in
#   POD_IP, POD_NAMESPACE (downward API)
# Readiness is the file /run/kubelab/ready, written once the Secret exists.
set -euo pipefail

name="${KUBELAB_ENV_NAME:?}"
mkdir -p /run/kubelab

echo "kubelab-environment: starting Docker"
dockerd-entrypoint.sh dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 120); do
  docker info >/dev/null 2>&1 && break
  sleep 1
done
docker info >/dev/null

# The lesson's cluster; the API server listens on the Pod IP so kubelab (and the learner's
# terminal) reach it from outside the Pod; kind puts that address into the certificate.
echo "kubelab-environment: creating kind cluster ${name}"
kubelab cluster create \
  --name "${name}" \
  --workers "${KUBELAB_WORKERS:-1}" \
  --content /opt/kubelab/content \
  --api-server-address "${POD_IP:?}" \
  --api-server-port 6443

kind get kubeconfig --name "${name}" > /run/kubelab/kubeconfig

# Publish with the Pod's own ServiceAccount (a Role lets it write Secrets in its namespace).
sa=/var/run/secrets/kubernetes.io/serviceaccount
in_cluster=(kubectl --server="https://kubernetes.default.svc" --token="$(cat ${sa}/token)"
  --certificate-authority="${sa}/ca.crt" --namespace="${POD_NAMESPACE:?}")
"${in_cluster[@]}" create secret generic "${KUBELAB_SECRET:?}" \
  --from-file=kubeconfig=/run/kubelab/kubeconfig \
  --dry-run=client -o yaml | "${in_cluster[@]}" apply -f -
touch /run/kubelab/ready
echo "kubelab-environment: ready"

# Stay up as long as Docker does; the Pod's deletion ends everything.
wait
