#!/usr/bin/env bash
# Builds XNNPACK (+ pthreadpool, FXdiv) from sha256-pinned tarballs, patched with
# tools/patches/*.patch, for one or more variants, and caches the installed result in
# ${MVB_CACHE:-$HOME/.cache/mvb}/xnnpack/<variant>-<key>/ (include/, lib/).
#
#   tools/xnnpack.sh build  VARIANT...   build what is missing (VARIANT: native wasm-simd
#                                        wasm-threads wasm-relaxed wasm-relaxed-threads)
#   tools/xnnpack.sh prefix VARIANT      print the install prefix a build would use
#   tools/xnnpack.sh llvm-root VARIANT   print the EM_LLVM_ROOT emcc must use for VARIANT
#                                        (empty: Emscripten's own clang 14)
#   tools/xnnpack.sh sources             extract + patch the sources; print their directory
#
# The key hashes everything that decides the output (tarball pins or local source
# fingerprints, patches, configure flags, compiler version), so a second build is a no-op
# and any change rebuilds. MVB_XNNPACK_SRC / MVB_PTHREADPOOL_SRC / MVB_FXDIV_SRC point at
# local source trees instead of the tarballs (copied, never modified, then patched).
#
# The wasm-relaxed variants add XNNPACK's relaxed-SIMD kernels (int8 dot products, fused
# multiply-add). Emscripten 3.1.6's clang 14 cannot compile them, so emcc runs on Debian's
# clang 16 for these (EM_LLVM_ROOT, see relaxed_llvm_root), with the intrinsics clang 16's
# header lacks from tools/relaxed-simd/wasm_relaxed_simd.h, and the patch in that folder
# wires the kernel list in. Their own key covers both files; the other variants' keys and
# sources are unchanged by them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${MVB_CACHE:-$HOME/.cache/mvb}"
jobs="${MVB_JOBS:-2}"
# Bump when the build logic below changes in a way the flags do not capture.
recipe=1

# name | path under pool/main | sha256 | top-level folder inside the tarball ('' = none)
pins=(
  "xnnpack|x/xnnpack/xnnpack_0.0~git20241108.4ea82e5.orig.tar.xz|90bde2caef0f880f627bab0dc805a86c4b8070cd98e3243db3046ab3f3be1a99|"
  "pthreadpool|p/pthreadpool/pthreadpool_0.0~git20240616.560c60d.orig.tar.xz|4cc3cbd933b28131d2a34edc54f76af9fb41bc490af5eae1a5bd3cd07ea90708|pthreadpool-0.0~git20240616.560c60d"
  "fxdiv|f/fxdiv/fxdiv_0.0~git20200417.b408327.orig.tar.xz|7953482badaf4cb34026c3487c257b8e4ab2df061c019bd6fabbbc12ad52c44b|fxdiv-0.0~git20200417.b408327"
)

log() { printf 'xnnpack: %s\n' "$*" >&2; }
die() { printf 'xnnpack: error: %s\n' "$*" >&2; exit 1; }

# The Debian mirror this machine already uses (first URIs: line); no host is written here.
debian_mirror() {
  local f=/etc/apt/sources.list.d/debian.sources uri=''
  if [[ -r $f ]]; then
    uri="$(awk '/^URIs:/ {print $2; exit}' "$f")"
  elif [[ -r /etc/apt/sources.list ]]; then
    uri="$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)"
  fi
  [[ -n $uri ]] || die "cannot find a Debian mirror in /etc/apt (set MVB_XNNPACK_SRC etc. to local sources instead)"
  printf '%s\n' "${uri%/}"
}

local_src_var() {
  case "$1" in
    xnnpack) printf '%s' "${MVB_XNNPACK_SRC:-}" ;;
    pthreadpool) printf '%s' "${MVB_PTHREADPOOL_SRC:-}" ;;
    fxdiv) printf '%s' "${MVB_FXDIV_SRC:-}" ;;
  esac
}

# Fingerprint of a local source tree: names, sizes and mtimes (cheap, catches edits).
tree_fingerprint() {
  (cd "$1" && find . -path ./.git -prune -o -type f -printf '%P %s %T@\n' | LC_ALL=C sort | sha256sum | cut -c1-64)
}

