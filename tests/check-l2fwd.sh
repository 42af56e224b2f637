#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The mmrt authors
#
# examples/l2fwd_mmrt on real ethdevs, end to end (issue 13):
#
#   pcap       net_pcap reads N frames of varied sizes from a pcap file
#              this script writes (by hand: python3, no scapy) and writes
#              what it sends to another; the output must hold the same N
#              frames, byte for byte, in order.
#   af_packet  net_af_packet on one end of a veth pair, in a network
#              namespace of its own; a python3 AF_PACKET peer in a second
#              namespace on the other end sends N frames and must get the
#              same N back, byte for byte, in order; the example is then
#              stopped with SIGINT. Needs root and network namespaces
#              (skipped, exit 77, otherwise). The namespaces, and the veth
#              pair with them, are removed on every exit.
#
# In both, the example's own checks must pass (exit 0): every packet copied
# by dma_mmrt into the guest region and verified there, no DMA error, the
# uffd filled exactly the guest pages the copies touched, the mbuf pool
# and the frame pool back to their starting counts. The script also
# checks from the final statistics that every packet was copied and
# verified and that the demand fills are > 0 and equal the pages touched,
# which it computes itself from the frame count (2 KiB slots, 2 per page).
#
# The example is built out of tree against the build tree (its
# meson-uninstalled pkg-config file); the examples suite checks the build
# against a staged install.
#
# usage: check-l2fwd.sh SOURCE_ROOT BUILD_ROOT pcap|af_packet
set -euo pipefail

src=$1 build=$2 mode=$3
N=3000          # frames per run
SLOTS=2048      # guest slots of the default --guest-mb 4
out=$build/l2fwd-check/$mode
rm -rf "$out"
mkdir -p "$out"

export PKG_CONFIG_PATH=$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$build/lib:$build/pmd${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! make -s -C "$src/examples/l2fwd_mmrt" O="$out" >"$out/build.log" 2>&1; then
	cat "$out/build.log"
	echo "l2fwd_mmrt: FAILED to build"
	exit 1
fi
bin=$out/l2fwd_mmrt

# The frames: sizes from the minimum to a full 2 KiB slot (1514 at most
# on the veth, whose MTU is 1500), a sequence number after the Ethernet
# header, a payload that differs per frame.
FRAMES_PY='
import struct
def frames(n, maxlen):
    sizes = [60, 64, 65, 100, 127, 128, 256, 511, 512, 777, 1000, 1024,
             1280, 1500, 1514, 2048]
    sizes = [s for s in sizes if s <= maxlen]
    for i in range(n):
        ln = sizes[(i * 7) % len(sizes)]
        body = bytes(((i * 131 + j * 7) ^ (j >> 3)) & 0xff
                     for j in range(ln - 18))
        yield (b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" +
               struct.pack(">I", i) + body)
'

# check_log LOG FRAMES: the example's verdict and its final statistics.
check_log() {
	local log=$1 n=$2 copies verified fills touched ufilled want
	if [ "$(tail -n 1 "$log")" != "l2fwd_mmrt: OK" ]; then
		echo "l2fwd_mmrt did not end with OK"
		return 1
	fi
	read -r copies verified fills touched ufilled < <(sed -n \
		's/^guest *: \([0-9]*\) copies, \([0-9]*\) verified; faults [0-9]*, fills \([0-9]*\) (pages touched \([0-9]*\), uffd filled \([0-9]*\))$/\1 \2 \3 \4 \5/p' \
		"$log" | tail -n 1)
	want=$(( (n < SLOTS ? n : SLOTS) / 2 ))
	echo "guest: $copies copies, $verified verified, $fills fills," \
		"$touched pages touched, $ufilled filled by the uffd" \
		"(expected $n copies, $want pages)"
	if [ "${copies:-x}" != "$n" ] || [ "$verified" != "$n" ] ||
	   [ "$fills" != "$want" ] || [ "$touched" != "$want" ] ||
	   [ "$ufilled" != "$want" ] || [ "$want" -le 0 ]; then
		echo "guest copies or demand fills wrong"
		return 1
	fi
	grep -q '^mbuf pool: all [0-9]* mbufs back$' "$log" || {
		echo "mbuf pool not back to its start"; return 1; }
	grep -q '^frame pool: [0-9]* frames used at start and at end$' "$log" ||
		{ echo "frame pool not back to its start"; return 1; }
}

run_pcap() {
	python3 - "$out/in.pcap" "$N" <<EOF
import struct, sys
$FRAMES_PY
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(frames(int(sys.argv[2]), 2048)):
        f.write(struct.pack("<IIII", i, 0, len(fr), len(fr)) + fr)
EOF
	if ! timeout 120 "$bin" \
			--vdev=net_pcap0,rx_pcap="$out/in.pcap",tx_pcap="$out/out.pcap" \
			-- --packets "$N" -T 0 >"$out/run.log" 2>&1; then
		cat "$out/run.log"
		echo "l2fwd_mmrt (pcap): FAILED"
		return 1
	fi
	cat "$out/run.log"
	check_log "$out/run.log" "$N"
	python3 - "$out/in.pcap" "$out/out.pcap" <<'EOF'
import struct, sys
def read(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    off, out = 24, []
    while off < len(data):
        _, _, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + incl])
        if incl != orig:
            sys.exit("truncated frame in " + path)
        off += 16 + incl
    return out
a, b = read(sys.argv[1]), read(sys.argv[2])
print("pcap: %d frames in, %d out" % (len(a), len(b)))
if len(a) != len(b):
    sys.exit("frame count differs")
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        sys.exit("frame %d differs (%d bytes in, %d out)" % (i, len(x), len(y)))
print("pcap: every frame identical, in order")
EOF
}

