/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef MMRT_TESTS_DMM_COMMON_H
#define MMRT_TESTS_DMM_COMMON_H

/*
 * A dma_mmrt device for the suites that use the copy engine as a handy
 * device (dirty tracking, host mappings, objects, telemetry): created on
 * the vdev bus with rte_eal_hotplug_add(), one vchan, started, and then
 * driven with rte_dma_* only (issue 12: one engine interface). Its page
 * requests (copy-on-write, demand-zero under the map lock) are served by
 * the driver's own thread, so a suite never serves them. Include after
 * common.h.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <criterion/criterion.h>
#include <rte_common.h>
#include <rte_dev.h>
#include <rte_dmadev.h>

#include <mmrt_dma_mmrt.h>
#include <mmrt_uffd.h>

#include "common.h"

/*
 * The EAL words of a suite that names its devices on the command line
 * (program @p prog): @p nlcores floating lcores, its own EAL
 * (mmrt_test_argv_eal(), 512 MiB, prefix from @p tag) and up to two
 * --vdev words (NULL: none).
 */
static inline void
tdmm_eal_argv(struct mmrt_test_argv *a, const char *prog, const char *tag,
	unsigned int nlcores, const char *vdev1, const char *vdev2)
{
	mmrt_test_argv_start(a, prog, nlcores);
	mmrt_test_argv_eal(a, tag, 512, false, "4");
	if (vdev1 != NULL)
		mmrt_test_argv_addf(a, "--vdev=%s", vdev1);
	if (vdev2 != NULL)
		mmrt_test_argv_addf(a, "--vdev=%s", vdev2);
}

/*
 * A stock DPDK application: the EAL of tdmm_eal_argv() with two lcores
 * and @p vdev, no mmrt (the driver brings it up at a device's start).
 */
static inline void
tdmm_eal_only(const char *prog, const char *tag, const char *vdev)
{
	static struct mmrt_test_argv a;

	tdmm_eal_argv(&a, prog, tag, 2, vdev, NULL);
	cr_assert(mmrt_dma_mmrt_registered());
	cr_assert_geq(rte_eal_init(a.argc, a.argv), 0);
}

/* tdmm_eal_argv(), then mmrt on it with a 64 MiB pool. */
static inline void
tdmm_eal_up(const char *prog, const char *tag, unsigned int nlcores,
	const char *vdev1, const char *vdev2)
{
	static struct mmrt_test_argv a;

	tdmm_eal_argv(&a, prog, tag, nlcores, vdev1, vdev2);
	mmrt_test_argv_add(&a, "--");
	mmrt_test_argv_add(&a, "--pool-mb");
	mmrt_test_argv_add(&a, "64");
	/* the driver came with libmmrt (this call keeps it linked) */
	cr_assert(mmrt_dma_mmrt_registered());
	cr_assert_geq(mmrt_init(a.argc, a.argv), 0, "mmrt_init failed");
}

/* The id of dmadev @p name; asserts it exists. */
static inline int16_t
tdmm_dev_id(const char *name)
{
	int id = rte_dma_get_dev_id_by_name(name);

	cr_assert_geq(id, 0, "no dmadev %s", name);
	return (int16_t)id;
}

/* A started dma_mmrt device. */
struct tdmm {
	int16_t id;
	char name[RTE_DEV_NAME_MAX_LEN];
};

/*
 * Create "dma_mmrt_@name" with devargs @args (e.g. "as=X,lcore=1"),
 * configure one vchan of @nb_desc descriptors and start it.
 */
static inline void
tdmm_up(struct tdmm *d, const char *name, const char *args,
	uint16_t nb_desc)
{
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM,
		.nb_desc = nb_desc,
	};
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	int rc;

	cr_assert(mmrt_dma_mmrt_registered());
	snprintf(d->name, sizeof(d->name), "dma_mmrt_%s", name);
	rc = rte_eal_hotplug_add("vdev", d->name, args);
	cr_assert_eq(rc, 0, "probe %s,%s: %d", d->name, args, rc);
	rc = rte_dma_get_dev_id_by_name(d->name);
	cr_assert_geq(rc, 0, "no dmadev %s", d->name);
	d->id = (int16_t)rc;
	cr_assert_eq(rte_dma_configure(d->id, &dc), 0);
	cr_assert_eq(rte_dma_vchan_setup(d->id, 0, &vc), 0);
	rc = rte_dma_start(d->id);
	cr_assert_eq(rc, 0, "start %s: %d", d->name, rc);
}

