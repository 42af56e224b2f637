/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * vhost_mmrt: a vhost-user back-end (DPDK's rte_vhost) whose data path
 * copies through a dmadev -- the dma_mmrt engine, or any other -- with
 * vhost's async API, while the guest memory it copies into and out of is
 * mapped in an mmrt address space that a control thread invalidates and
 * remaps under the traffic.
 *
 * Front-end: any vhost-user driver, e.g. stock dpdk-testpmd with
 * --vdev=net_virtio_user0,path=SOCKET (tests/check-vhost.sh).
 *
 * Addresses. vhost's async path hands the dmadev the mbuf's IOVA on one
 * side and, on the other, the "host IOVA" of the guest buffer, which is
 * rte_mem_virt2iova() of the back-end's mapping of the guest region: under
 * IOVA-as-VA, both are plain virtual addresses of this process. So the
 * address space (--as NAME, the dma_mmrt device's as=NAME) maps both at
 * their own addresses with mmrt_map_host(): every contiguous chunk of
 * DPDK memory once at start, and every guest region of vhost's memory
 * table when the device appears or the table changes (vhost stops the
 * rings around a change: the mappings follow it, see ring_state()).
 *
 * Churn (--churn, a control thread, while traffic flows):
 *   inval  mmrt_advise(MMRT_ADV_DONTNEED) of a rotating 256 KiB guest
 *          range: every cached translation of it is dropped and every
 *          engine acks before the call returns, as for a vIOMMU IOTLB
 *          invalidation; the engine's next access faults the mapping back
 *          in (host mappings refault to the same bytes). Not drained: DMA
 *          is in flight across the invalidation.
 *   remap  mmrt_unmap() + mmrt_map_host() of a rotating guest range, as a
 *          memory-table update does: the data path is paused and its DMA
 *          drained first (vhost 22.11 treats a failed DMA completion as
 *          fatal to the ring, see README.md), then the range is unmapped
 *          and mapped again.
 *
 * Placement: the data path runs on the main lcore; the dma_mmrt engine on
 * its own lcore (lcore=N, default the highest free worker); the vhost
 * control thread and the churn thread are ordinary threads.
 *
 * Prints a statistics screen every --stats seconds and, at the end, the
 * totals and "vhost_mmrt: OK" (exit 0) or "vhost_mmrt: FAILED (reason)"
 * (exit 1). SIGINT/SIGTERM end it cleanly; so do --duration and
 * --exit-on-destroy.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_pause.h>
#include <rte_udp.h>
#include <rte_vhost.h>
#include <rte_vhost_async.h>

#include <mmrt_core.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_mm.h>

#define RXQ 0 /* the guest's receive ring: we enqueue into it */
#define TXQ 1 /* the guest's transmit ring: we dequeue from it */
#define BURST_MAX 64
#define MAX_MAPS 32
#define CHURN_LEN (256u << 10)
#define MAGIC 0x54534856544d4d52ull /* "RMMTVHST" */
#define POISON 0xa5

enum fwd_mode { FWD_IO, FWD_MAC, FWD_RXONLY, FWD_TXONLY };
static const char *const fwd_names[] = { "io", "mac", "rxonly", "txonly" };
enum churn_mode { CHURN_NONE, CHURN_INVAL, CHURN_REMAP };
static const char *const churn_names[] = { "none", "inval", "remap" };

static struct {
	char socket[256];
	bool socket_ours;   /* default path: removed at exit */
	char as_name[64];
	const char *dma;    /* dmadev name; NULL: synchronous path */
	enum fwd_mode fwd;
	enum churn_mode churn;
	uint64_t count;     /* txonly: packets to send, 0 = no limit */
	uint32_t pkt_len;   /* txonly */
	unsigned int burst;
	double duration;    /* seconds, 0 = until a signal */
	double stats;       /* seconds between screens, 0 = none */
	bool exit_on_destroy;
	bool verify;
	bool expect_traffic;
	bool start_on_usr1; /* txonly: generate only after SIGUSR1 */
} opt = {
	.as_name = "vhost_mmrt",
	.fwd = FWD_IO,
	.pkt_len = 64,
	.burst = 32,
	.stats = 1,
	.verify = true,
};

/* Counters of the data path (single writer: the main lcore). */
struct dp_stats {
	uint64_t rx_pkts, rx_bytes;  /* dequeued from the guest */
	uint64_t tx_pkts, tx_bytes;  /* delivered to the guest */
	uint64_t bad;                /* failed verification */
	uint64_t drops;              /* dropped by us */
	uint64_t retries;            /* enqueue bursts the guest ring cut short */
	uint64_t busy_cycles;        /* cycles of iterations that moved packets */
	uint64_t pauses;             /* drains for a remap */
	uint64_t back;               /* our packets back from the guest */
	uint64_t lost;               /* ... sequence gaps: the guest dropped */
	uint64_t first_tsc, last_tsc; /* first and last round that moved any */
};
static struct dp_stats st;

static volatile bool quit;
/* SIGUSR1 came: the generator may start (--start-on-usr1). */
static volatile sig_atomic_t gen_go;
static struct mmrt_as *as;
static struct rte_mempool *pool;
static int16_t dma_id = -1;
static bool async_path;
static struct rte_mbuf *pend[BURST_MAX];
static unsigned int npend, pend_off;
static bool said_delivered, said_back;
static uint64_t tx_seq, rx_seq; /* next to send, next expected back */

/*
 * The device. The vhost control thread publishes it (dev_vid, then
 * dev_ready) and withdraws it (dev_ready = 0, then waits until the data
 * path acked a generation that saw it withdrawn: ctrl_gen/dp_ack). The
 * data path reads ctrl_gen before dev_ready, so an ack of the new
 * generation means it saw dev_ready == 0 and is out of the device.
 */
static int dev_vid = -1;
static uint32_t dev_ready;
static uint64_t ctrl_gen, dp_ack;
static uint32_t dp_running;
static bool dev_up; /* between new_device and destroy_device */
static uint64_t devices_seen, devices_gone;

/* Guest mappings in the space (the vhost control thread and the churn
 * thread both change them: map_lock). */
struct gmap {
	uint64_t va, len;
};
static struct gmap gmaps[MAX_MAPS];
static unsigned int ngmaps;
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int rings_enabled;
static uint64_t n_mem_maps, n_mem_unmaps;

/* Churn: the thread asks for a pause (remap mode); the data path drains
 * and acks. */
static uint32_t pause_req, paused;
static uint64_t churn_invals, churn_remaps, churn_errors;
static pthread_t churn_tid;
static bool churn_started;

static char fail_reason[256];

static void free_pkts(struct rte_mbuf **m, unsigned int n);

static void
fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	if (fail_reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(fail_reason, sizeof(fail_reason), fmt, ap);
	va_end(ap);
}

static void
on_signal(int sig)
{
	RTE_SET_USED(sig);
	quit = true;
}

static void
on_usr1(int sig)
{
	RTE_SET_USED(sig);
	gen_go = 1;
}

/* ---- address space -------------------------------------------------- */

struct chunk {
	uint64_t va, len;
};
static struct chunk dpdk_chunks[256];
static unsigned int ndpdk_chunks;

static int
collect_chunk(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
	size_t len, void *arg)
{
	RTE_SET_USED(msl);
	RTE_SET_USED(arg);
	if (ndpdk_chunks == RTE_DIM(dpdk_chunks))
		return -1;
	dpdk_chunks[ndpdk_chunks].va = (uint64_t)(uintptr_t)ms->addr;
	dpdk_chunks[ndpdk_chunks].len = len;
	ndpdk_chunks++;
	return 0;
}

/* DPDK memory (the mbufs) at its own address; the walk only collects,
 * the mapping is done outside the memory lock. */
static int
map_dpdk_memory(void)
{
	unsigned int i;
	int ret;

	if (rte_memseg_contig_walk(collect_chunk, NULL) != 0) {
		fprintf(stderr, "too many DPDK memory chunks\n");
		return -ENOSPC;
	}
	for (i = 0; i < ndpdk_chunks; i++) {
		ret = mmrt_map_host(as, dpdk_chunks[i].va,
			(void *)(uintptr_t)dpdk_chunks[i].va, dpdk_chunks[i].len,
			MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
		if (ret < 0) {
			fprintf(stderr, "mmrt_map_host(DPDK memory %#" PRIx64
				"+%#" PRIx64 "): %s\n", dpdk_chunks[i].va,
				dpdk_chunks[i].len, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void
guest_unmap_all_locked(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ngmaps; i++) {
		ret = mmrt_unmap(as, gmaps[i].va, gmaps[i].len);
		if (ret < 0)
			fail("mmrt_unmap(guest %#" PRIx64 "): %s", gmaps[i].va,
				strerror(-ret));
		n_mem_unmaps++;
	}
	ngmaps = 0;
}

/*
 * Bring the guest mappings in line with vhost's memory table: the regions
 * as the back-end mapped them (host_user_addr, which rte_mem_virt2iova()
 * gives back under IOVA-as-VA), rounded out to pages. Unchanged: nothing.
 */
static int
guest_sync(int vid)
{
	struct rte_vhost_memory *mem = NULL;
	struct gmap want[MAX_MAPS];
	unsigned int i, n = 0;
	uint64_t a, e;
	int ret = 0;

	if (rte_vhost_get_mem_table(vid, &mem) != 0)
		return 0; /* no table yet */
	for (i = 0; i < mem->nregions && n < MAX_MAPS; i++) {
		a = mem->regions[i].host_user_addr;
		e = a + mem->regions[i].size;
		a = RTE_ALIGN_FLOOR(a, 4096);
		e = RTE_ALIGN_CEIL(e, 4096);
		if (rte_mem_virt2iova((void *)(uintptr_t)a) != a) {
			fprintf(stderr, "guest region %u: its IOVA is not its address (IOVA-as-PA?): not supported\n",
				i);
			ret = -ENOTSUP;
			break;
		}
		want[n].va = a;
		want[n].len = e - a;
		n++;
	}
	free(mem);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&map_lock);
	if (n == ngmaps && memcmp(want, gmaps, n * sizeof(want[0])) == 0) {
		pthread_mutex_unlock(&map_lock);
		return 0;
	}
	guest_unmap_all_locked();
	for (i = 0; i < n; i++) {
		ret = mmrt_map_host(as, want[i].va, (void *)(uintptr_t)want[i].va,
			want[i].len, MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
		if (ret < 0) {
			fail("mmrt_map_host(guest %#" PRIx64 "+%#" PRIx64 "): %s",
				want[i].va, want[i].len, strerror(-ret));
			break;
		}
		gmaps[ngmaps++] = want[i];
		n_mem_maps++;
	}
	pthread_mutex_unlock(&map_lock);
	return ret;
}

/* ---- vhost callbacks (vhost's control thread) ----------------------- */

/*
 * Take the data path out of the device: dev_ready = 0, a new generation,
 * then wait for the data path to ack it (it read the generation before
 * dev_ready, so the ack means it saw dev_ready == 0 and is out). vhost
 * calls some callbacks with the rings locked (a memory-table change) and
 * the data path may then be blocked on a ring lock inside an rte_vhost
 * call, unable to ack: the wait is bounded, and false says the data path
 * is stuck in vhost, i.e. the rings are locked by our caller.
 */
static bool
dp_withdraw(void)
{
	uint64_t g, t;

	__atomic_store_n(&dev_ready, 0, __ATOMIC_SEQ_CST);
	g = __atomic_add_fetch(&ctrl_gen, 1, __ATOMIC_SEQ_CST);
	t = rte_get_timer_cycles() + rte_get_timer_hz() / 5;
	while (__atomic_load_n(&dp_running, __ATOMIC_ACQUIRE) &&
			__atomic_load_n(&dp_ack, __ATOMIC_ACQUIRE) < g) {
		if (rte_get_timer_cycles() > t)
			return false;
		rte_pause();
	}
	return true;
}

static uint64_t
dma_errors(void)
{
	struct rte_dma_stats ds;

	if (dma_id < 0 || rte_dma_stats_get(dma_id, 0, &ds) != 0)
		return 0;
	return ds.errors;
}

/*
 * Complete what ring @q has in flight. @locked: our caller holds the
 * ring locks (thread_unsafe calls), else the locking calls. vhost 22.11
 * does not handle a DMA error (virtio_net.c: it logs it and never reaps
 * the failed copy), so a ring whose copy failed never drains: after a
 * second without progress and with an error counted, give up and fail.
 */
static void
drain_ring(int vid, uint16_t q, bool locked)
{
	struct rte_mbuf *m[BURST_MAX];
	uint64_t hz = rte_get_timer_hz(), t = rte_get_timer_cycles() + hz;
	unsigned int i;
	uint16_t n;
	int left;

	for (;;) {
		left = locked ?
			rte_vhost_async_get_inflight_thread_unsafe(vid, q) :
			rte_vhost_async_get_inflight(vid, q);
		if (left <= 0)
			return;
		n = locked ? rte_vhost_clear_queue_thread_unsafe(vid, q, m,
				BURST_MAX, dma_id, 0) :
			rte_vhost_clear_queue(vid, q, m, BURST_MAX, dma_id, 0);
		if (n == 0) {
			if (rte_get_timer_cycles() > t && dma_errors() > 0) {
				fail("ring %u: %d copies never complete after a DMA error (vhost does not handle DMA errors)",
					q, left);
				return;
			}
			rte_pause();
			continue;
		}
		t = rte_get_timer_cycles() + hz;
		if (q == RXQ)
			for (i = 0; i < n; i++) {
				/* delivered before the ring stopped */
				st.tx_pkts++;
				st.tx_bytes += m[i]->pkt_len;
			}
		free_pkts(m, n);
	}
}

/* Withdraw the data path and drain the rings in @mask; @return whether
 * the rings are locked by our caller. */
static bool
dp_stop_rings(int vid, unsigned int mask)
{
	bool locked;
	uint16_t q;

	locked = !dp_withdraw();
	if (!async_path || !dev_up)
		return locked;
	/* Out of vhost, the data path holds no ring lock: a busy lock is
	 * our caller's. */
	if (!locked && (((mask & 1) && rte_vhost_async_get_inflight(vid, RXQ) < 0) ||
			((mask & 2) && rte_vhost_async_get_inflight(vid, TXQ) < 0)))
		locked = true;
	for (q = RXQ; q <= TXQ; q++)
		if (mask & (1u << q))
			drain_ring(vid, q, locked);
	return locked;
}

static void
dp_maybe_ready(void)
{
	if (dev_up && rings_enabled == 3 && ngmaps > 0)
		__atomic_store_n(&dev_ready, 1, __ATOMIC_RELEASE);
}

static int
new_device(int vid)
{
	if (dev_up) {
		fprintf(stderr, "vhost device %d: one device at a time\n", vid);
		return -1;
	}
	if (guest_sync(vid) < 0)
		return -1;
	if (async_path) {
		if (rte_vhost_async_channel_register(vid, RXQ) != 0 ||
				rte_vhost_async_channel_register(vid, TXQ) != 0) {
			fail("rte_vhost_async_channel_register(vid %d) failed",
				vid);
			return -1;
		}
	}
	dev_vid = vid;
	dev_up = true;
	devices_seen++;
	rings_enabled = 3; /* running: vhost found both rings ready */
	dp_maybe_ready();
	printf("vhost device %d up: %u guest region(s) mapped in %s\n", vid,
		ngmaps, opt.as_name);
	fflush(stdout);
	return 0;
}

static void
destroy_device(int vid)
{
	bool locked;

	if (!dev_up || vid != dev_vid)
		return;
	locked = dp_stop_rings(vid, 3);
	if (async_path) {
		if (locked) {
			rte_vhost_async_channel_unregister_thread_unsafe(vid, RXQ);
			rte_vhost_async_channel_unregister_thread_unsafe(vid, TXQ);
		} else {
			rte_vhost_async_channel_unregister(vid, RXQ);
			rte_vhost_async_channel_unregister(vid, TXQ);
		}
	}
	pthread_mutex_lock(&map_lock);
	guest_unmap_all_locked();
	pthread_mutex_unlock(&map_lock);
	dev_up = false;
	rings_enabled = 0;
	dev_vid = -1;
	devices_gone++;
	printf("vhost device %d gone\n", vid);
	fflush(stdout);
	if (opt.exit_on_destroy)
		quit = true;
}

/*
 * A ring is stopped (enable == 0) when the front-end disables it and, for
 * async devices, around a memory-table change (then with the rings
 * locked). The data path leaves the device and the ring's DMA is drained;
 * once both rings are stopped the guest mappings go (vhost is about to
 * unmap the regions). Enabling a ring maps the memory table as it is now;
 * with both rings enabled the data path comes back.
 */
static int
ring_state(int vid, uint16_t q, int enable)
{
	if (q > TXQ)
		return 0;
	if (!enable) {
		if (dev_up && vid == dev_vid)
			dp_stop_rings(vid, 1u << q);
		rings_enabled &= ~(1u << q);
		if (rings_enabled == 0) {
			pthread_mutex_lock(&map_lock);
			guest_unmap_all_locked();
			pthread_mutex_unlock(&map_lock);
		}
		return 0;
	}
	rings_enabled |= 1u << q;
	if (guest_sync(vid) < 0)
		return -1;
	dp_maybe_ready();
	return 0;
}

static const struct rte_vhost_device_ops dev_ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
	.vring_state_changed = ring_state,
};

/* ---- packets -------------------------------------------------------- */

static const struct rte_ether_addr gen_src = {{ 0x02, 0, 0, 0, 0x76, 0x68 }};
static const struct rte_ether_addr gen_dst = {{ 0x02, 0, 0, 0, 0x76, 0x67 }};

static void
gen_packet(struct rte_mbuf *m, uint64_t seq, uint32_t len)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *pl = (uint8_t *)(udp + 1);
	uint32_t i, plen = len - (uint32_t)(pl - p);
	uint64_t magic = MAGIC;

	rte_ether_addr_copy(&gen_dst, &eth->dst_addr);
	rte_ether_addr_copy(&gen_src, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - sizeof(*eth)));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(0xc0a80001);
	ip->dst_addr = rte_cpu_to_be_32(0xc0a80002);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(9);
	udp->dst_port = rte_cpu_to_be_16(9);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(plen + sizeof(*udp)));
	udp->dgram_cksum = 0;
	memcpy(pl, &magic, 8);
	memcpy(pl + 8, &seq, 8);
	for (i = 16; i < plen; i++)
		pl[i] = (uint8_t)(seq + i);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
}

/*
 * A packet from the guest is a UDP/IPv4 frame as testpmd's txonly builds
 * it (or ours, looped back): headers consistent with its length and a
 * good IPv4 checksum; ours (--fwd txonly looped back by the guest) also
 * carry their pattern and come back in sequence. A buffer the DMA
 * never wrote keeps the poison of its last free, and fails here.
 */
static bool
packet_ok(struct rte_mbuf *m)
{
	const uint8_t *p;
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *udp;
	const uint8_t *pl;
	uint32_t len = m->pkt_len, i, plen;
	uint64_t magic, seq;

	if (m->nb_segs != 1 || len < 42 || len != m->data_len)
		return false;
	p = rte_pktmbuf_mtod(m, const uint8_t *);
	eth = (const struct rte_ether_hdr *)p;
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	udp = (const struct rte_udp_hdr *)(ip + 1);
	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
			ip->version_ihl != RTE_IPV4_VHL_DEF ||
			rte_be_to_cpu_16(ip->total_length) != len - sizeof(*eth) ||
			ip->next_proto_id != IPPROTO_UDP ||
			rte_raw_cksum(ip, sizeof(*ip)) != 0xffff ||
			rte_be_to_cpu_16(udp->dgram_len) !=
			len - sizeof(*eth) - sizeof(*ip))
		return false;
	pl = (const uint8_t *)(udp + 1);
	plen = len - 42;
	if (plen < 16)
		return true;
	memcpy(&magic, pl, 8);
	if (magic != MAGIC)
		return true; /* not ours: headers only */
	memcpy(&seq, pl + 8, 8);
	for (i = 16; i < plen; i++)
		if (pl[i] != (uint8_t)(seq + i))
			return false;
	/* ours come back in order, each at most once (one queue pair,
	 * FIFO); a gap is a packet the guest dropped (counted) */
	if (seq < rx_seq)
		return false;
	st.lost += seq - rx_seq;
	rx_seq = seq + 1;
	st.back++;
	return true;
}

/* Free mbufs back to the pool; with --verify, poison the first bytes of
 * their data room so that a DMA that never wrote one is seen. */
static void
free_pkts(struct rte_mbuf **m, unsigned int n)
{
	unsigned int i;

	if (opt.verify)
		for (i = 0; i < n; i++)
			memset((uint8_t *)m[i]->buf_addr + RTE_PKTMBUF_HEADROOM,
				POISON, 64);
	rte_pktmbuf_free_bulk(m, n);
}

static void
mac_swap(struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ether_addr t;

	rte_ether_addr_copy(&eth->dst_addr, &t);
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&t, &eth->src_addr);
}

