#!/usr/bin/env bash
# A kind cluster running real pods on this machine, offline: every binary is built from Go modules,
# every image is built locally and preloaded, nothing is pulled. See docs/kind.md.
#
#   hack/kind.sh build    build (once, cached) the binaries and the kind node image
#   hack/kind.sh up       start a private dockerd, create the cluster, print the kubeconfig path
#   hack/kind.sh down     delete the cluster and clean up everything `up` created
#   hack/kind.sh smoke    up; load a local image; a pod with a native sidecar must become Ready
#                         with no image pull; down
#   hack/kind.sh load TAR...   load `docker save` tarballs into the running cluster's nodes
#   hack/kind.sh logs DIR      `kind export logs` of the running cluster into DIR
#
# Environment: K8S_VERSION (v1.37.2), KIND_VERSION (v0.33.0), AIO_KIND_WORK (the work folder,
# default ${TMPDIR:-/tmp}/aio-kind), AIO_CACHE_DIR / XDG_CACHE_HOME (cache), DEBIAN_MIRROR.
# Progress and one timing line per stage go to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATH="$("$ROOT/hack/node24.sh"):$PATH"
export PATH
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
KIND_VERSION="${KIND_VERSION:-v0.33.0}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.37.0}"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE_ROOT="${AIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/attested-inference-operator}"
BIN="$CACHE_ROOT/kubernetes-$K8S_VERSION/bin"
KCACHE="$CACHE_ROOT/kind"
WORK="${AIO_KIND_WORK:-${TMPDIR:-/tmp}/aio-kind}"
CLUSTER=aio-kind
NETWORK=kind              # the docker network kind uses; created here first, without a way out
BRIDGE=aio-kind0          # its Linux bridge
SUBNET=172.31.250.0/24
NODE_IMAGE="aio-kind/node:$K8S_VERSION"
NODE_IMAGE_REVISION=2     # bump when the node image recipe changes: the cached tarball is keyed by it
SMOKE_IMAGE=aio-kind/busybox:smoke
POD_SUBNET=10.244.0.0/16

# shellcheck source=hack/kind/dockerd.sh
. "$ROOT/hack/kind/dockerd.sh"

