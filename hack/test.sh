#!/usr/bin/env bash
# The project's single test command (npm test): lint, typecheck, unit tests, integration tests
# against a real local control plane. Prints the time each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 24 ]; then
  export PATH="$(hack/node24.sh):$PATH"
  echo "using Node.js $(node --version) from the cache (the system node is older)"
fi

stage() {
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name"
  "$@"
  echo "=== $name: $((SECONDS - start)) s"
}

stage "Kubernetes binaries" bash hack/k8s-binaries.sh >/dev/null
stage lint npx eslint --max-warnings=0 .
stage typecheck npx tsc -p tsconfig.json --noEmit
stage "unit tests" npx vitest run --project unit
stage "integration tests" npx vitest run --project integration
