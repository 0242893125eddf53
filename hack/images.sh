#!/usr/bin/env bash
# Builds the proxy and operator images on this machine without a container registry, and proves
# they run. See docs/images.md.
#
#   hack/images.sh [--save] [--e2e] [--print-tags]
#
#   --print-tags   print the image references it would build (proxy=…, operator=…, e2e=…, redis=…)
#                  and exit, without building anything
#   --save         also `docker save` the images to tarballs in the cache (for `kind load` /
#                  `ctr images import` later)
#   --e2e          also build the e2e suite's images: the helper (enclave simulator + openai client,
#                  test/e2e/images/Dockerfile.e2e) on top of the proxy image, and a Redis image
#                  from this machine's Debian redis-server (the shared limits store)
#
# What it does, each stage timed:
#   1. starts Debian's dockerd by hand (own data root, exec root, pid file and socket in a temporary
#      folder; --iptables=false --bridge=none: the host's network is not touched) and stops it at the
#      end, also on failure or Ctrl-C;
#   2. makes two base images from Debian's packages and the npm registry's Node.js binary
#      (hack/node24.sh): a build base (debootstrapped bookworm minbase + node + npm) and a runtime
#      base in the distroless layout (/nodejs/bin/node, the shared libraries it links, CA bundle,
#      passwd/group with nonroot 65532, /tmp; no shell); tarballs are cached by version;
#   3. fills an npm cache for the lockfile's dependencies (the build stage needs esbuild, a
#      development dependency) on the host and layers it over the build base, so the Dockerfiles'
#      own `npm ci` runs offline (`--network none`);
#   4. builds Dockerfile.proxy and Dockerfile.operator with BUILD_BASE/RUNTIME_BASE pointing at the
#      local bases, tags $IMAGE_REGISTRY/attested-inference-{proxy,operator}:$IMAGE_TAG (by default
#      registry.local and the chart's appVersion: what the chart's default values run), prints sizes;
#   5. smoke: the proxy image (read-only, uid 65532, no capabilities) verifies the enclave
#      simulator's attestation and answers a chat completion through it; the operator image fails
#      fast with its `--proxy-image ... is required` message (node and the bundle load); both
#      images hold no TypeScript and no node_modules beyond the unbundled verifier (docs/images.md).
#
# Environment: IMAGE_REGISTRY (default registry.local), IMAGE_TAG (default: appVersion of
# charts/attested-inference-operator/Chart.yaml), DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SUITE (bookworm),
# NPM_VERSION (default: the npm on PATH), XDG_CACHE_HOME / AIO_CACHE_DIR (cache location).
set -euo pipefail

save=0 e2e=0 print_tags=0
for arg in "$@"; do
  case "$arg" in
    --save) save=1 ;;
    --e2e) e2e=1 ;;
    --print-tags) print_tags=1 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One tag story: the images are tagged with the chart's appVersion unless IMAGE_TAG says otherwise,
# so `helm install` with default values runs exactly what this script built.
APP_VERSION="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$ROOT/charts/attested-inference-operator/Chart.yaml")"
[ -n "$APP_VERSION" ] || { echo "no appVersion in charts/attested-inference-operator/Chart.yaml" >&2; exit 1; }
IMAGE_REGISTRY="${IMAGE_REGISTRY:-registry.local}"
IMAGE_TAG="${IMAGE_TAG:-$APP_VERSION}"
PROXY_IMAGE=$IMAGE_REGISTRY/attested-inference-proxy:$IMAGE_TAG
OPERATOR_IMAGE=$IMAGE_REGISTRY/attested-inference-operator:$IMAGE_TAG
E2E_IMAGE=$IMAGE_REGISTRY/attested-inference-e2e:$IMAGE_TAG
REDIS_IMAGE=$IMAGE_REGISTRY/attested-inference-redis:$IMAGE_TAG
if [ "$print_tags" = 1 ]; then
  printf 'proxy=%s\noperator=%s\ne2e=%s\nredis=%s\n' "$PROXY_IMAGE" "$OPERATOR_IMAGE" "$E2E_IMAGE" "$REDIS_IMAGE"
  exit 0
