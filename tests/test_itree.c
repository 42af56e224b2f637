/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * The intrusive interval tree (lib/mm/itree.c) against brute force: random
 * inserts, removes and overlap queries, checking every query's result set
 * and the tree's invariants (order, parents, AVL balance, heights,
 * subtree_last). Pure data structure: no EAL needed.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "itree.h"

#define NODES 2048
#define OPS 100000

static uint64_t rng;

static uint64_t
next_rand(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(2685821657736338717);
}

/* Small coordinates so that overlaps and equal starts are common; now
 * and then a huge interval or one at the top of the range. */
static void
rand_interval(uint64_t *s, uint64_t *l)
{
	uint64_t r = next_rand() % 100;

	if (r == 0) {
		*s = next_rand() % 1000;
		*l = UINT64_MAX - next_rand() % 3;
	} else if (r == 1) {
		*s = UINT64_MAX - next_rand() % 100;
		*l = *s + next_rand() % (UINT64_MAX - *s + 1);
	} else {
		*s = next_rand() % 100000;
		*l = *s + (r < 50 ? next_rand() % 64 : next_rand() % 5000);
	}
}

static bool
overlaps(const struct mmrt_itree_node *n, uint64_t s, uint64_t l)
{
	return n->start <= l && n->last >= s;
}

Test(itree, random_vs_brute_force, .timeout = 300)
{
	static struct mmrt_itree_node nodes[NODES];
	static bool in[NODES];
	static bool seen[NODES];
	struct mm_itree t = { NULL };
	const char *env = getenv("MMRT_ITREE_SEED");
	uint64_t seed, s, l;
	long count = 0, queries = 0, hits = 0;
	unsigned int op, i;

	seed = env != NULL ? strtoull(env, NULL, 0) :
		(uint64_t)time(NULL) * 2654435761u + 1;
	printf("itree seed %" PRIu64 " (set MMRT_ITREE_SEED to replay)\n",
		seed);
	fflush(stdout);
	rng = seed | 1;
	memset(nodes, 0, sizeof(nodes));

	for (op = 0; op < OPS; op++) {
		uint64_t r = next_rand() % 10;

		i = next_rand() % NODES;
		if (r < 4) {
			if (in[i]) {
				mm_itree_remove(&t, &nodes[i]);
				cr_assert(!nodes[i].in_tree);
				in[i] = false;
				count--;
			} else {
				rand_interval(&s, &l);
				nodes[i].start = s;
				nodes[i].last = l;
				mm_itree_insert(&t, &nodes[i]);
				in[i] = true;
				count++;
			}
		} else if (r < 6 && in[i]) {
			mm_itree_remove(&t, &nodes[i]);
			in[i] = false;
			count--;
		} else {
			const struct mmrt_itree_node *n;
			uint64_t prev_start = 0;
			unsigned int found = 0, expect = 0;

			rand_interval(&s, &l);
			memset(seen, 0, sizeof(seen));
			for (n = mm_itree_first(&t, s, l); n != NULL;
					n = mm_itree_next(n, s, l)) {
				unsigned int k = (unsigned int)(n - nodes);

				cr_assert_lt(k, NODES);
				cr_assert(in[k], "node %u not inserted", k);
				cr_assert(overlaps(n, s, l),
					"seed %" PRIu64 " op %u: [%" PRIu64
					",%" PRIu64 "] does not overlap",
					seed, op, n->start, n->last);
				cr_assert(!seen[k], "node %u twice", k);
				cr_assert_geq(n->start, prev_start,
					"not in start order");
				prev_start = n->start;
				seen[k] = true;
				found++;
			}
			for (i = 0; i < NODES; i++)
				if (in[i] && overlaps(&nodes[i], s, l)) {
					expect++;
					cr_assert(seen[i], "seed %" PRIu64
						" op %u: missed node %u",
						seed, op, i);
				}
			cr_assert_eq(found, expect);
			queries++;
			hits += found;
		}
		if (op % 64 == 0 || op == OPS - 1)
			cr_assert_eq(mm_itree_check(&t), count,
				"seed %" PRIu64 " op %u: invariants broken",
				seed, op);
	}
	/* empty it, checking as we go */
	for (i = 0; i < NODES; i++)
		if (in[i]) {
			mm_itree_remove(&t, &nodes[i]);
			count--;
			cr_assert_eq(mm_itree_check(&t), count);
		}
	cr_assert_null(t.root);
	cr_assert_null(mm_itree_first(&t, 0, UINT64_MAX));
	printf("itree: %ld queries, %ld hits\n", queries, hits);
}

Test(itree, edges)
{
	struct mmrt_itree_node a = { .start = 0, .last = 0 };
	struct mmrt_itree_node b = { .start = UINT64_MAX, .last = UINT64_MAX };
	struct mm_itree t = { NULL };

	mm_itree_insert(&t, &a);
	mm_itree_insert(&t, &b);
	cr_assert_eq(mm_itree_check(&t), 2);
	cr_assert_eq(mm_itree_first(&t, 0, 0), &a);
	cr_assert_null(mm_itree_next(&a, 0, 0));
	cr_assert_eq(mm_itree_first(&t, 1, UINT64_MAX), &b);
	cr_assert_null(mm_itree_first(&t, 1, UINT64_MAX - 1));
	cr_assert_eq(mm_itree_first(&t, 0, UINT64_MAX), &a);
	cr_assert_eq(mm_itree_next(&a, 0, UINT64_MAX), &b);
	mm_itree_remove(&t, &a);
	mm_itree_remove(&t, &b);
	cr_assert_null(t.root);
}
