#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""craft-meta.py IMAGE WHAT: damage a dm-vela metadata image on purpose,
keeping every checksum valid, so that the tools meet hostile bytes behind
a valid-looking block (the fuzzer's restamp, for the shell tests).

WHAT:
  pool-name HEX   the superblock's pool name becomes these bytes (hex)
  branch-name OLD HEX
                  the branch record named OLD gets these bytes as its name
  bad-csum        flip a byte of the superblock without restamping it
"""
import struct
import sys

BLOCK = 4096
SB_BYTES = 512
POOL_NAME_OFF = 88                     # after the 32-byte header, magic, version,
POOL_NAME_LEN = 64                               # flags, three feature words, uuid
BRANCH_NAME_LEN = 128


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def stamp(img, off, length):
    """The block checksum: ~crc32c(~0) over bytes 4..length."""
    csum = crc32c(img[off + 4:off + length])
    img[off:off + 4] = struct.pack('<I', csum)


def main():
    path, what = sys.argv[1], sys.argv[2]
    with open(path, 'rb') as f:
        img = bytearray(f.read())
    if what == 'pool-name':
        name = bytes.fromhex(sys.argv[3])[:POOL_NAME_LEN - 1]
        img[POOL_NAME_OFF:POOL_NAME_OFF + POOL_NAME_LEN] = name.ljust(POOL_NAME_LEN, b'\0')
        stamp(img, 0, SB_BYTES)
    elif what == 'branch-name':
        old = sys.argv[3].encode().ljust(BRANCH_NAME_LEN, b'\0')
        new = bytes.fromhex(sys.argv[4])[:BRANCH_NAME_LEN - 1].ljust(BRANCH_NAME_LEN, b'\0')
        at = img.find(old, BLOCK)
        if at < 0:
            sys.exit('no branch named ' + sys.argv[3])
        img[at:at + BRANCH_NAME_LEN] = new
        block = at // BLOCK * BLOCK
        stamp(img, block, BLOCK)
    elif what == 'bad-csum':
        img[100] ^= 0xFF
    else:
        sys.exit(__doc__)
    with open(path, 'wb') as f:
        f.write(img)


main()
