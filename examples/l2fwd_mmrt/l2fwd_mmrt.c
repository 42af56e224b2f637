/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * l2fwd_mmrt: an l2fwd-shaped forwarder on real ethdevs whose every packet
 * is also copied by a dmadev into a guest address space paged on demand.
 *
 * For each packet received on an enabled port, the dma_mmrt dmadev
 * (rte_dma_copy(), addresses by IOVA) copies the packet from its mbuf into
 * a 2 KiB slot of a guest region of an mmrt address space. The guest
 * region is registered MISSING with a userfault: a page is filled (here
 * with a "previous contents" pattern, as a post-copy migration would bring
 * it) only when the engine first writes it; the engine parks the copy
 * meanwhile. When the copy completes, the guest slot is compared with the
 * packet and the packet is sent out of its destination port (the port
 * itself, or its l2fwd pair with --paired).
 *
 * The mbuf pool is ordinary DPDK memory (rte_pktmbuf_pool_create()). The
 * dmadev's address space, "l2fwd_mmrt", holds two things:
 * - the mbuf pool's memory chunks, host-mapped read-only at their IOVAs
 *   (mmrt_map_host()), so that rte_pktmbuf_iova() is a valid source
 *   address for the device, as through an IOMMU that maps only the pool;
 * - the guest region, anonymous memory at LF_GUEST_VA (above every
 *   process address, so it cannot collide with an IOVA), registered
 *   MISSING with a uffd.
 *
 * Placement: the dma_mmrt engine runs on a worker lcore (the driver picks
 * the highest free one; --dma-args lcore=N to choose). The main lcore runs
 * one round-robin loop: receive and enqueue copies, reap completions,
 * verify and queue for transmit, transmit, serve the uffd, print the
 * statistics; rte_pause() when a round did nothing. No turn waits for
 * another. The driver's own control thread serves the engine's page
 * requests.
 *
 * With no ethdev (no --vdev given: the embedded default, as the examples
 * suite runs it), it checks itself: two net_ring ports are created, a
 * generator on the main lcore sends LF_SELFTEST_FRAMES frames of varied
 * sizes into the first (its TX loops back to its RX), the forwarder
 * forwards them to the second, and a checker reads them back there: the
 * same frames, same bytes, same order.
 *
 * Exit status 0 only if every check passed: every guest copy matched its
 * packet, no DMA error, the uffd filled exactly the guest pages the
 * engine touched, every packet received was sent or dropped for a stated
 * reason (and, unless --allow-drops, none was dropped), the mbuf pool and
 * the frame pool are back to their starting counts.
 *
 * Usage: l2fwd_mmrt [EAL args] -- [mmrt options] [app options]
 *   -p PORTMASK     ports to receive on (hex; default: all)
 *   -q NQ           RX/TX queues per port (default 1)
 *   -T PERIOD       statistics every PERIOD seconds (default 1; 0: off)
 *   --packets N     stop receiving after N packets
 *   --seconds S     stop receiving after S seconds
 *   --no-copy       forward only: no dmadev, no guest copy (benchmark)
 *   --no-verify     copy, but do not compare the copies (benchmark)
 *   --paired        forward port 2k <-> 2k+1 (l2fwd); default: back out
 *                   of the receiving port
 *   --burst B       RX burst (default 32)
 *   --guest-mb M    guest region size (default 4)
 *   --dma-ring N    dmadev descriptors (default 1024)
 *   --dma-args S    more dma_mmrt devargs (e.g. lcore=1 or service=1)
 *   --selftest N    run the self-check with N frames (0: off)
 *   --allow-drops   drops do not fail the run
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dmadev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

#define LF_NAME "l2fwd_mmrt"
#define LF_AS_NAME "l2fwd_mmrt"
#define LF_DMA_NAME "dma_mmrt_l2fwd"

#define LF_MAX_QUEUES 8u
#define LF_NB_RXD 512u
#define LF_NB_TXD 512u
/* Packets waiting for transmit per port queue (a power of 2). */
#define LF_TXBUF 2048u
#define LF_MAX_BURST 64u
/* Guest slots: one packet each, two per 4 KiB page. */
#define LF_SLOT 2048u
#define LF_MAX_SEGS 4u
/* Above every user-space address of x86-64, below MMRT_VA_LIMIT. */
#define LF_GUEST_VA UINT64_C(0xa00000000000)
/* What a guest page holds before the packet lands in it. */
#define LF_FILL_BYTE 0xa5
#define LF_UFFD_BURST 32u
#define LF_BACKLOG 256u
#define LF_MAX_CHUNKS 64u
/* No progress for this long with work pending: stuck. */
#define LF_STUCK_MS 5000u
/* Self-check. */
#define LF_SELFTEST_FRAMES 8192u
#define LF_GEN_WINDOW 512u
#define LF_ETHERTYPE 0x88b5 /* IEEE local experimental */

static volatile bool force_quit;

/* Packets for one TX queue, in order: [head, tail). */
struct lf_txq {
	struct rte_mbuf *m[LF_TXBUF];
	uint32_t head, tail;
};

struct lf_port {
	bool rx_on;        /* in the port mask */
	bool used;         /* configured (RX, or a destination) */
	uint16_t dst;
	uint64_t rx, tx, rx_bytes, tx_bytes, drops;
	struct lf_txq txq[LF_MAX_QUEUES];
};

/* One DMA operation in flight; m is set on a packet's last op. */
struct lf_op {
	struct rte_mbuf *m;
	uint64_t gva;      /* the packet's guest slot */
	uint16_t dst, q;
};

struct lf_app {
	/* options */
	uint64_t portmask;
	unsigned int nq, burst, period_s, guest_mb, nb_desc;
	uint64_t max_packets;
	double seconds;
	bool no_copy, no_verify, paired, allow_drops;
	const char *dma_args;
	uint64_t selftest;

	struct rte_mempool *pool;
	unsigned int pool_size;
	struct mmrt_as *as;
	struct mmrt_uffd *uffd;
	int16_t dma;
	bool dma_started, vdev_made;
	int engine_lcore;
	uint64_t guest_len, nslots;
	uint8_t *touched;          /* per guest page */
	struct { uint64_t va, len; } chunks[LF_MAX_CHUNKS];
	unsigned int nchunks;

	/* the loop */
	struct lf_op *ops;
	uint64_t enq, cpl;         /* DMA ops enqueued, completed */
	uint64_t seq;              /* packets given a guest slot */
	uint64_t inflight_pkts;
	bool pkt_err;
	bool rx_stopped;
	uint64_t rx_total, t_first, t_rx_end;
	struct lf_port ports[RTE_MAX_ETHPORTS];
	uint16_t rx_ports[RTE_MAX_ETHPORTS];
	unsigned int nrx;

