#!/usr/bin/env bash
# The project's single test command (npm test): lint, typecheck, the build, unit tests, then
# integration tests against a real local control plane. Prints the time each stage took and a
# closing count line.
set -euo pipefail
cd "$(dirname "$0")/.."
# What the tiers need beyond Node.js: installed as root, else named before anything runs.
bash hack/prerequisites.sh test
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 24 ]; then
  PATH="$(hack/node24.sh):$PATH"; export PATH
  echo "using Node.js $(node --version) from the cache (the system node is older)"
fi
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

stage() {
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name"
  "$@"
  echo "=== $name: $((SECONDS - start)) s"
}
binaries() { bash hack/k8s-binaries.sh >/dev/null; }
vitest_tier() { npx vitest run --project "$1" --reporter=default --reporter=json --outputFile.json="$results/$1.json"; }

stage "Kubernetes binaries" binaries
stage lint npx eslint --max-warnings=0 .
stage typecheck npx tsc -p tsconfig.json --noEmit
# The bundles the images run (hack/build.ts); the integration tier runs them once
# (test/integration/packaging/bundle.test.ts) instead of building its own.
stage build npm run --silent build
export AIO_BUNDLE_DIR="$PWD/dist"
stage "unit tests" vitest_tier unit
stage "integration tests" vitest_tier integration

node -e '
  const fs = require("node:fs"), path = require("node:path");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of fs.readdirSync(process.argv[1])) {
    const r = JSON.parse(fs.readFileSync(path.join(process.argv[1], f), "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$results"
