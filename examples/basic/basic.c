/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Minimal embedding of mmrt: bring the runtime up on the embedded default,
 * create an address space, map anonymous memory, write and read it back,
 * translate an address to its frame, then tear everything down.
 *
 * Build out of tree with pkg-config (see ../README.md):
 *   make            # uses `pkg-config --cflags --libs libmmrt`
 *   ./basic         # or: ./basic [EAL args] [-- mmrt args]
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>

#include <mmrt_core.h>
#include <mmrt_mem.h>
#include <mmrt_mm.h>

#define BASIC_VA  (UINT64_C(1) << 30)         /* 1 GiB into the space */
#define BASIC_LEN (UINT64_C(16) * MMRT_PAGE_SIZE)

int
main(int argc, char **argv)
{
	static const char msg[] = "hello from an mmrt address space";
	char buf[sizeof(msg)];
	struct mmrt_xlate x;
	struct mmrt_as *as;
	uint64_t va = BASIC_VA + 5 * MMRT_PAGE_SIZE + 100;
	int rc, ret = EXIT_FAILURE;

	/* No EAL arguments: the embedded default (--no-huge, no PCI). */
	rc = mmrt_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "mmrt_init: %s\n", strerror(-rc));
		return EXIT_FAILURE;
	}

	as = mmrt_as_create("basic");
	if (as == NULL) {
		fprintf(stderr, "mmrt_as_create: %s\n",
			rte_strerror(rte_errno));
		goto fini;
	}

	rc = mmrt_map(as, BASIC_VA, BASIC_LEN,
		MMRT_PROT_READ | MMRT_PROT_WRITE, 0);
	if (rc < 0) {
		fprintf(stderr, "mmrt_map: %s\n", strerror(-rc));
		goto destroy;
	}

	/* The write faults the page in (demand-zero), then copies. */
	rc = mmrt_write(as, va, msg, sizeof(msg));
	if (rc == 0)
		rc = mmrt_read(as, va, buf, sizeof(buf));
	if (rc < 0) {
		fprintf(stderr, "mmrt_write/read: %s\n", strerror(-rc));
		goto destroy;
	}
	if (memcmp(buf, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "read back differs\n");
		goto destroy;
	}

	/* Where does va live? A host address, an IOVA and a frame number. */
	rc = mmrt_translate(as, va, MMRT_ACCESS_READ, &x);
	if (rc < 0) {
		fprintf(stderr, "mmrt_translate: %s\n", strerror(-rc));
		goto destroy;
	}
	printf("va 0x%" PRIx64 " -> host %p iova 0x%" PRIx64 " pfn %" PRIu32
		" (%s%s, %" PRIu64 " bytes to the leaf end)\n",
		va, x.addr, (uint64_t)x.iova, x.pfn,
		(x.prot & MMRT_PROT_WRITE) ? "rw" : "ro",
		x.huge ? ", huge" : "", x.size);
	printf("read back: \"%s\" (host view: \"%s\")\n", buf,
		(const char *)x.addr);

	rc = mmrt_unmap(as, BASIC_VA, BASIC_LEN);
	if (rc < 0) {
		fprintf(stderr, "mmrt_unmap: %s\n", strerror(-rc));
		goto destroy;
	}
	ret = EXIT_SUCCESS;
destroy:
	rc = mmrt_as_destroy(as);
	if (rc < 0) {
		fprintf(stderr, "mmrt_as_destroy: %s\n", strerror(-rc));
		ret = EXIT_FAILURE;
	}
fini:
	rc = mmrt_fini();
	if (rc < 0) {
		fprintf(stderr, "mmrt_fini: %s\n", strerror(-rc));
		ret = EXIT_FAILURE;
	}
	if (ret == EXIT_SUCCESS)
		printf("basic: OK\n");
	return ret;
}