	/* counters */
	uint64_t copies, verified, dma_errors, oversize, pages_touched;
	uint64_t fills, eexist, fill_retries, msgs;
	struct mmrt_uffd_msg backlog[LF_BACKLOG];
	unsigned int nbacklog;

	/* self-check */
	uint16_t st_in, st_out;
	uint64_t gen, checked;

	char reason[256];
};

static int lf_fail(struct lf_app *a, const char *fmt, ...)
	__rte_format_printf(2, 3);

static int
lf_fail(struct lf_app *a, const char *fmt, ...)
{
	va_list ap;

	if (a->reason[0] != '\0')
		return -1; /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(a->reason, sizeof(a->reason), fmt, ap);
	va_end(ap);
	force_quit = true;
	return -1;
}

static void
signal_handler(int signum)
{
	if (signum == SIGINT || signum == SIGTERM)
		force_quit = true;
}

/* ---- options ------------------------------------------------------------ */

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args] -- [mmrt options] [app options]\n"
		"  -p PORTMASK     ports to receive on (hex; default: all)\n"
		"  -q NQ           RX/TX queues per port (1..%u, default 1)\n"
		"  -T PERIOD       statistics every PERIOD s (default 1; 0: off)\n"
		"  --packets N     stop receiving after N packets\n"
		"  --seconds S     stop receiving after S seconds\n"
		"  --no-copy       forward only, no guest copy (benchmark)\n"
		"  --no-verify     copy, but do not compare the copies"
		" (benchmark)\n"
		"  --paired        forward port 2k <-> 2k+1 (default: back out"
		" of the receiving port)\n"
		"  --burst B       RX burst (1..%u, default 32)\n"
		"  --guest-mb M    guest region in MiB (default 4)\n"
		"  --dma-ring N    dmadev descriptors (default 1024)\n"
		"  --dma-args S    more dma_mmrt devargs (lcore=N, service=1,"
		" ...)\n"
		"  --selftest N    self-check with N generated frames on two"
		" net_ring ports\n"
		"  --allow-drops   dropped packets do not fail the run\n"
		"With no ethdev it runs the self-check (%u frames).\n",
		prog, LF_MAX_QUEUES, LF_MAX_BURST, LF_SELFTEST_FRAMES);
}

static int
parse_u64(const char *s, int base, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo ||
			v > hi)
		return -1;
	*out = v;
	return 0;
}

enum {
	OPT_PACKETS = 256, OPT_SECONDS, OPT_NO_COPY, OPT_NO_VERIFY, OPT_PAIRED,
	OPT_BURST,
	OPT_GUEST_MB, OPT_DMA_RING, OPT_DMA_ARGS, OPT_SELFTEST,
	OPT_ALLOW_DROPS, OPT_HELP,
};

static int
parse_args(struct lf_app *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "packets", required_argument, NULL, OPT_PACKETS },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "no-copy", no_argument, NULL, OPT_NO_COPY },
		{ "no-verify", no_argument, NULL, OPT_NO_VERIFY },
		{ "paired", no_argument, NULL, OPT_PAIRED },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "guest-mb", required_argument, NULL, OPT_GUEST_MB },
		{ "dma-ring", required_argument, NULL, OPT_DMA_RING },
		{ "dma-args", required_argument, NULL, OPT_DMA_ARGS },
		{ "selftest", required_argument, NULL, OPT_SELFTEST },
		{ "allow-drops", no_argument, NULL, OPT_ALLOW_DROPS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	char *end;
	int c;

	a->portmask = UINT64_MAX;
	a->nq = 1;
	a->burst = 32;
	a->period_s = 1;
	a->guest_mb = 4;
	a->nb_desc = 1024;
	a->dma_args = "";
	optind = 0; /* reset getopt: the EAL used it */
	while ((c = getopt_long(argc, argv, "p:q:T:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_u64(optarg, 16, 1, UINT64_MAX, &v) < 0)
				goto bad;
			a->portmask = v;
			break;
		case 'q':
			if (parse_u64(optarg, 10, 1, LF_MAX_QUEUES, &v) < 0)
				goto bad;
			a->nq = (unsigned int)v;
			break;
		case 'T':
			if (parse_u64(optarg, 10, 0, 3600, &v) < 0)
				goto bad;
			a->period_s = (unsigned int)v;
			break;
		case OPT_PACKETS:
			if (parse_u64(optarg, 10, 1, UINT64_MAX, &v) < 0)
				goto bad;
			a->max_packets = v;
			break;
		case OPT_SECONDS:
			errno = 0;
			a->seconds = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
					!(a->seconds > 0) || a->seconds > 1e6)
				goto bad;
			break;
		case OPT_NO_COPY:
			a->no_copy = true;
			break;
		case OPT_NO_VERIFY:
			a->no_verify = true;
			break;
		case OPT_PAIRED:
			a->paired = true;
			break;
		case OPT_BURST:
			if (parse_u64(optarg, 10, 1, LF_MAX_BURST, &v) < 0)
				goto bad;
			a->burst = (unsigned int)v;
			break;
		case OPT_GUEST_MB:
			if (parse_u64(optarg, 10, 1, 4096, &v) < 0)
				goto bad;
			a->guest_mb = (unsigned int)v;
			break;
		case OPT_DMA_RING:
			if (parse_u64(optarg, 10, 64, 8192, &v) < 0)
				goto bad;
			a->nb_desc = (unsigned int)v;
			break;
		case OPT_DMA_ARGS:
			a->dma_args = optarg;
			break;
		case OPT_SELFTEST:
			if (parse_u64(optarg, 10, 1, UINT32_MAX, &v) < 0)
				goto bad;
			a->selftest = v;
			break;
		case OPT_ALLOW_DROPS:
			a->allow_drops = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(argv[0]);
			exit(EXIT_SUCCESS);
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", argv[0],
			argv[optind]);
		return -1;
	}
	if (!rte_is_power_of_2(a->nb_desc))
		a->nb_desc = rte_align32pow2(a->nb_desc);
	return 0;
bad:
	fprintf(stderr, "%s: bad value \"%s\" for %s\n", argv[0], optarg,
		argv[optind - 1]);
	usage(argv[0]);
	return -1;
}

/* ---- transmit queues ---------------------------------------------------- */

static uint32_t
txq_count(const struct lf_txq *t)
{
	return t->tail - t->head;
}

static void
txq_push(struct lf_txq *t, struct rte_mbuf *m)
{
	t->m[t->tail++ & (LF_TXBUF - 1)] = m;
}