fi
PATH="$("$ROOT/hack/node24.sh"):$PATH"
export PATH
NODE_BIN="$(readlink -f "$(command -v node)")"
NODE_VERSION="$(node -p process.versions.node)"
NPM_VERSION="${NPM_VERSION:-$(npm -v)}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${AIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/attested-inference-operator}/images"
BUILD_BASE=attested-inference/build-base:node24
BUILD_BASE_OFFLINE=attested-inference/build-base:node24-offline
RUNTIME_BASE=attested-inference/runtime-base:node24
# docker.io's own client: same release as the daemon, and its `docker build` is the classic builder,
# which never fetches a `# syntax=` frontend image.
DOCKER_CLI=/usr/bin/docker

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# --- timing ------------------------------------------------------------------------------------
declare -a timings=()
stage_name='' stage_start=0
now() { date +%s.%N; }
stage() {
  stage_done
  stage_name="$1" stage_start="$(now)"
  log "== $stage_name"
}
stage_done() {
  [ -n "$stage_name" ] || return 0
  local took
  took="$(awk -v a="$stage_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
  timings+=("$(printf '%-28s %7ss' "$stage_name" "$took")")
  log "-- $stage_name: ${took}s"
  stage_name=''
}
total_start="$(now)"

# --- work folder and cleanup -------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then die "run as root (dockerd, debootstrap and chroot need it)"; fi
mkdir -p "$CACHE"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/aio-images.XXXXXX")"
chmod 755 "$WORK"
DOCKERD_PID_FILE="$WORK/dockerd.pid"
export DOCKER_HOST="unix://$WORK/docker.sock" DOCKER_CONFIG="$WORK/docker-config" DOCKER_BUILDKIT=0
simulator_pid='' dockerd_pid=''
declare -a containers=()

# running: the process exists and is not a zombie waiting for this shell to reap it.
running() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

docker() { "$DOCKER_CLI" "$@"; }

unmount_under() {
  # Innermost first; lazily if something still holds a mount.
  local target
  findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r | while read -r target; do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || log "could not unmount $target"
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stage_done
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  if [ -n "$simulator_pid" ]; then kill "$simulator_pid" 2>/dev/null; wait "$simulator_pid" 2>/dev/null; fi
  if [ -n "$dockerd_pid" ]; then
    local stop_start
    stop_start="$(now)"
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 150); do running "$dockerd_pid" || break; sleep 0.2; done
    if running "$dockerd_pid"; then log "dockerd did not stop in 30 s; killing it"; kill -9 "$dockerd_pid"; fi
    wait "$dockerd_pid" 2>/dev/null
    log "dockerd stopped in $(awk -v a="$stop_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')s"
  fi
  # dockerd stops the containerd it started; make sure nothing of it outlived it.
  if [ -s "$WORK/exec/containerd/containerd.pid" ]; then kill "$(cat "$WORK/exec/containerd/containerd.pid")" 2>/dev/null; fi
  unmount_under "$WORK"
  rm -rf "$WORK"
  if [ "$rc" -ne 0 ]; then log "exit status $rc (see the messages above)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. toolchain and dockerd ------------------------------------------------------------------
stage "toolchain"
missing=()
command -v dockerd >/dev/null && [ -x "$DOCKER_CLI" ] || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} with apt"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
    { cat "$WORK/apt.log" >&2; die "apt-get install ${missing[*]}"; }
fi
log "node $NODE_VERSION ($NODE_BIN), npm $NPM_VERSION, $("$DOCKER_CLI" --version)"

stage "dockerd"
dockerd_args=(
  --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$DOCKERD_PID_FILE" -H "$DOCKER_HOST"
  --iptables=false --ip6tables=false --bridge=none --ip-masq=false --userland-proxy=false
  --log-level=warn
)
# No runc wrapper: only --privileged containers ask for CAP_SYS_RESOURCE (missing from some hosts'
# bounding sets, see docs/images.md), and nothing here is privileged.
dockerd "${dockerd_args[@]}" >"$WORK/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 150); do
  docker version >/dev/null 2>&1 && break
  running "$dockerd_pid" || { cat "$WORK/dockerd.log" >&2; die "dockerd exited"; }
  sleep 0.2
