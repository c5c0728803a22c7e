// Debian's qemu-user-binfmt registration for aarch64, as /proc/sys/fs/binfmt_misc/qemu-aarch64 shows it.
export const QEMU_AARCH64 = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: POCF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;