/* Send what one queue holds, in order; keep what the port refuses. */
static unsigned int
txq_flush(struct lf_app *a, uint16_t port, uint16_t q)
{
	struct lf_port *p = &a->ports[port];
	struct lf_txq *t = &p->txq[q];
	uint32_t n, off, sent, i, total = 0, len[LF_MAX_BURST];

	while ((n = txq_count(t)) != 0) {
		off = t->head & (LF_TXBUF - 1);
		n = RTE_MIN(n, LF_TXBUF - off); /* the contiguous part */
		n = RTE_MIN(n, LF_MAX_BURST);
		/* a sent mbuf may be freed at once: take the lengths first */
		for (i = 0; i < n; i++)
			len[i] = t->m[off + i]->pkt_len;
		sent = rte_eth_tx_burst(port, q, &t->m[off], (uint16_t)n);
		for (i = 0; i < sent; i++)
			p->tx_bytes += len[i];
		p->tx += sent;
		t->head += sent;
		total += sent;
		if (sent < n)
			break;
	}
	return total;
}

/* ---- the address space -------------------------------------------------- */

static void
chunk_cb(struct rte_mempool *mp, void *opaque, struct rte_mempool_memhdr *h,
	unsigned int idx)
{
	struct lf_app *a = opaque;
	uint64_t lo, hi;

	RTE_SET_USED(mp);
	RTE_SET_USED(idx);
	if (h->iova == RTE_BAD_IOVA || h->iova != (uint64_t)(uintptr_t)h->addr) {
		lf_fail(a, "mbuf pool chunk %p has IOVA 0x%" PRIx64 ": this"
			" example needs IOVA-as-VA (--no-huge, or --iova-mode=va)",
			h->addr, (uint64_t)h->iova);
		return;
	}
	if (a->nchunks == LF_MAX_CHUNKS) {
		lf_fail(a, "mbuf pool: more than %u memory chunks",
			LF_MAX_CHUNKS);
		return;
	}
	lo = RTE_ALIGN_FLOOR(h->iova, MMRT_PAGE_SIZE);
	hi = RTE_ALIGN_CEIL(h->iova + h->len, MMRT_PAGE_SIZE);
	a->chunks[a->nchunks].va = lo;
	a->chunks[a->nchunks].len = hi - lo;
	a->nchunks++;
}

static int
chunk_cmp(const void *x, const void *y)
{
	const uint64_t *a = x, *b = y;

	return *a < *b ? -1 : *a > *b;
}

/*
 * The device's view: the mbuf pool's memory at its IOVAs (read-only: the
 * device only reads packets), and the guest region, registered MISSING.
 */
static int
space_setup(struct lf_app *a)
{
	uint64_t features = 0, ops = 0, va, end;
	unsigned int i, n = 0;
	int ret;

	a->as = mmrt_as_create(LF_AS_NAME);
	if (a->as == NULL)
		return lf_fail(a, "mmrt_as_create: %s",
			rte_strerror(rte_errno));
	rte_mempool_mem_iter(a->pool, chunk_cb, a);
	if (a->reason[0] != '\0')
		return -1;
	/* page-rounded chunks may share a page: merge them */
	qsort(a->chunks, a->nchunks, sizeof(a->chunks[0]), chunk_cmp);
	for (i = 0; i < a->nchunks; i++) {
		if (n > 0 && a->chunks[i].va <= a->chunks[n - 1].va +
				a->chunks[n - 1].len) {
			end = RTE_MAX(a->chunks[n - 1].va +
				a->chunks[n - 1].len,
				a->chunks[i].va + a->chunks[i].len);
			a->chunks[n - 1].len = end - a->chunks[n - 1].va;
			continue;
		}
		a->chunks[n++] = a->chunks[i];
	}
	a->nchunks = n;
	for (i = 0; i < a->nchunks; i++) {
		va = a->chunks[i].va;
		ret = mmrt_map_host(a->as, va, (void *)(uintptr_t)va,
			a->chunks[i].len, MMRT_PROT_READ, 0);
		if (ret < 0)
			return lf_fail(a, "mmrt_map_host(mbuf pool chunk 0x%"
				PRIx64 ", %" PRIu64 " bytes): %s", va,
				a->chunks[i].len, strerror(-ret));
	}

	a->guest_len = (uint64_t)a->guest_mb << 20;
	a->nslots = a->guest_len / LF_SLOT;
	if (a->nslots < a->nb_desc)
		return lf_fail(a, "--guest-mb %u holds %" PRIu64 " slots, fewer"
			" than the %u copies that may be in flight",
			a->guest_mb, a->nslots, a->nb_desc);
	ret = mmrt_map(a->as, LF_GUEST_VA, a->guest_len,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (ret < 0)
		return lf_fail(a, "mmrt_map(guest): %s", strerror(-ret));
	a->uffd = mmrt_uffd_create(a->as, MMRT_UFFD_API, &features, NULL);
	if (a->uffd == NULL)
		return lf_fail(a, "mmrt_uffd_create: %s",
			rte_strerror(rte_errno));
	ret = mmrt_uffd_register(a->uffd, LF_GUEST_VA, a->guest_len,
		MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	if (ret < 0)
		return lf_fail(a, "mmrt_uffd_register: %s", strerror(-ret));
	if (!(ops & MMRT_UFFD_OP_COPY))
		return lf_fail(a, "mmrt_uffd_register: no COPY in 0x%" PRIx64,
			ops);
	a->touched = calloc(a->guest_len / MMRT_PAGE_SIZE, 1);
	a->ops = calloc(a->nb_desc, sizeof(*a->ops));
	if (a->touched == NULL || a->ops == NULL)
		return lf_fail(a, "out of memory");
	return 0;
}

/* The dma_mmrt device's mmrt counters (parks, invalidations, its
 * engine's steps); 0, or -1 when the device is not started. */
static int
engine_stats(struct lf_app *a, struct mmrt_dma_mmrt_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!a->dma_started)
		return -1;
	return mmrt_dma_mmrt_stats(a->dma, st) == 0 ? 0 : -1;
}

/* The worker lcore the started engine runs on (-1: a service lcore). */
static int
engine_lcore(void)
{
	unsigned int l;

	RTE_LCORE_FOREACH_WORKER(l)
		if (rte_eal_get_lcore_state(l) == RUNNING)
			return (int)l;
	return -1;
}

static int
dma_setup(struct lf_app *a)
{
	struct rte_dma_conf dconf = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vconf = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
	};
	struct mmrt_dma_mmrt_stats st;
	char args[256];
	int ret, id;

	/* keep libmmrt_pmd_dma_mmrt loaded: it registers the driver */
	if (!mmrt_dma_mmrt_registered())
		return lf_fail(a, "the dma_mmrt driver is not registered");
	snprintf(args, sizeof(args), "as=%s%s%s", LF_AS_NAME,
		a->dma_args[0] != '\0' ? "," : "", a->dma_args);
	ret = rte_vdev_init(LF_DMA_NAME, args);
	if (ret < 0)
		return lf_fail(a, "rte_vdev_init(%s, \"%s\"): %s", LF_DMA_NAME,
			args, strerror(-ret));
	a->vdev_made = true;
	id = rte_dma_get_dev_id_by_name(LF_DMA_NAME);
	if (id < 0)
		return lf_fail(a, "no dmadev %s", LF_DMA_NAME);
	a->dma = (int16_t)id;
	ret = rte_dma_configure(a->dma, &dconf);
	if (ret == 0) {
		vconf.nb_desc = (uint16_t)a->nb_desc;
		ret = rte_dma_vchan_setup(a->dma, 0, &vconf);
	}
	if (ret == 0)
		ret = rte_dma_start(a->dma);
	if (ret < 0)
		return lf_fail(a, "dmadev %s: configure/start: %s",
			LF_DMA_NAME, strerror(-ret));
	a->dma_started = true;
	ret = mmrt_dma_mmrt_stats(a->dma, &st);
	if (ret < 0)
		return lf_fail(a, "dmadev %s: no mmrt counters: %s",
			LF_DMA_NAME, strerror(-ret));
	return 0;
}

