#!/bin/sh
# hardened-rke2: CIS host preparation for an RKE2 node (run as root BEFORE the registration command).
# Creates the '@{ETCD_USER}' system user/group (RKE2's CIS profile runs etcd as that user) and sets and
# persists the kernel parameters the CIS profile requires. Safe to run more than once.
set -eu
umask 022

SYSCTL_DIR="${HARDENED_RKE2_SYSCTL_DIR:-@{SYSCTL_DIR}}"
SYSCTL_FILE="$SYSCTL_DIR/@{SYSCTL_FILE_NAME}"

if [ "$(id -u)" != "0" ]; then
  echo "hardened-rke2: run this script as root" >&2
  exit 1
fi

# FIPS 140 cluster (compliance.fips): RKE2's FIPS build is linux/amd64 only, and the node's kernel must run in
# FIPS mode (booted with fips=1). Refuse the node before anything is changed; see docs/fips.md.
REQUIRE_FIPS=@{REQUIRE_FIPS}
if [ "$REQUIRE_FIPS" = "1" ]; then
  arch="$(uname -m)"
  if [ "$arch" != "x86_64" ]; then
    echo "hardened-rke2: this is a FIPS cluster and RKE2 is FIPS-built for linux/amd64 only; this node is $arch" >&2
    exit 1
  fi
  fips_flag="${HARDENED_RKE2_FIPS_FLAG_FILE:-/proc/sys/crypto/fips_enabled}"
  if [ "$(cat "$fips_flag" 2>/dev/null || echo 0)" != "1" ]; then
    echo "hardened-rke2: this is a FIPS cluster and the kernel is not in FIPS mode ($fips_flag is not 1):" >&2
    echo "hardened-rke2: enable the OS's FIPS mode (e.g. 'fips-mode-setup --enable' on RHEL, 'pro enable fips' on Ubuntu), reboot, and run this again" >&2
    exit 1
  fi
  echo "hardened-rke2: kernel FIPS mode is on"
fi

nologin=/bin/false
for candidate in /usr/sbin/nologin /sbin/nologin; do
  if [ -x "$candidate" ]; then nologin="$candidate"; break; fi
done

if ! getent group @{ETCD_GROUP} >/dev/null 2>&1; then
  if command -v groupadd >/dev/null 2>&1; then
    groupadd --system @{ETCD_GROUP}
  else
    addgroup -S @{ETCD_GROUP}
  fi
  echo "hardened-rke2: created group @{ETCD_GROUP}"
fi

if ! getent passwd @{ETCD_USER} >/dev/null 2>&1; then
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --gid @{ETCD_GROUP} --no-create-home --shell "$nologin" --comment "etcd user" @{ETCD_USER}
  else
    adduser -S -D -H -G @{ETCD_GROUP} -s "$nologin" -g "etcd user" @{ETCD_USER}
  fi
  echo "hardened-rke2: created user @{ETCD_USER}"
fi

mkdir -p "$SYSCTL_DIR"
tmp="$SYSCTL_FILE.tmp.$$"
cat > "$tmp" <<'HARDENED_RKE2_SYSCTL'
@{SYSCTL_CONF}
HARDENED_RKE2_SYSCTL
if [ -f "$SYSCTL_FILE" ] && cmp -s "$tmp" "$SYSCTL_FILE"; then
  rm -f "$tmp"
else
  chmod 0644 "$tmp"
  mv -f "$tmp" "$SYSCTL_FILE"
  echo "hardened-rke2: wrote $SYSCTL_FILE"
fi

sysctl -p "$SYSCTL_FILE" >/dev/null

# Verify the running kernel now has every value; RKE2 would refuse to start otherwise.
failed=0
for setting in @{CIS_SETTINGS}; do
  key="${setting%%=*}"
  want="${setting#*=}"
  have="$(sysctl -n "$key")"
  if [ "$have" != "$want" ]; then
    echo "hardened-rke2: $key is $have, expected $want" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || exit 1

# SELinux: with 'selinux: true' in the RKE2 config, the node also needs the container-selinux and
# rke2-selinux packages (RKE2's RPM repository). This script does not install packages.
if command -v getenforce >/dev/null 2>&1 && [ "$(getenforce)" = "Enforcing" ]; then
  if ! rpm -q rke2-selinux >/dev/null 2>&1; then
    echo "hardened-rke2: note: SELinux is enforcing; install container-selinux and rke2-selinux before RKE2"
  fi
fi

echo "hardened-rke2: host prepared for the RKE2 CIS profile"