fetch_tarball() { # path sha256 -> prints the local file
  local rel="$1" sha="$2" file dl
  dl="$cache/downloads"
  file="$dl/$(basename "$rel")"
  mkdir -p "$dl"
  if [[ -f $file ]] && echo "$sha  $file" | sha256sum -c --status; then
    printf '%s\n' "$file"
    return
  fi
  local url
  url="$(debian_mirror)/pool/main/$rel"
  log "downloading $url"
  curl -fsSL --retry 3 --connect-timeout 30 --max-time 900 -o "$file.part" "$url" || die "download failed: $url"
  echo "$sha  $file.part" | sha256sum -c --status ||
    die "sha256 mismatch for $(basename "$rel"): expected $sha, got $(sha256sum "$file.part" | cut -c1-64)"
  mv "$file.part" "$file"
  printf '%s\n' "$file"
}

is_relaxed() { [[ $1 == wasm-relaxed || $1 == wasm-relaxed-threads ]]; }

# Key of the patched source set; with "relaxed", of the set with the relaxed-SIMD patch.
source_key() {
  local entry name rel sha top src
  {
    echo "recipe $recipe"
    for entry in "${pins[@]}"; do
      IFS='|' read -r name rel sha top <<<"$entry"
      src="$(local_src_var "$name")"
      if [[ -n $src ]]; then
        [[ -d $src ]] || die "$name source directory does not exist: $src"
        echo "$name local $(cd "$src" && pwd) $(tree_fingerprint "$src")"
      else
        echo "$name $sha"
      fi
    done
    cat "$here"/patches/*.patch
    [[ ${1:-} != relaxed ]] || cat "$here"/relaxed-simd/*.patch "$here"/relaxed-simd/*.h
  } | sha256sum | cut -c1-16
}

# emcc finds clang as $LLVM_ROOT/clang-14 (Debian's naming): a folder in the cache where
# those names lead to clang 16 and its wasm-ld, and the other LLVM tools stay version 14.
relaxed_llvm_root() {
  local dir="$cache/emcc-llvm16" f
  [[ -x /usr/lib/llvm-16/bin/clang && -x /usr/lib/llvm-16/bin/wasm-ld ]] ||
    die "the wasm-relaxed variants need Debian's clang-16 and lld-16 (apt-get install clang-16 lld-16 libclang-common-16-dev)"
  if [[ ! -e $dir/clang-14 ]]; then
    # Made aside and renamed into place: another build may be asking at the same time.
    local tmp="$dir.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    for f in /usr/bin/*-14; do ln -s "$f" "$tmp/$(basename "$f")"; done
    ln -sf /usr/lib/llvm-16/bin/clang "$tmp/clang-14"
    ln -sf /usr/lib/llvm-16/bin/clang++ "$tmp/clang++-14"
    ln -sf /usr/lib/llvm-16/bin/wasm-ld "$tmp/wasm-ld-14"
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp" # lost the race: the other one is the same
  fi
  printf '%s\n' "$dir"
}

apply_patches() { # dir prefix
  local dir="$1" prefix="$2" p
  for p in "$here"/patches/"$prefix"-*.patch; do
    [[ -e $p ]] || continue
    if patch -d "$dir" -p1 -N -s -f --dry-run <"$p" >/dev/null 2>&1; then
      patch -d "$dir" -p1 -N -s -f <"$p" >/dev/null
    elif patch -d "$dir" -p1 -R -s -f --dry-run <"$p" >/dev/null 2>&1; then
      log "$(basename "$p") already applied in the local sources"
    else
      die "$(basename "$p") does not apply to $dir (is it XNNPACK 4ea82e5 / pthreadpool 560c60d?)"
    fi
  done
}

# Extracts (or copies) and patches the three source trees; prints their parent dir.
# With "relaxed", also the relaxed-SIMD patch and the intrinsics header (copied beside them).
prepare_sources() {
  local key root entry name rel sha top src tmp file
  key="$(source_key "${1:-}")"
  root="$cache/xnnpack/src-$key"
  if [[ -f $root/.done ]]; then
    printf '%s\n' "$root"
    return
  fi
  rm -rf "$root" "$root.tmp"
  mkdir -p "$root.tmp"
  for entry in "${pins[@]}"; do
    IFS='|' read -r name rel sha top <<<"$entry"
    src="$(local_src_var "$name")"
    tmp="$root.tmp/$name"
    mkdir -p "$tmp"
    if [[ -n $src ]]; then
      log "copying local $name sources from $src"
      tar -C "$src" --exclude=./.git -cf - . | tar -C "$tmp" -xf -
    else
      file="$(fetch_tarball "$rel" "$sha")"
      if [[ -n $top ]]; then
        tar -C "$tmp" --strip-components=1 -xf "$file"
      else
        tar -C "$tmp" -xf "$file"
      fi
    fi
  done
  apply_patches "$root.tmp/xnnpack" xnnpack
  apply_patches "$root.tmp/pthreadpool" pthreadpool
  apply_patches "$root.tmp/fxdiv" fxdiv
  if [[ ${1:-} == relaxed ]]; then
    patch -d "$root.tmp/xnnpack" -p1 -N -s -f <"$here"/relaxed-simd/xnnpack-relaxed-simd-kernels.patch >/dev/null ||
      die "xnnpack-relaxed-simd-kernels.patch does not apply"
    cp "$here"/relaxed-simd/wasm_relaxed_simd.h "$root.tmp/"
  fi
  touch "$root.tmp/.done"
  mv "$root.tmp" "$root"
  printf '%s\n' "$root"
}

# Configure arguments per variant (everything here goes into the key).
variant_args() {
  local common=(
    -G Ninja
    -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_INSTALL_LIBDIR=lib
    -DXNNPACK_LIBRARY_TYPE=static
    -DPTHREADPOOL_LIBRARY_TYPE=static
    -DXNNPACK_BUILD_TESTS=OFF
    -DXNNPACK_BUILD_BENCHMARKS=OFF
    -DXNNPACK_BUILD_ALL_MICROKERNELS=OFF
    -DXNNPACK_ENABLE_ASSEMBLY=OFF
    -DXNNPACK_ENABLE_KLEIDIAI=OFF
    -DPTHREADPOOL_BUILD_TESTS=OFF
    -DPTHREADPOOL_BUILD_BENCHMARKS=OFF
    -DPTHREADPOOL_ALLOW_DEPRECATED_API=OFF
    -DFXDIV_BUILD_TESTS=OFF
    -DFXDIV_BUILD_BENCHMARKS=OFF
    -DPython_EXECUTABLE=/usr/bin/python3
  )
  case "$1" in
    native)
      # Debian 12's libcpuinfo (2022) cannot query these newer ISA families.
      printf '%s\n' "${common[@]}" \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
        -DXNNPACK_USE_SYSTEM_CPUINFO=ON \
        -DXNNPACK_ENABLE_AVX512FP16=OFF -DXNNPACK_ENABLE_AVX512AMX=OFF \
        -DXNNPACK_ENABLE_AVXVNNI=OFF -DXNNPACK_ENABLE_AVXVNNIINT8=OFF \
        -DXNNPACK_ENABLE_AVX256SKX=OFF -DXNNPACK_ENABLE_AVX256VNNI=OFF \
        -DXNNPACK_ENABLE_AVX256VNNIGFNI=OFF -DXNNPACK_ENABLE_AVX512VNNIGFNI=OFF
      ;;
    wasm-simd | wasm-threads | wasm-relaxed | wasm-relaxed-threads)
      local flags=-msimd128 threads=()
      if is_relaxed "$1"; then
        # The header's path is the relaxed source tree's, whose name is its key.
        flags+=" -mrelaxed-simd -include $cache/xnnpack/src-$(source_key relaxed)/wasm_relaxed_simd.h"
      fi
      if [[ $1 == *-threads ]]; then
        flags+=" -pthread"
        threads=(-DPTHREADPOOL_EMSCRIPTEN_PTHREADS=ON -DPTHREADPOOL_ENABLE_FASTPATH=OFF)
      fi
      printf '%s\n' "${common[@]}" "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" "${threads[@]}"
      ;;
    *) die "unknown variant '$1' (native, wasm-simd, wasm-threads, wasm-relaxed, wasm-relaxed-threads)" ;;
  esac
}

# First line of the compiler's --version (read whole: emcc dies of SIGPIPE under head).
compiler_id() {
  local out
  case "$1" in
    native) out="$("${CC:-cc}" --version)" ;;
    *) out="$(emcc --version)" ;;
  esac
  printf '%s\n' "${out%%$'\n'*}"
  if is_relaxed "$1"; then
    out="$(/usr/lib/llvm-16/bin/clang --version)"
    printf '%s\n' "${out%%$'\n'*}"
  fi
}

variant_prefix() {
  local v="$1" key
  key="$({
    source_key
    variant_args "$v"
    compiler_id "$v"
  } | sha256sum | cut -c1-16)"
  printf '%s\n' "$cache/xnnpack/$v-$key"
}

build_variant() {
  local v="$1" prefix srcroot bdir start args=()
  prefix="$(variant_prefix "$v")"
  if [[ -f $prefix/.done ]]; then
    log "$v: cached at $prefix"
    return
  fi
  local relaxed=''
  if is_relaxed "$v"; then
    relaxed=relaxed
    # Exported to emcmake and ninja below, for this variant only.
    local -x EM_LLVM_ROOT
    EM_LLVM_ROOT="$(relaxed_llvm_root)"
  fi
  srcroot="$(prepare_sources $relaxed)"
  bdir="$cache/xnnpack/build/$(basename "$prefix")"
  mapfile -t args < <(variant_args "$v")
  args+=(
    "-DCMAKE_INSTALL_PREFIX=$prefix"
    "-DPTHREADPOOL_SOURCE_DIR=$srcroot/pthreadpool"
    "-DFXDIV_SOURCE_DIR=$srcroot/fxdiv"
  )
  rm -rf "$bdir" "$prefix"
  mkdir -p "$bdir"
  start=$SECONDS
  log "$v: configuring in $bdir"
  local cmake=(cmake)
  [[ $v == native ]] || cmake=(emcmake cmake)
  if ! "${cmake[@]}" -S "$srcroot/xnnpack" -B "$bdir" "${args[@]}" >"$bdir/configure.log" 2>&1; then
    tail -n 40 "$bdir/configure.log" >&2
    die "$v: configure failed (full log: $bdir/configure.log)"
  fi
  log "$v: building with ninja -j$jobs (log: $bdir/build.log)"
  if ! nice -n 10 cmake --build "$bdir" -j "$jobs" >"$bdir/build.log" 2>&1; then
    grep -E -B2 -A12 'error|FAILED' "$bdir/build.log" | head -n 60 >&2
    die "$v: build failed (full log: $bdir/build.log)"
  fi
  cmake --install "$bdir" >"$bdir/install.log" 2>&1 || die "$v: install failed ($bdir/install.log)"
  [[ -f $prefix/lib/libXNNPACK.a && -f $prefix/lib/libmicrokernels-prod.a && -f $prefix/lib/libpthreadpool.a &&
    -f $prefix/include/xnnpack.h && -f $prefix/include/pthreadpool.h ]] ||
    die "$v: install is missing libraries or headers under $prefix"
  printf 'variant %s\nbuilt %s\nseconds %d\n' "$v" "$(date -u +%FT%TZ)" $((SECONDS - start)) >"$prefix/.done"
  rm -rf "$bdir"
  log "$v: built in $((SECONDS - start)) s -> $prefix"
}

main() {
  local cmd="${1:-}"
  shift || true
  export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
  case "$cmd" in
    prefix)
      [[ $# -eq 1 ]] || die "usage: $0 prefix VARIANT"
      variant_prefix "$1"
      ;;
    llvm-root)
      [[ $# -eq 1 ]] || die "usage: $0 llvm-root VARIANT"
      if is_relaxed "$1"; then relaxed_llvm_root; fi
      ;;
    sources)
      mkdir -p "$cache/xnnpack"
      exec 9>"$cache/xnnpack/.lock"
      flock 9
      prepare_sources
      ;;
    build)
      [[ $# -ge 1 ]] || die "usage: $0 build VARIANT..."
      mkdir -p "$cache/xnnpack"
      # Several checkouts (or helpers) may build at once; one builder at a time.
      exec 9>"$cache/xnnpack/.lock"
      flock 9
      local v
      for v in "$@"; do build_variant "$v"; done
      ;;
    *) die "usage: $0 build VARIANT... | prefix VARIANT | llvm-root VARIANT | sources" ;;
  esac
}

# On one line, so editing this file during a build cannot change what runs next.
main "$@"; exit $?
