/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * File- and memfd-backed objects (mmrt_object_create_fd), against
 * mmrt_mm.h: pages read from the file on first use, with the page the end
 * of the file cuts zero-filled after it and pages past the end all zeros;
 * an offset into the file; writes stay in the object (the file is
 * unchanged); the caller's fd may be closed at once; MINOR-mode userfault
 * (every page of such an object is minor; continue reads it in); a
 * dma_mmrt device reading a page not read yet (its page request served
 * by the fault path); bad input; frames back in the pool after destroy.
 *
 * Every wait is bounded; no assertion is about elapsed time.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_errno.h>

#include <mmrt_uffd.h>

#include "common.h"
#include "dmm_common.h"

#define POOL_MB 64
#define ENGINE_LCORE 1
#define WAIT_S 30

#define VS (UINT64_C(3) << 30)

/* the file: 3 whole pages and 100 bytes of a pattern */
#define FILE_LEN (3 * PG + 100)
#define OBJ_PAGES 6

MMRT_TEST_FIXTURES(POOL_MB);

TestSuite(object_fd, .init = setup, .fini = teardown, .timeout = 120);

static uint8_t
fbyte(uint64_t off)
{
	return (uint8_t)(off * 13 + 7) | 1; /* never zero */
}

/* A memfd holding FILE_LEN bytes of the pattern. */
static int
pattern_memfd(void)
{
	uint8_t *b = malloc(FILE_LEN);
	uint64_t i;
	int fd;

	cr_assert_not_null(b);
	for (i = 0; i < FILE_LEN; i++)
		b[i] = fbyte(i);
	fd = memfd_create("mmrt-objfd", MFD_CLOEXEC);
	if (fd < 0)
		cr_skip_test("memfd_create: %s", strerror(errno));
	cr_assert_eq(write(fd, b, FILE_LEN), (ssize_t)FILE_LEN);
	free(b);
	return fd;
}

/* @n bytes at file offset @off as the object must show them. */
static void
check_file_bytes(const uint8_t *got, uint64_t off, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint8_t want = off + i < FILE_LEN ? fbyte(off + i) : 0;

		cr_assert_eq(got[i], want, "file offset %" PRIu64
			": %#x, want %#x", off + i, got[i], want);
	}
}

Test(object_fd, contents)
{
	uint64_t used0 = mmrt_test_used();
	int fd = pattern_memfd();
	struct mmrt_object *obj;
	struct mmrt_as *as;
	uint8_t *got = malloc(OBJ_PAGES * PG), b;

	cr_assert_not_null(got);
	obj = mmrt_object_create_fd("objfd", fd, 0, OBJ_PAGES * PG, 0);
	cr_assert_not_null(obj, "create_fd: %d", rte_errno);
	/* the object keeps its own descriptor */
	cr_assert_eq(close(fd), 0);
	as = mmrt_as_create("objfd");
	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map_object(as, VA, OBJ_PAGES * PG, RW, 0, obj, 0),
		0);
	/* page 3: 100 bytes then zeros; pages 4 and 5: past the end */
	cr_assert_eq(mmrt_read(as, VA, got, OBJ_PAGES * PG), 0);
	check_file_bytes(got, 0, OBJ_PAGES * PG);
	/* writes stay in the object */
	b = 0;
	cr_assert_eq(mmrt_write(as, VA + PG + 5, &b, 1), 0);
	cr_assert_eq(mmrt_object_read(obj, PG + 5, &b, 1), 0);
	cr_assert_eq(b, 0);
	cr_assert_eq(mmrt_unmap(as, VA, OBJ_PAGES * PG), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	cr_assert_eq(mmrt_test_used(), used0, "frames back in the pool");
	free(got);
}

