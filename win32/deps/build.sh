#!/usr/bin/env bash
# Builds the mingw-w64 (x86_64) prefix that the Windows build links against:
# GLib, GTK 4 and the rest of the client's stack, SQLite, libsoup 3. Sources
# are the Debian bookworm source packages pinned in manifest.txt, fetched
# through a private deb-src list (the system's apt configuration is never
# touched). See win32/README.md, "Rebuilding the dependency prefix".
#
#   build.sh                 build the prefix unless a complete one exists;
#                            quiet, the last line of stdout is the prefix
#   build.sh --print-prefix  print the complete prefix, or fail (no build)
#   build.sh --key           print the cache key
#   build.sh --plan          print what a build would do (each step's stamp,
#                            the prefix it would start from, what it would
#                            build) and exit, building nothing
#
# Cache: ${DUPLEX_CACHE:-~/.cache/duplex}/
#   win64-KEY/          the prefix; complete once win64-KEY/.complete exists
#   win64-KEY.log       the log of the build that made it
#   win64-current       path of the prefix last built or found (read by
#                       the pkgconfig entry of win32/cross-mingw64.txt)
#   sources/            downloaded tarballs (checked against manifest.txt)
#   apt/                private apt lists and state (deb-src only)
#   work-WKEY/          in-progress build: staging prefix, stamps, log
# KEY hashes the manifest (tarballs and checksums, not Debian revisions),
# cross-deps.txt, the patches, this script and the versions of the two
# binary packages used as they are (libz-mingw-w64-dev, publicsuffix).
# WKEY hashes the same without this script, and each package's stamp
# hashes its own build step: after editing one step, a rerun resumes there.
# A complete prefix lists its steps' stamps in .stamps; a new key whose
# steps begin with all of an existing prefix's (packages appended to the
# manifest) starts from a copy of that prefix and builds only the rest.
set -Eeuo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${DUPLEX_CACHE:-$HOME/.cache/duplex}
manifest=$here/manifest.txt
cross=$here/cross-deps.txt
host=x86_64-w64-mingw32
jobs=2

# --- cache key -------------------------------------------------------------

# The manifest without comments and without the version column.
manifest_checksums() {
  awk '!/^#/ && NF == 4 { print $1, $3, $4 }' "$manifest"
}

zlib_version() {
  dpkg-query -W -f='${Version}' libz-mingw-w64-dev 2>/dev/null || echo none
}

psl_file=/usr/share/publicsuffix/public_suffix_list.dat
psl_version() {
  dpkg-query -W -f='${Version}' publicsuffix 2>/dev/null || echo none
}

# $1 = with-script | without-script
compute_key() {
  {
    manifest_checksums
    echo "zlib $(zlib_version)"
    echo "publicsuffix $(psl_version)"
    sha256sum < "$cross"
    (cd "$here" && find patches -name '*.patch' -type f | LC_ALL=C sort | xargs -r sha256sum)
    if [ "$1" = with-script ]; then sha256sum < "$here/build.sh"; fi
  } | sha256sum | cut -c1-16
}

key=$(compute_key with-script)
prefix=$cache/win64-$key

mode=build
case "${1:-}" in
  --key) echo "$key"; exit 0 ;;
  --print-prefix)
    if [ -f "$prefix/.complete" ]; then echo "$prefix"; exit 0; fi
    exit 1 ;;
  --plan) mode=plan ;;
  "") ;;
  *) echo "usage: $0 [--print-prefix | --key | --plan]" >&2; exit 2 ;;
esac

# The project's cross file (win32/cross-mingw64.txt) reads the prefix from
# here: the one this script last built or found.
publish_current() {
  printf '%s\n' "$prefix" > "$cache/win64-current.tmp.$$"
  mv "$cache/win64-current.tmp.$$" "$cache/win64-current"
}

if [ "$mode" = build ] && [ -f "$prefix/.complete" ]; then
  publish_current
  echo "$prefix"
  exit 0
fi

work=$cache/work-$(compute_key without-script)
stage=$work/prefix
log=$work/build.log

# Until the log is open (see main), failures go to stderr as they are.
fail() {
  echo "build.sh: FAILED: $*" >&2
  exit 1
}

# --- fetching sources ------------------------------------------------------

aptdir=$cache/apt

