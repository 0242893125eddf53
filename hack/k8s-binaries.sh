#!/usr/bin/env bash
# Builds (once) the pinned Kubernetes binaries the test harness, the quickstart and the
# benchmarks use, into a cache outside the repository, and prints the folder that holds them.
#
#   hack/k8s-binaries.sh            build what is missing, print the bin folder on stdout
#   hack/k8s-binaries.sh --kind     the same, plus what a kind node needs from the same wrapper
#                                   module (kubelet, kubeadm, kube-proxy); see hack/kind.sh
#
# Sources, in order: $KUBEBUILDER_ASSETS for what it has (etcd, kube-apiserver, kubectl), then the
# cache, then a build from the Go module proxy with the machine's Go. etcd is built from its Go
# modules too: Debian's etcd 3.4 lacks the watch progress notifications kube-apiserver 1.37 needs
# for streaming lists, and clients' watches then keep failing. Progress goes to stderr.
set -euo pipefail

with_kind=0
for arg in "$@"; do
  case "$arg" in
    --kind) with_kind=1 ;;
    *) echo "unknown argument: $arg (known: --kind)" >&2; exit 2 ;;
  esac
done

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v4.3.1}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
CACHE_ROOT="${AIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/attested-inference-operator}"
BIN="$CACHE_ROOT/kubernetes-$K8S_VERSION/bin"
mkdir -p "$BIN"

log() { printf '[k8s-binaries] %s\n' "$*" >&2; }
elapsed() { local s=$1; printf '%dm%02ds' $(( (SECONDS - s) / 60 )) $(( (SECONDS - s) % 60 )); }

have() { [ -x "$BIN/$1" ]; }

# Kubernetes components from one wrapper module pinned to $K8S_VERSION. k8s.io/kubernetes points its
# staging modules at ./staging, so each gets a replace to the matching published v0.Y.Z module.
build_kubernetes() {
  local wanted=() c
  for c in "$@"; do have "$c" || wanted+=("$c"); done
  [ ${#wanted[@]} -eq 0 ] && return 0
  local mod="$CACHE_ROOT/kubernetes-$K8S_VERSION/module"
  mkdir -p "$mod"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local patch="${K8S_VERSION##*.}"
  if [ ! -f "$mod/go.mod" ] || ! grep -q "k8s.io/kubernetes $K8S_VERSION" "$mod/go.mod"; then
    log "preparing the wrapper module for Kubernetes $K8S_VERSION"
    local upstream
    upstream=$(cd "$mod" && GOFLAGS= go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      echo "module local/kubernetes-binaries"
      echo
      echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#replace \1 => \1 v0.'"$minor.$patch"'#p' "$upstream"
    } > "$mod/go.mod"
    printf 'package main\n' > "$mod/doc.go"
  fi
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  local pkgs=()
  for c in "${wanted[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  log "building ${wanted[*]} $K8S_VERSION from Go modules (cold: about 10 minutes on 2 cores)"
  local start=$SECONDS
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$BIN/" "${pkgs[@]}")
  log "built ${wanted[*]} in $(elapsed $start)"
}

go_install() { # name module@version [ldflags]
  have "$1" && return 0
  log "building $1 ($2) from Go modules"
  local start=$SECONDS
  CGO_ENABLED=0 GOBIN="$BIN" GOFLAGS= go install -trimpath -ldflags "-s -w ${3:-}" "$2"
  log "built $1 in $(elapsed $start)"
}

link_asset() { # name: take it from KUBEBUILDER_ASSETS when that folder has it
  [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$1" ] && ! have "$1" || return 0
  ln -sf "$KUBEBUILDER_ASSETS/$1" "$BIN/$1"
  log "using $1 from KUBEBUILDER_ASSETS"
}

for c in etcd kube-apiserver kubectl; do link_asset "$c"; done

require_go() {
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm; do
    have "$c" || { command -v go >/dev/null && return 0; log "Go 1.25 or newer is needed to build the missing Kubernetes binaries (or set KUBEBUILDER_ASSETS)"; exit 1; }
  done
}
require_go

# etcd's server module replaces its sibling modules with relative paths, so it is built from a
# small wrapper module that requires it (go install refuses modules with replace directives).
build_etcd() {
  have etcd && return 0
  local mod="$CACHE_ROOT/etcd-$ETCD_VERSION/module"
  mkdir -p "$mod"
  printf 'module local/etcd-binary\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')" "$ETCD_VERSION" > "$mod/go.mod"
  printf 'package main\n' > "$mod/doc.go"
  log "building etcd $ETCD_VERSION from Go modules"
  local start=$SECONDS
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
  log "built etcd in $(elapsed $start)"
}

build_etcd

build_kubernetes kube-apiserver kube-controller-manager kube-scheduler kubectl
# kubeadm pulls in modules the other components do not; -mod=mod resolves them into the wrapper.
if [ "$with_kind" = 1 ]; then build_kubernetes kubelet kubeadm kube-proxy; fi
go_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
go_install helm "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
  "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"

echo "$BIN"