/* A device on space @as (its VAs), the engine on @lcore. */
static inline void
tdmm_up_as(struct tdmm *d, const char *name, struct mmrt_as *as,
	unsigned int lcore, const char *extra)
{
	char args[160];

	snprintf(args, sizeof(args), "as=%s,lcore=%u%s%s", mmrt_as_name(as),
		lcore, extra != NULL ? "," : "", extra != NULL ? extra : "");
	tdmm_up(d, name, args, 1024);
}

/* Stop (the engine goes), close and remove the device. */
static inline void
tdmm_down(struct tdmm *d)
{
	cr_assert_eq(rte_dma_stop(d->id), 0);
	cr_assert_eq(rte_dma_close(d->id), 0);
	cr_assert_eq(rte_eal_hotplug_remove("vdev", d->name), 0);
	d->id = -1;
}

/* The driver's mmrt counters (the device is started). */
static inline struct mmrt_dma_mmrt_stats
tdmm_stats(const struct tdmm *d)
{
	struct mmrt_dma_mmrt_stats st;
	int rc = mmrt_dma_mmrt_stats(d->id, &st);

	cr_assert_eq(rc, 0, "mmrt_dma_mmrt_stats(%d): %d", d->id, rc);
	return st;
}

/* Reap what completed, without waiting; count the failures into *@bad.
 * @return operations reaped. */
static inline uint64_t
tdmm_reap(const struct tdmm *d, uint64_t *bad)
{
	enum rte_dma_status_code s[64];
	uint64_t got = 0;
	uint16_t n, i, last;

	while ((n = rte_dma_completed_status(d->id, 0, RTE_DIM(s), &last,
			s)) > 0) {
		for (i = 0; i < n; i++)
			*bad += s[i] != RTE_DMA_STATUS_SUCCESSFUL;
		got += n;
	}
	return got;
}

/* Wait (at most @wait_s seconds) until every submitted operation was
 * reaped; @return the failures among those reaped here. */
static inline uint64_t
tdmm_drain(const struct tdmm *d, unsigned int wait_s)
{
	struct rte_dma_stats st;
	uint64_t dl = mmrt_test_deadline(wait_s), bad = 0;
	unsigned long it = 0;

	for (;;) {
		tdmm_reap(d, &bad);
		cr_assert_eq(rte_dma_stats_get(d->id, 0, &st), 0);
		if (st.completed == st.submitted)
			break;
		cr_assert(!mmrt_test_expired(dl), "%s stuck: %" PRIu64
			" of %" PRIu64 " reaped", d->name, st.completed,
			st.submitted);
		mmrt_test_relax(it++, 255);
	}
	return bad;
}

/* Wait (at most @wait_s seconds) for one operation; @return its status. */
static inline enum rte_dma_status_code
tdmm_wait_one(const struct tdmm *d, unsigned int wait_s)
{
	enum rte_dma_status_code s = RTE_DMA_STATUS_SUCCESSFUL;
	uint64_t dl = mmrt_test_deadline(wait_s);
	unsigned long it = 0;
	uint16_t last;

	while (rte_dma_completed_status(d->id, 0, 1, &last, &s) != 1) {
		cr_assert(!mmrt_test_expired(dl), "%s: no completion",
			d->name);
		mmrt_test_relax(it++, 255);
	}
	return s;
}

/* Wait (up to @p wait_s) for one page-fault message of @p u; @return it. */
static inline struct mmrt_uffd_msg
tdmm_uffd_wait(struct mmrt_uffd *u, unsigned int wait_s)
{
	uint64_t d = mmrt_test_deadline(wait_s);
	struct mmrt_uffd_msg m;
	unsigned long it = 0;

	while (mmrt_uffd_read(u, &m, 1) != 1) {
		cr_assert(!mmrt_test_expired(d), "no userfault came");
		mmrt_test_relax(it++, 255);
	}
	cr_assert_eq(m.event, MMRT_UFFD_EVENT_PAGEFAULT);
	return m;
}