/* ---- ports -------------------------------------------------------------- */

static int
port_setup(struct lf_app *a, uint16_t port)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nrxd = LF_NB_RXD, ntxd = LF_NB_TXD, q;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_info_get(port, &info);
	if (ret < 0)
		return lf_fail(a, "port %u: info: %s", port, strerror(-ret));
	if (a->nq > info.max_rx_queues || a->nq > info.max_tx_queues)
		return lf_fail(a, "port %u (%s): -q %u, it has %u RX and %u TX"
			" queues", port, info.driver_name, a->nq,
			info.max_rx_queues, info.max_tx_queues);
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	ret = rte_eth_dev_configure(port, (uint16_t)a->nq, (uint16_t)a->nq,
		&conf);
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrxd, &ntxd);
	for (q = 0; ret == 0 && q < a->nq; q++) {
		ret = rte_eth_rx_queue_setup(port, q, nrxd,
			rte_eth_dev_socket_id(port), NULL, a->pool);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(port, q, ntxd,
				rte_eth_dev_socket_id(port), NULL);
	}
	if (ret == 0)
		ret = rte_eth_dev_start(port);
	if (ret < 0)
		return lf_fail(a, "port %u (%s): set-up: %s", port,
			info.driver_name, strerror(-ret));
	/* l2fwd does the same; drivers without promiscuous mode say so */
	rte_eth_promiscuous_enable(port);
	a->ports[port].used = true;
	return 0;
}

static void
ports_close(struct lf_app *a)
{
	uint16_t port;
	int ret;

	RTE_ETH_FOREACH_DEV(port) {
		if (!a->ports[port].used)
			continue;
		ret = rte_eth_dev_stop(port);
		if (ret < 0)
			lf_fail(a, "port %u: stop: %s", port, strerror(-ret));
		rte_eth_dev_close(port);
		a->ports[port].used = false;
	}
}

/* Enabled ports and their destinations. */
static int
ports_plan(struct lf_app *a)
{
	uint16_t port, prev = RTE_MAX_ETHPORTS;
	unsigned int n = 0;

	if (a->selftest != 0) {
		a->ports[a->st_in].rx_on = true;
		a->ports[a->st_in].dst = a->st_out;
		return 0;
	}
	RTE_ETH_FOREACH_DEV(port) {
		if (port >= 64 || !(a->portmask & (UINT64_C(1) << port)))
			continue;
		a->ports[port].rx_on = true;
		a->ports[port].dst = port;
		if (a->paired) {
			if (prev == RTE_MAX_ETHPORTS) {
				prev = port;
			} else {
				a->ports[port].dst = prev;
				a->ports[prev].dst = port;
				prev = RTE_MAX_ETHPORTS;
			}
		}
		n++;
	}
	if (n == 0)
		return lf_fail(a, "no port in mask 0x%" PRIx64, a->portmask);
	if (a->paired && prev != RTE_MAX_ETHPORTS)
		return lf_fail(a, "--paired needs an even number of ports");
	return 0;
}

/* ---- self-check traffic ------------------------------------------------- */

static uint32_t
st_len(uint64_t seq)
{
	static const uint16_t lens[] = {
		60, 64, 65, 127, 128, 255, 256, 511, 512, 1000, 1023, 1024,
		1280, 1514, 1515, 2048,
	};

	return lens[(seq * UINT64_C(2654435761)) % RTE_DIM(lens)];
}

static uint8_t
st_byte(uint64_t seq, uint32_t off)
{
	uint64_t x = (seq << 16 | off) * UINT64_C(0x9e3779b97f4a7c15);

	return (uint8_t)(x >> 56);
}

/* Frame @seq: broadcast, our MAC, the experimental ethertype, payload. */
static void
st_frame(uint64_t seq, uint8_t *f, uint32_t len)
{
	static const uint8_t hdr[14] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
		LF_ETHERTYPE >> 8, LF_ETHERTYPE & 0xff,
	};
	uint32_t i;

	memcpy(f, hdr, sizeof(hdr));
	for (i = sizeof(hdr); i < len; i++)
		f[i] = st_byte(seq, i);
	memcpy(f + sizeof(hdr), &seq, sizeof(seq));
}

/* The generator: frames into the first port, whose TX loops to its RX. */
static int
st_generate(struct lf_app *a)
{
	struct rte_mbuf *m[LF_MAX_BURST];
	unsigned int n = 0, i, sent;
	uint32_t len;
	uint8_t *p;

	while (n < a->burst && a->gen + n < a->selftest &&
			a->gen + n - a->checked < LF_GEN_WINDOW) {
		m[n] = rte_pktmbuf_alloc(a->pool);
		if (m[n] == NULL)
			break;
		len = st_len(a->gen + n);
		p = (uint8_t *)rte_pktmbuf_append(m[n], (uint16_t)len);
		if (p == NULL) {
			rte_pktmbuf_free(m[n]);
			return lf_fail(a, "a %u-byte frame does not fit an mbuf",
				len);
		}
		st_frame(a->gen + n, p, len);
		n++;
	}
	if (n == 0)
		return 0;
	sent = rte_eth_tx_burst(a->st_in, 0, m, (uint16_t)n);
	for (i = sent; i < n; i++)
		rte_pktmbuf_free(m[i]); /* made again next turn */
	a->gen += sent;
	return (int)sent;
}

/* The checker: frames out of the second port, in order, byte for byte. */
static int
st_check(struct lf_app *a)
{
	static uint8_t want[RTE_MBUF_DEFAULT_DATAROOM];
	struct rte_mbuf *m[LF_MAX_BURST];
	const void *got;
	uint8_t buf[RTE_MBUF_DEFAULT_DATAROOM];
	uint16_t n, i;
	uint32_t len;
	int ret = 0;

	n = rte_eth_rx_burst(a->st_out, 0, m, LF_MAX_BURST);
	for (i = 0; i < n; i++) {
		len = st_len(a->checked);
		got = rte_pktmbuf_read(m[i], 0, RTE_MIN(m[i]->pkt_len,
			(uint32_t)sizeof(buf)), buf);
		st_frame(a->checked, want, len);
		if (ret == 0 && (m[i]->pkt_len != len || got == NULL ||
				memcmp(got, want, len) != 0))
			ret = lf_fail(a, "self-check: frame %" PRIu64 " out of"
				" port %u differs (%u bytes, want %u)",
				a->checked, a->st_out, m[i]->pkt_len, len);
		rte_pktmbuf_free(m[i]);
		a->checked++;
	}
	return ret < 0 ? -1 : n;
}