/* ---- data path (main lcore) ----------------------------------------- */

static unsigned int
poll_completions(int vid)
{
	struct rte_mbuf *m[BURST_MAX];
	unsigned int i;
	uint16_t n;

	if (!async_path)
		return 0;
	n = rte_vhost_poll_enqueue_completed(vid, RXQ, m, BURST_MAX, dma_id, 0);
	for (i = 0; i < n; i++) {
		st.tx_pkts++;
		st.tx_bytes += m[i]->pkt_len;
	}
	if (n > 0)
		free_pkts(m, n);
	return n;
}

/* Offer the pending packets to the guest; what its ring does not take
 * stays pending (no drop: the next round retries). */
static unsigned int
flush_pending(int vid)
{
	unsigned int i, left = npend - pend_off;
	uint16_t n;

	if (left == 0)
		return 0;
	if (async_path) {
		n = rte_vhost_submit_enqueue_burst(vid, RXQ, pend + pend_off,
			(uint16_t)left, dma_id, 0);
	} else {
		n = rte_vhost_enqueue_burst(vid, RXQ, pend + pend_off,
			(uint16_t)left);
		for (i = 0; i < n; i++) {
			st.tx_pkts++;
			st.tx_bytes += pend[pend_off + i]->pkt_len;
		}
		free_pkts(pend + pend_off, n);
	}
	if (n < left)
		st.retries++;
	pend_off += n;
	if (pend_off == npend)
		npend = pend_off = 0;
	return n;
}