# deb-src lines for the Debian mirror(s) this system already uses.
write_sources_list() {
  local f
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk '$1 == "deb" {
             i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
             if ($(i+1) ~ /^bookworm/) { printf "deb-src %s %s main\n", $i, $(i+1) } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk 'function flush() {
             if (types ~ /(^| )deb( |$)/)
               for (u in uris) for (s in suites) if (suites[s] ~ /^bookworm/)
                 printf "deb-src %s %s main\n", uris[u], suites[s]
             types = ""; delete uris; delete suites }
           /^[ \t]*$/ { flush(); next }
           /^Types:/  { types = $0; sub(/^Types:[ \t]*/, "", types) }
           /^URIs:/   { split(substr($0, 6), a, " "); for (k in a) uris[k] = a[k] }
           /^Suites:/ { split(substr($0, 8), a, " "); for (k in a) suites[k] = a[k] }
           END { flush() }' "$f"
    done
  } | sort -u > "$aptdir/sources.list.new"
  [ -s "$aptdir/sources.list.new" ] || fail "no Debian bookworm mirror in /etc/apt/sources.list*"
  mv "$aptdir/sources.list.new" "$aptdir/sources.list"
}

apt_private() {
  apt-get -q -o Dir::Etc::SourceList="$aptdir/sources.list" \
    -o Dir::Etc::SourceParts="$aptdir/sources.list.d" \
    -o Dir::State::Lists="$aptdir/lists" -o Dir::Cache="$aptdir/cache" \
    -o APT::Sandbox::User="$(id -un)" "$@"
}

apt_ready=
apt_update_once() {
  [ -n "$apt_ready" ] && return 0
  mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources.list.d"
  write_sources_list
  apt_private update
  apt_ready=1
}

sha_ok() { # file sha256
  [ -f "$1" ] && [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$2" ]
}

pool_dir() { # source package -> pool/main subdirectory
  case "$1" in lib?*) echo "${1:0:4}/$1" ;; *) echo "${1:0:1}/$1" ;; esac
}

fetch() { # name version tarball sha256
  local name=$1 version=$2 tarball=$3 sha=$4 f=$cache/sources/$3 dl uri
  sha_ok "$f" "$sha" && return 0
  apt_update_once
  dl=$cache/sources/dl-$name
  rm -rf "$dl"; mkdir -p "$dl"
  # Some .dsc/.debian.tar files are missing on the mirror (404): apt-get
  # then fails, but the .orig tarball it did download is all we use.
  (cd "$dl" && apt_private source --download-only "$name=$version") || true
  if ! sha_ok "$dl/$tarball" "$sha"; then
    # That exact version may have left the mirror: the same tarball is in
    # the pool under every revision that shares it.
    for uri in $(awk '{ print $2 }' "$aptdir/sources.list" | sort -u); do
      curl -fsSL --retry 2 -o "$dl/$tarball" "$uri/pool/main/$(pool_dir "$name")/$tarball" && break
      curl -fsSL --retry 2 -o "$dl/$tarball" "$uri/pool/updates/main/$(pool_dir "$name")/$tarball" && break
    done
  fi
  sha_ok "$dl/$tarball" "$sha" || fail "$tarball: missing or wrong sha256 (want $sha)"
  mv "$dl/$tarball" "$f"
  rm -rf "$dl"
}

# --- build helpers ---------------------------------------------------------

# Extracts the package's tarball into $work/src, applies its patches, and
# sets S (source dir) and B (an empty build dir).
unpack() { # name tarball
  local name=$1 tarball=$2 top p
  rm -rf "$work/src/$name" "$work/build/$name"
  mkdir -p "$work/src/$name" "$work/build/$name"
  tar -xf "$cache/sources/$tarball" -C "$work/src/$name"
  top=$(ls "$work/src/$name")
  S=$work/src/$name/$top
  B=$work/build/$name
  for p in "$here"/patches/"$name"-*.patch; do
    [ -f "$p" ] || continue
    echo "--- applying $(basename "$p")"
    patch -p1 -d "$S" < "$p"
  done
}

cleanup() { rm -rf "$work/src/$1" "$work/build/$1"; }

meson_build() { # meson options...
  meson setup "$B" "$S" \
    --cross-file "$work/prefix.ini" --cross-file "$cross" \
    --prefix="$stage" --libdir=lib --buildtype=release \
    --default-library=shared --wrap-mode=nodownload "$@"
  ninja -C "$B" -j"$jobs"
  ninja -C "$B" install
}