/* ---- the forwarding loop ------------------------------------------------ */

static void
mark_touched(struct lf_app *a, uint64_t gva, uint32_t len)
{
	uint64_t pg = (gva - LF_GUEST_VA) / MMRT_PAGE_SIZE;
	uint64_t last = (gva + len - 1 - LF_GUEST_VA) / MMRT_PAGE_SIZE;

	for (; pg <= last; pg++)
		if (!a->touched[pg]) {
			a->touched[pg] = 1;
			a->pages_touched++;
		}
}

/* Copy packet @m into its guest slot: one op per segment, by IOVA. */
static int
copy_packet(struct lf_app *a, struct rte_mbuf *m, uint16_t dst, uint16_t q)
{
	uint64_t gva = LF_GUEST_VA + (a->seq % a->nslots) * LF_SLOT;
	uint32_t off = 0;
	struct rte_mbuf *s;
	struct lf_op *op;
	int ret;

	for (s = m; s != NULL; s = s->next) {
		ret = rte_dma_copy(a->dma, 0, rte_pktmbuf_iova(s), gva + off,
			s->data_len, 0);
		if (ret < 0)
			return lf_fail(a, "rte_dma_copy: %s", strerror(-ret));
		if ((uint16_t)ret != (uint16_t)a->enq)
			return lf_fail(a, "rte_dma_copy returned index %d,"
				" expected %u", ret, (uint16_t)a->enq);
		op = &a->ops[a->enq & (a->nb_desc - 1)];
		op->m = s->next == NULL ? m : NULL;
		op->gva = gva;
		op->dst = dst;
		op->q = q;
		a->enq++;
		off += s->data_len;
	}
	mark_touched(a, gva, m->pkt_len);
	a->seq++;
	a->copies++;
	a->inflight_pkts++;
	return 0;
}

/* The guest copy of @m at @gva, compared with the packet. */
static int
verify(struct lf_app *a, struct rte_mbuf *m, uint64_t gva)
{
	struct mmrt_xlate x;
	const struct rte_mbuf *s;
	uint32_t off = 0;
	int ret;

	ret = mmrt_translate(a->as, gva, MMRT_ACCESS_READ, &x);
	if (ret < 0)
		return lf_fail(a, "guest slot 0x%" PRIx64 " after its copy"
			" completed: %s", gva, strerror(-ret));
	if (x.size < m->pkt_len)
		return lf_fail(a, "guest slot 0x%" PRIx64 ": %" PRIu64
			" bytes mapped, packet of %u", gva, x.size, m->pkt_len);
	for (s = m; s != NULL; s = s->next) {
		if (memcmp((const uint8_t *)x.addr + off,
				rte_pktmbuf_mtod(s, const void *),
				s->data_len) != 0)
			return lf_fail(a, "guest copy at 0x%" PRIx64 " differs"
				" from its packet (%u bytes, segment at %u)",
				gva, m->pkt_len, off);
		off += s->data_len;
	}
	a->verified++;
	return 0;
}

static int
op_done(struct lf_app *a, enum rte_dma_status_code st)
{
	struct lf_op *op = &a->ops[a->cpl & (a->nb_desc - 1)];
	struct rte_mbuf *m = op->m;

	a->cpl++;
	if (st != RTE_DMA_STATUS_SUCCESSFUL) {
		a->dma_errors++;
		if (!a->pkt_err)
			lf_fail(a, "a copy to guest 0x%" PRIx64 " completed"
				" with status %d", op->gva, (int)st);
		a->pkt_err = true;
	}
	if (m == NULL)
		return 0; /* not the packet's last segment */
	a->inflight_pkts--;
	op->m = NULL;
	if (a->pkt_err || (!a->no_verify && verify(a, m, op->gva) < 0)) {
		a->pkt_err = false;
		a->ports[op->dst].drops++;
		rte_pktmbuf_free(m);
		return -1;
	}
	txq_push(&a->ports[op->dst].txq[op->q], m);
	return 0;
}

/* Completions, in order, with their statuses after an error. */
static int
reap(struct lf_app *a)
{
	enum rte_dma_status_code st[LF_MAX_BURST];
	uint16_t n, i, last;
	bool err = false;
	int done;

	if (a->enq == a->cpl)
		return 0;
	n = rte_dma_completed(a->dma, 0, LF_MAX_BURST, &last, &err);
	for (i = 0; i < n; i++)
		op_done(a, RTE_DMA_STATUS_SUCCESSFUL);
	done = n;
	if (err) {
		n = rte_dma_completed_status(a->dma, 0, LF_MAX_BURST, &last,
			st);
		for (i = 0; i < n; i++)
			op_done(a, st[i]);
		done += n;
	}
	return done;
}

/* Receive one burst on @port queue @q and copy (or forward) it. */
static int
rx_turn(struct lf_app *a, uint16_t port, uint16_t q)
{
	struct lf_port *p = &a->ports[port];
	struct lf_txq *t = &a->ports[p->dst].txq[q];
	struct rte_mbuf *m[LF_MAX_BURST];
	uint16_t n, i;
	unsigned int want = a->burst;

	/* room for the burst: in the ring, and behind what waits to go */
	if (!a->no_copy && a->nb_desc - (a->enq - a->cpl) <
			a->burst * LF_MAX_SEGS)
		return 0;
	if (txq_count(t) + a->inflight_pkts + want > LF_TXBUF)
		return 0;
	if (a->max_packets != 0)
		want = (unsigned int)RTE_MIN((uint64_t)want,
			a->max_packets - a->rx_total);
	n = rte_eth_rx_burst(port, q, m, (uint16_t)want);
	if (n == 0)
		return 0;
	if (a->t_first == 0)
		a->t_first = rte_get_timer_cycles();
	a->rx_total += n;
	p->rx += n;
	for (i = 0; i < n; i++) {
		p->rx_bytes += m[i]->pkt_len;
		if (a->no_copy) {
			txq_push(t, m[i]);
			continue;
		}
		if (m[i]->pkt_len > LF_SLOT || m[i]->nb_segs > LF_MAX_SEGS ||
				m[i]->pkt_len == 0) {
			a->oversize++;
			a->ports[p->dst].drops++;
			rte_pktmbuf_free(m[i]);
			continue;
		}
		if (copy_packet(a, m[i], p->dst, q) < 0) {
			rte_pktmbuf_free_bulk(&m[i], n - i);
			return -1;
		}
	}
	if (!a->no_copy && rte_dma_submit(a->dma, 0) < 0)
		return lf_fail(a, "rte_dma_submit failed");
	return n;
}