/* Count and check packets from the guest; @return how many passed
 * (compacted at the front of @m). */
static unsigned int
received(struct rte_mbuf **m, unsigned int n)
{
	unsigned int i, k = 0;

	for (i = 0; i < n; i++) {
		st.rx_pkts++;
		st.rx_bytes += m[i]->pkt_len;
		if (opt.verify && !packet_ok(m[i])) {
			if (st.bad++ == 0) {
				fprintf(stderr, "first bad packet (expected seq %" PRIu64 "):\n",
					rx_seq);
				rte_pktmbuf_dump(stderr, m[i], 96);
			}
			free_pkts(&m[i], 1);
			continue;
		}
		m[k++] = m[i];
	}
	return k;
}

static unsigned int
receive(int vid, struct rte_mbuf **m)
{
	int inflight;
	uint16_t n;

	if (async_path)
		n = rte_vhost_async_try_dequeue_burst(vid, TXQ, pool, m,
			(uint16_t)opt.burst, &inflight, dma_id, 0);
	else
		n = rte_vhost_dequeue_burst(vid, TXQ, pool, m,
			(uint16_t)opt.burst);
	return received(m, n);
}

/* Deliver or drop what arrived, by mode (io/mac forward it later). */
static void
consume(struct rte_mbuf **m, unsigned int n)
{
	unsigned int i;

	if (n == 0)
		return;
	if (opt.fwd == FWD_IO || opt.fwd == FWD_MAC) {
		if (opt.fwd == FWD_MAC)
			for (i = 0; i < n; i++)
				mac_swap(m[i]);
		memcpy(pend + npend, m, n * sizeof(m[0]));
		npend += n;
	} else {
		free_pkts(m, n);
	}
}

