# What tools/build-test-image and tools/build-cloud-init-image share: a BIOS-bootable disk
# made in an image file without root and without a loop device (an MBR partition table
# written by hand, a FAT partition with SYSLINUX, the kernel and its initramfs), then a
# compressed qcow2 published under its final name together with its cache key.
#
# Sourced, not run. The caller sets `log_name` (the prefix of its messages) and, for
# apt_update_once, nothing else. Both builders hash this file into their cache keys.

syslinux_dir=/usr/lib/syslinux

log() { echo "$log_name: $*" >&2; }
die() { log "error: $*"; exit 1; }

apt_updated=0
# Refresh apt's package lists, once per run: only when apt does not know a package or a
# download fails (lists missing on a fresh machine, or older than the mirror).
apt_update_once() {
  [ "$apt_updated" -eq 0 ] || return 1
  apt_updated=1
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "refreshing apt's package lists (apt-get update)"
  "${sudo[@]}" apt-get update -qq >&2
}

# Four little-endian bytes, as printf escapes.
le32() {
  printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
    $(($1 >> 16 & 255)) $(($1 >> 24 & 255))
}

# mbr_boot_code DISK: SYSLINUX's MBR boot code and the 0x55AA signature.
mbr_boot_code() {
  dd if="$syslinux_dir/mbr/mbr.bin" of="$1" bs=440 count=1 conv=notrunc status=none
  printf '\x55\xaa' | dd of="$1" bs=1 seek=510 conv=notrunc status=none
}

# mbr_partition DISK SLOT(1-4) BOOT(0x80 or 0x00) TYPE(hex byte) START SECTORS: one
# 16-byte entry of the partition table at byte 446: status, CHS fields at their "use
# LBA" values, type, then first sector and sector count, little-endian.
mbr_partition() {
  local disk=$1 slot=$2 boot=$3 type=$4 start=$5 sectors=$6
  # shellcheck disable=SC2059  # the format is the binary entry, built from escapes
  printf "\\x${boot#0x}\\xfe\\xff\\xff\\x${type#0x}\\xfe\\xff\\xff$(le32 "$start")$(le32 "$sectors")" |
    dd of="$disk" bs=1 seek=$((446 + 16 * (slot - 1))) conv=notrunc status=none
}

# syslinux_partition DISK START SECTORS LABEL SOURCE:NAME...: a FAT16 file system in the
# partition at START, the files given (SOURCE copied as NAME, the SYSLINUX configuration
# among them), and SYSLINUX installed in it.
syslinux_partition() {
  local disk=$1 start=$2 sectors=$3 label=$4 file
  shift 4
  # (mkfs.vfat warns that the image file is larger than the partition: it is meant to be)
  mkfs.vfat -F 16 -n "$label" --invariant --offset "$start" -h "$start" \
    "$disk" $((sectors / 2)) 2>&1 >/dev/null | { grep -v '^Warning: block count mismatch' >&2 || true; }
  export MTOOLS_SKIP_CHECK=1  # mtools would object to the geometry of an image file
  for file in "$@"; do
    mcopy -i "$disk@@$((start * 512))" "${file%%:*}" "::/${file#*:}"
  done
  syslinux --offset $((start * 512)) --install "$disk"
}

# publish_image RAW IMAGE KEY: a compressed qcow2 under a temporary name, then renamed,
# so that a killed build never leaves a half-written image under the final name. The key
# goes last, so an image without its key is rebuilt next time.
publish_image() {
  local raw=$1 image=$2 key=$3
  qemu-img convert -q -c -f raw -O qcow2 "$raw" "$image.tmp.$$"
  mv -f "$image.tmp.$$" "$image"
  echo "$key" >"$image.key.tmp.$$"
  mv -f "$image.key.tmp.$$" "$image.key"
}