/* ---- the userfault handler ---------------------------------------------- */

/* 1: filled (or there already, woken), 0: retry later, -1: failure. */
static int
serve_fault(struct lf_app *a, uint64_t va)
{
	static uint8_t page[MMRT_PAGE_SIZE];
	struct mmrt_uffd_range r;
	struct mmrt_uffd_copy c;
	int ret;

	if (page[0] != LF_FILL_BYTE)
		memset(page, LF_FILL_BYTE, sizeof(page));
	if (va < LF_GUEST_VA || va >= LF_GUEST_VA + a->guest_len)
		return lf_fail(a, "uffd: fault at 0x%" PRIx64 " outside the"
			" guest region", va);
	memset(&c, 0, sizeof(c));
	c.dst = va & ~(MMRT_PAGE_SIZE - 1);
	c.src = page;
	c.len = MMRT_PAGE_SIZE;
	ret = mmrt_uffd_copy(a->uffd, &c);
	if (ret == 0 && c.copy == (int64_t)MMRT_PAGE_SIZE) {
		a->fills++;
		return 1;
	}
	if (ret == -EEXIST) {
		a->eexist++;
		r.start = c.dst;
		r.len = MMRT_PAGE_SIZE;
		ret = mmrt_uffd_wake(a->uffd, &r);
		return ret < 0 ? lf_fail(a, "mmrt_uffd_wake: %s",
			strerror(-ret)) : 1;
	}
	if (ret == -EAGAIN)
		return 0;
	return lf_fail(a, "mmrt_uffd_copy(0x%" PRIx64 ") = %d, copy %" PRId64,
		c.dst, ret, c.copy);
}

static int
handler_turn(struct lf_app *a)
{
	struct mmrt_uffd_msg msgs[LF_UFFD_BURST];
	unsigned int i, n = a->nbacklog, keep = 0;
	int got, ret, done = 0;

	for (i = 0; i < n; i++) {
		ret = serve_fault(a, a->backlog[i].arg.pagefault.address);
		if (ret < 0)
			return -1;
		if (ret == 0)
			a->backlog[keep++] = a->backlog[i];
		else
			a->fill_retries++;
	}
	a->nbacklog = keep;
	got = mmrt_uffd_read(a->uffd, msgs, LF_UFFD_BURST);
	if (got < 0)
		return lf_fail(a, "mmrt_uffd_read: %s", strerror(-got));
	a->msgs += (uint64_t)got;
	for (i = 0; i < (unsigned int)got; i++) {
		if (msgs[i].event != MMRT_UFFD_EVENT_PAGEFAULT)
			return lf_fail(a, "uffd: unexpected event 0x%x",
				msgs[i].event);
		ret = serve_fault(a, msgs[i].arg.pagefault.address);
		if (ret < 0)
			return -1;
		if (ret == 0) {
			if (a->nbacklog == LF_BACKLOG)
				return lf_fail(a, "uffd: more than %u faults"
					" to retry", LF_BACKLOG);
			a->backlog[a->nbacklog++] = msgs[i];
		}
		done++;
	}
	return done;
}

/* ---- statistics --------------------------------------------------------- */

static void
print_stats(struct lf_app *a, bool final)
{
	struct mmrt_dma_mmrt_stats es;
	struct mmrt_uffd_stats us;
	struct rte_dma_stats ds;
	uint64_t rx = 0, tx = 0, bytes = 0, drops = 0;
	uint16_t port;

	printf("==== %s statistics%s ====\n", LF_NAME, final ? " (final)" :
		"");
	for (port = 0; port < RTE_MAX_ETHPORTS; port++) {
		struct lf_port *p = &a->ports[port];

		if (!p->used)
			continue;
		if (p->rx_on)
			printf("port %2u -> %2u", port, p->dst);
		else
			printf("port %2u (tx) ", port);
		printf(": rx %10" PRIu64 " pkts %12" PRIu64 " B  tx %10" PRIu64
			" pkts  drops %" PRIu64 "\n", p->rx, p->rx_bytes, p->tx,
			p->drops);
		rx += p->rx;
		tx += p->tx;
		bytes += p->rx_bytes;
		drops += p->drops;
	}
	printf("total        : rx %10" PRIu64 " pkts %12" PRIu64 " B  tx %10"
		PRIu64 " pkts  drops %" PRIu64 " (%" PRIu64 " oversize)\n",
		rx, bytes, tx, drops, a->oversize);
	if (a->no_copy) {
		printf("guest copies : off (--no-copy)\n");
		return;
	}
	memset(&ds, 0, sizeof(ds));
	if (a->dma_started)
		rte_dma_stats_get(a->dma, 0, &ds);
	engine_stats(a, &es);
	memset(&us, 0, sizeof(us));
	if (a->uffd != NULL)
		mmrt_uffd_stats(a->uffd, &us);
	printf("dma ops      : submitted %" PRIu64 " completed %" PRIu64
		" errors %" PRIu64 "; parks %" PRIu64 " resumes %" PRIu64
		"; invalidations %" PRIu64 "; %" PRIu64 " in flight\n",
		ds.submitted, ds.completed, ds.errors, es.parks, es.resumes,
		es.consumer.inval_descs, a->enq - a->cpl);
	printf("engine       : steps %" PRIu64 " idle %" PRIu64 "; TLB %" PRIu64
		" hits %" PRIu64 " misses; page requests %" PRIu64 " (%" PRIu64
		" deduplicated), userfaults %" PRIu64 ", resolved in place %"
		PRIu64 "; fences %" PRIu64 "\n", es.steps, es.idle_polls,
		es.consumer.tlb_hits, es.consumer.tlb_misses,
		es.consumer.page_requests, es.consumer.page_requests_dedup,
		es.consumer.userfaults, es.consumer.faults_resolved,
		es.consumer.fences);
	if (es.dev_mode)
		printf("dmadev behind: %" PRIu64 " page pieces given, %" PRIu64
			" on it now, %" PRIu64 " worker steps held an ack\n",
			es.pieces, es.inflight, es.acks_held);
	printf("uffd         : %" PRIu64 " faults posted, %" PRIu64
		" deduplicated, %" PRIu64 " refused (ring full), %" PRIu64
		" pending; %" PRIu64 " pages filled, %" PRIu64 " wakes\n",
		us.faults, us.faults_dedup, us.faults_full, us.pending,
		us.filled_pages, us.wakes);
	printf("guest        : %" PRIu64 " copies, %" PRIu64 " verified;"
		" faults %" PRIu64 ", fills %" PRIu64 " (pages touched %"
		PRIu64 ", uffd filled %" PRIu64 ")\n", a->copies, a->verified,
		us.faults, a->fills, a->pages_touched, us.filled_pages);
}

