/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Regression tests of the library bugs the API fuzzer found (each input
 * is also a seed in corpus/, named after it).
 */

#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <mmrt_uffd.h>

#include "common.h"

#define PG MMRT_PAGE_SIZE
#define VA (UINT64_C(1) << 30)

MMRT_TEST_FIXTURES(16);

/*
 * corpus/crash-uffd-fill-protnone: a uffd copy or zeropage into a
 * PROT_NONE region mapped the page readable, so the lockless walk
 * (consumers, engines) could read it. It must stay inaccessible until
 * the region's protection allows access.
 */
Test(fuzz_regress, uffd_fill_protnone, .init = setup, .fini = teardown)
{
	struct mmrt_as *as = mmrt_as_create("fr-as");
	uint64_t feat = 0;
	struct mmrt_uffd *u;
	struct mmrt_xlate x;
	uint8_t src[PG], b[16];

	cr_assert_not_null(as);
	cr_assert_eq(mmrt_map(as, VA, 4 * PG, MMRT_PROT_NONE, 0), 0);
	u = mmrt_uffd_create(as, MMRT_UFFD_API, &feat, NULL);
	cr_assert_not_null(u);
	cr_assert_eq(mmrt_uffd_register(u, VA, 4 * PG,
		MMRT_UFFD_REGISTER_MODE_MISSING, NULL), 0);
	memset(src, 0x77, sizeof(src));
	{
		struct mmrt_uffd_copy c = { .dst = VA, .src = src, .len = PG };
		struct mmrt_uffd_zeropage z = {
			.range = { .start = VA + PG, .len = PG },
		};

		cr_assert_eq(mmrt_uffd_copy(u, &c), 0);
		cr_assert_eq(mmrt_uffd_zeropage(u, &z), 0);
	}
	cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_READ, &x), -EFAULT);
	cr_assert_eq(mmrt_translate(as, VA + PG, MMRT_ACCESS_READ, &x),
		-EFAULT);
	cr_assert_eq(mmrt_read(as, VA, b, sizeof(b)), -EACCES);
	/* the filled contents are there once the region allows reading */
	cr_assert_eq(mmrt_protect(as, VA, 4 * PG, MMRT_PROT_READ), 0);
	cr_assert_eq(mmrt_translate(as, VA, MMRT_ACCESS_READ, &x), 0);
	cr_assert_eq(x.prot, MMRT_PROT_READ);
	cr_assert_eq(mmrt_read(as, VA, b, sizeof(b)), 0);
	cr_assert_eq(b[0], 0x77);
	cr_assert_eq(mmrt_read(as, VA + PG, b, sizeof(b)), 0);
	cr_assert_eq(b[0], 0);
	cr_assert_eq(mmrt_uffd_destroy(u), 0);
	cr_assert_eq(mmrt_as_destroy(as), 0);
}
