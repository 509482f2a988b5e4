#!/usr/bin/env bash
# Installs everything kmatrix needs on Debian 12 (run as root). Idempotent: a
# second run installs nothing and takes a few seconds.
set -euo pipefail

need_apt=()
pkgs=(
  qemu-system-x86 qemu-system-arm            # the VMs
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross # arm64 kernel + static guest link
  linux-source-6.1 make gcc flex bison bc libelf-dev libssl-dev xz-utils cpio # kernel build
  lz4                                         # compresses the x86_64 bzImage (CONFIG_KERNEL_LZ4)
  rustc libstd-rust-dev:arm64                 # Debian rustc 1.63 cross-builds the arm64 guest
  libc6-dev                                   # static glibc for the x86_64 guest
  libseccomp-dev libcap-ng-dev pkg-config     # virtiofsd from crates.io
  chromium                                    # tests/report_formats.rs renders the HTML report
  libaio-dev libaio-dev:arm64 autoconf automake # building LTP's io_setup tests (README recipe)
)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
for p in "${pkgs[@]}"; do
  # dpkg-query knows "name:arch"; a missing package prints nothing useful.
  st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$st" == ii* ]] || need_apt+=("$p")
done
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# virtiofsd is not packaged for Debian 12; crates.io has it.
if ! command -v virtiofsd >/dev/null 2>&1 && [ ! -x /usr/libexec/virtiofsd ]; then
  echo "setup: cargo install virtiofsd (about a minute)"
  cargo install --quiet --locked virtiofsd
fi
# kcidb-io: its schema validator checks --format kcidb (tests/report_formats.rs).
if ! python3 -c 'import kcidb_io' >/dev/null 2>&1; then
  echo "setup: pip install kcidb-io"
  python3 -m pip install --quiet kcidb-io
fi
echo "setup: ok"
