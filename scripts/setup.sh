#!/usr/bin/env bash
# Installs everything kmatrix needs on Debian 12: `sudo make setup`, once.
# Idempotent: a second run installs nothing and takes a few seconds.
# As a normal user (what `make run` and `make test` do first) it only checks,
# and when something is missing prints the one command to run as root.
set -euo pipefail

need_apt=()
pkgs=(
  qemu-system-x86 qemu-system-arm            # the VMs
  qemu-system-misc                            # qemu-system-s390x (s390x cells, on request)
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross # arm64 kernel + static guest link
  gcc-s390x-linux-gnu libc6-dev-s390x-cross   # s390x kernel + static guest link
  linux-source-6.1 make gcc flex bison bc libelf-dev libssl-dev xz-utils cpio # kernel build
  lz4                                         # compresses the x86_64 bzImage (CONFIG_KERNEL_LZ4)
  rustc libstd-rust-dev:arm64                 # Debian rustc 1.63 cross-builds the arm64 guest
  libstd-rust-dev:i386 gcc-i686-linux-gnu libc6-dev-i386-cross              # compat cells: the i686 probe on x86_64
  libstd-rust-dev:armhf gcc-arm-linux-gnueabihf libc6-dev-armhf-cross       # compat cells: the armhf probe on arm64
  libc6-dev                                   # static glibc for the x86_64 guest
  libseccomp-dev libcap-ng-dev pkg-config     # virtiofsd from crates.io
  chromium                                    # tests/report_formats.rs renders the HTML report
  libaio-dev libaio-dev:arm64 libaio-dev:s390x autoconf automake # building LTP's io_setup tests (README recipe)
)
# The s390x guest's std (libstd-rust-dev:s390x). Its package depends on
# libllvm14:s390x, which needs zlib1g:s390x at the amd64 version, and
# bookworm-security no longer builds s390x: once the host has a security
# update of zlib1g the package cannot be installed. Only its rlibs are
# needed (the guest is linked statically, LLVM is the host rustc's), so
# they are unpacked from the package where Debian's rustc looks for them.
s390x_std=/usr/lib/rustlib/s390x-unknown-linux-gnu/lib
s390x_std_ok=0
compgen -G "$s390x_std/libstd-*.rlib" >/dev/null && s390x_std_ok=1
root=0
[ "$(id -u)" -eq 0 ] && root=1

arm64_ok=1
dpkg --print-foreign-architectures | grep -qx arm64 || arm64_ok=0
s390x_ok=1
dpkg --print-foreign-architectures | grep -qx s390x || s390x_ok=0
# The 32-bit probes' std (compat cells) comes from these dpkg architectures.
compat_ok=1
for a in i386 armhf; do
  dpkg --print-foreign-architectures | grep -qx "$a" || compat_ok=0
done
for p in "${pkgs[@]}"; do
  # dpkg-query knows "name:arch"; a missing package prints nothing useful.
  st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$st" == ii* ]] || need_apt+=("$p")
done

# virtiofsd is not packaged for Debian 12; crates.io has it. It must be where
# every user finds it (not in root's ~/.cargo/bin).
virtiofsd_ok=0
for d in /usr/local/bin /usr/bin /usr/libexec; do
  [ -x "$d/virtiofsd" ] && virtiofsd_ok=1
done

if ((root == 0)); then
  if ((${#need_apt[@]} || !virtiofsd_ok || !arm64_ok || !s390x_ok || !s390x_std_ok || !compat_ok)); then
    missing="${need_apt[*]}"
    ((virtiofsd_ok)) || missing="$missing virtiofsd"
    ((arm64_ok)) || missing="$missing dpkg-arch:arm64"
    ((s390x_ok)) || missing="$missing dpkg-arch:s390x"
    ((compat_ok)) || missing="$missing dpkg-arch:i386,armhf"
    ((s390x_std_ok)) || missing="$missing libstd-rust-dev:s390x"
    echo "setup: missing:${missing}" >&2
    echo "setup: run this once as root, then retry: sudo make -C $(cd "$(dirname "$0")/.." && pwd) setup" >&2
    exit 1
  fi
  echo "setup: ok"
  exit 0
fi

if ((!arm64_ok)); then
  dpkg --add-architecture arm64
fi
if ((!s390x_ok)); then
  dpkg --add-architecture s390x
fi
if ((!compat_ok)); then
  dpkg --add-architecture i386
  dpkg --add-architecture armhf
fi
if ((${#need_apt[@]} || !s390x_ok || !compat_ok)); then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  ((${#need_apt[@]})) && apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
if ((!s390x_std_ok)); then
  echo "setup: unpacking libstd-rust-dev:s390x's rlibs into $s390x_std"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq libstd-rust-dev:s390x 2>/dev/null && dpkg-deb -x libstd-rust-dev_*_s390x.deb x)
  mkdir -p "$s390x_std"
  cp -a "$tmp"/x/usr/lib/rustlib/s390x-unknown-linux-gnu/lib/. "$s390x_std"/
  rm -rf "$tmp"
fi
if ((!virtiofsd_ok)); then
  own="${CARGO_HOME:-$HOME/.cargo}/bin/virtiofsd"
  if [ -x "$own" ]; then
    # Built before into root's own cargo dir: the same binary, for everyone.
    echo "setup: installing $own to /usr/local/bin"
    install -m 0755 "$own" /usr/local/bin/virtiofsd
  else
    echo "setup: cargo install --root /usr/local virtiofsd (about a minute)"
    cargo install --quiet --locked --root /usr/local virtiofsd
  fi
fi
# kcidb-io: its schema validator checks --format kcidb (tests/report_formats.rs).
if ! python3 -c 'import kcidb_io' >/dev/null 2>&1; then
  echo "setup: pip install kcidb-io"
  python3 -m pip install --quiet kcidb-io
fi
echo "setup: ok"
