#!/usr/bin/env python3
# Writes the seed inputs of fuzz/backend_ring_fuzz (fuzz/corpus-backend/); the
# input format is the command program described in fuzz/backend_ring_fuzz.c.
import struct, os
def hdr(order=0, grants=8, flags=0, size=1<<20):
    return bytes([order, grants, flags]) + struct.pack('>Q', size)
def shaped_rw(op, nseg, sector, refs, fl=(0,7)):
    b = bytes([op, nseg]) + struct.pack('>H', sector)
    for i in range(11):
        r = refs[i] if i < len(refs) else 0
        b += bytes([(fl[0]<<4)|fl[1], r])
    return b
def shaped_ind(iop, nseg, sector, iref):
    return bytes([4, iop]) + struct.pack('>H', nseg) + struct.pack('>H', sector) + bytes([iref])
def shaped_disc(flag, sector, n):
    return bytes([3, flag]) + struct.pack('>HH', sector, n)
def shaped_flush(nseg=0):
    return shaped_rw(2, nseg, 0, [])
def cmd_shaped(reqs):
    return bytes([1, len(reqs)-1]) + b''.join(reqs)
RUN = bytes([5])
def fill_ind(idx, n, base, step, sect=0x07):
    return bytes([7, idx]) + struct.pack('>H', n) + bytes([base, step, sect])
seeds = {}
seeds['rw'] = hdr() + cmd_shaped([shaped_rw(1,3,16,[1,2,3]), shaped_rw(0,3,16,[4,5,6]),
    shaped_rw(0,1,100,[7],(2,3)), shaped_flush(), shaped_disc(0,512,8), shaped_disc(1,0,8),
    shaped_rw(0,2,0,[31,1]), shaped_rw(1,1,0,[31]), shaped_rw(5,1,0,[1]), shaped_flush(1)]) + RUN
seeds['bad'] = hdr() + cmd_shaped([shaped_rw(0,0,0,[1]), shaped_rw(0,12,0,[1]*11),
    shaped_rw(0,1,0,[1],(5,4)), shaped_rw(0,1,0,[1],(0,8)), shaped_rw(0,1,2047,[1]),
    shaped_rw(0,1,0,[33]), shaped_disc(0,2040,9)]) + RUN
seeds['indirect'] = hdr(order=1, grants=4) + fill_ind(10, 8, 0, 1) + fill_ind(11, 256, 3, 7) + fill_ind(12, 256, 0, 0) + \
    cmd_shaped([shaped_ind(1,8,512,10), shaped_ind(0,8,512,10), shaped_ind(0,256,0,11), shaped_ind(0,256,0,12),
                shaped_ind(2,4,0,10), shaped_ind(0,257,0,10), shaped_ind(0,0,0,10), shaped_ind(0,4,0,33)]) + RUN
seeds['indirect-ring'] = hdr(order=1, grants=4) + cmd_shaped([shaped_ind(0,4,0,40)]) + RUN + cmd_shaped([shaped_rw(0,1,0,[1])]) + RUN
seeds['hostile'] = hdr() + cmd_shaped([shaped_rw(0,1,0,[1])]) + RUN + bytes([3]) + struct.pack('>I', 100) + RUN
seeds['backwards'] = hdr() + bytes([9]) + struct.pack('>HH', 0, 7) + cmd_shaped([shaped_rw(0,1,0,[1]), shaped_rw(0,1,8,[2])]) + RUN + bytes([4, 0xff]) + RUN
seeds['eio'] = hdr() + bytes([9]) + struct.pack('>HH', 1000, 1007) + cmd_shaped([shaped_rw(1,1,1000,[1]), shaped_rw(0,1,0,[2])]) + RUN + bytes([8, 2]) + RUN
seeds['drain'] = hdr() + bytes([8, 1]) + cmd_shaped([shaped_rw(0,1,0,[1])]) + RUN + bytes([8, 4]) + RUN + bytes([11])
seeds['inline'] = hdr(order=2, grants=0, flags=1, size=1<<20) + fill_ind(12, 8, 0, 1) + cmd_shaped([shaped_rw(1,3,16,[1,2,3]), shaped_rw(0,3,16,[4,5,6]),
    shaped_flush(), shaped_disc(0,16,8), shaped_ind(1,8,64,12), shaped_ind(0,8,64,12)]) + RUN
seeds['full'] = hdr() + cmd_shaped([shaped_rw(0,1,i*8,[i%8]) for i in range(16)]) + cmd_shaped([shaped_rw(1,1,i*8,[i%8]) for i in range(16)]) + RUN
seeds['raw'] = hdr() + bytes([0, 0]) + bytes(112) + bytes([2]) + RUN + bytes([10, 0, 0, 0, 4]) + b'\xff\xff\xff\xff' + RUN
seeds['ringalias'] = hdr(order=1) + cmd_shaped([shaped_rw(0,1,0,[256-16+0])]) + RUN
seeds['stop'] = hdr() + cmd_shaped([shaped_rw(0,1,0,[1])]) + bytes([8, 0xf0]) + RUN
os.makedirs('fuzz/corpus-backend', exist_ok=True)
for k, v in seeds.items():
    open('fuzz/corpus-backend/' + k, 'wb').write(v)
