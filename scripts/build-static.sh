#!/bin/sh
# Builds the fully static release binary build/static/mlops.
#
# libcurl, libarchive, cJSON and libyaml are compiled from Debian's own source
# packages (`apt-get source`, so Debian's security patches come along), each
# cut down to what the program uses, and installed into one private prefix;
# OpenSSL and zlib are Debian's static archives (libssl-dev, zlib1g-dev). The
# program is then linked by the ordinary Makefile with `-static`.
#
#   scripts/build-static.sh              deps (cached) + build/static/mlops
#   scripts/build-static.sh --deps-only  only the cached dependencies
#
# Everything is cached under build/static-deps/: src/<pkg>_<version>/ is the
# unpacked, patched source, prefix/ the installed headers, .a files and .pc
# files, and prefix/.built-<pkg> records the source version and configure
# options it was built with, so a second run rebuilds nothing unless Debian
# ships a new version or this script changes a package's options. The script
# installs its own build needs (only those missing) and is safe to run again.
#
# The Dockerfile's builder stage runs this same script.
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEPS=$ROOT/build/static-deps
SRC=$DEPS/src
PREFIX=$DEPS/prefix
OUT=build/static
JOBS=${JOBS:-2}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

deps_only=0
case "${1:-}" in
--deps-only) deps_only=1 ;;
"") ;;
*) echo "usage: $0 [--deps-only]" >&2; exit 2 ;;
esac

log() { printf 'build-static: %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() {
	[ "$apt_updated" -eq 1 ] && return 0
	log "apt-get update"
	$SUDO apt-get update -q >/dev/null
	apt_updated=1
}

# --- build needs -------------------------------------------------------------
# autoconf/automake/libtool: Debian's patches touch configure.ac and
# Makefile.am, so (as Debian's own build does) the sources are autoreconf'd.
# ca-certificates: the bundle that make-rootfs.sh copies into the image.
needs="build-essential dpkg-dev pkg-config autoconf automake libtool make
libssl-dev zlib1g-dev file ca-certificates binutils"
missing=""
for p in $needs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt_update
	log "installing$missing"
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# --- deb-src -----------------------------------------------------------------
# Debian images list only binary archives (Types: deb). Add the matching
# source archives in a file of our own rather than editing Debian's.
have_deb_src() {
	grep -qsE '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources ||
		grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list
}
if ! have_deb_src; then
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		log "adding deb-src entries (/etc/apt/sources.list.d/debian-src.sources)"
		sed 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb-src/' \
			/etc/apt/sources.list.d/debian.sources |
			$SUDO tee /etc/apt/sources.list.d/debian-src.sources >/dev/null
	else
		log "adding deb-src entries (/etc/apt/sources.list.d/debian-src.list)"
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list |
			$SUDO tee /etc/apt/sources.list.d/debian-src.list >/dev/null
	fi
	apt_updated=0
	apt_update
fi

# --- source packages ---------------------------------------------------------
mkdir -p "$SRC" "$PREFIX/lib/pkgconfig" "$PREFIX/include"

# The version apt-get source would fetch, read from the local package lists
# (no network unless the lists lack the package, then one apt-get update).
source_version() {
	tmp=$(mktemp -d)
	v=$(cd "$tmp" && apt-get source --only-source --print-uris "$1" 2>/dev/null |
		sed -n "s/^'[^']*' $1_\(.*\)\.dsc .*/\1/p" | head -n 1)
	if [ -z "$v" ]; then
		apt_update
		v=$(cd "$tmp" && apt-get source --only-source --print-uris "$1" 2>/dev/null |
			sed -n "s/^'[^']*' $1_\(.*\)\.dsc .*/\1/p" | head -n 1)
	fi
	rm -rf "$tmp"
	[ -n "$v" ] || { log "no source package $1 (is deb-src configured?)"; exit 1; }
	echo "$v"
}

# Unpacks (with Debian's patches applied) into $SRC/<pkg>_<version> once;
# prints that directory.
fetch_source() {
	dir=$SRC/$1_$(echo "$2" | tr ':' '_')
	if [ ! -d "$dir" ]; then
		tmp=$SRC/.fetch-$1
		rm -rf "$tmp" && mkdir -p "$tmp"
		log "apt-get source $1=$2"
		(cd "$tmp" && apt-get source -q --only-source "$1=$2" >/dev/null 2>"$tmp.log") ||
			{ cat "$tmp.log" >&2; exit 1; }
		rm -f "$tmp.log"
		unpacked=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)
		mv "$unpacked" "$dir"
		rm -rf "$tmp"
	fi
	echo "$dir"
}

# is_built PKG KEY: the prefix already holds PKG built from KEY
# (source version + options).
is_built() { [ -f "$PREFIX/.built-$1" ] && [ "$(cat "$PREFIX/.built-$1")" = "$2" ]; }
mark_built() { printf '%s' "$2" >"$PREFIX/.built-$1"; }

