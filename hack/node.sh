#!/usr/bin/env bash
# Runs Node.js 24 with the given arguments, installing it into the cache first when the machine's
# node is older (hack/node24.sh). npm start and npm run bench go through here.
set -euo pipefail
PATH="$("$(dirname "$0")/node24.sh"):$PATH"
exec node "$@"