nsa= nsb= pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	[ -z "$nsa" ] || ip netns del "$nsa" 2>/dev/null || true
	[ -z "$nsb" ] || ip netns del "$nsb" 2>/dev/null || true
}

run_af_packet() {
	local i rc=0 va=lfa$$ vb=lfb$$

	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (network namespaces, a veth pair)"
		exit 77
	fi
	if ! command -v ip >/dev/null; then
		echo "SKIP: no ip(8)"
		exit 77
	fi
	trap cleanup EXIT
	nsa=l2fwd-ex-$$
	nsb=l2fwd-peer-$$
	if ! ip netns add "$nsa" 2>"$out/ns.err" ||
	   ! ip netns add "$nsb" 2>>"$out/ns.err"; then
		cat "$out/ns.err"
		echo "SKIP: cannot create network namespaces"
		exit 77
	fi
	ip link add "$va" netns "$nsa" type veth peer name "$vb" netns "$nsb"
	# no IPv6: nothing but the peer's frames on the link
	for ns in "$nsa" "$nsb"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			2>/dev/null || true
		ip netns exec "$ns" sysctl -qw \
			net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
	done
	ip -n "$nsa" link set "$va" up
	ip -n "$nsb" link set "$vb" up

	ip netns exec "$nsa" "$bin" --vdev=net_af_packet0,iface="$va" \
		-- -T 0 --seconds 60 >"$out/run.log" 2>&1 &
	pid=$!
	for i in $(seq 1 300); do
		grep -q 'forwarding on lcore' "$out/run.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q 'forwarding on lcore' "$out/run.log"; then
		cat "$out/run.log"
		echo "l2fwd_mmrt (af_packet) did not come up"
		return 1
	fi

	ip netns exec "$nsb" python3 - "$vb" "$N" <<EOF || rc=$?
import socket, sys, time
$FRAMES_PY
iface, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
s.bind((iface, 0x88b5))
s.settimeout(10)
want = list(frames(n, 1514))
sent = got = 0
window = 32
while got < n:
    while sent < n and sent - got < window:
        s.send(want[sent])
        sent += 1
    try:
        data, addr = s.recvfrom(65536)
    except socket.timeout:
        sys.exit("peer: %d sent, %d back, then nothing for 10 s" % (sent, got))
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    if data != want[got]:
        sys.exit("peer: frame %d came back different (%d bytes, want %d)"
                 % (got, len(data), len(want[got])))
    got += 1
print("peer: %d frames sent, %d back identical and in order" % (sent, got))
EOF
	kill -INT "$pid" 2>/dev/null || true
	for i in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		cat "$out/run.log"
		echo "l2fwd_mmrt (af_packet) did not stop on SIGINT"
		return 1
	fi
	wait "$pid" || rc=$?
	pid=
	cat "$out/run.log"
	[ "$rc" = 0 ] || { echo "l2fwd_mmrt (af_packet): FAILED"; return 1; }
	grep -q '^l2fwd_mmrt: signal received, stopped$' "$out/run.log" || {
		echo "no clean stop on SIGINT"; return 1; }
	check_log "$out/run.log" "$N"
}

case $mode in
pcap) run_pcap ;;
af_packet) run_af_packet ;;
*) echo "usage: $0 SOURCE_ROOT BUILD_ROOT pcap|af_packet" >&2; exit 2 ;;
esac
echo "l2fwd_mmrt ($mode): OK"