log() { printf '[kind] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
docker() { "$DOCKER_CLI" "$@"; }
gover() { go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//'; }

# --- timing ------------------------------------------------------------------------------------
stage_name='' stage_start=0
now() { date +%s.%N; }
stage() { stage_done; stage_name="$1" stage_start="$(now)"; log "== $stage_name"; }
stage_done() {
  [ -n "$stage_name" ] || return 0
  log "$(printf 'timing: %-34s %7ss' "$stage_name" "$(awk -v a="$stage_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')")"
  stage_name=''
}

# --- binaries ----------------------------------------------------------------------------------
# A wrapper module that requires MODULE@VERSION, for modules `go install` refuses (replace
# directives) or that are nested; built with CGO_ENABLED=0 so the images need no libc.
build_wrapped() { # name module version package output [ldflags]
  local name="$1" module="$2" version="$3" pkg="$4" out="$5" ldflags="${6:-}"
  [ -x "$out" ] && return 0
  local mod="$CACHE_ROOT/$name-$version/module"
  mkdir -p "$mod"
  printf 'module local/%s-wrapper\n\ngo %s\n\nrequire %s %s\n' "$name" "$(gover)" "$module" "$version" >"$mod/go.mod"
  printf 'package main\n' >"$mod/doc.go"
  log "building $pkg $version from Go modules"
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
}

kubeadm_image() { # the tag kubeadm expects for a component
  "$BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null | grep "/$1:"
}

build_binaries() {
  bash "$ROOT/hack/k8s-binaries.sh" --kind >/dev/null
  if [ ! -x "$BIN/kind" ]; then
    log "go install sigs.k8s.io/kind@$KIND_VERSION"
    CGO_ENABLED=0 GOBIN="$BIN" GOFLAGS='' go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
  fi
  "$BIN/kind" version | grep -q "${KIND_VERSION}" || die "$BIN/kind is not $KIND_VERSION"
  ETCD_TAG="$(kubeadm_image etcd)"; ETCD_TAG="${ETCD_TAG##*:}"
  COREDNS_TAG="$(kubeadm_image coredns)"; COREDNS_TAG="${COREDNS_TAG##*:}"
  PAUSE_TAG="$(kubeadm_image pause)"; PAUSE_TAG="${PAUSE_TAG##*:}"
  local etcd_version="v${ETCD_TAG%-*}"
  CRICTL="$CACHE_ROOT/cri-tools-$CRICTL_VERSION/crictl"
  COREDNS="$CACHE_ROOT/coredns-$COREDNS_TAG/coredns"
  ETCD="$CACHE_ROOT/etcd-$etcd_version/etcd"
  PAUSE="$CACHE_ROOT/pause-$PAUSE_TAG/pause"
  build_wrapped cri-tools sigs.k8s.io/cri-tools "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl "$CRICTL" \
    "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
  build_wrapped coredns github.com/coredns/coredns "$COREDNS_TAG" github.com/coredns/coredns "$COREDNS" \
    "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_TAG"
  build_wrapped etcd go.etcd.io/etcd/server/v3 "$etcd_version" go.etcd.io/etcd/server/v3 "$ETCD"
  if [ ! -x "$PAUSE" ]; then
    local src
    src="$(cd "$CACHE_ROOT/kubernetes-$K8S_VERSION/module" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
    mkdir -p "$(dirname "$PAUSE")"
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_TAG-aio" -o "$PAUSE.tmp" "$src"
    strip "$PAUSE.tmp"
    mv "$PAUSE.tmp" "$PAUSE"
  fi
}

# --- images ------------------------------------------------------------------------------------
# docker import of a folder as a one-layer image.
import_dir() { # dir tag [--change ...]
  local dir="$1" tag="$2"
  shift 2
  tar -C "$dir" --numeric-owner -cf - . | docker import "$@" - "$tag" >/dev/null
}

# The static control-plane components on a tiny base: passwd/group, a CA bundle, /tmp.
tiny_rootfs() { # dir
  mkdir -p "$1"/{etc/ssl/certs,tmp,usr/local/bin}
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$1/etc/group"
  cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/"
}

build_control_plane_images() { # out.tar
  local c dir tags=()
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    dir="$WORK/img-$c"; tiny_rootfs "$dir"; install -m 0755 "$BIN/$c" "$dir/usr/local/bin/"
    import_dir "$dir" "$(kubeadm_image "$c")" --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      --change "ENTRYPOINT [\"/usr/local/bin/$c\"]"
    tags+=("$(kubeadm_image "$c")")
  done
  dir="$WORK/img-etcd"; tiny_rootfs "$dir"; install -m 0755 "$ETCD" "$dir/usr/local/bin/etcd"
  mkdir -p "$dir/var/lib/etcd"
  import_dir "$dir" "$(kubeadm_image etcd)" --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin'
  tags+=("$(kubeadm_image etcd)")
  dir="$WORK/img-coredns"; tiny_rootfs "$dir"; install -m 0755 "$COREDNS" "$dir/coredns"
  # Runs as root: kubeadm's Deployment drops every capability but NET_BIND_SERVICE, which a non-root
  # user would only keep through a file capability on the binary.
  import_dir "$dir" "$(kubeadm_image coredns)" --change 'ENTRYPOINT ["/coredns"]'
  tags+=("$(kubeadm_image coredns)")
  dir="$WORK/img-pause"; mkdir -p "$dir"; install -m 0755 "$PAUSE" "$dir/pause"
  import_dir "$dir" "$(kubeadm_image pause)" --change 'ENTRYPOINT ["/pause"]' --change 'USER 65535:65535'
  tags+=("$(kubeadm_image pause)")
  # kube-proxy runs iptables/nft, conntrack: it gets the node's Debian base underneath.
  dir="$WORK/img-kube-proxy"; mkdir -p "$dir"; install -m 0755 "$BIN/kube-proxy" "$dir/"
  printf 'FROM aio-kind/rootfs:%s\nCOPY kube-proxy /usr/local/bin/kube-proxy\nENTRYPOINT ["/usr/local/bin/kube-proxy"]\n' "$K8S_VERSION" >"$dir/Dockerfile"
  docker build -q --network none -t "$(kubeadm_image kube-proxy)" "$dir" >/dev/null
  tags+=("$(kubeadm_image kube-proxy)")
  docker save -o "$1" "${tags[@]}"
  log "control-plane images: ${tags[*]} ($(du -m "$1" | cut -f1) MB)"
}

base_rootfs_tar() { # prints the cached debootstrap tarball, making it if missing
  local key tar rootfs
  key="$(sha256sum "$ROOT/hack/kind/packages.txt" | cut -c1-12)"
  tar="$KCACHE/base-rootfs-$DEBIAN_SUITE-$key.tar"
  if [ ! -s "$tar" ]; then
    rootfs="$WORK/debootstrap"
    log "debootstrap $DEBIAN_SUITE (minbase) with the node's packages from $DEBIAN_MIRROR"
    mkdir -p "$CACHE_ROOT/images/debootstrap-debs"
    debootstrap --variant=minbase --include="$(paste -sd, "$ROOT/hack/kind/packages.txt")" \
      --cache-dir="$CACHE_ROOT/images/debootstrap-debs" "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" \
      >"$WORK/debootstrap.log" 2>&1 || { tail -30 "$WORK/debootstrap.log" >&2; die debootstrap; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
    tar -C "$rootfs" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$rootfs"
  fi
  echo "$tar"
}

# The node's root filesystem, laid out like kind's base image (images/base in the kind module) and
# then like its node-image builder (Kubernetes binaries in /usr/bin, /kind/version).
customize_node_rootfs() { # rootfs
  local r="$1" kind_src files
  kind_src="$(cd "$KCACHE" && GOFLAGS='' go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | jq -r .Dir)"
  files="$kind_src/images/base/files"
  install -d -m 0755 "$r/kind" "$r/kind/bin" "$r/LICENSES" "$r/etc/containerd" "$r/etc/default" \
    "$r/etc/sysctl.d" "$r/etc/systemd/system/kubelet.service.d" "$r/usr/local/bin" "$r/opt/cni/bin" \
    "$r/etc/kubernetes/manifests" "$r/etc/cni/net.d"
  install -m 0755 "$files"/usr/local/bin/* "$r/usr/local/bin/"
  install -m 0644 "$files"/kind/README.txt "$r/kind/"
  install -m 0755 "$files"/kind/bin/* "$r/kind/bin/"
  install -m 0644 "$files"/LICENSES/* "$r/LICENSES/"
  install -m 0644 "$files"/etc/crictl.yaml "$r/etc/"
  install -m 0644 "$files"/etc/containerd/* "$r/etc/containerd/"
  install -m 0644 "$files"/etc/default/* "$r/etc/default/"
  install -m 0644 "$files"/etc/sysctl.d/* "$r/etc/sysctl.d/"
  install -m 0644 "$files"/etc/systemd/system/*.service "$files"/etc/systemd/system/*.slice "$r/etc/systemd/system/"
  install -m 0644 "$files"/etc/systemd/system/kubelet.service.d/* "$r/etc/systemd/system/kubelet.service.d/"
  # kind ships containerd 2 in /usr/local/bin; this node runs Debian's containerd 1.6 (same config
  # format, version 2) from /usr/bin, with the sandbox image kubeadm expects.
  ln -sf /usr/bin/containerd "$r/usr/local/bin/containerd"
  sed -i "s#^\([[:space:]]*sandbox_image[[:space:]]*=\).*#\1 \"$(kubeadm_image pause)\"#" "$r/etc/containerd/config.toml"
  # The base OCI spec kind's containerd config points at: containerd's default plus kind's hook that
  # mounts the product_uuid, without rlimits.
  ctr oci spec | jq '.hooks.createContainer = ((.hooks.createContainer // []) + [{"path": "/kind/bin/mount-product-files.sh"}]) | del(.process.rlimits)' \
    >"$r/etc/containerd/cri-base.json"
  chroot "$r" /bin/sh -euc '
    find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
    rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
      /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
      /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
    echo ReadKMsg=no >>/etc/systemd/journald.conf
    ln -sf /usr/lib/systemd/systemd /sbin/init
    systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
    systemctl mask systemd-binfmt.service >/dev/null 2>&1
    : >/etc/machine-id
  '
  cp -a "$r"/usr/lib/cni/* "$r/opt/cni/bin/"
  install -m 0755 "$CRICTL" "$r/usr/local/bin/crictl"
  install -m 0755 "$BIN/kubeadm" "$BIN/kubelet" "$BIN/kubectl" "$r/usr/bin/"
  printf '%s' "$K8S_VERSION" >"$r/kind/version"
}

build_node_image() { # out.tar
  local out="$1" rootfs="$WORK/node-rootfs" base cid
  base="$(base_rootfs_tar)"
  docker import "$base" "aio-kind/rootfs:$K8S_VERSION" >/dev/null
  mkdir -p "$rootfs"
  tar -C "$rootfs" --numeric-owner -xf "$base"
  customize_node_rootfs "$rootfs"
  import_dir "$rootfs" "aio-kind/node-base:$K8S_VERSION" --change 'ENV container=docker' \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]'
  rm -rf "$rootfs"
  build_control_plane_images "$WORK/control-plane-images.tar"
  # Preload the images into the node's containerd, as kind's node-image builder does.
  cid="$(docker run -d --privileged --network none --entrypoint /bin/sleep "aio-kind/node-base:$K8S_VERSION" infinity)"
  docker exec -d "$cid" /bin/sh -c 'containerd >/var/log/containerd-build.log 2>&1'
  for _ in $(seq 1 100); do docker exec "$cid" ctr version >/dev/null 2>&1 && break; sleep 0.2; done
  docker exec -i "$cid" ctr -n k8s.io images import --all-platforms --no-unpack --digests - \
    <"$WORK/control-plane-images.tar" >/dev/null
  docker exec "$cid" /bin/sh -c 'for i in $(ctr -n k8s.io images ls -q); do ctr -n k8s.io images label "$i" io.cri-containerd.pinned=pinned >/dev/null; done'
  log "in the node's containerd: $(docker exec "$cid" ctr -n k8s.io images ls -q | grep -v '@sha256' | tr '\n' ' ')"
  docker exec "$cid" /bin/sh -c 'kill $(cat /run/containerd/containerd.pid 2>/dev/null || pidof containerd); while pidof containerd >/dev/null; do sleep 0.1; done; rm -f /var/log/containerd-build.log'
  docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
    "$cid" "aio-kind/node-preloaded:$K8S_VERSION" >/dev/null
  docker rm -f "$cid" >/dev/null
  # Neither import nor commit can set the stop signal systemd wants; an empty build step can.
  printf 'FROM aio-kind/node-preloaded:%s\nSTOPSIGNAL SIGRTMIN+3\n' "$K8S_VERSION" |
    docker build -q --network none -t "$NODE_IMAGE" - >/dev/null
  rm -f "$WORK/control-plane-images.tar"
  docker save -o "$out.tmp" "$NODE_IMAGE" && mv "$out.tmp" "$out"
  log "node image $NODE_IMAGE saved to $out ($(du -m "$out" | cut -f1) MB)"
}

# --- up / down ---------------------------------------------------------------------------------
cluster_config() {
  cat <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  ipFamily: ipv4
  disableDefaultCNI: true
  podSubnet: $POD_SUBNET
nodes:
  - role: control-plane
    image: $NODE_IMAGE
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri"]
      restrict_oom_score_adj = true
kubeadmConfigPatches:
  - |
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    failCgroupV1: false
    # Secret volumes follow their Secret within seconds rather than a minute (the e2e key rotation).
    syncFrequency: 10s
EOF
}

# Bridge CNI from Debian's plugins, per node with that node's pod CIDR; no masquerade.
# Written only once kube-proxy (host network, needs no CNI) has the rules for the kubernetes
# Service: a pod that connects to 10.96.0.1 before that gets a conntrack entry without the DNAT,
# its packets head for the node's default route, and (no way out) it hangs until its client's
# timeout. CoreDNS took 35-40 s to become Ready that way.
write_cni_configs() {
  local node cidr
  for node in $("$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" get nodes -o name); do
    for _ in $(seq 1 300); do
      docker exec "${node#node/}" iptables -t nat -S KUBE-SERVICES 2>/dev/null | grep -q 'default/kubernetes:https' && break
      sleep 0.2
    done
    for _ in $(seq 1 100); do
      cidr="$("$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" get "$node" -o jsonpath='{.spec.podCIDR}')"
      [ -n "$cidr" ] && break
      sleep 0.3
    done
    [ -n "$cidr" ] || die "$node has no pod CIDR"
    docker exec -i "${node#node/}" /bin/sh -c 'cat >/etc/cni/net.d/10-aio-bridge.conflist' <<EOF
{
  "cniVersion": "0.4.0",
  "name": "aio-bridge",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$cidr" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
    log "CNI: ${node#node/} bridge with $cidr, no masquerade"
  done
}

links() { ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort; }

up() {
  [ "$(id -u)" -eq 0 ] || die "run as root (dockerd, debootstrap and chroot need it)"
  mkdir -p "$WORK" "$KCACHE"
  chmod 755 "$WORK"
  links >"$WORK/links.before"
  [ -e /lib/modules ] || touch "$WORK/created-lib-modules"
  [ -e /sys/fs/cgroup/memory/docker ] || [ -e /sys/fs/cgroup/docker ] || touch "$WORK/created-docker-cgroups"
  KUBECONFIG_FILE="$WORK/kubeconfig"

  stage "toolchain (apt, Go builds when not cached)"
  local missing=()
  command -v dockerd >/dev/null && [ -x "$DOCKER_CLI" ] || missing+=(docker.io)
  for p in debootstrap jq gcc; do command -v "$p" >/dev/null || missing+=("$p"); done
  command -v ctr >/dev/null || missing+=(containerd)
  [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/libc.a ] || missing+=(libc6-dev)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} with apt"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
      { cat "$WORK/apt.log" >&2; die "apt-get install ${missing[*]}"; }
  fi
  build_binaries

  stage "dockerd (runc wrapper as default runtime)"
  # kind runs `docker` from PATH: make it docker.io's client, the daemon's own release.
  mkdir -p "$WORK/bin"
  ln -sf "$DOCKER_CLI" "$WORK/bin/docker"
  PATH="$WORK/bin:$PATH"
  # --dns 127.0.0.1: the embedded DNS of the kind network has no upstream that leaves the machine.
  dockerd_start "$WORK" --add-runtime "aio-runc=$ROOT/hack/kind/runc-drop-sys-resource" \
    --default-runtime aio-runc --dns 127.0.0.1 || die "dockerd did not start"
  log "dockerd $(docker version -f '{{.Server.Version}}') on $DOCKER_HOST"

  local node_tar="$KCACHE/node-$K8S_VERSION-kind-$KIND_VERSION-r$NODE_IMAGE_REVISION.tar"
  if [ -s "$node_tar" ]; then
    stage "load node image (cached)"
    docker load -q -i "$node_tar" >/dev/null
  else
    stage "build node image"
    build_node_image "$node_tar"
  fi

  stage "docker network (no route out)"
  docker network create -d bridge --subnet "$SUBNET" -o "com.docker.network.bridge.name=$BRIDGE" \
    -o com.docker.network.bridge.enable_ip_masquerade=false "$NETWORK" >/dev/null
  # Nothing that arrives on the bridge is forwarded anywhere (node-to-node traffic is bridged, and the
  # API server's published port is docker-proxy on the host's loopback); no IPv6 on it either.
  sysctl -qw "net.ipv4.conf.$BRIDGE.forwarding=0" "net.ipv6.conf.$BRIDGE.disable_ipv6=1"

  stage "kind create cluster"
  KIND_EXPERIMENTAL_DOCKER_NETWORK="$NETWORK" "$BIN/kind" create cluster --name "$CLUSTER" \
    --image "$NODE_IMAGE" --kubeconfig "$KUBECONFIG_FILE" --config <(cluster_config) --retain=false >&2
  write_cni_configs
  stage "nodes Ready"
  "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" wait --for=condition=Ready nodes --all --timeout=180s >&2
  stage "kube-system Ready (CoreDNS, kube-proxy)"
  "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null
  "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" -n kube-system rollout status daemonset/kube-proxy --timeout=120s >/dev/null
  stage_done
  log "cluster $CLUSTER is up; export KUBECONFIG=$KUBECONFIG_FILE DOCKER_HOST=$DOCKER_HOST"
  echo "$KUBECONFIG_FILE"
}

down() {
  set +e
  stage "down"
  export DOCKER_HOST="unix://$WORK/docker.sock" DOCKER_CONFIG="$WORK/docker-config"
  PATH="$WORK/bin:$PATH"
  if [ -S "$WORK/docker.sock" ] && docker version >/dev/null 2>&1; then
    [ -x "$BIN/kind" ] && "$BIN/kind" delete cluster --name "$CLUSTER" --kubeconfig "$WORK/kubeconfig" >/dev/null 2>&1
    docker ps -aq | xargs -r "$DOCKER_CLI" rm -f >/dev/null 2>&1
    docker network rm "$NETWORK" >/dev/null 2>&1
  fi
  dockerd_stop "$WORK"
  # docker's iptables chains (none expected with --iptables=false, but a leftover must go).
  local table chain
  for table in filter nat; do
    for chain in DOCKER-USER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER; do
      iptables -t "$table" -S "$chain" >/dev/null 2>&1 || continue
      iptables -t "$table" -S | grep -- "-j $chain\$" | sed 's/^-A/-D/' | while read -r rule; do
        # shellcheck disable=SC2086
        iptables -t "$table" $rule
      done
      iptables -t "$table" -F "$chain"; iptables -t "$table" -X "$chain"
      log "removed iptables chain $table/$chain"
    done
  done
  # Bridges and veths that were not there before `up`.
  local link
  if [ -f "$WORK/links.before" ]; then
    links | comm -13 "$WORK/links.before" - | while read -r link; do
      case "$(ip -d -o link show "$link" 2>/dev/null)" in
        *" veth "* | *"bridge "*) ip link delete "$link" && log "removed link $link" ;;
      esac
    done
  fi
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"
  if [ -f "$WORK/created-lib-modules" ] && [ -d /lib/modules ]; then rmdir /lib/modules; fi
  # dockerd's parent cgroups, when this run created them (they are empty once the nodes are gone).
  if [ -f "$WORK/created-docker-cgroups" ]; then
    find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name docker -exec rmdir {} + 2>/dev/null
  fi
  findmnt -rn -o TARGET | awk -v p="$WORK/" 'index($0, p) == 1' | sort -r | while read -r target; do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || log "could not unmount $target"
  done
  rm -rf "$WORK"
  stage_done
  set -e
}

on_failure() { # EXIT trap for up and smoke: a failed run leaves nothing behind
  local rc=$?
  trap - EXIT
  if [ "$rc" != 0 ]; then log "$1 failed (status $rc); cleaning up"; down; fi
  exit "$rc"
}

smoke() {
  if [ -e "$WORK/dockerd.pid" ]; then die "$WORK has a running setup: run hack/kind.sh down first"; fi
  trap 'on_failure smoke' EXIT
  up >/dev/null
  local k=("$BIN/kubectl" --kubeconfig "$WORK/kubeconfig")

  stage "smoke image (busybox from Debian)"
  local deb dir="$WORK/img-busybox"
  deb="$(find "$KCACHE" -maxdepth 1 -name 'busybox-static_*.deb' | sort | tail -1)"
  if [ -z "$deb" ]; then
    (cd "$KCACHE" && apt-get download busybox-static >/dev/null 2>&1) || die "apt-get download busybox-static"
    deb="$(find "$KCACHE" -maxdepth 1 -name 'busybox-static_*.deb' | sort | tail -1)"
  fi
  mkdir -p "$dir/x" "$dir/root/bin" "$dir/root/tmp"
  dpkg-deb -x "$deb" "$dir/x"
  install -m 0755 "$dir/x/bin/busybox" "$dir/root/bin/busybox"
  local applet
  for applet in sh httpd wget sleep cat echo mkdir grep nslookup; do ln -s busybox "$dir/root/bin/$applet"; done
  import_dir "$dir/root" "$SMOKE_IMAGE" --change 'ENV PATH=/bin' --change 'CMD ["sh"]'

  stage "kind load docker-image"
  PATH="$WORK/bin:$PATH" "$BIN/kind" load docker-image "$SMOKE_IMAGE" --name "$CLUSTER" >&2

  stage "pod with a native sidecar Ready"
  "${k[@]}" -n default wait --for=jsonpath='{.metadata.name}'=default serviceaccount/default --timeout=60s >/dev/null
  "${k[@]}" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: sidecar-smoke
  namespace: default
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
    - name: sidecar
      image: $SMOKE_IMAGE
      imagePullPolicy: Never
      restartPolicy: Always
      command: [sh, -c, 'mkdir -p /tmp/www && echo sidecar-ok >/tmp/www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /tmp/www']
      startupProbe:
        exec: { command: [wget, -q, -O, /dev/null, 'http://127.0.0.1:8080/'] }
        periodSeconds: 1
        failureThreshold: 30
  containers:
    - name: app
      image: $SMOKE_IMAGE
      imagePullPolicy: Never
      command: [sh, -c, 'while true; do wget -q -O - http://127.0.0.1:8080/; sleep 2; done']
      readinessProbe:
        exec: { command: [sh, -c, 'wget -q -O - http://127.0.0.1:8080/ | grep -q sidecar-ok'] }
        periodSeconds: 1
EOF
  "${k[@]}" -n default wait --for=condition=Ready pod/sidecar-smoke --timeout=120s >&2 ||
    { "${k[@]}" -n default describe pod sidecar-smoke >&2; die "the smoke pod is not Ready"; }
  sleep 2
  "${k[@]}" -n default logs sidecar-smoke -c app | grep -q sidecar-ok || die "the app did not reach the sidecar on localhost"
  log "app container reached its native sidecar on 127.0.0.1:8080 (\"$("${k[@]}" -n default logs sidecar-smoke -c app | tail -1)\")"
  local answer
  answer="$("${k[@]}" -n default exec sidecar-smoke -c app -- nslookup kubernetes.default.svc.cluster.local 2>&1)" ||
    { printf '%s\n' "$answer" >&2; die "cluster DNS (CoreDNS through kube-proxy's Service) did not answer"; }
  log "cluster DNS from the pod: kubernetes.default.svc.cluster.local -> $(printf '%s\n' "$answer" | awk '/^Address/ { a = $NF } END { print a }')"
  local pulls
  pulls="$("${k[@]}" get events -A -o json | jq -r '.items[] | select(.involvedObject.kind == "Pod") | select((.reason | test("Pull"; "i")) and (.message | test("pulling|pull image|ErrImagePull|back-off pulling"; "i"))) | .message')"
  [ -z "$pulls" ] || { printf '%s\n' "$pulls" >&2; die "a Pod event mentions pulling an image"; }
  log "no Pod event mentions pulling an image ($("${k[@]}" get events -A --no-headers 2>/dev/null | wc -l) events checked)"
  stage_done
  trap - EXIT
  down
  log "smoke passed"
}

case "${1:-}" in
  build)
    [ "$(id -u)" -eq 0 ] || die "run as root"
    if [ -e "$WORK/dockerd.pid" ]; then die "$WORK has a running setup: run hack/kind.sh down first"; fi
    mkdir -p "$WORK" "$KCACHE"
    trap 'down' EXIT
    links >"$WORK/links.before"
    [ -e /lib/modules ] || touch "$WORK/created-lib-modules"
    stage "binaries"
    build_binaries
    stage "dockerd"
    dockerd_start "$WORK" --add-runtime "aio-runc=$ROOT/hack/kind/runc-drop-sys-resource" --default-runtime aio-runc ||
      die "dockerd did not start"
    stage "build node image"
    build_node_image "$KCACHE/node-$K8S_VERSION-kind-$KIND_VERSION-r$NODE_IMAGE_REVISION.tar"
    ;;
  up)
    # A cluster that is already up is left alone (no clean-up trap yet).
    if [ -e "$WORK/dockerd.pid" ]; then die "$WORK has a running setup: run hack/kind.sh down first"; fi
    trap 'on_failure up' EXIT
    up
    ;;
  down) down ;;
  smoke) smoke ;;
  load | logs)
    [ -S "$WORK/docker.sock" ] || die "no cluster is up in $WORK (hack/kind.sh up)"
    export DOCKER_HOST="unix://$WORK/docker.sock" DOCKER_CONFIG="$WORK/docker-config"
    PATH="$WORK/bin:$PATH"
    command="$1"
    shift
    if [ "$command" = logs ]; then
      "$BIN/kind" export logs "${1:?usage: hack/kind.sh logs DIR}" --name "$CLUSTER" >&2
    else
      for tar in "$@"; do
        stage "kind load image-archive $(basename "$tar")"
        "$BIN/kind" load image-archive "$tar" --name "$CLUSTER" >&2
      done
      stage_done
    fi
    ;;
  -h | --help | '') awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
  *) die "unknown command: $1 (try --help)" ;;
esac
