#!/usr/bin/env bash
# Install the Debian/Ubuntu packages ownstack needs, only those that are missing.
# Idempotent and quiet when everything is there; needs root (or sudo) otherwise.
set -euo pipefail

# What each package is for:
#   python3, python3-venv, python3-dev, gcc : the virtualenv, and building any wheel that lacks one
#   ca-certificates, curl                    : fetching Python packages; health checks by hand
#   iproute2, procps                         : the network service and `ownstack status`
#   qemu-utils                               : qemu-img, which inspects and converts disk images
#   util-linux                               : prlimit, which bounds what qemu-img may use;
#                                              flock, one test-image build at a time
#   qemu-system-x86                          : the compute driver's hypervisor (and SeaBIOS)
#   syslinux, syslinux-common                : the test image's boot loader and MBR
#   mtools, dosfstools                       : the test image's FAT partition, made without root
#   cpio                                     : the test image's initramfs
#   xorriso                                  : config drives (ISO9660) in the test-image tests
#   dnsmasq-base                             : the DHCP server of each network (no system service)
#   radvd                                    : IPv6 router advertisements from each router
#   nftables                                 : security groups, NAT, and the host's leak guard
#   busybox                                  : udhcpc, a DHCP client for the data-path tests
#   tcpdump                                  : the data-path tests' captures (nothing leaks)
#   openssh-client                           : ssh and ssh-keygen, to reach guests as a user does
#   mmdebstrap, e2fsprogs                    : the Debian cloud-init image: its system, from Debian's
#                                              packages, and its ext4 root (mkfs.ext4 -d)
#   novnc                                    : the noVNC web client the console proxy serves
#                                              (/usr/share/novnc, as devstack uses)
#   chromium, chromium-driver                : the console e2e test's headless browser
PACKAGES=(python3 python3-venv python3-dev gcc ca-certificates curl iproute2 procps qemu-utils util-linux
          qemu-system-x86 syslinux syslinux-common mtools dosfstools cpio xorriso dnsmasq-base radvd
          nftables busybox tcpdump openssh-client mmdebstrap e2fsprogs novnc chromium chromium-driver)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "install-system-deps: missing ${missing[*]}, and this is not a Debian/Ubuntu system" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-system-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
