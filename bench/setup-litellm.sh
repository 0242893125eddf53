#!/usr/bin/env bash
# Installs the LiteLLM proxy (the benchmark's LiteLLM contender) into a cached venv, ahead of the
# run: the benchmark itself never reaches the network. Pinned to a recent release whose `proxy`
# extra installs from PyPI alone (1.108.14 and 1.110.2 pin `litellm-proxy-extras`/`litellm-proxy` builds that PyPI does not serve here).
# Prints the venv's litellm executable.
#   bash bench/setup-litellm.sh            install if missing, print the path
#   LITELLM_VERSION=1.106.12 bash bench/setup-litellm.sh
set -euo pipefail
version="${LITELLM_VERSION:-1.106.12}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/attested-inference-operator/litellm-${version}"
if [[ -x "$venv/bin/litellm" && -f "$venv/.installed" ]]; then
  echo "$venv/bin/litellm"
  exit 0
fi
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --disable-pip-version-check --quiet "litellm[proxy]==${version}" >&2
touch "$venv/.installed"
echo "$venv/bin/litellm"
