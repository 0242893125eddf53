#!/usr/bin/env bash
# Installs (as root, with apt-get) or names what a fresh Debian/Ubuntu machine lacks for a task:
#
#   hack/prerequisites.sh test        npm test: a real Redis, Prometheus and promtool, git
#   hack/prerequisites.sh e2e         npm run test:e2e: a private dockerd, debootstrap, containerd, …
#   hack/prerequisites.sh bench       npm run bench: nginx and Python's venv (the LiteLLM contender)
#
# Several tasks may be named at once. Not root (or no apt-get): prints the missing packages and
# exits 1 before anything runs. Node.js 24 comes from hack/node24.sh; Go (1.25 or newer) builds the
# Kubernetes binaries once and must be on PATH already.
set -euo pipefail

missing=()
need() { command -v "$1" >/dev/null || missing+=("$2"); }
for task in "$@"; do
  case "$task" in
    test)
      need git git
      # Integration tests of the shared limits store run a real redis-server; the packaging tests a
      # real Prometheus and promtool (test/integration/packaging/).
      need redis-server redis-server
      command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
      ;;
    e2e)
      # hack/kind.sh and hack/images.sh: a private dockerd, debootstrapped roots, Debian's containerd
      # and runc in the node image, a static pause binary.
      need dockerd docker.io
      need debootstrap debootstrap
      need jq jq
      need gcc gcc
      need ctr containerd
      need curl curl
      [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || missing+=(libc6-dev)
      ;;
    bench)
      need nginx nginx
      need python3 python3
      python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
      ;;
    *) echo "unknown task: $task (known: test, e2e, bench)" >&2; exit 2 ;;
  esac
done
no_go=0
if ! command -v go >/dev/null && [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
  echo "Go 1.25 or newer is needed on PATH to build the Kubernetes binaries once (or set KUBEBUILDER_ASSETS)" >&2
  no_go=1
fi
[ ${#missing[@]} -eq 0 ] && exit "$no_go"
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing packages for ${*}: ${missing[*]}" >&2
  echo "install them first, e.g.: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
[ "$no_go" -eq 0 ] || exit 1
echo "[prerequisites] installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates "${missing[@]}" >&2