/*
 * Remap churn asked for a pause: issue nothing new, reap what completes
 * (try_dequeue would start new copies: rte_vhost_clear_queue only
 * reaps), ack once nothing is in flight on either ring.
 */
static unsigned int
dp_pause(int vid)
{
	struct rte_mbuf *m[BURST_MAX];
	unsigned int n = 0;
	int in_rx = 0, in_tx = 0;

	if (async_path) {
		in_tx = rte_vhost_async_get_inflight(vid, TXQ);
		if (in_tx > 0 && npend + opt.burst <= BURST_MAX) {
			n = rte_vhost_clear_queue(vid, TXQ, m,
				(uint16_t)opt.burst, dma_id, 0);
			consume(m, received(m, n));
			in_tx = rte_vhost_async_get_inflight(vid, TXQ);
		}
		in_rx = rte_vhost_async_get_inflight(vid, RXQ);
	}
	if (in_rx <= 0 && in_tx <= 0) {
		if (!__atomic_load_n(&paused, __ATOMIC_RELAXED))
			st.pauses++;
		__atomic_store_n(&paused, 1, __ATOMIC_RELEASE);
	}
	return n;
}

static unsigned int
dp_round(int vid)
{
	struct rte_mbuf *m[BURST_MAX];
	unsigned int i, n, work = 0;

	work += poll_completions(vid);
	if (opt.count != 0) {
		/* milestones a script can wait for */
		if (st.tx_pkts == opt.count && !said_delivered) {
			printf("txonly: all %" PRIu64 " delivered\n", opt.count);
			fflush(stdout);
			said_delivered = true;
		}
		if (rx_seq == opt.count && !said_back) {
			printf("txonly: all %" PRIu64 " back (%" PRIu64 " lost)\n",
				opt.count, st.lost);
			fflush(stdout);
			said_back = true;
		}
	}
	if (__atomic_load_n(&pause_req, __ATOMIC_ACQUIRE))
		return work + dp_pause(vid);
	__atomic_store_n(&paused, 0, __ATOMIC_RELAXED);
	work += flush_pending(vid);
	if (npend != 0)
		return work;
	switch (opt.fwd) {
	case FWD_RXONLY:
	case FWD_IO:
	case FWD_MAC:
		n = receive(vid, m);
		consume(m, n);
		work += n + flush_pending(vid);
		break;
	case FWD_TXONLY:
		/* what the guest sends back is checked and freed */
		n = receive(vid, m);
		free_pkts(m, n);
		work += n;
		n = opt.burst;
		if (opt.start_on_usr1 && !gen_go)
			break;
		if (opt.count != 0 && opt.count - tx_seq < n)
			n = (unsigned int)(opt.count - tx_seq);
		if (n == 0 || rte_pktmbuf_alloc_bulk(pool, pend, n) != 0)
			break;
		for (i = 0; i < n; i++)
			gen_packet(pend[i], tx_seq++, opt.pkt_len);
		npend = n;
		work += n + flush_pending(vid);
		break;
	}
	return work;
}