done
docker version >/dev/null 2>&1 || { cat "$WORK/dockerd.log" >&2; die "dockerd did not answer on $DOCKER_HOST"; }
log "dockerd $(docker version -f '{{.Server.Version}}') on $DOCKER_HOST, storage $(docker info -f '{{.Driver}}')"

# --- 2. base images ----------------------------------------------------------------------------
key="node$NODE_VERSION-npm$NPM_VERSION-$DEBIAN_SUITE-$(uname -m)"
build_tar="$CACHE/build-base-$key.tar"
runtime_tar="$CACHE/runtime-base-$key.tar"

make_build_rootfs() {
  local rootfs="$1"
  log "debootstrap $DEBIAN_SUITE (minbase) from $DEBIAN_MIRROR"
  mkdir -p "$CACHE/debootstrap-debs"
  debootstrap --variant=minbase --include=ca-certificates --cache-dir="$CACHE/debootstrap-debs" \
    "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -30 "$WORK/debootstrap.log" >&2; die "debootstrap"; }
  install -m 0755 "$NODE_BIN" "$rootfs/usr/local/bin/node"
  log "npm $NPM_VERSION from the npm registry"
  (cd "$WORK" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$WORK/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
  chroot "$rootfs" /usr/local/bin/node -e 'process.exit(0)' || die "node does not run in the build root filesystem"
}

make_runtime_rootfs() {
  local from="$1" rootfs="$2" lib real pkg
  mkdir -p "$rootfs"/{nodejs/bin,etc/ssl/certs,tmp,home/nonroot,root,usr/share/doc/nodejs}
  install -m 0755 "$NODE_BIN" "$rootfs/nodejs/bin/node"
  [ -f "$(dirname "$NODE_BIN")/../LICENSE" ] && install -m 0644 "$(dirname "$NODE_BIN")/../LICENSE" "$rootfs/usr/share/doc/nodejs/LICENSE"
  # Exactly the shared libraries node links, as Debian's packages installed them in the build root.
  chroot "$from" ldd /usr/local/bin/node >"$WORK/ldd.txt" || die "ldd node"
  if grep -q 'not found' "$WORK/ldd.txt"; then cat "$WORK/ldd.txt" >&2; die "node links a library the root filesystem lacks"; fi
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' "$WORK/ldd.txt" >"$WORK/libs.txt"
  while read -r lib; do
    real="$(chroot "$from" readlink -f "$lib")"
    mkdir -p "$rootfs$(dirname "$real")" "$rootfs$(dirname "$lib")"
    cp -a "$from$real" "$rootfs$real"
    [ "$lib" = "$real" ] || ln -sf "$real" "$rootfs$lib"
    pkg="$(chroot "$from" dpkg-query -S "$real" 2>/dev/null | head -1 | cut -d: -f1 || true)"
    [ -n "$pkg" ] || pkg="$(chroot "$from" dpkg-query -S "${lib#/usr}" 2>/dev/null | head -1 | cut -d: -f1 || true)"
    if [ -n "$pkg" ] && [ -f "$from/usr/share/doc/$pkg/copyright" ]; then
      mkdir -p "$rootfs/usr/share/doc/$pkg" && cp "$from/usr/share/doc/$pkg/copyright" "$rootfs/usr/share/doc/$pkg/"
    fi
  done <"$WORK/libs.txt"
  # The loader's search cache for the copied libraries (no ldconfig inside: no shell, no tools).
  ldconfig -r "$rootfs" 2>/dev/null || true
  cp "$from/etc/ssl/certs/ca-certificates.crt" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$rootfs/usr/share/doc/ca-certificates" && cp "$from/usr/share/doc/ca-certificates/copyright" "$rootfs/usr/share/doc/ca-certificates/"
  cp "$from/etc/os-release" "$rootfs/etc/os-release" 2>/dev/null || cp "$from/usr/lib/os-release" "$rootfs/etc/os-release"
  cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  chmod 1777 "$rootfs/tmp"
  chmod 0700 "$rootfs/root"
  chown 65532:65532 "$rootfs/home/nonroot"
  [ ! -e "$rootfs/bin/sh" ] || die "the runtime base must not have a shell"
}

stage "base images"
if [ -s "$build_tar" ] && [ -s "$runtime_tar" ]; then
  log "cached: $build_tar, $runtime_tar"
else
  rootfs="$WORK/build-rootfs" runtime_rootfs="$WORK/runtime-rootfs"
  make_build_rootfs "$rootfs"
  make_runtime_rootfs "$rootfs" "$runtime_rootfs"
  tar --numeric-owner -C "$rootfs" -cf "$build_tar.tmp" . && mv "$build_tar.tmp" "$build_tar"
  tar --numeric-owner -C "$runtime_rootfs" -cf "$runtime_tar.tmp" . && mv "$runtime_tar.tmp" "$runtime_tar"
  unmount_under "$rootfs"
  rm -rf "$rootfs" "$runtime_rootfs"
  # Older keys (other Node/npm versions) are dead weight.
  find "$CACHE" -maxdepth 1 \( -name 'build-base-*.tar' -o -name 'runtime-base-*.tar' \) \
    ! -name "build-base-$key.tar" ! -name "runtime-base-$key.tar" -delete
fi
docker import --message "node $NODE_VERSION, npm $NPM_VERSION, debian $DEBIAN_SUITE minbase" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' "$build_tar" "$BUILD_BASE" >/dev/null
docker import --message "node $NODE_VERSION, distroless layout" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/nodejs/bin' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' \
  --change 'ENTRYPOINT ["/nodejs/bin/node"]' "$runtime_tar" "$RUNTIME_BASE" >/dev/null
# An unprivileged container runs here (the Dockerfiles' RUN steps are such containers).
[ "$(docker run --rm --network none "$BUILD_BASE" npm --version)" = "$NPM_VERSION" ] || die "npm does not run in $BUILD_BASE"
[ "$(docker run --rm --network none "$RUNTIME_BASE" -p process.versions.node)" = "$NODE_VERSION" ] || die "node does not run in $RUNTIME_BASE"

# --- 3. production dependencies, offline -------------------------------------------------------
stage "npm cache (build)"
lock_key="$(cat "$ROOT/package.json" "$ROOT/package-lock.json" | sha256sum | cut -c1-16)"
npm_cache="$CACHE/npm-cache-build-$lock_key"
if [ -d "$npm_cache" ]; then
  log "cached: $npm_cache"
else
  mkdir -p "$WORK/deps"
  cp "$ROOT/package.json" "$ROOT/package-lock.json" "$WORK/deps/"
  (cd "$WORK/deps" && npm ci --ignore-scripts --no-audit --no-fund --cache "$npm_cache.tmp" >"$WORK/npm.log" 2>&1) ||
    { tail -30 "$WORK/npm.log" >&2; die "npm ci on the host (npm registry)"; }
  rm -rf "$npm_cache.tmp/_logs" "$npm_cache.tmp/_update-notifier-last-checked"
  mv "$npm_cache.tmp" "$npm_cache"
  find "$CACHE" -maxdepth 1 -name 'npm-cache-*' ! -name "npm-cache-build-$lock_key" -exec rm -rf {} +
fi
docker build -q --network none -f "$ROOT/hack/images/Dockerfile.npm-offline" \
  --build-arg "BUILD_BASE=$BUILD_BASE" -t "$BUILD_BASE_OFFLINE" "$npm_cache" >/dev/null

# --- 4. the project's images -------------------------------------------------------------------
build_image() {
  local dockerfile="$1" tag="$2"
  docker build --network none -f "$ROOT/$dockerfile" \
    --build-arg "BUILD_BASE=$BUILD_BASE_OFFLINE" --build-arg "RUNTIME_BASE=$RUNTIME_BASE" \
    -t "$tag" "$ROOT" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; die "docker build -f $dockerfile"; }
}
size_mb() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }

