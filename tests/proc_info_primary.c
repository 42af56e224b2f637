/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * proc-info-primary: an mmrt primary for check-proc-info.sh to attach
 * dpdk-proc-info to. Brings mmrt up on the given EAL arguments, creates
 * the address space "procinfo.as" with a uffd, and the dmadev dma_mmrt0
 * (as=procinfo.as, engine on lcore 1) started with one vchan; prints
 * "ready" and waits until its stdin closes (or a line arrives), at most
 * HOLD seconds (a bound on its lifetime, not a measurement); then tears
 * everything down and exits 0. Any setup failure exits 1 with a message.
 *
 * Usage: proc-info-primary HOLD [EAL args] [-- mmrt args]
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_dmadev.h>
#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_dma_mmrt.h>
#include <mmrt_mm.h>
#include <mmrt_uffd.h>

#include "dpdk_common.h"

#define PI_AS "procinfo.as"
#define PI_DEV "dma_mmrt0"
#define PI_HOLD_MAX 3600

static int
fail(const char *what, int err)
{
	fprintf(stderr, "proc-info-primary: %s: %s\n", what, strerror(err));
	return 1;
}

/* Wait for a line or EOF on stdin, at most @hold seconds. */
static void
hold_on(int hold)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	char buf[64];

	if (poll(&p, 1, hold * 1000) > 0)
		(void)!read(STDIN_FILENO, buf, sizeof(buf));
}

int
main(int argc, char **argv)
{
	struct mmrt_uffd *u = NULL;
	struct mmrt_as *as = NULL;
	uint64_t features = 0;
	int hold, ret, rc = 1;
	int16_t id = -1;
	char *end;

	if (argc < 2) {
		fprintf(stderr, "usage: %s HOLD [EAL args] [-- mmrt args]\n",
			argv[0]);
		return 2;
	}
	hold = (int)strtol(argv[1], &end, 10);
	if (*end != '\0' || hold <= 0 || hold > PI_HOLD_MAX) {
		fprintf(stderr, "%s: HOLD must be 1..%d seconds\n", argv[0],
			PI_HOLD_MAX);
		return 2;
	}
	/* Also links the driver in: with --as-needed an unused library's
	 * constructor (the driver's registration) would be dropped. */
	if (!mmrt_dma_mmrt_registered()) {
		fprintf(stderr, "%s: the dma_mmrt driver is not registered\n",
			argv[0]);
		return 1;
	}
	argv[1] = argv[0];
	ret = mmrt_init(argc - 1, argv + 1);
	if (ret < 0)
		return fail("mmrt_init", -ret);

	as = mmrt_as_create(PI_AS);
	if (as == NULL) {
		fail("mmrt_as_create", rte_errno);
		goto out;
	}
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &features, NULL);
	if (u == NULL) {
		fail("mmrt_uffd_create", rte_errno);
		goto out;
	}
	ret = rte_vdev_init(PI_DEV, "as=" PI_AS ",lcore=1");
	if (ret < 0) {
		fail("rte_vdev_init " PI_DEV, -ret);
		goto out;
	}
	id = (int16_t)rte_dma_get_dev_id_by_name(PI_DEV);
	if (id < 0) {
		fail("rte_dma_get_dev_id_by_name", ENODEV);
		goto out;
	}
	ret = mmrt_test_dma_start(id, 64);
	if (ret < 0) {
		fail("starting " PI_DEV, -ret);
		goto out;
	}
	printf("ready pid %d\n", (int)getpid());
	fflush(stdout);
	hold_on(hold);
	rc = 0;
out:
	if (id >= 0) {
		rte_dma_stop(id);
		rte_dma_close(id);
	}
	rte_vdev_uninit(PI_DEV);
	if (u != NULL)
		mmrt_uffd_destroy(u);
	if (as != NULL)
		mmrt_as_destroy(as);
	ret = mmrt_fini();
	if (ret < 0) {
		fail("mmrt_fini", -ret);
		rc = 1;
	}
	return rc;
}