/* Give back what is pending when the device goes. */
static void
dp_drop_pending(void)
{
	if (npend > pend_off) {
		st.drops += npend - pend_off;
		free_pkts(pend + pend_off, npend - pend_off);
	}
	npend = pend_off = 0;
}

/* ---- churn (control thread) ----------------------------------------- */

static bool
churn_pick(uint64_t *cursor, uint64_t *va)
{
	uint64_t off = *cursor, total = 0;
	unsigned int i;

	for (i = 0; i < ngmaps; i++)
		total += gmaps[i].len / CHURN_LEN;
	if (total == 0)
		return false;
	off %= total;
	*cursor = off + 1;
	for (i = 0; i < ngmaps; i++) {
		if (off < gmaps[i].len / CHURN_LEN) {
			*va = gmaps[i].va + off * CHURN_LEN;
			return true;
		}
		off -= gmaps[i].len / CHURN_LEN;
	}
	return false;
}

static void *
churn_main(void *arg)
{
	uint64_t cursor = 0, va;
	int ret;

	RTE_SET_USED(arg);
	while (!quit) {
		if (!__atomic_load_n(&dev_ready, __ATOMIC_ACQUIRE)) {
			usleep(1000);
			continue;
		}
		if (opt.churn == CHURN_REMAP) {
			__atomic_store_n(&pause_req, 1, __ATOMIC_RELEASE);
			while (!quit && __atomic_load_n(&dev_ready,
					__ATOMIC_ACQUIRE) &&
					!__atomic_load_n(&paused, __ATOMIC_ACQUIRE))
				usleep(10);
		}
		pthread_mutex_lock(&map_lock);
		if (churn_pick(&cursor, &va) && (opt.churn != CHURN_REMAP ||
				__atomic_load_n(&paused, __ATOMIC_ACQUIRE))) {
			if (opt.churn == CHURN_INVAL) {
				ret = mmrt_advise(as, va, CHURN_LEN,
					MMRT_ADV_DONTNEED);
				if (ret == 0)
					churn_invals++;
			} else {
				/* When the unmap returns no engine touches
				 * the range; the same bytes come back. */
				ret = mmrt_unmap(as, va, CHURN_LEN);
				if (ret == 0)
					ret = mmrt_map_host(as, va,
						(void *)(uintptr_t)va, CHURN_LEN,
						MMRT_PROT_READ | MMRT_PROT_WRITE,
						0);
				if (ret == 0)
					churn_remaps++;
			}
			if (ret < 0) {
				churn_errors++;
				fail("churn at %#" PRIx64 ": %s", va,
					strerror(-ret));
			}
		}
		pthread_mutex_unlock(&map_lock);
		__atomic_store_n(&pause_req, 0, __ATOMIC_RELEASE);
		usleep(opt.churn == CHURN_REMAP ? 2000 : 200);
	}
	__atomic_store_n(&pause_req, 0, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- statistics ----------------------------------------------------- */

struct dma_view {
	struct rte_dma_stats s;
	uint64_t page_faults, parks, resumes;
	uint64_t page_requests, faults_resolved; /* the engine's consumer */
};

/* rte_dma_stats, and for dma_mmrt the engine's line of rte_dma_dump(). */
static void
dma_view_get(struct dma_view *v)
{
	char *buf = NULL, *p;
	size_t sz = 0;
	FILE *f;

	memset(v, 0, sizeof(*v));
	if (dma_id < 0)
		return;
	rte_dma_stats_get(dma_id, 0, &v->s);
	f = open_memstream(&buf, &sz);
	if (f == NULL)
		return;
	rte_dma_dump(dma_id, f);
	fclose(f);
	p = buf != NULL ? strstr(buf, "page_faults ") : NULL;
	if (p != NULL)
		sscanf(p, "page_faults %" SCNu64 " parks %" SCNu64
			" resumes %" SCNu64, &v->page_faults, &v->parks,
			&v->resumes);
	p = buf != NULL ? strstr(buf, "page_requests ") : NULL;
	if (p != NULL)
		sscanf(p, "page_requests %" SCNu64 " faults_resolved %" SCNu64,
			&v->page_requests, &v->faults_resolved);
	free(buf);
}

static void
print_screen(double t, bool final)
{
	struct mmrt_as_stats a;
	struct dma_view d;
	uint64_t pkts = st.rx_pkts + st.tx_pkts;

	memset(&a, 0, sizeof(a));
	mmrt_as_stats(as, &a);
	dma_view_get(&d);
	printf("%s vhost_mmrt %.1fs: fwd %s, %s path%s%s, churn %s, device %s\n",
		final ? "== final:" : "--", t, fwd_names[opt.fwd],
		async_path ? "async" : "sync", async_path ? " via " : "",
		async_path ? opt.dma : "", churn_names[opt.churn],
		__atomic_load_n(&dev_ready, __ATOMIC_RELAXED) ? "up" : "down");
	printf("   from guest: %" PRIu64 " pkts %" PRIu64 " bytes, bad %" PRIu64
		" | to guest: %" PRIu64 " pkts %" PRIu64 " bytes, drops %"
		PRIu64 ", ring-full retries %" PRIu64 "\n",
		st.rx_pkts, st.rx_bytes, st.bad, st.tx_pkts, st.tx_bytes,
		st.drops, st.retries);
	printf("   dma: submitted %" PRIu64 " completed %" PRIu64 " errors %"
		PRIu64 " page_faults %" PRIu64 " parks %" PRIu64 " resumes %"
		PRIu64 " | engine page_requests %" PRIu64 " faults_resolved %"
		PRIu64 "\n", d.s.submitted, d.s.completed, d.s.errors,
		d.page_faults, d.parks, d.resumes, d.page_requests,
		d.faults_resolved);
	printf("   space %s: faults %" PRIu64 " flushes %" PRIu64
		" rss_pages %" PRIu64 " | guest maps %" PRIu64 " unmaps %"
		PRIu64 " | churn invals %" PRIu64 " remaps %" PRIu64
		" pauses %" PRIu64 " | fills 0 (host mappings)\n",
		opt.as_name, a.faults, a.flushes, a.rss_pages, n_mem_maps,
		n_mem_unmaps, churn_invals, churn_remaps, st.pauses);
	printf("   data path: lcore %u, %.1f cycles/pkt busy\n",
		rte_lcore_id(), pkts ? (double)st.busy_cycles / pkts : 0.0);
	fflush(stdout);
}

/* ---- setup ---------------------------------------------------------- */

static int
dma_setup(void)
{
	struct rte_dma_info info;
	struct rte_dma_conf conf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
	};
	int id;

	id = rte_dma_get_dev_id_by_name(opt.dma);
	if (id < 0) {
		fprintf(stderr, "no dmadev \"%s\" (give --vdev=dma_mmrt0,as=%s or --vdev=dma_skeleton0)\n",
			opt.dma, opt.as_name);
		return -ENODEV;
	}
	if (rte_dma_info_get(id, &info) != 0)
		return -ENODEV;
	vc.nb_desc = RTE_MIN(info.max_desc, 4096u);
	vc.nb_desc = rte_align32prevpow2(vc.nb_desc);
	if (vc.nb_desc < info.min_desc ||
			rte_dma_configure(id, &conf) != 0 ||
			rte_dma_vchan_setup(id, 0, &vc) != 0 ||
			rte_dma_start(id) != 0) {
		fprintf(stderr, "dmadev %s: cannot configure or start it\n",
			opt.dma);
		return -EIO;
	}
	dma_id = (int16_t)id;
	if (rte_vhost_async_dma_configure(dma_id, 0) != 0) {
		fprintf(stderr, "rte_vhost_async_dma_configure(%s) failed\n",
			opt.dma);
		return -EIO;
	}
	printf("dmadev %s (id %d), %u descriptors, for vhost's async path\n",
		opt.dma, id, vc.nb_desc);
	return 0;
}

/* One copy through the dmadev from one mbuf to another (both in the
 * space): the path works before any guest is there. */
static int
dma_selfcheck(void)
{
	struct rte_mbuf *a = rte_pktmbuf_alloc(pool);
	struct rte_mbuf *b = rte_pktmbuf_alloc(pool);
	uint16_t last;
	bool err = false;
	uint64_t t;
	int ret = 0;

	if (a == NULL || b == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	gen_packet(a, 12345, 512);
	memset(rte_pktmbuf_mtod(b, void *), 0, 512);
	if (rte_dma_copy(dma_id, 0, rte_pktmbuf_iova(a), rte_pktmbuf_iova(b),
			512, RTE_DMA_OP_FLAG_SUBMIT) < 0) {
		ret = -EIO;
		goto out;
	}
	t = rte_get_timer_cycles() + 5 * rte_get_timer_hz();
	while (rte_dma_completed(dma_id, 0, 1, &last, &err) == 0 && !err &&
			rte_get_timer_cycles() < t)
		rte_pause();
	if (err || memcmp(rte_pktmbuf_mtod(a, void *),
			rte_pktmbuf_mtod(b, void *), 512) != 0)
		ret = -EIO;
out:
	rte_pktmbuf_free(a);
	rte_pktmbuf_free(b);
	if (ret < 0)
		fail("dmadev self-check copy failed");
	return ret;
}

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args] -- [mmrt args] [options]\n"
		"  --socket PATH        vhost-user server socket (default: a temporary one)\n"
		"  --dma NAME           async path through dmadev NAME (e.g. dma_mmrt0,\n"
		"                       dma_skeleton0); without it: --sync\n"
		"  --sync               synchronous path (CPU copies)\n"
		"  --as NAME            mmrt address space for the guest memory (default vhost_mmrt)\n"
		"  --fwd io|mac|rxonly|txonly   (default io)\n"
		"  --count N            txonly: packets to send (default: no limit)\n"
		"  --start-on-usr1      txonly: send only after a SIGUSR1 (virtio's port\n"
		"                       start drops what its receive ring held before)\n"
		"  --pkt-len B          txonly: frame length, 60..2000 (default 64)\n"
		"  --burst N            1..%d (default 32)\n"
		"  --churn none|inval|remap\n"
		"  --duration S         stop after S seconds (default: at a signal)\n"
		"  --stats S            statistics screen every S seconds, 0 none (default 1)\n"
		"  --exit-on-destroy    stop when the vhost device goes\n"
		"  --expect-traffic     fail unless a device came and packets moved\n"
		"  --no-verify          do not check packet contents\n",
		prog, BURST_MAX);
}