stage "build proxy image"
build_image Dockerfile.proxy "$PROXY_IMAGE"
log "$PROXY_IMAGE: $(size_mb "$PROXY_IMAGE")"
stage "build operator image"
build_image Dockerfile.operator "$OPERATOR_IMAGE"
log "$OPERATOR_IMAGE: $(size_mb "$OPERATOR_IMAGE")"

# The e2e helper image: a staged context with the simulator and client sources and the development
# packages they import, copied from the host's node_modules (same lockfile), so no network is needed.
build_e2e_image() {
  local ctx="$WORK/e2e-context" pkg
  mkdir -p "$ctx/node_modules/@panva" "$ctx/test/harness" "$ctx/test/e2e"
  for pkg in openai ehbp hpke @panva/hpke-noble @noble; do
    [ -e "$ROOT/node_modules/$pkg" ] || die "node_modules/$pkg is missing: run npm ci first"
    cp -a "$ROOT/node_modules/$pkg" "$ctx/node_modules/$pkg"
  done
  cp -a "$ROOT/test/harness/enclave-simulator" "$ctx/test/harness/"
  # The simulator signs its bundles with the proxy's development format; the proxy image holds
  # only the bundle, so those two sources come along.
  mkdir -p "$ctx/proxy/attestation"
  cp "$ROOT/proxy/attestation/development.ts" "$ROOT/proxy/attestation/types.ts" "$ctx/proxy/attestation/"
  cp -a "$ROOT/test/e2e/images" "$ctx/test/e2e/"
  find "$ctx/test" -name '*.test.ts' -delete
  docker build --network none -f "$ctx/test/e2e/images/Dockerfile.e2e" --build-arg "PROXY_IMAGE=$PROXY_IMAGE" \
    -t "$E2E_IMAGE" "$ctx" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; die "docker build of $E2E_IMAGE"; }
}
# Redis for the e2e limits scenario: Debian's redis-server binary and exactly the libraries it
# links, as the package installed them here, in a root with no shell, run as 65532.
build_redis_image() {
  local root="$WORK/redis-rootfs" bin lib real
  [ -x /usr/bin/redis-server ] || die "redis-server is not installed (apt-get install redis-server)"
  bin="$(readlink -f /usr/bin/redis-server)"
  mkdir -p "$root"/{usr/bin,data,tmp,etc,usr/share/doc/redis-tools}
  install -m 0755 "$bin" "$root/usr/bin/redis-server"
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
    real="$(readlink -f "$lib")"
    mkdir -p "$root$(dirname "$real")" "$root$(dirname "$lib")"
    cp -a "$real" "$root$real"
    [ "$lib" = "$real" ] || ln -sf "$real" "$root$lib"
  done
  ldconfig -r "$root" 2>/dev/null || true
  cp /usr/share/doc/redis-tools/copyright "$root/usr/share/doc/redis-tools/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/data:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  chown 65532:65532 "$root/data"
  chmod 1777 "$root/tmp"
  tar -C "$root" --numeric-owner -cf - . | docker import --change 'USER 65532:65532' --change 'WORKDIR /data' \
    --change 'ENTRYPOINT ["/usr/bin/redis-server"]' - "$REDIS_IMAGE" >/dev/null
  [ "$(docker run --rm --network none "$REDIS_IMAGE" --version | cut -d' ' -f1-3)" = "Redis server v=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')" ] ||
    die "redis-server does not run in $REDIS_IMAGE"
}
if [ "$e2e" = 1 ]; then
  stage "build e2e helper image"
  build_e2e_image
  log "$E2E_IMAGE: $(size_mb "$E2E_IMAGE")"
  stage "build redis image"
  build_redis_image
  log "$REDIS_IMAGE: $(size_mb "$REDIS_IMAGE")"
