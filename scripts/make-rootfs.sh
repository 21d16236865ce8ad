#!/bin/sh
# Lays out the container image's filesystem as a directory: exactly what the
# Dockerfile's final (FROM scratch) stage copies, so tests/container/
# rootfs-test.sh can run the image's contents without a docker engine.
#
#   scripts/make-rootfs.sh BINARY DESTDIR      e.g. build/static/mlops build/rootfs
#
# DESTDIR/
#   usr/bin/mlops                       the static binary, stripped
#   usr/bin/<workflow> -> mlops         one link per entrypoint (mlops --list)
#   etc/ssl/certs/ca-certificates.crt   Debian's CA bundle (libcurl's default)
#   etc/nsswitch.conf                   hosts: files dns (see build-static.sh)
#   tmp/                                1777
#
# No shell, no passwd (the runner runs container actions as root), no
# /etc/hosts or /etc/resolv.conf (docker injects both), no gconv modules or
# locales (the zip writer's UTF-8 names need only the converters glibc builds
# in; see build-static.sh).
set -eu

[ $# -eq 2 ] || { echo "usage: $0 BINARY DESTDIR" >&2; exit 2; }
bin=$1
dest=$2
ca=/etc/ssl/certs/ca-certificates.crt

[ -x "$bin" ] || { echo "make-rootfs: no executable $bin (run make static)" >&2; exit 1; }
file "$bin" | grep -q 'statically linked' ||
	{ echo "make-rootfs: $bin is not statically linked" >&2; exit 1; }
[ -s "$ca" ] || { echo "make-rootfs: no $ca (apt-get install ca-certificates)" >&2; exit 1; }

# The program is the one list of entrypoints.
workflows=$("$bin" --list)
[ -n "$workflows" ] || { echo "make-rootfs: '$bin --list' printed nothing" >&2; exit 1; }

# Build beside the destination and swap it in, so a failure never leaves a
# half-made rootfs behind.
tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp/usr/bin" "$tmp/etc/ssl/certs" "$tmp/tmp"
chmod 1777 "$tmp/tmp"

strip --strip-all -o "$tmp/usr/bin/mlops" "$bin"
chmod 755 "$tmp/usr/bin/mlops"
for wf in $workflows; do
	case $wf in
	*/* | .* | mlops | "") echo "make-rootfs: bad workflow name '$wf'" >&2; exit 1 ;;
	esac
	ln -s mlops "$tmp/usr/bin/$wf"
done

# Copy the bundle's contents (in Debian it is a regular file, but follow any
# link so the image never holds a dangling one).
cp -L "$ca" "$tmp/etc/ssl/certs/ca-certificates.crt"
chmod 644 "$tmp/etc/ssl/certs/ca-certificates.crt"

# glibc's built-in default is the same for hosts; writing it down keeps a
# future default from naming a service a static binary would have to dlopen.
printf 'hosts: files dns\n' >"$tmp/etc/nsswitch.conf"
chmod 644 "$tmp/etc/nsswitch.conf"

rm -rf "$dest"
mv "$tmp" "$dest"
echo "make-rootfs: $dest ($(echo "$workflows" | wc -l) entrypoints, $(du -sh "$dest" | cut -f1))" >&2