# Common compiler flags for the dependencies: Debian's hardening defaults.
DEP_CFLAGS="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -ffunction-sections -fdata-sections"

# --- cJSON (cJSON.c only; Debian's CMake build is not needed) ----------------
build_cjson() {
	ver=$(source_version cjson)
	key="$ver|$DEP_CFLAGS"
	is_built cjson "$key" && return 0
	dir=$(fetch_source cjson "$ver")
	log "building cJSON $ver"
	(cd "$dir" && cc $DEP_CFLAGS -std=c89 -c cJSON.c -o cJSON.o &&
		ar rcs libcjson.a cJSON.o)
	mkdir -p "$PREFIX/include/cjson"
	install -m 644 "$dir/cJSON.h" "$PREFIX/include/cjson/cJSON.h"
	install -m 644 "$dir/libcjson.a" "$PREFIX/lib/libcjson.a"
	# Same Cflags as Debian's libcjson.pc, so <cjson/cJSON.h> and <cJSON.h>
	# both work as in the development build.
	cat >"$PREFIX/lib/pkgconfig/libcjson.pc" <<-EOF
	prefix=$PREFIX
	libdir=\${prefix}/lib
	includedir=\${prefix}/include

	Name: libcjson
	Version: ${ver%%-*}
	Description: Ultralightweight JSON parser in ANSI C
	Libs: -L\${libdir} -lcjson
	Libs.private: -lm
	Cflags: -I\${includedir} -I\${includedir}/cjson
	EOF
	mark_built cjson "$key"
}

