#!/usr/bin/env bash
# mountain-vs-beach build entry point (contract: docs/design.md, "build.sh").
#   ./build.sh              deps + XNNPACK (cached) + native + wasm + dist/
#   ./build.sh serve [PORT] the above, then serve dist/ on http://127.0.0.1:PORT/ (8000)
#   ./build.sh test         the above, then every test suite (tests/run.sh)
# Environment: MVB_CACHE (third-party cache, default ~/.cache/mvb), MVB_JOBS (default 2),
# MVB_NO_APT=1 (never call apt-get), MVB_XNNPACK_SRC / MVB_PTHREADPOOL_SRC / MVB_FXDIV_SRC.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
jobs="${MVB_JOBS:-2}"
export MVB_JOBS="$jobs"
# emcc 3.1.6 looks for Debian's acorn here when node is not Debian's own.
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

# ---- system packages -----------------------------------------------------------------
# clang-16, lld-16 and clang 16's headers: the relaxed-SIMD wasm build (tools/xnnpack.sh).
build_pkgs=(build-essential cmake ninja-build emscripten libcpuinfo-dev libstb-dev libjsmn-dev
  curl ca-certificates xz-utils patch python3 clang-16 lld-16 libclang-common-16-dev)
test_pkgs=(python3-torch python3-torchvision python3-pil python3-numpy chromium chromium-driver
  webp clang-14 libclang-rt-14-dev)

missing_pkgs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$p"
  done
}