/* A file at an offset; object reads page in too; the file is unchanged. */
Test(object_fd, offset_and_object_io)
{
	int fd = pattern_memfd();
	struct mmrt_object *obj;
	uint8_t got[2 * PG], b = 0xee, f;

	obj = mmrt_object_create_fd("objfd-off", fd, 2 * PG, 4 * PG, 0);
	cr_assert_not_null(obj);
	cr_assert_eq(mmrt_object_size(obj), 4 * PG);
	/* object page 1 is file page 3: 100 bytes, then zeros */
	cr_assert_eq(mmrt_object_read(obj, 0, got, sizeof(got)), 0);
	check_file_bytes(got, 2 * PG, sizeof(got));
	cr_assert_eq(mmrt_object_write(obj, 3, &b, 1), 0);
	cr_assert_eq(mmrt_object_read(obj, 3, &b, 1), 0);
	cr_assert_eq(b, 0xee);
	cr_assert_eq(pread(fd, &f, 1, 2 * PG + 3), 1);
	cr_assert_eq(f, fbyte(2 * PG + 3), "the file is never written");
	/* a write to a page not read yet reads it first */
	b = 0x11;
	cr_assert_eq(mmrt_object_write(obj, PG + 1, &b, 1), 0);
	cr_assert_eq(mmrt_object_read(obj, PG, got, PG), 0);
	cr_assert_eq(got[0], fbyte(3 * PG));
	cr_assert_eq(got[1], 0x11);
	cr_assert_eq(got[99], fbyte(3 * PG + 99));
	cr_assert_eq(got[100], 0);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	close(fd);
}

struct reader {
	struct mmrt_as *as;
	uint64_t va;
	uint8_t buf[PG];
	int ret;
};

static void *
reader_thread(void *p)
{
	struct reader *r = p;

	r->ret = mmrt_read(r->as, r->va, r->buf, PG);
	return NULL;
}

/* MINOR: any unmapped page is a minor fault; continue reads it in. */
Test(object_fd, minor_continue)
{
	struct reader rd = { .va = VA + 3 * PG };
	struct mmrt_uffd_continue c;
	struct mmrt_uffd_msg m;
	int fd = pattern_memfd();
	struct mmrt_object *obj;
	struct mmrt_uffd *u;
	pthread_t t;
	uint64_t f = 0, d;
	unsigned long it = 0;

	obj = mmrt_object_create_fd("objfd-minor", fd, 0, OBJ_PAGES * PG, 0);
	cr_assert_not_null(obj);
	rd.as = mmrt_as_create("objfd-minor");
	cr_assert_not_null(rd.as);
	cr_assert_eq(mmrt_map_object(rd.as, VA, OBJ_PAGES * PG, RW, 0, obj,
		0), 0);
	u = mmrt_uffd_create(rd.as, MMRT_UFFD_API, &f, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, VA, OBJ_PAGES * PG,
		MMRT_UFFD_REGISTER_MODE_MINOR, NULL), 0);
	cr_assert_eq(pthread_create(&t, NULL, reader_thread, &rd), 0);
	d = mmrt_test_deadline(WAIT_S);
	while (mmrt_uffd_read(u, &m, 1) != 1) {
		cr_assert(!mmrt_test_expired(d), "no userfault");
		mmrt_test_relax(it++, 255);
	}
	cr_assert_eq(m.arg.pagefault.address, VA + 3 * PG);
	cr_assert_neq(m.arg.pagefault.flags & MMRT_UFFD_PAGEFAULT_FLAG_MINOR,
		0);
	c = (struct mmrt_uffd_continue){ .range = { VA + 3 * PG, PG } };
	cr_assert_eq(mmrt_uffd_continue(u, &c), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(rd.ret, 0);
	check_file_bytes(rd.buf, 3 * PG, PG);
	/* past the end of the file: a zero page, continued too */
	c = (struct mmrt_uffd_continue){ .range = { VA + 5 * PG, PG } };
	cr_assert_eq(mmrt_uffd_continue(u, &c), 0);
	cr_assert_eq(mmrt_read(rd.as, VA + 5 * PG, rd.buf, PG), 0);
	check_file_bytes(rd.buf, 5 * PG, PG);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(rd.as), 0);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	close(fd);
}