fi

if [ "$save" = 1 ]; then
  stage "docker save"
  images=("$PROXY_IMAGE" "$OPERATOR_IMAGE")
  [ "$e2e" = 1 ] && images+=("$E2E_IMAGE" "$REDIS_IMAGE")
  for image in "${images[@]}"; do
    out="$CACHE/$(basename "${image%%:*}")-${image##*:}.tar"
    docker save -o "$out.tmp" "$image" && mv "$out.tmp" "$out"
    log "saved $image to $out ($(du -m "$out" | cut -f1) MB)"
  done
fi

# --- 5. smoke tests ----------------------------------------------------------------------------
stage "smoke: proxy"
smoke="$WORK/smoke"
mkdir -p "$smoke"
node "$ROOT/hack/images/simulator.ts" "$smoke" >"$WORK/simulator.out" 2>"$WORK/simulator.err" &
simulator_pid=$!
for _ in $(seq 1 100); do [ -s "$WORK/simulator.out" ] && break; kill -0 "$simulator_pid" 2>/dev/null || break; sleep 0.1; done
[ -s "$WORK/simulator.out" ] || { cat "$WORK/simulator.err" >&2; die "the enclave simulator did not start"; }
sim_url="$(jq -r .url "$WORK/simulator.out")"
api_port="$(jq -r .apiPort "$WORK/simulator.out")"
admin_port="$(jq -r .adminPort "$WORK/simulator.out")"
log "enclave simulator at $sim_url; proxy ports $api_port (API), $admin_port (admin)"

