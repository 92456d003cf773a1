"""Writes intercepted packets into the named pipes rtpengine's recording daemon reads.

The daemon takes one packet per read(), as from the kernel module's /proc files. A pipe keeps
packet boundaries only when its writer is in "packet mode" (O_DIRECT, Linux 3.4+), which must
be set with fcntl after opening a FIFO: Node has no fcntl, hence this helper.

Usage: feed-fifos.py PACKETS FIFO...  PACKETS holds records of
  [stream index: u8][length: u16 big-endian][packet: IP + UDP + RTP]
"""
import fcntl
import os
import struct
import sys


def main() -> int:
    packets_path, fifos = sys.argv[1], sys.argv[2:]
    writers = []
    for path in fifos:
        fd = os.open(path, os.O_WRONLY)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_DIRECT)
        writers.append(fd)
    with open(packets_path, 'rb') as packets:
        while True:
            head = packets.read(3)
            if len(head) < 3:
                break
            index, length = struct.unpack('>BH', head)
            data = packets.read(length)
            if index < len(writers):
                os.write(writers[index], data)
    for fd in writers:
        os.close(fd)
    return 0


if __name__ == '__main__':
    sys.exit(main())