static void
print_rate(struct lf_app *a)
{
	uint64_t end = a->t_rx_end != 0 ? a->t_rx_end : rte_get_timer_cycles();
	double s = a->t_first != 0 ? (double)(end - a->t_first) /
		(double)rte_get_timer_hz() : 0.0;
	uint64_t bytes = 0;
	uint16_t port;

	for (port = 0; port < RTE_MAX_ETHPORTS; port++)
		bytes += a->ports[port].rx_bytes;
	printf("rate: %" PRIu64 " packets %" PRIu64 " bytes in %.6f s:"
		" %.4f Mpps %s\n", a->rx_total, bytes, s,
		s > 0 ? (double)a->rx_total / s / 1e6 : 0.0,
		a->no_copy ? "no-copy" : a->no_verify ? "copy-no-verify" :
		"copy");
}

/* ---- run ---------------------------------------------------------------- */

static bool
work_pending(struct lf_app *a)
{
	uint16_t port, q;

	if (a->enq != a->cpl || a->nbacklog != 0)
		return true;
	for (port = 0; port < RTE_MAX_ETHPORTS; port++)
		for (q = 0; a->ports[port].used && q < a->nq; q++)
			if (txq_count(&a->ports[port].txq[q]) != 0)
				return true;
	if (a->selftest != 0 && a->checked < a->ports[a->st_out].tx)
		return true;
	return false;
}

static void
run(struct lf_app *a)
{
	uint64_t hz = rte_get_timer_hz(), stuck = hz / 1000 * LF_STUCK_MS;
	uint64_t t_stats, t_end = 0, last_progress, t;
	unsigned int i, round = 0;
	uint16_t port, q;
	int w;

	t = rte_get_timer_cycles();
	t_stats = t + (uint64_t)a->period_s * hz;
	if (a->seconds > 0)
		t_end = t + (uint64_t)(a->seconds * (double)hz);
	last_progress = t;
	for (;;) {
		w = 0;
		if (!a->rx_stopped && (force_quit || (a->max_packets != 0 &&
				a->rx_total >= a->max_packets) ||
				(t_end != 0 && rte_get_timer_cycles() >=
				t_end))) {
			a->rx_stopped = true;
			a->t_rx_end = rte_get_timer_cycles();
		}
		if (a->selftest != 0 && !a->rx_stopped)
			w += st_generate(a) > 0;
		/* start at another port each round: all get their turn */
		for (i = 0; !a->rx_stopped && i < a->nrx; i++) {
			port = a->rx_ports[(i + round) % a->nrx];
			for (q = 0; q < a->nq; q++)
				w += rx_turn(a, port, q) > 0;
		}
		round++;
		if (!a->no_copy) {
			w += reap(a) > 0;
			w += handler_turn(a) > 0;
		}
		RTE_ETH_FOREACH_DEV(port)
			for (q = 0; a->ports[port].used && q < a->nq; q++)
				w += txq_flush(a, port, q) > 0;
		if (a->selftest != 0)
			w += st_check(a) > 0;
		mmrt_quiescent();
		if (a->reason[0] != '\0' && a->enq == a->cpl)
			return;
		t = rte_get_timer_cycles();
		if (a->period_s != 0 && t >= t_stats) {
			print_stats(a, false);
			t_stats = t + (uint64_t)a->period_s * hz;
		}
		if (w != 0 || !work_pending(a)) {
			last_progress = t;
			if (a->rx_stopped && !work_pending(a))
				return;
		} else if (t - last_progress > stuck) {
			lf_fail(a, "no progress for %u ms: %" PRIu64 " copies in"
				" flight, %u faults held back", LF_STUCK_MS,
				a->enq - a->cpl, a->nbacklog);
			return;
		}
		if (w == 0)
			rte_pause();
	}
}

/* Frames in use, exact: deferred page tables reclaimed, caches flushed. */
static uint64_t
pool_used(void)
{
	mmrt_mm_reclaim(true);
	mmrt_mem_cache_flush();
	return mmrt_mem_used();
}

static int
selftest_ports(struct lf_app *a)
{
	int ret;

	ret = rte_vdev_init("net_ring_lfi", NULL);
	if (ret == 0)
		ret = rte_vdev_init("net_ring_lfo", NULL);
	if (ret < 0)
		return lf_fail(a, "net_ring ports for the self-check: %s",
			strerror(-ret));
	if (rte_eth_dev_get_port_by_name("net_ring_lfi", &a->st_in) != 0 ||
	    rte_eth_dev_get_port_by_name("net_ring_lfo", &a->st_out) != 0)
		return lf_fail(a, "self-check ports not found");
	a->nq = 1;
	a->max_packets = a->selftest;
	return 0;
}

/* Final checks, after the engine stopped and the ports were closed. */
static void
check(struct lf_app *a, const struct mmrt_uffd_stats *us)
{
	uint64_t rx = 0, tx = 0, drops = 0;
	uint16_t port;

	for (port = 0; port < RTE_MAX_ETHPORTS; port++) {
		rx += a->ports[port].rx;
		tx += a->ports[port].tx;
		drops += a->ports[port].drops;
	}
	if (a->selftest != 0) {
		/* the checker's port counts what it got, not forwarded */
		tx = a->ports[a->st_out].tx;
		if (a->checked != a->selftest || tx != a->selftest)
			lf_fail(a, "self-check: %" PRIu64 " frames generated,"
				" %" PRIu64 " forwarded, %" PRIu64 " checked",
				a->selftest, tx, a->checked);
	}
	if (rx != tx + drops)
		lf_fail(a, "%" PRIu64 " packets received, %" PRIu64 " sent, %"
			PRIu64 " dropped", rx, tx, drops);
	if (drops != 0 && !a->allow_drops)
		lf_fail(a, "%" PRIu64 " packets dropped (%" PRIu64 " oversize)",
			drops, a->oversize);
	if (a->no_copy)
		return;
	if ((!a->no_verify && a->verified != a->copies) || a->dma_errors != 0)
		lf_fail(a, "%" PRIu64 " guest copies, %" PRIu64 " verified, %"
			PRIu64 " DMA errors", a->copies, a->verified,
			a->dma_errors);
	if (us->filled_pages != a->fills || a->fills != a->pages_touched ||
	    us->pending != 0)
		lf_fail(a, "uffd: %" PRIu64 " pages filled (%" PRIu64 " by the"
			" handler), %" PRIu64 " guest pages touched, %" PRIu64
			" pending", us->filled_pages, a->fills,
			a->pages_touched, us->pending);
	if (a->copies != 0 && a->fills == 0)
		lf_fail(a, "no demand fill for %" PRIu64 " copies", a->copies);
}