proxy_container="aio-images-proxy-$$"
containers+=("$proxy_container")
# The smoke test trusts the simulator's development key, which the proxy accepts only when told to.
docker run -d --name "$proxy_container" --network host --read-only --user 65532:65532 \
  --cap-drop ALL --security-opt no-new-privileges -e AIO_ALLOW_DEVELOPMENT_TRUST=true \
  -v "$smoke:/etc/attested-inference:ro" "$PROXY_IMAGE" >/dev/null
container_logs() { docker logs "$proxy_container" 2>&1 | tail -30 >&2; }
ready=0
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  [ "$(docker inspect -f '{{.State.Running}}' "$proxy_container")" = true ] || break
  sleep 0.2
done
[ "$ready" = 1 ] || { container_logs; die "the proxy container never became ready"; }
status=''
for _ in $(seq 1 100); do
  status="$(curl -fsS "http://127.0.0.1:$admin_port/admin/attestation" | jq -r .status)"
  [ "$status" = pending ] || break
  sleep 0.1
done
[ "$status" = verified ] || { curl -sS "http://127.0.0.1:$admin_port/admin/attestation" >&2; container_logs; die "attestation is $status, not verified"; }
log "/admin/attestation: verified ($(curl -fsS "http://127.0.0.1:$admin_port/admin/attestation" | jq -r '.trust + ", release " + .releaseDigest[0:12]'))"
answer="$(curl -fsS "http://127.0.0.1:$api_port/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"llama3-3-70b","messages":[{"role":"user","content":"Say hello."}]}' | jq -r '.choices[0].message.content')" ||
  { container_logs; die "chat completion through the proxy container"; }
[ "$answer" = "This is the enclave simulator answering as llama3-3-70b." ] || { container_logs; die "unexpected answer: $answer"; }
log "chat completion through the container: \"$answer\""
pid="$(docker inspect -f '{{.State.Pid}}' "$proxy_container")"
uid="$(awk '/^Uid:/ { print $2 "/" $3 }' "/proc/$pid/status")"
[ "$uid" = 65532/65532 ] || die "the proxy runs as uid $uid, not 65532"
caps="$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")"
[ "$caps" = 0000000000000000 ] || die "the proxy has effective capabilities $caps"
log "the proxy process runs as uid 65532 with no capabilities"
if docker run --rm --network none --entrypoint /bin/sh "$PROXY_IMAGE" -c true >/dev/null 2>&1; then die "the proxy image has a shell"; fi
log "no /bin/sh in the image"
stop_start="$(now)"
docker stop -t 30 "$proxy_container" >/dev/null
exit_code="$(docker inspect -f '{{.State.ExitCode}}' "$proxy_container")"
[ "$exit_code" = 0 ] || { container_logs; die "the proxy exited with $exit_code on SIGTERM"; }
log "SIGTERM: drained and exited 0 in $(awk -v a="$stop_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')s"
docker rm "$proxy_container" >/dev/null
kill "$simulator_pid" 2>/dev/null || true
wait "$simulator_pid" 2>/dev/null || true
simulator_pid=''

