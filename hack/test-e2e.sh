#!/usr/bin/env bash
# The end-to-end suite (npm run test:e2e): by default builds the images and a kind cluster on this
# machine (root needed for the private dockerd), runs test/e2e/ on it and removes the cluster.
# E2E_CLUSTER=existing runs it on the cluster KUBECONFIG names instead (see test/e2e/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 24 ]; then
  PATH="$(hack/node24.sh):$PATH"; export PATH
fi
if [ "${E2E_CLUSTER:-kind}" = kind ] && [ "$(id -u)" -ne 0 ]; then
  echo "the kind e2e suite needs root (it runs its own dockerd); or set E2E_CLUSTER=existing" >&2
  exit 1
fi
start=$SECONDS
npx vitest run --project e2e "$@"
echo "=== e2e: $((SECONDS - start)) s"