install_pkgs() {
  local missing=()
  mapfile -t missing < <(missing_pkgs "$@")
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [[ ${#missing[@]} -gt 0 ]]; then
    [[ ${MVB_NO_APT:-0} == 1 ]] && die "missing Debian packages: ${missing[*]} (MVB_NO_APT=1 set)"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    say "installing Debian packages: ${missing[*]}"
    # sudo resets the environment: the variable goes in through env. A run
    # stopped during an install leaves dpkg half-configured: finish that first.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive dpkg --configure -a
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=300 "${missing[@]}"
  fi
  check_node
}

# The tools and tests are run on Node.js 20 (playwright-core, in tests/package.json, refuses
# anything older and would fail every browser test); Debian 12's own nodejs is 18.
node_major_needed=20
check_node() {
  local have
  have="$(node -p 'process.versions.node')"
  [[ ${have%%.*} -ge $node_major_needed ]] ||
    die "Node.js $node_major_needed or newer is needed, this machine has $have ($(command -v node))"
}

# npm ci only when package-lock.json changed since the last install.
npm_deps() {
  local dir="$1" stamp want
  [[ -f $dir/package.json ]] || return 0
  [[ -f $dir/package-lock.json ]] || die "$dir/package-lock.json is missing (npm ci installs what it pins)"
  stamp="$dir/node_modules/.mvb-lock-sha256"
  want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -c1-64)"
  [[ -f $stamp && $(cat "$stamp") == "$want" ]] && return 0
  say "npm ci in $dir"
  (cd "$dir" && npm ci --cache "$HOME/.npm" --prefer-offline --no-audit --no-fund)
  printf '%s\n' "$want" >"$stamp"
}

# ---- builds ----------------------------------------------------------------------------
cmake_build() { # build-dir variant [cmake args...]
  local dir="$1" variant="$2" prefix
  shift 2
  prefix="$(tools/xnnpack.sh prefix "$variant")"
  local cmake=(cmake) llvm_root
  [[ $variant == native ]] || cmake=(emcmake cmake)
  llvm_root="$(tools/xnnpack.sh llvm-root "$variant")"
  if [[ -n $llvm_root ]]; then
    cmake=(env "EM_LLVM_ROOT=$llvm_root" "${cmake[@]}")
    set -- "$@" "-DMVB_EM_LLVM_ROOT=$llvm_root"
  fi
  say "$dir"
  "${cmake[@]}" -S . -B "$dir" -G Ninja -DMVB_XNNPACK_PREFIX="$prefix" "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log" >&2; die "configure of $dir failed"; }
  nice -n 10 cmake --build "$dir" -j "$jobs"
}

assemble_dist() {
  say "dist/"
  rm -rf dist
  mkdir -p dist/wasm dist/weights
  if [[ -d web ]]; then
    # web/tools, its npm packages and web/README.md are for developers, not site content.
    tar -C web --exclude=./tools --exclude=./node_modules --exclude=./README.md \
      --exclude=./package.json --exclude=./package-lock.json -cf - . | tar -C dist -xf -
  fi
  local f
  for f in build/wasm-simd/mvb-simd.js build/wasm-simd/mvb-simd.wasm \
    build/wasm-threads/mvb-simd-threads.js build/wasm-threads/mvb-simd-threads.wasm \
    build/wasm-threads/mvb-simd-threads.worker.js \
    build/wasm-relaxed/mvb-relaxed.js build/wasm-relaxed/mvb-relaxed.wasm \
    build/wasm-relaxed-threads/mvb-relaxed-threads.js build/wasm-relaxed-threads/mvb-relaxed-threads.wasm \
    build/wasm-relaxed-threads/mvb-relaxed-threads.worker.js; do
    [[ -f $f ]] || die "missing wasm output $f"
    cp "$f" dist/wasm/
  done
  if [[ -d weights ]]; then cp -R weights/. dist/weights/; fi
  touch dist/.nojekyll
  # The site may generate its own files (e.g. a precache manifest for its service worker).
  if [[ -f web/tools/minify-glue.mjs ]]; then node web/tools/minify-glue.mjs dist; fi
  if [[ -f web/tools/compress.mjs ]]; then node web/tools/compress.mjs dist; fi
  if [[ -f web/tools/build-manifest.mjs ]]; then node web/tools/build-manifest.mjs dist; fi
}

build_all() {
  local want=("${build_pkgs[@]}")
  [[ ${1:-} == test ]] && want+=("${test_pkgs[@]}")
  install_pkgs "${want[@]}"
  mkdir -p build
  # One build at a time per checkout (several people or agents may share it); `test` keeps
  # the lock until its suites end, so that another build cannot replace dist/ or
  # node_modules under them.
  exec 9>build/.lock
  flock 9
  npm_deps tests
  npm_deps web
  say "XNNPACK (cache: ${MVB_CACHE:-$HOME/.cache/mvb})"
  tools/xnnpack.sh build native wasm-simd wasm-threads wasm-relaxed wasm-relaxed-threads
  cmake_build build/native native -DCMAKE_BUILD_TYPE=Release
  cmake_build build/wasm-simd wasm-simd -DCMAKE_BUILD_TYPE=Release -DMVB_WASM_THREADS=OFF
  cmake_build build/wasm-threads wasm-threads -DCMAKE_BUILD_TYPE=Release -DMVB_WASM_THREADS=ON
  cmake_build build/wasm-relaxed wasm-relaxed -DCMAKE_BUILD_TYPE=Release -DMVB_WASM_THREADS=OFF -DMVB_WASM_RELAXED=ON
  cmake_build build/wasm-relaxed-threads wasm-relaxed-threads -DCMAKE_BUILD_TYPE=Release -DMVB_WASM_THREADS=ON \
    -DMVB_WASM_RELAXED=ON
  assemble_dist
  [[ ${1:-} == test ]] || exec 9>&-
}

main() {
  local cmd="${1:-build}" port
  case "$cmd" in
    build | "")
      build_all
      ;;
    serve)
      port="${2:-8000}"
      [[ $port =~ ^[0-9]{1,5}$ ]] && ((10#$port >= 1 && 10#$port <= 65535)) ||
        die "port must be a number from 1 to 65535: $port"
      build_all
      say "serving dist/"
      exec /usr/bin/python3 tools/serve.py --dir dist --port "$port"
      ;;
    test)
      build_all test
      exec bash tests/run.sh
      ;;
    -h | --help | help)
      sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
      ;;
    *)
      die "unknown command '$cmd' (use: ./build.sh [serve [PORT] | test])"
      ;;
  esac
}

# On one line, so editing this file during a build cannot change what runs next.
main "$@"; exit $?