cmake_build() { # cmake options...
  (cd "$B" && cmake -G Ninja "$S" \
    -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=AMD64 \
    -DCMAKE_C_COMPILER=$host-gcc-win32 -DCMAKE_CXX_COMPILER=$host-g++-win32 \
    -DCMAKE_RC_COMPILER=$host-windres \
    -DCMAKE_FIND_ROOT_PATH="$stage" -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER \
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$stage" -DCMAKE_INSTALL_LIBDIR="$stage/lib" \
    -DCMAKE_SHARED_LINKER_FLAGS=-static-libgcc -DCMAKE_EXE_LINKER_FLAGS=-static-libgcc \
    "$@")
  ninja -C "$B" -j"$jobs"
  ninja -C "$B" install
}

# Autotools, out of tree. Environment only for these commands: exported
# CC/PKG_CONFIG_LIBDIR would leak into meson's build-machine lookups.
autotools_env() {
  # -static-libgcc inside CC: libtool drops it from LDFLAGS when linking a DLL.
  env CC="$host-gcc-win32 -static-libgcc" CXX="$host-g++-win32 -static-libgcc -static-libstdc++" \
    AR="$host-ar" RANLIB="$host-ranlib" \
    STRIP="$host-strip" WINDRES="$host-windres" RC="$host-windres" \
    CC_FOR_BUILD=gcc BUILD_CC=gcc \
    CFLAGS="-O2" CXXFLAGS="-O2" CPPFLAGS="-I$stage/include" \
    LDFLAGS="-L$stage/lib -static-libgcc" \
    PKG_CONFIG=pkg-config PKG_CONFIG_LIBDIR="$stage/lib/pkgconfig" PKG_CONFIG_PATH= \
    "$@"
}

configure_build() { # configure options...
  (cd "$B" && autotools_env "$S/configure" --host=$host --build=x86_64-linux-gnu \
    --prefix="$stage" --libdir="$stage/lib" --enable-shared --disable-static "$@")
}

make_install() { # [make targets/vars...]
  autotools_env make -C "$B" -j"$jobs" "$@"
  autotools_env make -C "$B" install
}

# --- one function per manifest line ----------------------------------------

build_zlib() {
  # Ready-made by Debian (libz-mingw-w64-dev): copied so the prefix stands alone.
  local d=/usr/$host
  [ -f "$d/include/zlib.h" ] || fail "libz-mingw-w64-dev is not installed"
  mkdir -p "$stage/include" "$stage/lib/pkgconfig" "$stage/bin"
  cp "$d/include/zlib.h" "$d/include/zconf.h" "$stage/include/"
  cp "$d/lib/libz.a" "$d/lib/libz.dll.a" "$stage/lib/"
  cp "$d/lib/zlib1.dll" "$stage/bin/"
  cat > "$stage/lib/pkgconfig/zlib.pc" <<EOF
prefix=$stage
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: zlib
Description: zlib compression library (Debian libz-mingw-w64-dev $(zlib_version))
Version: $(zlib_version | sed 's/[+-].*//')
Libs: -L\${libdir} -lz
Cflags: -I\${includedir}
EOF
}

build_libffi() {
  configure_build --disable-docs --disable-multi-os-directory --disable-exec-static-tramp
  make_install
}

build_pcre2() {
  # GLib needs the 8-bit library only; no JIT (GLib works without it).
  configure_build --enable-pcre2-8 --disable-pcre2-16 --disable-pcre2-32 \
    --enable-unicode --disable-jit --disable-pcre2grep-libz --disable-pcre2grep-libbz2 \
    --disable-pcre2test-libreadline
  make_install
}

build_gettext() {
  # Only libintl (gettext-runtime/intl): GLib always needs an intl library.
  local S0=$S
  S=$S0/gettext-runtime
  configure_build --disable-java --disable-csharp --disable-libasprintf \
    --disable-openmp --disable-curses --without-emacs --without-libexpat-prefix \
    --enable-threads=windows --with-included-gettext --disable-c++
  autotools_env make -C "$B/intl" -j"$jobs"
  autotools_env make -C "$B/intl" install
  S=$S0
}

build_glib2_0() {
  meson_build -Dtests=false -Dinstalled_tests=false -Dnls=disabled -Dman=false \
    -Dgtk_doc=false -Dselinux=disabled -Dxattr=false -Dlibmount=disabled \
    -Dsysprof=disabled -Ddtrace=false -Dsystemtap=false -Dlibelf=disabled \
    -Dglib_debug=disabled
}

build_sqlite3() {
  # The amalgamation is generated with the native tclsh and gcc, then built
  # as both a DLL (libsqlite3-0.dll + import library) and a static library
  # (duplexd.exe links statically).
  local cc=$host-gcc-win32 v
  (cd "$B" && autotools_env "$S/configure" --host=$host --build=x86_64-linux-gnu \
     --disable-tcl --disable-readline --disable-editline TCLSH_CMD=tclsh)
  # BEXE: the generator scripts run ./mksourceid, not mksourceid.exe.
  make -C "$B" sqlite3.c BEXE=
  local flags="-O2 -DSQLITE_THREADSAFE=1 -DSQLITE_ENABLE_COLUMN_METADATA -DSQLITE_OMIT_LOAD_EXTENSION"
  $cc $flags -c "$B/sqlite3.c" -o "$B/sqlite3.o"
  mkdir -p "$stage/bin" "$stage/lib/pkgconfig" "$stage/include"
  rm -f "$stage/lib/libsqlite3.a"
  $host-ar rcs "$stage/lib/libsqlite3.a" "$B/sqlite3.o"
  $cc -shared -static-libgcc -o "$stage/bin/libsqlite3-0.dll" "$B/sqlite3.o" \
    -Wl,--out-implib,"$stage/lib/libsqlite3.dll.a"
  cp "$B/sqlite3.h" "$S/src/sqlite3ext.h" "$stage/include/" 2>/dev/null \
    || cp "$B/sqlite3.h" "$stage/include/"
  v=$(cat "$S/VERSION")
  cat > "$stage/lib/pkgconfig/sqlite3.pc" <<EOF
prefix=$stage
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: SQLite
Description: SQL database engine
Version: $v
Libs: -L\${libdir} -lsqlite3
Cflags: -I\${includedir}
EOF
}

build_pixman() {
  meson_build -Dtests=disabled -Dgtk=disabled -Dlibpng=disabled -Dopenmp=disabled \
    -Dgnuplot=false -Dtimers=false
}

build_libpng1_6() {
  configure_build --disable-tests --disable-tools
  make_install
}

build_freetype() {
  meson_build -Dbrotli=disabled -Dbzip2=disabled -Dharfbuzz=disabled -Dpng=disabled \
    -Dzlib=system -Dtests=disabled
}

build_fribidi() {
  meson_build -Ddocs=false
}

build_harfbuzz() {
  meson_build -Dglib=enabled -Dgobject=enabled -Dcairo=disabled -Dchafa=disabled \
    -Dicu=disabled -Dgraphite=disabled -Dgraphite2=disabled -Dfreetype=enabled \
    -Dgdi=disabled -Ddirectwrite=disabled -Dtests=disabled -Dintrospection=disabled \
    -Ddocs=disabled -Dbenchmark=disabled
}

build_cairo() {
  # Cairo 1.16's meson build is incomplete on Windows: autotools. PDF is
  # needed: gtkprintoperation.c includes cairo-pdf.h (print to file).
  configure_build --enable-win32 --enable-win32-font --enable-ft --disable-fc \
    --enable-png --enable-gobject --disable-xlib --disable-xcb --disable-xlib-xrender \
    --disable-quartz --disable-gl --disable-glesv2 --disable-egl --disable-wgl \
    --enable-pdf --disable-ps --disable-svg --disable-script --disable-interpreter \
    --disable-trace --disable-symbol-lookup --disable-full-testing --disable-gtk-doc \
    --disable-valgrind
  # Only the library and cairo-gobject: not the test suite, boilerplate or
  # the util programs that `make all` would build.
  local d
  for d in src util/cairo-gobject; do
    autotools_env make -C "$B/$d" -j"$jobs"
    autotools_env make -C "$B/$d" install
  done
}

build_pango1_0() {
  meson_build -Dintrospection=disabled -Dgtk_doc=false -Dinstall-tests=false \
    -Dfontconfig=disabled -Dfreetype=disabled -Dcairo=enabled -Dsysprof=disabled \
    -Dlibthai=disabled -Dxft=disabled
}

build_libjpeg_turbo() {
  cmake_build -DENABLE_STATIC=OFF -DENABLE_SHARED=ON -DWITH_TURBOJPEG=OFF \
    -DWITH_SIMD=OFF -DWITH_JAVA=OFF
  # 2.1 always builds its command-line tools; the prefix does not need them.
  rm -f "$stage"/bin/{cjpeg,djpeg,jpegtran,rdjpgcom,wrjpgcom}.exe
}

build_tiff() {
  # Debian's tarball is a git export without configure: CMake. No codecs
  # but zlib (deflate) and the built-in ones; GTK needs plain TIFF only.
  cmake_build -DBUILD_SHARED_LIBS=ON -Dtiff-tools=OFF -Dtiff-tests=OFF \
    -Dtiff-contrib=OFF -Dtiff-docs=OFF -Dtiff-opengl=OFF -Dcxx=OFF -Djbig=OFF -Djpeg=OFF \
    -Dold-jpeg=OFF -Dlzma=OFF -Dzstd=OFF -Dwebp=OFF -Dlerc=OFF -Dlibdeflate=OFF \
    -Dzlib=ON -DZLIB_INCLUDE_DIR="$stage/include" -DZLIB_LIBRARY="$stage/lib/libz.dll.a"
}

build_gdk_pixbuf() {
  meson_build -Dpng=enabled -Djpeg=disabled -Dtiff=disabled -Dbuiltin_loaders=png \
    -Dgtk_doc=false -Ddocs=false -Dintrospection=disabled -Dman=false \
    -Drelocatable=true -Dnative_windows_loaders=false -Dtests=false \
    -Dinstalled_tests=false -Dgio_sniffing=false
}

build_libepoxy() {
  meson_build -Ddocs=false -Dglx=no -Degl=no -Dx11=false -Dtests=false
}

build_graphene() {
  meson_build -Dgtk_doc=false -Dgobject_types=true -Dintrospection=disabled \
    -Dtests=false -Dinstalled_tests=false
}

build_gtk4() {
  # Debian's +ds tarball drops the generated theme CSS: native sassc
  # rebuilds it.
  command -v sassc >/dev/null || fail "sassc is not installed (scripts/setup-deps.sh)"
  meson_build -Dwin32-backend=true -Dx11-backend=false -Dwayland-backend=false \
    -Dbroadway-backend=false -Dmacos-backend=false -Dmedia-gstreamer=disabled \
    -Dmedia-ffmpeg=disabled -Dprint-cups=disabled -Dvulkan=disabled \
    -Dcloudproviders=disabled -Dsysprof=disabled -Dtracker=disabled -Dcolord=disabled \
    -Dgtk_doc=false -Dman-pages=false -Dintrospection=disabled -Ddemos=false \
    -Dbuild-examples=false -Dbuild-tests=false -Dinstall-tests=false
}

build_nghttp2() {
  # A git export without configure: CMake, the library only.
  cmake_build -DENABLE_LIB_ONLY=ON -DENABLE_SHARED_LIB=ON -DENABLE_STATIC_LIB=OFF \
    -DENABLE_APP=OFF -DENABLE_HPACK_TOOLS=OFF -DENABLE_EXAMPLES=OFF -DENABLE_DOC=OFF \
    -DWITH_LIBXML2=OFF -DWITH_JEMALLOC=OFF -DBUILD_TESTING=OFF
}

build_libpsl() {
  # The list compiled in is Debian's `publicsuffix` package (its source
  # tarball is missing on the mirror); its version is part of the key.
  # No IDNA library: the list is already in punycode.
  [ -f "$psl_file" ] || fail "$psl_file missing: install publicsuffix (scripts/setup-deps.sh)"
  meson_build -Druntime=no -Dbuiltin=true -Dpsl_file="$psl_file" -Ddocs=false
}

build_libsoup3() {
  # tls_check would need glib-networking at build time; without it (not in
  # the prefix) http:// works and https:// does not.
  meson_build -Dgssapi=disabled -Dntlm=disabled -Dbrotli=disabled -Dtls_check=false \
    -Dintrospection=disabled -Dvapi=disabled -Ddocs=disabled -Ddoc_tests=false \
    -Dtests=false -Dautobahn=disabled -Dinstalled_tests=false -Dsysprof=disabled \
    -Dpkcs11_tests=disabled
}

build_openssl() {
  # The libraries only (`build_libs`, `install_dev`: no openssl.exe, tests,
  # docs, engines or provider modules). duplexd.exe links libssl.a and
  # libcrypto.a statically; libssl-3-x64.dll and libcrypto-3-x64.dll are
  # there for programs that link dynamically. The directories compiled in
  # (openssl.cnf, engines, modules) are OpenSSL's Windows defaults, not the
  # staging prefix: a Linux path would mean \root\... on the current drive,
  # a directory any user may create (the CVE-2019-1552 kind of mistake).
  local dirs=(OPENSSLDIR="C:/Program Files/Common Files/SSL"
              ENGINESDIR="C:/Program Files/OpenSSL/lib/engines-3"
              MODULESDIR="C:/Program Files/OpenSSL/lib/ossl-modules")
  (cd "$B" && env CC=gcc-win32 "$S/Configure" mingw64 --cross-compile-prefix=$host- \
     --prefix="$stage" --libdir=lib shared no-tests -static-libgcc)
  make -C "$B" -j"$jobs" build_libs "${dirs[@]}"
  make -C "$B" install_dev "${dirs[@]}"
}

build_hiredis() {
  # The library only, static (duplexd.exe links it in): hiredis's Makefile
  # knows no Windows (it builds a .so and runs the host's ar), and six C
  # files are all there is. Duplex uses the reply reader and the command
  # formatter; the patch stubs out the BSD-socket connect code.
  local f v
  for f in alloc async hiredis net read sds; do
    $host-gcc-win32 -O2 -Wall -c "$S/$f.c" -o "$B/$f.o"
  done
  mkdir -p "$stage/include/hiredis" "$stage/lib/pkgconfig"
  rm -f "$stage/lib/libhiredis.a"
  $host-ar rcs "$stage/lib/libhiredis.a" "$B"/*.o
  cp "$S"/{alloc,async,hiredis,read,sds}.h "$stage/include/hiredis/"
  v=$(awk '$2 ~ /^HIREDIS_(MAJOR|MINOR|PATCH)$/ { printf "%s%s", s, $3; s = "." }' "$S/hiredis.h")
  cat > "$stage/lib/pkgconfig/hiredis.pc" <<EOF
prefix=$stage
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: hiredis
Description: Minimalistic C client library for Redis (reader and formatter; no sockets on Windows)
Version: $v
Libs: -L\${libdir} -lhiredis
Cflags: -I\${includedir} -I\${includedir}/hiredis
EOF
}

# --- the plan: every step and its stamp -------------------------------------

# Step 0 is zlib, then one step per manifest line. Each stamp hashes the
# previous one (the first: the shared helpers, the cross file and the two
# binary packages' versions), the step's manifest line, its patches and its
# build function: a change to one package rebuilds it and everything after
# it, nothing before.
steps=() sums=()
plan_steps() {
  local chain name version tarball sha fn sum
  chain=$(printf '%s\n' "$(declare -f meson_build configure_build make_install autotools_env unpack)" \
    "$(sha256sum < "$cross")" "zlib $(zlib_version)" "publicsuffix $(psl_version)" \
    | sha256sum | cut -c1-16)
  while read -r name version tarball sha; do
    fn=build_${name//[.-]/_}
    declare -F "$fn" >/dev/null || fail "manifest.txt: no function $fn in build.sh for $name"
    sum=$( { echo "$chain $name${version:+ $version $tarball $sha}"; declare -f "$fn"
             cat "$here"/patches/"$name"-*.patch 2>/dev/null || true; } | sha256sum | cut -c1-16)
    steps+=("$name${version:+ $version $tarball $sha}")
    sums+=("$sum")
    chain=$sum
  done < <(echo zlib; awk '!/^#/ && NF == 4' "$manifest")
}

# --- starting from an earlier prefix ----------------------------------------

# Prefixes built before build.sh wrote .stamps: "KEY LAST-STEP STAMP", the
# stamp this script computes for that prefix's last step. Such a prefix
# counts as having our steps up to LAST-STEP only if our stamp of that step
# is STAMP, i.e. nothing it was built from has changed since.
legacy_prefixes=(
  # commit 64c7f0f: zlib and the 21 packages from libffi to libsoup3
  "0cab0e442a940d6a libsoup3 7a55fdeee4dd437f"
)

# The "name stamp" lines of complete prefix $1, in build order (none if
# unknown).
prefix_stamps() {
  local d=$1 k l i j
  if [ -f "$d/.stamps" ]; then cat "$d/.stamps"; return 0; fi
  k=$(sed -n 's/^key=//p' "$d/.complete")
  for l in "${legacy_prefixes[@]}"; do
    set -- $l
    [ "$1" = "$k" ] || continue
    for i in "${!steps[@]}"; do
      [ "${steps[$i]%% *}" = "$2" ] || continue
      [ "${sums[$i]}" = "$3" ] || return 0
      for ((j = 0; j <= i; j++)); do echo "${steps[$j]%% *} ${sums[$j]}"; done
      return 0
    done
  done
}

# "N DIR": the complete prefix whose steps are the longest leading part of
# ours (N of them, N > 0); nothing if there is none. A prefix with a step we
# do not have, or in another order, never qualifies.
find_seed() {
  local d n best=0 bestdir= name sum ok
  for d in "$cache"/win64-*/; do
    d=${d%/}
    if [ "$d" = "$prefix" ] || [ ! -f "$d/.complete" ]; then continue; fi
    n=0 ok=1
    while read -r name sum; do
      if [ "$n" -lt "${#steps[@]}" ] && [ "${steps[$n]%% *}" = "$name" ] \
         && [ "${sums[$n]}" = "$sum" ]; then
        n=$((n + 1))
      else
        ok=0
      fi
    done < <(prefix_stamps "$d")
    if [ "$ok" = 1 ] && [ "$n" -gt "$best" ]; then best=$n bestdir=$d; fi
  done
  if [ "$best" -gt 0 ]; then echo "$best $bestdir"; fi
}

# How many leading steps the work directory already has (resuming).
work_done() {
  local i=0
  while [ "$i" -lt "${#steps[@]}" ] \
        && [ "$(cat "$work/stamps/${steps[$i]%% *}" 2>/dev/null)" = "${sums[$i]}" ]; do
    i=$((i + 1))
  done
  echo "$i"
}

# Makes the staging prefix a copy of complete prefix $2 and marks our
# first $1 steps done. Its .pc files name the path they were published at
# (their absolute prefix= values; normally just $2): they are pointed at
# the staging prefix, as a build there would have written them.
seed_from() { # n dir
  local n=$1 d=$2 i old pc=()
  echo "=== seeding from $d: its $n steps are our first $n of ${#steps[@]}"
  rm -rf "$stage" "$work/stamps" "$work/src" "$work/build"
  mkdir -p "$work/stamps"
  cp -a "$d" "$stage"
  rm -f "$stage/.complete" "$stage/.stamps" "$stage/.times"
  for i in "$stage"/lib/pkgconfig/*.pc "$stage"/share/pkgconfig/*.pc; do
    if [ -f "$i" ]; then pc+=("$i"); fi
  done
  [ "${#pc[@]}" -gt 0 ] || fail "$d has no .pc files: not a prefix this script built"
  while read -r old; do
    grep -lF "$old" "${pc[@]}" | xargs -r sed -i "s|$old|$stage|g"
  done < <(sed -n 's|^prefix=\(/.*\)|\1|p' "${pc[@]}" | sort -u)
  echo "=== steps 1-$n seeded from ${d##*/}" > "$work/times.txt"
  for ((i = 0; i < n; i++)); do echo "${sums[$i]}" > "$work/stamps/${steps[$i]%% *}"; done
  echo "${d##*/}" > "$work/seeded-from"
}