# check_contents: the image runs the bundle, so it holds no TypeScript (the verifier's published
# declarations aside), and its node_modules only the unbundled verifier and its dependencies
# (hack/build/programs.ts EXTERNALS), which load from /app.
UNBUNDLED_SCOPES='@freedomofpress @noble @tinfoilsh'
check_contents() {
  local out
  set +e
  out="$(docker run --rm --network none --read-only --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges \
    --entrypoint /nodejs/bin/node "$1" -e "
      const fs = require('node:fs'), path = require('node:path');
      const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
      const ts = walk('/app').filter((f) => /[.][cm]?ts\$/.test(f) && !/[.]d[.][cm]?ts\$/.test(f));
      import('@tinfoilsh/verifier').then(() => console.log(ts.length + ' ' + fs.readdirSync('/app/node_modules').join(' ')));" 2>&1)"
  set -e
  [ "$out" = "0 $UNBUNDLED_SCOPES" ] ||
    { printf '%s\n' "$out" >&2; die "$1 holds TypeScript or node_modules beyond $UNBUNDLED_SCOPES, or cannot load @tinfoilsh/verifier"; }
  log "$1: no TypeScript, node_modules holds only $UNBUNDLED_SCOPES, @tinfoilsh/verifier loads"
}

check_contents "$PROXY_IMAGE"

stage "smoke: operator"
set +e
out="$(docker run --rm --network none --read-only --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges "$OPERATOR_IMAGE" 2>&1)"
rc=$?
set -e
[ "$rc" -ne 0 ] || die "the operator started without --proxy-image"
printf '%s\n' "$out" | grep -q -- '--proxy-image (or OPERATOR_PROXY_IMAGE) is required' ||
  { printf '%s\n' "$out" >&2; die "the operator did not fail with the --proxy-image message"; }
log "operator exits $rc with: $(printf '%s\n' "$out" | grep -m1 -- '--proxy-image')"
check_contents "$OPERATOR_IMAGE"

# The sizes of the images that passed, for the benchmark's footprint table (bench/image-sizes.ts).
printf '{"builtAt":"%s","images":[{"image":"%s","bytes":%s},{"image":"%s","bytes":%s}]}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$PROXY_IMAGE" "$(docker image inspect -f '{{.Size}}' "$PROXY_IMAGE")" "$OPERATOR_IMAGE" "$(docker image inspect -f '{{.Size}}' "$OPERATOR_IMAGE")" >"$CACHE/image-sizes.json"

# --- summary -----------------------------------------------------------------------------------
stage_done
proxy_size="$(size_mb "$PROXY_IMAGE")" operator_size="$(size_mb "$OPERATOR_IMAGE")"
runtime_size="$(size_mb "$RUNTIME_BASE")" build_size="$(size_mb "$BUILD_BASE")"
total="$(awk -v a="$total_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
{
  echo
  echo "== hack/images.sh summary (node $NODE_VERSION, docker $(docker version -f '{{.Server.Version}}'))"
  printf '  %s\n' "${timings[@]}"
  printf '  %-28s %7ss\n' total "$total"
  echo "  images:"
  printf '    %-48s %s\n' "$PROXY_IMAGE" "$proxy_size" "$OPERATOR_IMAGE" "$operator_size" \
    "$RUNTIME_BASE" "$runtime_size" "$BUILD_BASE" "$build_size"
  if [ "$save" = 1 ]; then echo "  saved to $CACHE/attested-inference-{proxy,operator}-dev.tar"; fi
  echo "  smoke: proxy verified the simulator's attestation and answered through the image (uid 65532, read-only, no caps); operator failed fast as expected"
} >&2
