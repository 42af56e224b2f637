/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * allocsweep-sec: the allocation-failure sweep of a DPDK secondary's
 * attach (check-allocsweep-secondary.sh; issue 15 item 3). Test-hook
 * builds only (mmrt_test_fail_alloc_after()).
 *
 *   allocsweep-sec primary HOLD [EAL args] [-- mmrt args]
 *     mmrt up (the EAL args name a dma_mmrt0 vdev with service=1, which
 *     secondaries attach to at their rte_eal_init()); prints "ready",
 *     then reads commands from stdin, at most HOLD seconds in all:
 *       heap   "heap BYTES": the rte_malloc heap in use (shared with
 *              the secondaries)
 *       copy   configure and start dma_mmrt0, copy 10 KiB between two
 *              rte_malloc buffers by IOVA (stepping its service from
 *              this thread), check, stop: "copied ok" or "copied FAIL"
 *       EOF    remove dma_mmrt0 (it holds the mirror), mmrt_fini()
 *              (retried while a secondary is still attached), exit 0
 *              (1 on any failure).
 *   allocsweep-sec secondary N [EAL args with --proc-type=secondary]
 *                  [-- mmrt args]
 *     mmrt_init() with the allocation after the first N failing (N < 0:
 *     none): either it fails whole with -ENOMEM (the runtime down,
 *     mmrt_fini() -ENODEV) or it comes up; a failure it absorbed may
 *     leave only dma_mmrt0 unattached here (its probe failed whole);
 *     then mmrt_fini(). Prints "result rc=RC sites=S hit=H dev=D" and
 *     exits 0 when the contract held, 1 otherwise.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_service.h>

#include <mmrt_core.h>
#include <mmrt_dma_mmrt.h>

#include "dpdk_common.h"
#include "peer_common.h"

#define DEV "dma_mmrt0"
#define COPY_LEN (10 * 1024)

/* dma_mmrt0 copies in the primary (its service stepped here). */
static int
primary_copy(void)
{
	struct rte_dma_conf dc = { .nb_vchans = 1 };
	struct rte_dma_vchan_conf vc = {
		.direction = RTE_DMA_DIR_MEM_TO_MEM, .nb_desc = 64,
	};
	enum rte_dma_status_code st = RTE_DMA_STATUS_SUCCESSFUL;
	uint8_t *src = rte_malloc("as_src", COPY_LEN, 64);
	uint8_t *dst = rte_zmalloc("as_dst", COPY_LEN, 64);
	time_t end = time(NULL) + 30;
	int id = rte_dma_get_dev_id_by_name(DEV), ret = -EIO;
	uint32_t sid;
	uint16_t last;

	if (src == NULL || dst == NULL || id < 0)
		goto out;
	fill(src, COPY_LEN, 1);
	if (rte_dma_configure(id, &dc) != 0 ||
			rte_dma_vchan_setup(id, 0, &vc) != 0 ||
			rte_dma_start(id) != 0)
		goto out;
	if (rte_service_get_by_name(DEV, &sid) != 0 ||
			rte_service_runstate_set(sid, 1) != 0 ||
			rte_dma_copy(id, 0, rte_malloc_virt2iova(src),
			rte_malloc_virt2iova(dst), COPY_LEN,
			RTE_DMA_OP_FLAG_SUBMIT) < 0)
		goto stop;
	while (rte_dma_completed_status(id, 0, 1, &last, &st) != 1 &&
			time(NULL) < end)
		rte_service_run_iter_on_app_lcore(sid, 1);
	if (st == RTE_DMA_STATUS_SUCCESSFUL && differs(dst, COPY_LEN, 1) < 0)
		ret = 0;
stop:
	rte_dma_stop(id);
out:
	rte_free(src);
	rte_free(dst);
	return ret;
}

static int
run_primary(int argc, char **argv)
{
	char cmd[64];
	time_t deadline;
	int ret, rc = 0;

	ret = peer_primary_init("allocsweep-sec", argc, argv, &deadline);
	if (ret != 0)
		return ret;
	printf("ready pid %d\n", (int)getpid());
	while (peer_read_cmd(cmd, sizeof(cmd), deadline)) {
		if (strcmp(cmd, "heap") == 0) {
			printf("heap %" PRIu64 "\n", mmrt_test_heap_bytes());
		} else if (strcmp(cmd, "copy") == 0) {
			ret = primary_copy();
			printf("copied %s\n", ret == 0 ? "ok" : "FAIL");
			rc |= ret != 0;
		} else if (cmd[0] != '\0') {
			printf("unknown command %s\n", cmd);
		}
	}
	/* a mirror-mode device holds the mirror until it is closed */
	if (rte_dma_get_dev_id_by_name(DEV) >= 0 &&
			rte_vdev_uninit(DEV) != 0) {
		fprintf(stderr, "allocsweep-sec primary: %s not removed\n",
			DEV);
		rc = 1;
	}
	rc |= peer_fini("allocsweep-sec primary");
	printf("primary done %s\n", rc == 0 ? "ok" : "FAIL");
	return rc;
}

static int
run_secondary(int argc, char **argv)
{
	uint64_t sites;
	long n;
	char *end;
	bool hit, ok;
	int rc, fini = 0, dev;

	if (argc < 3)
		return 2;
	n = strtol(argv[2], &end, 10);
	if (*end != '\0')
		return 2;
	argv[2] = argv[0];
	mmrt_test_fail_alloc_after(n);
	rc = mmrt_init(argc - 2, argv + 2);
	sites = mmrt_test_alloc_sites(&hit);
	mmrt_test_fail_alloc_after(-1);
	/* after a failed mmrt_init() the EAL may be gone: no dmadev call */
	dev = rc >= 0 && rte_dma_get_dev_id_by_name(DEV) >= 0;
	if (rc < 0) {
		ok = hit && rc == -ENOMEM && !mmrt_is_up() &&
			(fini = mmrt_fini()) == -ENODEV;
	} else {
		/* up; only a failure it absorbed may leave the device out */
		ok = mmrt_is_up() && (dev || hit);
		fini = mmrt_fini();
		ok = ok && fini == 0;
	}
	printf("result rc=%d sites=%" PRIu64 " hit=%d dev=%d fini=%d %s\n",
		rc, sites, hit, dev, fini, ok ? "ok" : "FAIL");
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct peer_role roles[] = {
		{ "primary", run_primary },
		{ "secondary", run_secondary },
	};

	/* keeps the driver linked (as-needed): dma_mmrt0 must be known */
	if (!mmrt_dma_mmrt_registered()) {
		fprintf(stderr, "allocsweep-sec: no dma_mmrt driver\n");
		return 1;
	}
	return peer_main(argc, argv, roles, RTE_DIM(roles));
}