/* An engine (a dma_mmrt device, driven with rte_dma_*) reads pages not
 * read yet: page requests, served by the driver's page-request thread. */
Test(object_fd, engine_reads)
{
	int fd = pattern_memfd();
	struct mmrt_dma_mmrt_stats st;
	struct mmrt_object *obj;
	struct mmrt_as *as;
	struct tdmm dma;
	uint8_t got[2 * PG];

	obj = mmrt_object_create_fd("objfd-dma", fd, 0, OBJ_PAGES * PG, 0);
	cr_assert_not_null(obj);
	as = mmrt_as_create("objfd-dma");
	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map_object(as, VA, OBJ_PAGES * PG, RW, 0, obj, 0),
		0);
	cr_assert_eq(mmrt_map(as, VS, 2 * PG, RW, 0), 0);
	tdmm_up_as(&dma, "objfd", as, ENGINE_LCORE,
		"ack_us=5000000,park_us=5000000");
	/* file page 2 and the cut page 3 */
	cr_assert_geq(rte_dma_copy(dma.id, 0, VA + 2 * PG, VS, 2 * PG, 0), 0);
	cr_assert_eq(rte_dma_submit(dma.id, 0), 0);
	cr_assert_eq(tdmm_wait_one(&dma, WAIT_S), RTE_DMA_STATUS_SUCCESSFUL);
	st = tdmm_stats(&dma);
	cr_assert_gt(st.consumer.page_requests, 0,
		"the poller did not read the file itself");
	cr_assert_eq(mmrt_read(as, VS, got, sizeof(got)), 0);
	check_file_bytes(got, 2 * PG, sizeof(got));
	tdmm_down(&dma);
	cr_assert_eq(mmrt_as_destroy(as), 0);
	cr_assert_eq(mmrt_object_destroy(obj), 0);
	close(fd);
}

Test(object_fd, bad_input)
{
	uint64_t used0 = mmrt_test_used();
	int fd = pattern_memfd(), p[2], wo;
	char path[] = "/tmp/mmrt-objfd-XXXXXX";

	cr_assert_null(mmrt_object_create_fd("b", -1, 0, PG, 0));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_null(mmrt_object_create_fd("b", fd, 0, PG, 1));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_null(mmrt_object_create_fd("b", fd, 1, PG, 0));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_null(mmrt_object_create_fd("b", fd, 0, 0, 0));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_null(mmrt_object_create_fd("b", fd, 0, PG + 1, 0));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_null(mmrt_object_create_fd(NULL, fd, 0, PG, 0));
	cr_assert_eq(rte_errno, EINVAL);
	cr_assert_null(mmrt_object_create_fd("b", fd, UINT64_MAX & ~(PG - 1),
		PG, 0));
	cr_assert_eq(rte_errno, EINVAL, "offset + size wraps");
	/* a pipe is not a file */
	cr_assert_eq(pipe(p), 0);
	cr_assert_null(mmrt_object_create_fd("b", p[0], 0, PG, 0));
	cr_assert_eq(rte_errno, EINVAL);
	close(p[0]);
	close(p[1]);
	/* a file open only for writing */
	wo = mkstemp(path);
	cr_assert_geq(wo, 0);
	close(wo);
	wo = open(path, O_WRONLY);
	cr_assert_geq(wo, 0);
	cr_assert_null(mmrt_object_create_fd("b", wo, 0, PG, 0));
	cr_assert_eq(rte_errno, EBADF);
	close(wo);
	unlink(path);
	/* a name in use */
	cr_assert_not_null(mmrt_object_create("taken", PG));
	cr_assert_null(mmrt_object_create_fd("taken", fd, 0, PG, 0));
	cr_assert_eq(rte_errno, EEXIST);
	cr_assert_eq(mmrt_object_destroy(mmrt_object_lookup("taken")), 0);
	cr_assert_null(mmrt_object_lookup("b"));
	cr_assert_eq(mmrt_test_used(), used0);
	close(fd);
}
