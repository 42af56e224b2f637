/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * A DMA engine under a changing address space: a packet-processing loop
 * hands buffers to a dma_mmrt dmadev (the swdma engine behind rte_dma_*,
 * on the example's address space with as=; copies of "packets" from an RX
 * buffer pool to a TX buffer pool, enqueue + submit + completed, like a
 * NIC's RX -> TX path), while a remapper moves buffer chunks to other
 * addresses (mmrt_remap) and a protector makes chunks read-only and back
 * (mmrt_protect) under the engine, and a userfault handler fills the RX
 * pages on demand (the RX pool is registered MISSING: its pages arrive
 * when the engine first reads them, as in a post-copy migration).
 *
 * Placement (two lcores):
 *   lcore 1  the engine of the dma_mmrt device (lcore=1), polling its
 *            descriptors and acking every invalidation between two steps
 *   (ctrl)   the driver's page-request thread, which serves the engine's
 *            page requests
 *   lcore 0  one round-robin loop running three turns in a row, each of
 *            bounded length: the packet loop (reap completions, verify,
 *            enqueue a burst, submit), the handler (read the uffd, fill
 *            pages) and the control
 *            plane (at most one remap or protect step); rte_pause() when a
 *            round did nothing. None of them spins on another.
 *
 * What happens to the engine:
 * - remap: the chunk is drained first (the packet loop issues nothing more
 *   to it; the remap waits until its ops in flight have completed), then
 *   moved; the engine's cached translations of the old addresses are
 *   invalidated, the pages keep their frames (checked) and the packet loop
 *   uses the new addresses. RX chunks keep their MISSING registration
 *   (EVENT_REMAP): their faults then come from the new addresses.
 * - protect: not drained. An RX chunk made read-only costs the engine
 *   nothing (it only reads RX buffers; fills land read-only). A TX chunk
 *   made read-only makes the copies that land there meanwhile complete
 *   with RTE_DMA_STATUS_INVALID_DST_ADDR: the packet loop drops them, as a
 *   NIC drops a packet on an IOMMU fault, and checks that each drop hit a
 *   chunk that was read-only while the copy was outstanding.
 *
 * Every delivered packet is compared with what the handler put in its RX
 * buffer. Prints what happened and "dma_remap: OK" (exit 0), or
 * "dma_remap: FAILED (reason)" (exit 1). Needs two lcores.
 *
 * Build out of tree with pkg-config (see README.md):
 *   make            # uses `pkg-config --cflags --libs libmmrt`
 *   ./dma_remap     # or: ./dma_remap [EAL args] [-- mmrt args]
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_dmadev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <mmrt_core.h>
#include <mmrt_dev.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

/* Buffers: 2 KiB, two per page, grouped in chunks (the unit moved). */
#define DR_BUF_SIZE 2048u
#define DR_BUF_WORDS (DR_BUF_SIZE / 8u)
#define DR_PAGE_BUFS ((unsigned int)(MMRT_PAGE_SIZE / DR_BUF_SIZE))
#define DR_CHUNK_PAGES 16u
#define DR_CHUNK_BUFS (DR_CHUNK_PAGES * DR_PAGE_BUFS)
#define DR_CHUNK_SIZE ((uint64_t)DR_CHUNK_PAGES * MMRT_PAGE_SIZE)
/* RX: 32 MiB, one packet per buffer (every RX page faults once). */
#define DR_RX_CHUNKS 512u
/* TX: 1 MiB, buffers reused in turn. */
#define DR_TX_CHUNKS 16u
#define DR_PACKETS (DR_RX_CHUNKS * DR_CHUNK_BUFS)
#define DR_TX_BUFS (DR_TX_CHUNKS * DR_CHUNK_BUFS)

/* Each pool has two windows; a chunk lives in one of them. */
#define DR_RX_VA(w) ((UINT64_C(1) + (w)) << 32)
#define DR_TX_VA(w) ((UINT64_C(3) + (w)) << 32)

/* Engine ring, packets in flight, packets per turn. */
#define DR_NB_DESC 256u
/* The dma_mmrt device (a vdev name starts with the driver's). */
#define DR_DEV "dma_mmrt_remap"
#define DR_WINDOW 128u
#define DR_BURST 32u
/* Messages the handler reads per turn; faults it may have to retry. */
#define DR_UFFD_BURST 16u
#define DR_BACKLOG 64u
/*
 * A control action every DR_CTL_PERIOD packets. A protect lasts until the
 * DR_*_HOLD packets issued after it have completed.
 */
#define DR_CTL_PERIOD 512u
#define DR_TX_HOLD 16u
#define DR_RX_HOLD 48u
/* No completion for this long with packets in flight: stuck. */
#define DR_STUCK_MS 5000u

#define DR_SALT UINT64_C(0x646d615f72656d70)

enum dr_chunk_state {
	DR_OPEN = 0,   /* in use */
	DR_DRAINING,   /* to be remapped: nothing new is issued to it */
	DR_RO,         /* read-only for now */
};

/* A buffer pool: chunks at the same offset in one of two windows. */
struct dr_pool {
	const char *name;
	uint64_t win[2];
	uint8_t where[DR_RX_CHUNKS];     /* window of each chunk */
	uint8_t state[DR_RX_CHUNKS];     /* enum dr_chunk_state */
	uint32_t inflight[DR_RX_CHUNKS]; /* copies outstanding */
	uint32_t ro_gen[DR_RX_CHUNKS];   /* bumped at protect and restore */
};

/* What the packet loop remembers of a copy in flight. */
struct dr_op {
	uint32_t rx;          /* RX buffer (= packet number) */
	uint32_t tx;          /* TX buffer */
	uint32_t len;
	uint32_t tx_gen;      /* ro_gen of the TX chunk at enqueue */
	bool tx_ro;           /* the TX chunk was read-only at enqueue */
};

enum dr_ctl_state { DR_CTL_IDLE = 0, DR_CTL_DRAIN, DR_CTL_HOLD };

struct dr_app {
	struct mmrt_as *as;
	int16_t dev;              /* the dma_mmrt dmadev, -1: none */
	bool probed;              /* DR_DEV is on the vdev bus */
	bool started;
	struct mmrt_uffd *uffd;
	struct dr_pool rx, tx;
	unsigned int engine_lcore;

	/* packet loop */
	uint64_t enq;             /* packets enqueued */
	uint64_t cpl;             /* packets completed (any status) */
	struct dr_op ops[DR_NB_DESC];
	uint64_t delivered, bytes, stalls;
	/* RX pages a packet was delivered from */
	uint8_t rx_read[DR_RX_CHUNKS * DR_CHUNK_PAGES];
	uint64_t status[256];     /* completions by status (255: above) */
	uint64_t drops_expected;

	/* handler */
	struct mmrt_uffd_msg backlog[DR_BACKLOG];
	unsigned int nbacklog;
	uint64_t msgs, filled, eexist, retried, remap_events;

	/* control plane */
	enum dr_ctl_state ctl;
	unsigned int actions;
	struct dr_pool *cp;       /* pool and chunk of the action */
	unsigned int cc;
	uint64_t until, next_at;
	uint64_t remaps[2], protects[2]; /* RX, TX */
	uint64_t remap_cycles, protect_cycles, nprotect_calls;
	uint64_t pages_kept;      /* present pages that kept their frame */

	char reason[200];
};

static int dr_fail(struct dr_app *a, const char *fmt, ...)
	__rte_format_printf(2, 3);

static int
dr_fail(struct dr_app *a, const char *fmt, ...)
{
	va_list ap;

	if (a->reason[0] != '\0')
		return -1; /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(a->reason, sizeof(a->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- buffers ------------------------------------------------------------ */

static uint64_t
buf_va(const struct dr_pool *p, uint32_t b)
{
	unsigned int c = b / DR_CHUNK_BUFS;

	return p->win[p->where[c]] + c * DR_CHUNK_SIZE +
		(uint64_t)(b % DR_CHUNK_BUFS) * DR_BUF_SIZE;
}

/* Word @w of packet @b: what the handler puts in RX buffer @b. */
static uint64_t
pkt_word(uint32_t b, unsigned int w)
{
	return (((uint64_t)b << 16) | w) * UINT64_C(0x9e3779b97f4a7c15) ^
		DR_SALT;
}

static void
pkt_fill(uint64_t *words, uint32_t b)
{
	unsigned int w;

	for (w = 0; w < DR_BUF_WORDS; w++)
		words[w] = pkt_word(b, w);
}

/* Packet sizes, from a minimum Ethernet frame to a full buffer. */
static uint32_t
pkt_len(uint32_t b)
{
	static const uint16_t lens[8] = {
		60, 64, 128, 256, 512, 1024, 1518, 2048,
	};

	return lens[(b * UINT32_C(2654435761)) >> 29];
}

/* ---- the packet loop --------------------------------------------------- */

static const char *
status_name(unsigned int s)
{
	static const char * const names[] = {
		[RTE_DMA_STATUS_SUCCESSFUL] = "successful",
		[RTE_DMA_STATUS_USER_ABORT] = "user_abort",
		[RTE_DMA_STATUS_NOT_ATTEMPTED] = "not_attempted",
		[RTE_DMA_STATUS_INVALID_SRC_ADDR] = "invalid_src_addr",
		[RTE_DMA_STATUS_INVALID_DST_ADDR] = "invalid_dst_addr",
		[RTE_DMA_STATUS_INVALID_ADDR] = "invalid_addr",
		[RTE_DMA_STATUS_INVALID_LENGTH] = "invalid_length",
		[RTE_DMA_STATUS_INVALID_OPCODE] = "invalid_opcode",
		[RTE_DMA_STATUS_BUS_READ_ERROR] = "bus_read_error",
		[RTE_DMA_STATUS_BUS_WRITE_ERROR] = "bus_write_error",
		[RTE_DMA_STATUS_BUS_ERROR] = "bus_error",
		[RTE_DMA_STATUS_DATA_POISION] = "data_poison",
		[RTE_DMA_STATUS_DESCRIPTOR_READ_ERROR] = "desc_read_error",
		[RTE_DMA_STATUS_DEV_LINK_ERROR] = "dev_link_error",
		[RTE_DMA_STATUS_PAGE_FAULT] = "page_fault",
	};

	if (s < RTE_DIM(names) && names[s] != NULL)
		return names[s];
	return "unknown";
}

/* One copy completed with @st: verify a delivered packet, check a drop. */
static int
op_done(struct dr_app *a, enum rte_dma_status_code st)
{
	struct dr_op *op = &a->ops[a->cpl & (DR_NB_DESC - 1)];
	unsigned int rc = op->rx / DR_CHUNK_BUFS, tc = op->tx / DR_CHUNK_BUFS;
	uint64_t got[DR_BUF_WORDS], want[DR_BUF_WORDS];
	int ret;

	a->rx.inflight[rc]--;
	a->tx.inflight[tc]--;
	a->cpl++;
	a->status[(unsigned int)st < RTE_DIM(a->status) ? st : 255]++;
	if (st == RTE_DMA_STATUS_SUCCESSFUL) {
		/* the TX chunk cannot have moved: it drains before a remap */
		ret = mmrt_read(a->as, buf_va(&a->tx, op->tx), got, op->len);
		if (ret < 0)
			return dr_fail(a, "mmrt_read(TX buffer %u): %s", op->tx,
				strerror(-ret));
		pkt_fill(want, op->rx);
		if (memcmp(got, want, op->len) != 0)
			return dr_fail(a, "packet %u delivered to TX buffer %u"
				" differs from its RX buffer", op->rx, op->tx);
		a->delivered++;
		a->bytes += op->len;
		a->rx_read[op->rx / DR_PAGE_BUFS] = 1;
		return 0;
	}
	/* a drop is expected where the TX chunk was read-only meanwhile */
	if (st == RTE_DMA_STATUS_INVALID_DST_ADDR &&
	    (op->tx_ro || a->tx.ro_gen[tc] != op->tx_gen)) {
		a->drops_expected++;
		return 0;
	}
	return dr_fail(a, "packet %u (RX 0x%" PRIx64 " -> TX 0x%" PRIx64
		") completed with status %s (%d)", op->rx, buf_va(&a->rx,
		op->rx), buf_va(&a->tx, op->tx), status_name(st), (int)st);
}

/* Reap completions: in order, stopping at an error as rte_dma_completed(). */
static int
reap(struct dr_app *a)
{
	enum rte_dma_status_code st[DR_BURST];
	uint16_t n, i, last;
	bool err = false;
	int done = 0;

	n = rte_dma_completed(a->dev, 0, DR_BURST, &last, &err);
	if (n > 0 && last != (uint16_t)(a->cpl + n - 1))
		return dr_fail(a, "completed: last index %u, expected %u",
			last, (uint16_t)(a->cpl + n - 1));
	for (i = 0; i < n; i++)
		if (op_done(a, RTE_DMA_STATUS_SUCCESSFUL) < 0)
			return -1;
	done += n;
	if (err) {
		/* the failed op and those after it, with their statuses */
		n = rte_dma_completed_status(a->dev, 0, DR_BURST, &last,
			st);
		if (n == 0)
			return dr_fail(a, "completed reported an error but"
				" completed_status reported nothing");
		if (last != (uint16_t)(a->cpl + n - 1))
			return dr_fail(a, "completed_status: last index %u,"
				" expected %u", last,
				(uint16_t)(a->cpl + n - 1));
		for (i = 0; i < n; i++)
			if (op_done(a, st[i]) < 0)
				return -1;
		done += n;
	}
	return done;
}

/* The packet loop's turn: reap, then enqueue up to a burst and submit. */
static int
packet_turn(struct dr_app *a)
{
	unsigned int n = 0, rc, tc;
	uint32_t b, t;
	struct dr_op *op;
	int ret, done;

	done = reap(a);
	if (done < 0)
		return -1;
	while (n < DR_BURST && a->enq < DR_PACKETS &&
			a->enq - a->cpl < DR_WINDOW) {
		b = (uint32_t)a->enq;
		t = (uint32_t)(a->enq % DR_TX_BUFS);
		rc = b / DR_CHUNK_BUFS;
		tc = t / DR_CHUNK_BUFS;
		if (a->rx.state[rc] == DR_DRAINING ||
		    a->tx.state[tc] == DR_DRAINING) {
			a->stalls++; /* wait for the remap */
			break;
		}
		op = &a->ops[a->enq & (DR_NB_DESC - 1)];
		op->rx = b;
		op->tx = t;
		op->len = pkt_len(b);
		op->tx_gen = a->tx.ro_gen[tc];
		op->tx_ro = a->tx.state[tc] == DR_RO;
		ret = rte_dma_copy(a->dev, 0, buf_va(&a->rx, b),
			buf_va(&a->tx, t), op->len, 0);
		if (ret < 0)
			return dr_fail(a, "rte_dma_copy(packet %u): %s", b,
				strerror(-ret));
		if ((uint16_t)ret != (uint16_t)a->enq)
			return dr_fail(a, "rte_dma_copy returned index %d,"
				" expected %u", ret, (uint16_t)a->enq);
		a->rx.inflight[rc]++;
		a->tx.inflight[tc]++;
		a->enq++;
		n++;
	}
	if (n > 0 && rte_dma_submit(a->dev, 0) < 0)
		return dr_fail(a, "rte_dma_submit failed");
	return done + (int)n;
}

/* ---- the userfault handler --------------------------------------------- */

/*
 * Fill one faulting RX page with its two packets. 1: done (or it was
 * there already, then woken), 0: a layout change is pending (retry after
 * reading its event), -1: failure.
 */
static int
serve_fault(struct dr_app *a, const struct mmrt_uffd_msg *m)
{
	uint64_t words[MMRT_PAGE_SIZE / sizeof(uint64_t)];
	uint64_t va = m->arg.pagefault.address, off;
	struct mmrt_uffd_range r;
	struct mmrt_uffd_copy c;
	unsigned int w, ch, i;
	uint32_t b;
	int ret;

	if (va >= DR_RX_VA(0) && va < DR_RX_VA(0) + DR_RX_CHUNKS *
			DR_CHUNK_SIZE)
		w = 0;
	else if (va >= DR_RX_VA(1) && va < DR_RX_VA(1) + DR_RX_CHUNKS *
			DR_CHUNK_SIZE)
		w = 1;
	else
		return dr_fail(a, "uffd: fault at 0x%" PRIx64
			" outside the RX windows", va);
	off = va - DR_RX_VA(w);
	ch = (unsigned int)(off / DR_CHUNK_SIZE);
	if (a->rx.where[ch] != w)
		return dr_fail(a, "uffd: fault at 0x%" PRIx64 " in window %u,"
			" but RX chunk %u lives in window %u", va, w, ch,
			a->rx.where[ch]);
	/* the page's packets, wherever the chunk lives now */
	b = (uint32_t)(off / DR_BUF_SIZE);
	for (i = 0; i < DR_PAGE_BUFS; i++)
		pkt_fill(words + i * DR_BUF_WORDS, b + i);
	memset(&c, 0, sizeof(c));
	c.dst = va;
	c.src = words;
	c.len = MMRT_PAGE_SIZE;
	ret = mmrt_uffd_copy(a->uffd, &c);
	if (ret == 0 && c.copy == (int64_t)MMRT_PAGE_SIZE) {
		a->filled++;
		return 1;
	}
	if (ret == -EEXIST) {
		/* filled meanwhile: still wake the page */
		a->eexist++;
		r.start = va;
		r.len = MMRT_PAGE_SIZE;
		ret = mmrt_uffd_wake(a->uffd, &r);
		if (ret < 0)
			return dr_fail(a, "mmrt_uffd_wake(0x%" PRIx64 "): %s",
				va, strerror(-ret));
		return 1;
	}
	if (ret == -EAGAIN && c.copy == -EAGAIN)
		return 0;
	return dr_fail(a, "mmrt_uffd_copy(0x%" PRIx64 ") = %d, copy %" PRId64,
		va, ret, c.copy);
}

static int
handle_msg(struct dr_app *a, const struct mmrt_uffd_msg *m)
{
	int ret;

	switch (m->event) {
	case MMRT_UFFD_EVENT_PAGEFAULT:
		ret = serve_fault(a, m);
		if (ret != 0)
			return ret < 0 ? -1 : 0;
		if (a->nbacklog == DR_BACKLOG)
			return dr_fail(a, "uffd: more than %u faults to retry",
				DR_BACKLOG);
		a->backlog[a->nbacklog++] = *m;
		return 0;
	case MMRT_UFFD_EVENT_REMAP:
		/* a chunk of RX moved with its registration */
		if (m->arg.remap.len != DR_CHUNK_SIZE)
			return dr_fail(a, "uffd: remap event of %" PRIu64
				" bytes", m->arg.remap.len);
		a->remap_events++;
		return 0;
	default:
		return dr_fail(a, "uffd: unexpected event 0x%x", m->event);
	}
}

/* The handler's turn: retry faults held back, read and serve messages. */
static int
handler_turn(struct dr_app *a)
{
	struct mmrt_uffd_msg msgs[DR_UFFD_BURST];
	unsigned int i, n, keep = 0;
	int got, ret;

	got = mmrt_uffd_read(a->uffd, msgs, DR_UFFD_BURST);
	if (got < 0)
		return dr_fail(a, "mmrt_uffd_read: %s", strerror(-got));
	/* faults held back by a layout change: its event is read by now */
	n = a->nbacklog;
	for (i = 0; i < n; i++) {
		ret = serve_fault(a, &a->backlog[i]);
		if (ret < 0)
			return -1;
		if (ret == 0)
			a->backlog[keep++] = a->backlog[i];
		else
			a->retried++;
	}
	a->nbacklog = keep;
	for (i = 0; i < (unsigned int)got; i++)
		if (handle_msg(a, &msgs[i]) < 0)
			return -1;
	a->msgs += (uint64_t)got;
	return got;
}

/* ---- the control plane ------------------------------------------------- */

/* Frames of the chunk's present pages (UINT32_MAX: not present). */
static void
chunk_pfns(struct dr_app *a, uint64_t va, uint32_t *pfn)
{
	struct mmrt_xlate x;
	unsigned int i;

	for (i = 0; i < DR_CHUNK_PAGES; i++)
		pfn[i] = mmrt_translate(a->as, va + i * MMRT_PAGE_SIZE,
			MMRT_ACCESS_READ, &x) == 0 ? x.pfn : UINT32_MAX;
}

/* Move a drained chunk to its other window; its pages keep their frames. */
static int
remap_chunk(struct dr_app *a, struct dr_pool *p, unsigned int c)
{
	uint32_t before[DR_CHUNK_PAGES], after[DR_CHUNK_PAGES];
	uint64_t from, to, t0;
	unsigned int i;
	int ret;

	from = p->win[p->where[c]] + c * DR_CHUNK_SIZE;
	to = p->win[!p->where[c]] + c * DR_CHUNK_SIZE;
	chunk_pfns(a, from, before);
	t0 = rte_rdtsc();
	ret = mmrt_remap(a->as, from, DR_CHUNK_SIZE, to);
	a->remap_cycles += rte_rdtsc() - t0;
	if (ret < 0)
		return dr_fail(a, "mmrt_remap(%s chunk %u, 0x%" PRIx64
			" -> 0x%" PRIx64 "): %s", p->name, c, from, to,
			strerror(-ret));
	p->where[c] = !p->where[c];
	chunk_pfns(a, to, after);
	for (i = 0; i < DR_CHUNK_PAGES; i++) {
		if (before[i] != after[i])
			return dr_fail(a, "%s chunk %u page %u: frame %u before"
				" the remap, %u after", p->name, c, i,
				before[i], after[i]);
		if (before[i] != UINT32_MAX)
			a->pages_kept++;
	}
	a->remaps[p == &a->tx]++;
	return 0;
}

static int
protect_chunk(struct dr_app *a, struct dr_pool *p, unsigned int c,
	uint32_t prot)
{
	uint64_t va = p->win[p->where[c]] + c * DR_CHUNK_SIZE, t0;
	int ret;

	t0 = rte_rdtsc();
	ret = mmrt_protect(a->as, va, DR_CHUNK_SIZE, prot);
	a->protect_cycles += rte_rdtsc() - t0;
	a->nprotect_calls++;
	if (ret < 0)
		return dr_fail(a, "mmrt_protect(%s chunk %u, %s): %s", p->name,
			c, prot & MMRT_PROT_WRITE ? "rw" : "ro",
			strerror(-ret));
	p->ro_gen[c]++;
	p->state[c] = prot & MMRT_PROT_WRITE ? DR_OPEN : DR_RO;
	return 0;
}

/*
 * Start the next action, in turn: remap the TX chunk the engine is at,
 * make the next TX chunk to be issued read-only, remap an RX chunk (the
 * one the engine is at, or one past those issued: still missing), make
 * the RX chunk the engine is at read-only (its pages still missing are
 * filled read-only meanwhile).
 */
static int
ctl_start(struct dr_app *a)
{
	unsigned int kind = a->actions % 4, round = a->actions / 4;

	a->actions++;
	a->next_at = a->enq + DR_CTL_PERIOD;
	switch (kind) {
	case 0:
		a->cp = &a->tx;
		a->cc = (unsigned int)(a->cpl % DR_TX_BUFS) / DR_CHUNK_BUFS;
		a->cp->state[a->cc] = DR_DRAINING;
		a->ctl = DR_CTL_DRAIN;
		return 0;
	case 1:
		a->cp = &a->tx;
		a->cc = (unsigned int)(a->enq % DR_TX_BUFS) / DR_CHUNK_BUFS;
		a->until = RTE_MIN(a->enq + DR_TX_HOLD, (uint64_t)DR_PACKETS);
		a->ctl = DR_CTL_HOLD;
		return protect_chunk(a, a->cp, a->cc, MMRT_PROT_READ);
	case 2:
		a->cp = &a->rx;
		if (round & 1)
			a->cc = RTE_MIN((unsigned int)(a->enq / DR_CHUNK_BUFS) +
				1, DR_RX_CHUNKS - 1);
		else
			a->cc = (unsigned int)(a->cpl / DR_CHUNK_BUFS);
		a->cp->state[a->cc] = DR_DRAINING;
		a->ctl = DR_CTL_DRAIN;
		return 0;
	default:
		a->cp = &a->rx;
		a->cc = (unsigned int)(a->cpl / DR_CHUNK_BUFS);
		a->until = RTE_MIN(a->enq + DR_RX_HOLD, (uint64_t)DR_PACKETS);
		a->ctl = DR_CTL_HOLD;
		return protect_chunk(a, a->cp, a->cc, MMRT_PROT_READ);
	}
}

/* The control plane's turn: at most one remap or protect. */
static int
control_turn(struct dr_app *a)
{
	struct dr_pool *p = a->cp;

	switch (a->ctl) {
	case DR_CTL_IDLE:
		if (a->enq < a->next_at || a->enq >= DR_PACKETS)
			return 0;
		return ctl_start(a) < 0 ? -1 : 1;
	case DR_CTL_DRAIN:
		if (p->inflight[a->cc] != 0)
			return 0; /* the engine is still on it */
		if (remap_chunk(a, p, a->cc) < 0)
			return -1;
		p->state[a->cc] = DR_OPEN;
		a->ctl = DR_CTL_IDLE;
		return 1;
	case DR_CTL_HOLD:
	default:
		/* until the copies issued meanwhile have run */
		if (a->cpl < a->until)
			return 0;
		if (protect_chunk(a, p, a->cc, MMRT_PROT_READ |
				MMRT_PROT_WRITE) < 0)
			return -1;
		a->protects[p == &a->tx]++;
		a->ctl = DR_CTL_IDLE;
		return 1;
	}
}

/* ---- set-up, the loop, the report -------------------------------------- */

static void
pool_init(struct dr_pool *p, const char *name, uint64_t w0, uint64_t w1)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->win[0] = w0;
	p->win[1] = w1;
}

static int
setup(struct dr_app *a)
{
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = DR_NB_DESC,
	};
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	char args[128];
	uint64_t features = MMRT_UFFD_FEATURE_EVENT_REMAP, ops = 0;
	int ret;

	a->next_at = DR_CTL_PERIOD;
	pool_init(&a->rx, "RX", DR_RX_VA(0), DR_RX_VA(1));
	pool_init(&a->tx, "TX", DR_TX_VA(0), DR_TX_VA(1));
	a->as = mmrt_as_create("dma_remap");
	if (a->as == NULL)
		return dr_fail(a, "mmrt_as_create: %s",
			rte_strerror(rte_errno));
	ret = mmrt_map(a->as, DR_RX_VA(0), DR_RX_CHUNKS * DR_CHUNK_SIZE,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (ret == 0)
		ret = mmrt_map(a->as, DR_TX_VA(0), DR_TX_CHUNKS *
			DR_CHUNK_SIZE, MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (ret < 0)
		return dr_fail(a, "mmrt_map: %s", strerror(-ret));

	/* RX pages arrive on demand: the handler fills them */
	a->uffd = mmrt_uffd_create(a->as, MMRT_UFFD_API, &features, NULL);
	if (a->uffd == NULL)
		return dr_fail(a, "mmrt_uffd_create: %s",
			rte_strerror(rte_errno));
	ret = mmrt_uffd_register(a->uffd, DR_RX_VA(0), DR_RX_CHUNKS *
		DR_CHUNK_SIZE, MMRT_UFFD_REGISTER_MODE_MISSING, &ops);
	if (ret < 0)
		return dr_fail(a, "mmrt_uffd_register: %s", strerror(-ret));
	if (!(ops & MMRT_UFFD_OP_COPY))
		return dr_fail(a, "mmrt_uffd_register: no COPY in 0x%" PRIx64,
			ops);

	/*
	 * The engine: a dma_mmrt device on the space (as=, looked up at
	 * rte_dma_start()), its engine polling on the worker lcore. Remap
	 * and protect wait ack_us for the engine's ack before fencing it
	 * (default 10 ms): generous, so that the engine's lcore preempted
	 * on a shared machine is not fenced.
	 */
	if (!mmrt_dma_mmrt_registered())
		return dr_fail(a, "the dma_mmrt driver is not registered");
	snprintf(args, sizeof(args),
		"as=dma_remap,lcore=%u,burst=%u,idle=pause,ack_us=1000000",
		a->engine_lcore, DR_BURST);
	ret = rte_eal_hotplug_add("vdev", DR_DEV, args);
	if (ret < 0)
		return dr_fail(a, "probing vdev %s,%s: %s", DR_DEV, args,
			strerror(-ret));
	a->probed = true;
	ret = rte_dma_get_dev_id_by_name(DR_DEV);
	if (ret < 0)
		return dr_fail(a, "no dmadev %s", DR_DEV);
	a->dev = (int16_t)ret;
	ret = rte_dma_configure(a->dev, &dc);
	if (ret == 0)
		ret = rte_dma_vchan_setup(a->dev, 0, &vc);
	if (ret < 0)
		return dr_fail(a, "configuring %s: %s", DR_DEV,
			strerror(-ret));
	ret = rte_dma_start(a->dev);
	if (ret < 0)
		return dr_fail(a, "rte_dma_start(%s, engine on lcore %u): %s",
			DR_DEV, a->engine_lcore, strerror(-ret));
	a->started = true;
	return 0;
}

/* The round-robin loop on the main lcore. */
static int
run(struct dr_app *a)
{
	uint64_t stuck = rte_get_timer_hz() / 1000 * DR_STUCK_MS;
	uint64_t cpl_seen = 0, last_progress;
	int w1, w2, w3;

	last_progress = rte_get_timer_cycles();
	while (a->cpl < DR_PACKETS || a->ctl != DR_CTL_IDLE ||
			a->nbacklog != 0) {
		w1 = packet_turn(a);
		if (w1 < 0)
			return -1;
		w2 = handler_turn(a);
		if (w2 < 0)
			return -1;
		w3 = control_turn(a);
		if (w3 < 0)
			return -1;
		/* bounded: a copy in flight completes or the run fails */
		if (a->cpl != cpl_seen || a->enq == a->cpl) {
			cpl_seen = a->cpl;
			last_progress = rte_get_timer_cycles();
		} else if (rte_get_timer_cycles() - last_progress > stuck) {
			return dr_fail(a, "no completion for %u ms, %" PRIu64
				" packets in flight", DR_STUCK_MS,
				a->enq - a->cpl);
		}
		if (w1 + w2 + w3 == 0)
			rte_pause();
	}
	return 0;
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
check(struct dr_app *a, const struct mmrt_dma_mmrt_stats *es,
	const struct mmrt_uffd_stats *us)
{
	const uint64_t rx_pages = (uint64_t)DR_RX_CHUNKS * DR_CHUNK_PAGES;
	uint64_t i, read = 0;

	if (a->delivered + a->drops_expected != DR_PACKETS)
		return dr_fail(a, "%" PRIu64 " delivered + %" PRIu64
			" dropped != %u packets", a->delivered,
			a->drops_expected, DR_PACKETS);
	if (es->submitted != DR_PACKETS || es->completed != DR_PACKETS ||
	    es->errors != a->drops_expected)
		return dr_fail(a, "engine: %" PRIu64 " submitted, %" PRIu64
			" completed, %" PRIu64 " errors; packet loop: %u and %"
			PRIu64 " drops", es->submitted, es->completed,
			es->errors, DR_PACKETS, a->drops_expected);
	if (es->consumer.fences != 0)
		return dr_fail(a, "the engine was fenced %" PRIu64 " times",
			es->consumer.fences);
	/*
	 * Every RX page a packet was delivered from was filled once; a page
	 * whose packets were all dropped may not have been (the engine
	 * refuses a copy at its destination before it reads the source).
	 */
	for (i = 0; i < rx_pages; i++)
		read += a->rx_read[i];
	if (us->filled_pages != a->filled || a->filled < read ||
	    a->filled > rx_pages || us->pending != 0)
		return dr_fail(a, "uffd: %" PRIu64 " pages filled (%" PRIu64
			" by the handler), %" PRIu64 " delivered from, %"
			PRIu64 " in all, %" PRIu64 " pending",
			us->filled_pages, a->filled, read, rx_pages,
			us->pending);
	if (a->remap_events != a->remaps[0])
		return dr_fail(a, "uffd: %" PRIu64 " remap events for %" PRIu64
			" RX remaps", a->remap_events, a->remaps[0]);
	return 0;
}

static void
report(const struct dr_app *a, const struct mmrt_dma_mmrt_stats *es,
	const struct mmrt_uffd_stats *us, uint64_t cycles)
{
	double s = (double)cycles / (double)rte_get_tsc_hz();
	double tsc_us = (double)rte_get_tsc_hz() / 1e6;
	unsigned int i;
	bool any = false;

	printf("dma_remap: engine on lcore %u; packet loop, uffd handler and"
		" remapper/protector in turn on lcore %u\n",
		a->engine_lcore, rte_get_main_lcore());
	printf("packets: %u RX -> TX in %.1f ms (%.2f Mpps, %.2f GB/s), %"
		PRIu64 " delivered and verified, %" PRIu64 " dropped\n",
		DR_PACKETS, s * 1e3, DR_PACKETS / s / 1e6,
		(double)a->bytes / s / 1e9, a->delivered, a->drops_expected);
	printf("completions:");
	for (i = 0; i < RTE_DIM(a->status); i++)
		if (a->status[i] != 0) {
			printf("%s %s %" PRIu64, any ? "," : "",
				status_name(i), a->status[i]);
			any = true;
		}
	printf("%s\n", a->drops_expected != 0 ?
		" (each drop hit a TX chunk while read-only)" : "");
	printf("faults: %" PRIu64 " posted to the uffd, %" PRIu64
		" deduplicated; %" PRIu64 " RX pages filled (%" PRIu64
		" EEXIST, %" PRIu64 " retried); engine parked %" PRIu64
		", resumed %" PRIu64 "\n", us->faults, us->faults_dedup,
		a->filled, a->eexist, a->retried, es->parks, es->resumes);
	printf("remaps: %" PRIu64 " RX + %" PRIu64 " TX chunks of %" PRIu64
		" KiB, avg %.1f us; %" PRIu64 " present pages kept their"
		" frames; %" PRIu64 " remap events; %" PRIu64 " stalls\n",
		a->remaps[0], a->remaps[1], DR_CHUNK_SIZE >> 10,
		a->remaps[0] + a->remaps[1] != 0 ? (double)a->remap_cycles /
		tsc_us / (double)(a->remaps[0] + a->remaps[1]) : 0.0,
		a->pages_kept, a->remap_events, a->stalls);
	printf("protects: %" PRIu64 " RX + %" PRIu64 " TX chunks read-only"
		" and back, avg %.1f us per call\n", a->protects[0],
		a->protects[1], a->nprotect_calls != 0 ?
		(double)a->protect_cycles / tsc_us /
		(double)a->nprotect_calls : 0.0);
	printf("engine: %" PRIu64 " invalidations, %" PRIu64 " acks, %"
		PRIu64 " fences; TLB %" PRIu64 " hits, %" PRIu64 " misses;"
		" %" PRIu64 " page requests (served by the driver's thread)\n",
		es->consumer.inval_descs, es->consumer.acks,
		es->consumer.fences, es->consumer.tlb_hits,
		es->consumer.tlb_misses, es->consumer.page_requests);
}

int
main(int argc, char **argv)
{
	static struct dr_app app;
	struct dr_app *a = &app;
	struct mmrt_dma_mmrt_stats es;
	struct mmrt_uffd_stats us;
	uint64_t used0 = 0, used1, t0, cycles = 0;
	bool ran = false;
	int ret;

	ret = mmrt_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "mmrt_init: %s\n", strerror(-ret));
		return EXIT_FAILURE;
	}
	a->dev = -1;
	a->engine_lcore = rte_get_next_lcore(-1, 1, 0);
	if (a->engine_lcore >= RTE_MAX_LCORE) {
		dr_fail(a, "needs two lcores: the engine runs on a worker"
			" lcore (e.g. -l 0-1)");
		goto fini;
	}
	used0 = pool_used();
	memset(&es, 0, sizeof(es));
	memset(&us, 0, sizeof(us));

	if (setup(a) == 0) {
		t0 = rte_rdtsc();
		ret = run(a);
		cycles = rte_rdtsc() - t0;
		ran = ret == 0;
	}

	/*
	 * Tear down: the device (its counters live until the stop, which
	 * destroys the engine), uffd, memory, space.
	 */
	if (a->started) {
		ret = mmrt_dma_mmrt_stats(a->dev, &es);
		if (ret < 0)
			dr_fail(a, "mmrt_dma_mmrt_stats: %s", strerror(-ret));
		rte_dma_stop(a->dev);
	}
	if (a->dev >= 0)
		rte_dma_close(a->dev);
	if (a->probed && rte_eal_hotplug_remove("vdev", DR_DEV) < 0)
		dr_fail(a, "removing vdev %s failed", DR_DEV);
	if (a->uffd != NULL) {
		if (mmrt_uffd_stats(a->uffd, &us) < 0)
			dr_fail(a, "mmrt_uffd_stats failed");
		mmrt_uffd_destroy(a->uffd);
	}
	if (a->as != NULL) {
		/* both windows of both pools: holes are allowed */
		mmrt_unmap(a->as, DR_RX_VA(0), 4 * (UINT64_C(1) << 32));
		ret = mmrt_as_destroy(a->as);
		if (ret < 0)
			dr_fail(a, "mmrt_as_destroy: %s", strerror(-ret));
	}
	if (ran) {
		check(a, &es, &us);
		report(a, &es, &us, cycles);
	}
	used1 = pool_used();
	if (used1 != used0)
		dr_fail(a, "pool used %" PRIu64 " frames at start, %" PRIu64
			" at end", used0, used1);
	else if (a->reason[0] == '\0')
		printf("pool: %" PRIu64 " frames used at start and at end\n",
			used0);
fini:
	ret = mmrt_fini();
	if (ret < 0)
		dr_fail(a, "mmrt_fini: %s", strerror(-ret));
	if (a->reason[0] != '\0') {
		printf("dma_remap: FAILED (%s)\n", a->reason);
		return EXIT_FAILURE;
	}
	printf("dma_remap: OK\n");
	return EXIT_SUCCESS;
}