/* ---- the invalidating thread of the ack-hold rounds ---- */

/* What the thread does each round (S source, D destination, E spare). */
enum tdmm_iv_kind {
	IV_PROTECT_DST,  /* D read-only */
	IV_UNMAP_DST,    /* D unmapped, E mapped over reused frames */
	IV_UNMAP_SRC,    /* S unmapped */
};

/*
 * The invalidating side of the ack-hold rounds through
 * dma_mmrt,dev=dma_skeleton0 (test_dma_mmrt, test_dmadev). Run
 * tdmm_iv_main() on the skeleton's cpu: while it runs the device stalls,
 * so pieces are still on it when the invalidation comes. For each round
 * the main thread stores in go, the thread reads the skeleton's counters,
 * makes D read-only or unmaps D or S (len bytes each), reads the
 * counters again and, when bridge >= 0, the bridge's; then keeps D in
 * snap (protect) or maps E over the frames D gave back and fills it with
 * canary (unmap of D), and stores the round in done.
 */
struct tdmm_iv {
	struct mmrt_as *as;
	enum tdmm_iv_kind kind;
	uint64_t s, d, e, len;          /* S, D and E, their length */
	int16_t skel;                   /* the skeleton dmadev */
	int16_t bridge;                 /* the dma_mmrt bridge, or -1 */
	uint8_t canary;
	int go;                         /* main: the round to run */
	int done;                       /* thread: the round finished */
	int stop;
	int rc;                         /* the round's protect or unmap */
	int err;                        /* the first failure of any round */
	struct rte_dma_stats before;    /* skeleton, just before the call */
	struct rte_dma_stats after;     /* skeleton, just after it returned */
	struct mmrt_dma_mmrt_stats st;  /* bridge, just after it returned */
	uint8_t *snap;                  /* D just after it returned */
};

static inline void *
tdmm_iv_main(void *arg)
{
	struct tdmm_iv *iv = arg;
	unsigned long it = 0;
	int last = 0, rd, rc;

	while (!__atomic_load_n(&iv->stop, __ATOMIC_ACQUIRE)) {
		rd = __atomic_load_n(&iv->go, __ATOMIC_ACQUIRE);
		if (rd == last) {
			mmrt_test_relax(it++, 255);
			continue;
		}
		last = rd;
		(void)rte_dma_stats_get(iv->skel, 0, &iv->before);
		if (iv->kind == IV_PROTECT_DST)
			rc = mmrt_protect(iv->as, iv->d, iv->len,
				MMRT_PROT_READ);
		else
			rc = mmrt_unmap(iv->as, iv->kind == IV_UNMAP_SRC ?
				iv->s : iv->d, iv->len);
		/* submitted is read before completed */
		(void)rte_dma_stats_get(iv->skel, 0, &iv->after);
		/* a snapshot: the bridge's counters are written by the
		 * driving thread with relaxed stores */
		if (iv->bridge >= 0)
			(void)mmrt_dma_mmrt_stats(iv->bridge, &iv->st);
		iv->rc = rc;
		if (rc == 0 && iv->kind == IV_PROTECT_DST)
			rc = mmrt_read(iv->as, iv->d, iv->snap, iv->len);
		if (rc == 0 && iv->kind == IV_UNMAP_DST) {
			/* likely over the frames D just gave back */
			rc = mmrt_map(iv->as, iv->e, iv->len, MMRT_PROT_READ |
				MMRT_PROT_WRITE, MMRT_MAP_POPULATE);
			if (rc == 0) {
				memset(iv->snap, iv->canary, iv->len);
				rc = mmrt_write(iv->as, iv->e, iv->snap,
					iv->len);
			}
		}
		if (rc != 0 && iv->err == 0)
			iv->err = rc;
		__atomic_store_n(&iv->done, rd, __ATOMIC_RELEASE);
	}
	return NULL;
}

#endif /* MMRT_TESTS_DMM_COMMON_H */