# --- libyaml (its release has no configure; the sources need only the
# version macros that its CMake/autoconf builds would define) ----------------
build_libyaml() {
	ver=$(source_version libyaml)
	key="$ver|$DEP_CFLAGS"
	is_built libyaml "$key" && return 0
	dir=$(fetch_source libyaml "$ver")
	upstream=${ver%%-*}
	upstream=${upstream#*:}
	major=$(echo "$upstream" | cut -d. -f1)
	minor=$(echo "$upstream" | cut -d. -f2)
	patch=$(echo "$upstream" | cut -d. -f3)
	log "building libyaml $ver"
	(
		cd "$dir" && rm -f ./*.o &&
			for f in src/*.c; do
				cc $DEP_CFLAGS -Iinclude -Isrc -DYAML_VERSION_MAJOR="$major" \
					-DYAML_VERSION_MINOR="$minor" -DYAML_VERSION_PATCH="$patch" \
					-DYAML_VERSION_STRING="\"$upstream\"" \
					-c "$f" -o "$(basename "$f" .c).o" || exit 1
			done &&
			rm -f libyaml.a && ar rcs libyaml.a ./*.o
	)
	install -m 644 "$dir/include/yaml.h" "$PREFIX/include/yaml.h"
	install -m 644 "$dir/libyaml.a" "$PREFIX/lib/libyaml.a"
	cat >"$PREFIX/lib/pkgconfig/yaml-0.1.pc" <<-EOF
	prefix=$PREFIX
	libdir=\${prefix}/lib
	includedir=\${prefix}/include

	Name: LibYAML
	Description: Library to parse and emit YAML
	Version: $upstream
	Cflags: -I\${includedir}
	Libs: -L\${libdir} -lyaml
	EOF
	mark_built libyaml "$key"
}

# --- libcurl -----------------------------------------------------------------
# HTTP and HTTPS only, over OpenSSL and zlib. Kept: proxies (CONNECT tunnels,
# HTTPS_PROXY/https_proxy/NO_PROXY from the environment), proxy auth
# (basic/digest/NTLM), the header API and date parsing (Retry-After), the
# threaded resolver (a timeout-able getaddrinfo). The default CA bundle is
# Debian's path, which is where make-rootfs.sh puts the bundle in the image;
# SSL_CERT_FILE / CURL_CA_BUNDLE override it at run time (the program reads
# them and sets CURLOPT_CAINFO).
#
# DNS in a static binary: glibc warns at link time that getaddrinfo "requires
# at runtime the shared libraries from the glibc version used for linking".
# That is about NSS modules loaded with dlopen. Since glibc 2.34 the "files"
# and "dns" services are built into libc itself, including libc.a, so a
# static binary resolves /etc/hosts names and DNS (via /etc/resolv.conf)
# without any shared library in the root; only other services (mdns, systemd,
# ldap...) named in /etc/nsswitch.conf would need dlopen, and the image ships
# an nsswitch.conf that names only files and dns. tests/container/
# rootfs-test.sh checks this with real lookups in an empty root.
CURL_OPTS="--disable-shared --enable-static --with-pic
--with-openssl --with-zlib
--with-ca-bundle=$CA_BUNDLE --without-ca-path --without-ca-fallback
--enable-http --enable-proxy --enable-threaded-resolver --enable-ipv6
--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp
--disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap
--disable-smb --disable-smtp --disable-gopher --disable-mqtt
--disable-manual --disable-ntlm-wb --disable-alt-svc --disable-hsts
--disable-doh --disable-netrc --disable-websockets --disable-unix-sockets
--disable-libcurl-option --disable-sspi --disable-tls-srp
--without-libpsl --without-libidn2 --without-nghttp2 --without-nghttp3
--without-ngtcp2 --without-quiche --without-msh3 --without-hyper
--without-brotli --without-zstd --without-librtmp --without-libssh2
--without-libssh --without-wolfssh --without-gssapi --without-libgsasl
--without-winidn --without-gnutls --without-nss --without-wolfssl
--without-mbedtls --without-rustls --without-bearssl"
build_curl() {
	ver=$(source_version curl)
	key="$ver|$DEP_CFLAGS|$CURL_OPTS"
	is_built curl "$key" && return 0
	dir=$(fetch_source curl "$ver")
	log "building libcurl $ver (autoreconf, configure, make -j$JOBS)"
	(
		cd "$dir"
		# Debian's series ends with two patches that turn the tree into the
		# GnuTLS and then the NSS flavour (libcurl-nss); debian/rules pops
		# them to build the OpenSSL one, and so do we.
		if [ ! -f .openssl-flavour ]; then
			for p in 99_nss 90_gnutls; do
				patch -s -R -p1 <"debian/patches/$p.patch"
			done
			touch .openssl-flavour
		fi
		[ -f .autoreconf-done ] || { autoreconf -fi >/dev/null 2>&1 && touch .autoreconf-done; }
		[ ! -f Makefile ] || make distclean >/dev/null 2>&1 || true
		# shellcheck disable=SC2086
		./configure -q --prefix="$PREFIX" $CURL_OPTS CFLAGS="$DEP_CFLAGS" >configure.out 2>&1 ||
			{ tail -n 30 config.log >&2; exit 1; }
		make -s -j"$JOBS" -C lib >make.out 2>&1 || { tail -n 40 make.out >&2; exit 1; }
		make -s -C lib install >/dev/null
		make -s -C include install >/dev/null
		make -s install-pkgconfigDATA >/dev/null
	)
	mark_built curl "$key"
}

# --- libarchive --------------------------------------------------------------
# Only the zip writer is used (artifacts), with zlib deflate. Formats cannot
# be configured out, but from a static archive the linker takes only the
# objects the program reaches; every optional compressor, crypto backend,
# XML, ACL and xattr is switched off here.
#
# iconv stays on (glibc's own; no GNU libiconv): core/zip.c asks for UTF-8
# names (hdrcharset=UTF-8, which sets the zip's UTF-8 flag, bit 11), and
# libarchive serves that option through a conversion from the locale's
# charset. The program never calls setlocale, so that is the C locale's
# ANSI_X3.4-1968, and without iconv libarchive has no converter from it to
# UTF-8 at all: the option fails ("A character-set conversion not fully
# supported on this platform") and no zip can be written. With iconv, the
# conversions it needs (ANSI_X3.4-1968 <-> UTF-8) are among the ones glibc
# builds into libc itself (iconv/gconv_builtin.h), so the static binary needs
# no gconv modules in the image; the zip check at the end of this script and
# tests/container/rootfs-test.sh prove it in an empty root.
ARCHIVE_OPTS="--disable-shared --enable-static --with-pic
--disable-bsdtar --disable-bsdcat --disable-bsdcpio --disable-acl --disable-xattr
--disable-rpath --with-zlib --without-bz2lib --without-libb2 --with-iconv
--without-libiconv-prefix --without-lz4 --without-zstd --without-lzma
--without-lzo2 --without-cng --without-mbedtls --without-nettle --without-openssl
--without-xml2 --without-expat --disable-posix-regex-lib"
build_libarchive() {
	ver=$(source_version libarchive)
	key="$ver|$DEP_CFLAGS|$ARCHIVE_OPTS"
	is_built libarchive "$key" && return 0
	dir=$(fetch_source libarchive "$ver")
	log "building libarchive $ver (autoreconf, configure, make -j$JOBS)"
	(
		cd "$dir"
		[ -f .autoreconf-done ] || { autoreconf -fi >/dev/null 2>&1 && touch .autoreconf-done; }
		[ ! -f Makefile ] || make distclean >/dev/null 2>&1 || true
		# shellcheck disable=SC2086
		./configure -q --prefix="$PREFIX" $ARCHIVE_OPTS CFLAGS="$DEP_CFLAGS" >configure.out 2>&1 ||
			{ tail -n 30 config.log >&2; exit 1; }
		make -s -j"$JOBS" libarchive.la >make.out 2>&1 || { tail -n 40 make.out >&2; exit 1; }
		make -s install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA >/dev/null
	)
	mark_built libarchive "$key"
}

build_cjson
build_libyaml
build_curl
build_libarchive
rm -f "$PREFIX"/lib/*.la

[ "$deps_only" -eq 1 ] && { log "dependencies ready in $PREFIX"; exit 0; }

# --- the program -------------------------------------------------------------
# Our prefix comes first, so its libcurl/libarchive/cJSON/libyaml .pc files
# win over Debian's; openssl.pc and zlib.pc come from Debian's multiarch dir.
# `pkg-config --static` adds each library's private deps (-lssl -lcrypto -lz
# -lpthread ...). PKG_CONFIG_LIBDIR is exported (not a make argument) so
# make's $(shell pkg-config ...) sees it too.
PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig:/usr/lib/$MULTIARCH/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig
export PKG_CONFIG_LIBDIR
# The Makefile runs scripts/bootstrap.sh (the development packages, Criterion,
# Node.js) before compiling anything; the static build needs none of that,
# everything it uses was installed above, so mark it done for this tree.
mkdir -p "$OUT"
touch "$OUT/.deps"
log "linking $OUT/mlops"
# glibc's link-time notes about getaddrinfo and dlopen in a static binary are
# expected (see the DNS note above) and filtered out; everything else shows.
status=0
make -s BUILD="$OUT" PKG_CONFIG="pkg-config --static" LDFLAGS="-static -Wl,--gc-sections" \
	CFLAGS="${CFLAGS:--O2 -g}" "$OUT/mlops" >"$OUT/make.log" 2>&1 || status=$?
grep -v -e "statically linked applications requires at runtime" \
	-e "in function .*':$" "$OUT/make.log" >&2 || true
[ "$status" -eq 0 ] || { log "make failed (exit $status)"; exit 1; }
[ -x "$OUT/mlops" ] || { log "link failed"; exit 1; }
file "$OUT/mlops" | grep -q 'statically linked' ||
	{ log "$OUT/mlops is not statically linked: $(file "$OUT/mlops")"; exit 1; }
file "$OUT/mlops" >&2

# --- the zip check -----------------------------------------------------------
# The static libraries must be able to write an artifact zip with a UTF-8
# name (see the libarchive note above): scripts/zip-check.c, linked like the
# program against its own core/zip.c, zips a small tree and reads the
# archive's central directory back. Run as root it runs in an empty root
# (chroot): no gconv modules, no locale files, as in the image.
log "checking that the static build writes a zip (scripts/zip-check.c)"
chk=$OUT/zip-check.d
rm -rf "$chk"
u8=$(printf 'd\303\251j\303\240/na\303\257ve \342\234\223.txt') # déjà/naïve ✓.txt
mkdir -p "$chk/root/tree/logs" "$chk/root/tree/empty" "$chk/root/tree/${u8%/*}"
printf 'epoch 1/1 loss 0.5\n' >"$chk/root/tree/logs/std_log.txt"
printf 'utf-8\n' >"$chk/root/tree/$u8"
# fs_walk's sorted order; the empty directory is an entry of its own.
expected=$(printf '%s\nempty/\nlogs/std_log.txt' "$u8")
# shellcheck disable=SC2046
cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Isrc $(pkg-config --static --cflags libarchive libcrypto) \
	-o "$chk/root/zip-check" scripts/zip-check.c "$OUT/libmlops.a" \
	-static $(pkg-config --static --libs libarchive libcrypto) \
	-lpthread >"$chk/cc.log" 2>&1 || { cat "$chk/cc.log" >&2; log "zip check: link failed"; exit 1; }
# chroot works when the bare program answers from inside it (usage: exit 2).
rc=1
[ "$(id -u)" -ne 0 ] || { chroot "$chk/root" /zip-check >/dev/null 2>&1 || rc=$?; }
if [ "$rc" -eq 2 ]; then
	where="in an empty root"
	got=$(env -i "$(command -v chroot)" "$chk/root" /zip-check /tree /out.zip) || got="FAILED"
else
	where="in place (not root, or no chroot here)"
	got=$(env -i "$chk/root/zip-check" "$chk/root/tree" "$chk/root/out.zip") || got="FAILED"
fi
if [ "$got" != "$expected" ]; then
	log "zip check $where: the static build cannot write a correct zip; entries: $got"
	exit 1
fi
log "zip check $where: ok ($(wc -c <"$chk/root/out.zip") bytes, $(echo "$got" | wc -l) entries, UTF-8 flag on the non-ASCII name)"
rm -rf "$chk"