int
main(int argc, char **argv)
{
	static struct lf_app app;
	struct lf_app *a = &app;
	struct mmrt_dma_mmrt_stats es;
	struct mmrt_uffd_stats us;
	uint64_t used0 = 0, used1;
	unsigned int nports, avail;
	uint16_t port;
	bool up = false, registered = false;
	int ret;

	/* first: a signal during the EAL's start-up stops the run cleanly */
	force_quit = false;
	signal(SIGINT, signal_handler);
	signal(SIGTERM, signal_handler);
	ret = mmrt_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "mmrt_init: %s\n", strerror(-ret));
		return EXIT_FAILURE;
	}
	argc -= ret;
	argv += ret;
	if (parse_args(a, argc, argv) < 0) {
		mmrt_fini();
		return EXIT_FAILURE;
	}
	memset(&es, 0, sizeof(es));
	memset(&us, 0, sizeof(us));
	a->dma = -1;
	used0 = pool_used();

	if (rte_eth_dev_count_avail() == 0 && a->selftest == 0)
		a->selftest = LF_SELFTEST_FRAMES;
	if (a->selftest != 0 && selftest_ports(a) < 0)
		goto out;
	nports = rte_eth_dev_count_avail();
	/* every RX and TX ring full, the TX buffers, the DMA ring, caches */
	a->pool_size = RTE_MAX(8191u, nports * a->nq * (LF_NB_RXD +
		LF_NB_TXD + LF_TXBUF) + a->nb_desc + LF_GEN_WINDOW +
		rte_lcore_count() * 256u);
	a->pool = rte_pktmbuf_pool_create("l2fwd_mmrt_mbufs", a->pool_size,
		256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (a->pool == NULL) {
		lf_fail(a, "rte_pktmbuf_pool_create(%u mbufs): %s",
			a->pool_size, rte_strerror(rte_errno));
		goto out;
	}
	if (ports_plan(a) < 0)
		goto out;
	RTE_ETH_FOREACH_DEV(port) {
		if (!a->ports[port].rx_on)
			continue;
		if (port_setup(a, port) < 0)
			goto out;
		a->rx_ports[a->nrx++] = port;
	}
	RTE_ETH_FOREACH_DEV(port) {
		if (a->ports[port].rx_on && !a->ports[a->ports[port].dst].used &&
				port_setup(a, a->ports[port].dst) < 0)
			goto out;
	}
	if (!a->no_copy && (space_setup(a) < 0 || dma_setup(a) < 0))
		goto out;
	if (a->dma_started)
		a->engine_lcore = engine_lcore();
	printf("%s: %u port(s), %u queue(s) each, burst %u; %s; forwarding"
		" on lcore %u\n", LF_NAME, nports, a->nq, a->burst,
		a->no_copy ? "no guest copy" : "each packet copied by "
		LF_DMA_NAME " into a guest region paged on demand",
		rte_lcore_id());
	if (a->dma_started)
		printf("%s: dma_mmrt engine on lcore %d; %u descriptors; guest"
			" region %u MiB at 0x%" PRIx64 " (%" PRIu64 " slots of"
			" %u B); mbuf pool host-mapped in %u chunk(s)\n",
			LF_NAME, (int)a->engine_lcore, a->nb_desc, a->guest_mb,
			LF_GUEST_VA, a->nslots, LF_SLOT, a->nchunks);
	if (a->selftest != 0)
		printf("%s: self-check, %" PRIu64 " frames: net_ring port %u ->"
			" port %u\n", LF_NAME, a->selftest, a->st_in,
			a->st_out);
	fflush(stdout);
	up = true;

	ret = mmrt_thread_register();
	if (ret < 0) {
		lf_fail(a, "mmrt_thread_register: %s", strerror(-ret));
		goto out;
	}
	registered = true;
	run(a);
	if (force_quit && a->reason[0] == '\0')
		printf("%s: signal received, stopped\n", LF_NAME);

out:
	if (registered)
		mmrt_thread_unregister();
	if (up)
		print_stats(a, true);
	if (a->dma_started) {
		engine_stats(a, &es);
		if (es.consumer.fences != 0)
			lf_fail(a, "the engine was fenced %" PRIu64 " times",
				es.consumer.fences);
		/* stop and close: the engine lets go of the space */
		rte_vdev_uninit(LF_DMA_NAME);
		a->dma_started = false;
		a->vdev_made = false;
	}
	ports_close(a);
	/* the copies not reaped are gone with the engine: free them */
	for (; a->ops != NULL && a->cpl != a->enq; a->cpl++) {
		struct lf_op *op = &a->ops[a->cpl & (a->nb_desc - 1)];

		if (op->m != NULL)
			rte_pktmbuf_free(op->m);
	}
	RTE_ETH_FOREACH_DEV(port) {
		uint16_t q;

		for (q = 0; q < LF_MAX_QUEUES; q++) {
			struct lf_txq *t = &a->ports[port].txq[q];

			while (txq_count(t) != 0)
				rte_pktmbuf_free(t->m[t->head++ &
					(LF_TXBUF - 1)]);
		}
	}
	if (a->pool != NULL) {
		avail = rte_mempool_avail_count(a->pool);
		if (avail != a->pool_size)
			lf_fail(a, "mbuf pool: %u of %u mbufs back", avail,
				a->pool_size);
		else if (up)
			printf("mbuf pool: all %u mbufs back\n", avail);
	}
	if (a->uffd != NULL) {
		if (mmrt_uffd_stats(a->uffd, &us) < 0)
			lf_fail(a, "mmrt_uffd_stats failed");
		mmrt_uffd_destroy(a->uffd);
	}
	if (a->as != NULL) {
		ret = mmrt_as_destroy(a->as);
		if (ret < 0)
			lf_fail(a, "mmrt_as_destroy: %s", strerror(-ret));
	}
	/* the space that host-mapped the pool is gone: free the pool */
	rte_mempool_free(a->pool);
	if (a->vdev_made)
		rte_vdev_uninit(LF_DMA_NAME);
	if (up) {
		print_rate(a);
		check(a, &us);
	}
	used1 = pool_used();
	if (used1 != used0)
		lf_fail(a, "frame pool: %" PRIu64 " frames used at start, %"
			PRIu64 " at end", used0, used1);
	else if (up)
		printf("frame pool: %" PRIu64 " frames used at start and at"
			" end\n", used0);
	free(a->touched);
	free(a->ops);
	ret = mmrt_fini();
	if (ret < 0)
		lf_fail(a, "mmrt_fini: %s", strerror(-ret));
	if (a->reason[0] != '\0') {
		printf("%s: FAILED (%s)\n", LF_NAME, a->reason);
		return EXIT_FAILURE;
	}
	printf("%s: OK\n", LF_NAME);
	return EXIT_SUCCESS;
}