# Builds step $1 unless its stamp says it is done.
run_step() {
  local i=$1 name version tarball sha t0
  read -r name version tarball sha <<< "${steps[$i]}"
  if [ "$(cat "$work/stamps/$name" 2>/dev/null)" = "${sums[$i]}" ]; then
    echo "=== $name: up to date"
    return 0
  fi
  echo "=== $(date -u +%T) $name ${version:-}"
  t0=$(date +%s)
  if [ -n "${version:-}" ]; then
    fetch "$name" "$version" "$tarball" "$sha"
    unpack "$name" "$tarball"
  fi
  "build_${name//[.-]/_}"
  find "$stage/lib" -name '*.la' -delete
  if [ -n "${version:-}" ]; then cleanup "$name"; fi
  echo "${sums[$i]}" > "$work/stamps/$name"
  echo "=== $name done in $(( $(date +%s) - t0 )) s" | tee -a "$work/times.txt"
}

plan_steps

if [ "$mode" = plan ]; then
  echo "key $key"
  for i in "${!steps[@]}"; do echo "step ${steps[$i]%% *} ${sums[$i]}"; done
  if [ -f "$prefix/.complete" ]; then echo "complete $prefix"; exit 0; fi
  done_n=$(work_done)
  seed=$(find_seed)
  if [ -n "$seed" ] && [ "${seed%% *}" -gt "$done_n" ]; then
    echo "seed ${seed#* } (${seed%% *} steps)"
    done_n=${seed%% *}
  elif [ "$done_n" -gt 0 ]; then
    echo "resume $work ($done_n steps)"
  fi
  for ((i = done_n; i < ${#steps[@]}; i++)); do echo "build ${steps[$i]%% *}"; done
  exit 0
fi

# --- main ------------------------------------------------------------------

mkdir -p "$work/stamps" "$cache/sources"

# One build at a time per cache (CI and a developer may share it).
exec 9>"$cache/.build.lock"
if ! flock -n 9; then
  echo "build.sh: waiting for another build in $cache" >&2
  flock 9
fi
if [ -f "$prefix/.complete" ]; then publish_current; echo "$prefix"; exit 0; fi

exec 3>&1 4>&2
exec >>"$log" 2>&1
fail() {
  echo "build.sh: $*"
  exec 1>&3 2>&4
  echo "build.sh: FAILED: $*" >&2
  echo "--- last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
}
trap 'fail "command failed (line $LINENO): $BASH_COMMAND"' ERR

echo "=== $(date -u '+%F %T') build.sh: key $key, work $work"
start=$(date +%s)

seed=$(find_seed)
if [ -n "$seed" ] && [ "${seed%% *}" -gt "$(work_done)" ]; then
  seed_from "${seed%% *}" "${seed#* }"
fi

mkdir -p "$stage"
cat > "$work/prefix.ini" <<EOF
[constants]
prefix = '$stage'
EOF

for i in "${!steps[@]}"; do run_step "$i"; done

# No documentation or manual pages in the prefix.
rm -rf "$stage/share/doc" "$stage/share/man" "$stage/share/gtk-doc"
# GTK's post-install step (schemas) does not run when cross-compiling: the
# native glib-compile-schemas does it, so the prefix's GSettings work as is.
glib-compile-schemas "$stage/share/glib-2.0/schemas"

# The DLLs must need nothing but Windows and each other: no GCC runtime
# DLL (libgcc_s, libstdc++, libwinpthread) and no libssp.
bad=$(for f in "$stage"/bin/*.dll "$stage"/bin/*.exe; do
        $host-objdump -p "$f" | awk -v f="${f##*/}" '/DLL Name: *(libgcc_s|libstdc|libwinpthread|libssp)/ { print f ": " $3 }'
      done)
[ -z "$bad" ] || fail "GCC runtime DLL imports: $bad"

# Point the .pc files at the final location, then publish atomically.
tmp=$cache/win64-$key.tmp
rm -rf "$tmp"
cp -a "$stage" "$tmp"
grep -rlF "$stage" "$tmp/lib/pkgconfig" "$tmp/share/pkgconfig" 2>/dev/null \
  | xargs -r sed -i "s|$stage|$prefix|g" || true
secs=$(( $(date +%s) - start ))
{
  echo "key=$key"
  echo "built=$(date -u '+%F %T') UTC"
  echo "seconds=$secs"
  echo "jobs=$jobs"
  if [ -f "$work/seeded-from" ]; then echo "seeded_from=$(cat "$work/seeded-from")"; fi
} > "$tmp/.complete.tmp"
cp "$work/times.txt" "$tmp/.times"
for i in "${!steps[@]}"; do echo "${steps[$i]%% *} ${sums[$i]}"; done > "$tmp/.stamps"
rm -rf "$prefix"
mv "$tmp" "$prefix"
mv "$prefix/.complete.tmp" "$prefix/.complete"
echo "=== complete in $secs s: $prefix ($(du -sh "$prefix" | cut -f1))"
cp "$log" "$cache/win64-$key.log"
rm -rf "$work"
publish_current

exec 1>&3 2>&4
echo "$prefix"