static int
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "dma", required_argument, NULL, 'd' },
		{ "sync", no_argument, NULL, 'S' },
		{ "as", required_argument, NULL, 'a' },
		{ "fwd", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'c' },
		{ "pkt-len", required_argument, NULL, 'l' },
		{ "burst", required_argument, NULL, 'b' },
		{ "churn", required_argument, NULL, 'C' },
		{ "duration", required_argument, NULL, 't' },
		{ "stats", required_argument, NULL, 'T' },
		{ "exit-on-destroy", no_argument, NULL, 'x' },
		{ "expect-traffic", no_argument, NULL, 'e' },
		{ "no-verify", no_argument, NULL, 'n' },
		{ "start-on-usr1", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int i;
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strlen(optarg) >= sizeof(opt.socket))
				return -EINVAL;
			strcpy(opt.socket, optarg);
			break;
		case 'd':
			opt.dma = optarg;
			break;
		case 'S':
			opt.dma = NULL;
			break;
		case 'a':
			if (strlen(optarg) == 0 ||
					strlen(optarg) >= sizeof(opt.as_name))
				return -EINVAL;
			strcpy(opt.as_name, optarg);
			break;
		case 'f':
			for (i = 0; i < RTE_DIM(fwd_names); i++)
				if (strcmp(optarg, fwd_names[i]) == 0)
					break;
			if (i == RTE_DIM(fwd_names))
				return -EINVAL;
			opt.fwd = (enum fwd_mode)i;
			break;
		case 'C':
			for (i = 0; i < RTE_DIM(churn_names); i++)
				if (strcmp(optarg, churn_names[i]) == 0)
					break;
			if (i == RTE_DIM(churn_names))
				return -EINVAL;
			opt.churn = (enum churn_mode)i;
			break;
		case 'c':
			opt.count = strtoull(optarg, &end, 0);
			if (*end != '\0')
				return -EINVAL;
			break;
		case 'l':
			opt.pkt_len = (uint32_t)strtoul(optarg, &end, 0);
			if (*end != '\0' || opt.pkt_len < 60 ||
					opt.pkt_len > 2000)
				return -EINVAL;
			break;
		case 'b':
			opt.burst = (unsigned int)strtoul(optarg, &end, 0);
			if (*end != '\0' || opt.burst < 1 ||
					opt.burst > BURST_MAX)
				return -EINVAL;
			break;
		case 't':
			opt.duration = strtod(optarg, &end);
			if (*end != '\0' || opt.duration < 0)
				return -EINVAL;
			break;
		case 'T':
			opt.stats = strtod(optarg, &end);
			if (*end != '\0' || opt.stats < 0)
				return -EINVAL;
			break;
		case 'x':
			opt.exit_on_destroy = true;
			break;
		case 'e':
			opt.expect_traffic = true;
			break;
		case 'U':
			opt.start_on_usr1 = true;
			break;
		case 'n':
			opt.verify = false;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind != argc)
		return -EINVAL;
	if (opt.socket[0] == '\0') {
		snprintf(opt.socket, sizeof(opt.socket),
			"/tmp/vhost_mmrt.%d.sock", (int)getpid());
		opt.socket_ours = true;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t hz, t0, next, end, now, tb, next_err = 0;
	unsigned int w;
	int ret, vid;

	ret = mmrt_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "mmrt_init: %s\n", strerror(-ret));
		return 1;
	}
	argc -= ret;
	argv += ret;
	if (parse_args(argc, argv) < 0) {
		usage(argv[0]);
		mmrt_fini();
		return 1;
	}
	(void)mmrt_dma_mmrt_registered();
	async_path = opt.dma != NULL;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_usr1);

	if (rte_eal_iova_mode() != RTE_IOVA_VA) {
		fprintf(stderr, "vhost_mmrt needs IOVA-as-VA (--iova-mode=va)\n");
		mmrt_fini();
		return 1;
	}
	pool = rte_pktmbuf_pool_create("vhost_mmrt", 8191, 256, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	as = mmrt_as_create(opt.as_name);
	if (pool == NULL || as == NULL) {
		fprintf(stderr, "mbuf pool or address space: %s\n",
			rte_strerror(rte_errno));
		goto out;
	}
	if (map_dpdk_memory() < 0)
		goto out;
	if (async_path && (dma_setup() < 0 || dma_selfcheck() < 0))
		goto out;

	unlink(opt.socket);
	if (rte_vhost_driver_register(opt.socket,
			async_path ? RTE_VHOST_USER_ASYNC_COPY : 0) != 0) {
		fail("rte_vhost_driver_register(%s) failed", opt.socket);
		goto out;
	}
	/* Offloads the front-end could ask for would change the frames. */
	rte_vhost_driver_disable_features(opt.socket,
		1ULL << VIRTIO_NET_F_HOST_TSO4 | 1ULL << VIRTIO_NET_F_HOST_TSO6 |
		1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
		1ULL << VIRTIO_NET_F_GUEST_TSO4 |
		1ULL << VIRTIO_NET_F_GUEST_TSO6);
	if (rte_vhost_driver_callback_register(opt.socket, &dev_ops) != 0 ||
			rte_vhost_driver_start(opt.socket) != 0) {
		fail("vhost driver start on %s failed", opt.socket);
		rte_vhost_driver_unregister(opt.socket);
		goto out;
	}
	printf("vhost_mmrt: socket %s, fwd %s, %s path, churn %s, data path on lcore %u\n",
		opt.socket, fwd_names[opt.fwd], async_path ? "async" : "sync",
		churn_names[opt.churn], rte_lcore_id());
	fflush(stdout);
	if (opt.churn != CHURN_NONE) {
		if (pthread_create(&churn_tid, NULL, churn_main, NULL) != 0) {
			fail("cannot start the churn thread");
			quit = true;
		} else {
			churn_started = true;
		}
	}

	hz = rte_get_timer_hz();
	t0 = rte_get_timer_cycles();
	next = t0 + (uint64_t)(opt.stats * hz);
	end = opt.duration > 0 ? t0 + (uint64_t)(opt.duration * hz) : 0;
	__atomic_store_n(&dp_running, 1, __ATOMIC_RELEASE);
	while (!quit) {
		uint64_t g = __atomic_load_n(&ctrl_gen, __ATOMIC_SEQ_CST);

		if (__atomic_load_n(&dev_ready, __ATOMIC_SEQ_CST)) {
			vid = dev_vid;
			uint64_t moved = st.rx_pkts + st.tx_pkts;

			tb = rte_rdtsc();
			w = dp_round(vid);
			if (w > 0 || st.rx_pkts + st.tx_pkts != moved) {
				st.last_tsc = rte_rdtsc();
				st.busy_cycles += st.last_tsc - tb;
				if (st.first_tsc == 0)
					st.first_tsc = tb;
			}
		} else {
			dp_drop_pending();
			w = 0;
		}
		__atomic_store_n(&dp_ack, g, __ATOMIC_RELEASE);
		if (w == 0)
			rte_pause();
		now = rte_get_timer_cycles();
		if (opt.stats > 0 && now >= next) {
			print_screen((double)(now - t0) / hz, false);
			next = now + (uint64_t)(opt.stats * hz);
		}
		if (end != 0 && now >= end)
			quit = true;
		if (async_path && now >= next_err) {
			/* A failed copy wedges vhost's ring: say so at once. */
			if (dma_errors() > 0)
				fail("the dmadev reported %" PRIu64 " failed copies: vhost 22.11 cannot complete them",
					dma_errors());
			next_err = now + hz / 10;
		}
		if (fail_reason[0] != '\0')
			quit = true;
	}
	quit = true;
	if (churn_started)
		pthread_join(churn_tid, NULL);
	/* The device may still be up: unregister destroys it from this
	 * thread, so the data path must no longer be waited for. */
	__atomic_store_n(&dp_running, 0, __ATOMIC_RELEASE);
	if (__atomic_load_n(&dev_ready, __ATOMIC_ACQUIRE) && npend > pend_off) {
		/* deliver what is pending rather than count it dropped */
		flush_pending(dev_vid);
	}
	dp_drop_pending();
	rte_vhost_driver_unregister(opt.socket);
	if (opt.socket_ours)
		unlink(opt.socket);
	print_screen((double)(rte_get_timer_cycles() - t0) / hz, true);
out:
	if (dma_id >= 0) {
		rte_vhost_async_dma_unconfigure(dma_id, 0);
		rte_dma_stop(dma_id);
		rte_dma_close(dma_id);
	}
	if (as != NULL && st.bad != 0)
		fail("%" PRIu64 " packets from the guest failed verification",
			st.bad);
	if (opt.expect_traffic && (devices_seen == 0 ||
			st.rx_pkts + st.tx_pkts == 0))
		fail("no device or no traffic (devices %" PRIu64 ")",
			devices_seen);
	if (as != NULL) {
		printf("totals: devices %" PRIu64 "/%" PRIu64
			" rx %" PRIu64 " pkts %" PRIu64 " bytes tx %" PRIu64
			" pkts %" PRIu64 " bytes bad %" PRIu64 " drops %" PRIu64
			" invals %" PRIu64 " remaps %" PRIu64 " generated %"
			PRIu64 " back_in_order %" PRIu64 " lost %" PRIu64 " cycles_per_pkt %.1f pps %.0f\n",
			devices_seen, devices_gone, st.rx_pkts, st.rx_bytes,
			st.tx_pkts, st.tx_bytes, st.bad, st.drops, churn_invals,
			churn_remaps, tx_seq, st.back, st.lost,
			st.rx_pkts + st.tx_pkts ? (double)st.busy_cycles /
			(st.rx_pkts + st.tx_pkts) : 0.0,
			st.last_tsc > st.first_tsc ? (double)(st.rx_pkts +
			st.tx_pkts) * rte_get_tsc_hz() /
			(st.last_tsc - st.first_tsc) : 0.0);
		mmrt_as_destroy(as);
	} else if (fail_reason[0] == '\0') {
		fail("setup failed");
	}
	rte_mempool_free(pool);
	if (fail_reason[0] == '\0' && dma_id < 0 && async_path)
		fail("setup failed");
	ret = mmrt_fini();
	if (ret < 0 && fail_reason[0] == '\0')
		fail("mmrt_fini: %s", strerror(-ret));
	if (fail_reason[0] != '\0') {
		printf("vhost_mmrt: FAILED (%s)\n", fail_reason);
		return 1;
	}
	printf("vhost_mmrt: OK\n");
	return 0;
}
