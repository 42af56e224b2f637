/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * Lcore topology (hwloc) and server/consumer placement.
 *
 * The table is filled once by core_topo_init() (after the EAL is up) and
 * only read afterwards, so readers need no locking.
 */

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>

#include <hwloc.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include "mmrt_core.h"
#include "core_priv.h"

static struct mmrt_lcore_topo topo_tab[RTE_MAX_LCORE];
static int topo_idx[RTE_MAX_LCORE]; /* lcore id -> topo_tab index, -1 */
static unsigned int topo_n;
static int topo_ready;

static int
topo_first_cpu(unsigned int lcore)
{
	rte_cpuset_t cs;
	int cpu;

	cs = rte_lcore_cpuset(lcore);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &cs))
			return cpu;
	return -1;
}

static int
topo_ancestor(hwloc_topology_t t, hwloc_obj_type_t type, hwloc_obj_t pu)
{
	hwloc_obj_t o;

	o = hwloc_get_ancestor_obj_by_type(t, type, pu);
	return o == NULL ? -1 : (int)o->logical_index;
}

static void
topo_describe(hwloc_topology_t t, struct mmrt_lcore_topo *e)
{
	hwloc_obj_t pu, core, node;
	int os;

	e->core = -1;
	e->l2 = -1;
	e->l3 = -1;
	e->numa = (int)rte_lcore_to_socket_id(e->lcore_id);
	if (e->numa == (int)SOCKET_ID_ANY)
		e->numa = -1;
	e->smt = 1;
	if (t == NULL || e->cpu < 0)
		return;
	pu = hwloc_get_pu_obj_by_os_index(t, (unsigned int)e->cpu);
	if (pu == NULL)
		return;
	core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
	if (core != NULL) {
		e->core = (int)core->logical_index;
		e->smt = (unsigned int)hwloc_get_nbobjs_inside_cpuset_by_type(t,
			core->cpuset, HWLOC_OBJ_PU);
	}
	e->l2 = topo_ancestor(t, HWLOC_OBJ_L2CACHE, pu);
	e->l3 = topo_ancestor(t, HWLOC_OBJ_L3CACHE, pu);
	/* hwloc 2: NUMA nodes hang off as memory children; use the nodeset. */
	if (pu->nodeset != NULL) {
		os = hwloc_bitmap_first(pu->nodeset);
		node = os < 0 ? NULL :
			hwloc_get_numanode_obj_by_os_index(t, (unsigned int)os);
		if (node != NULL)
			e->numa = (int)node->logical_index;
	}
}

int
core_topo_init(void)
{
	hwloc_topology_t t = NULL;
	struct mmrt_lcore_topo *e;
	unsigned int lc;

	if (hwloc_topology_init(&t) < 0) {
		t = NULL;
	} else if (hwloc_topology_load(t) < 0) {
		hwloc_topology_destroy(t);
		t = NULL;
	}
	if (t == NULL)
		MMRT_LOG(WARNING, core,
			"hwloc topology unavailable: cores and caches unknown");

	for (lc = 0; lc < RTE_MAX_LCORE; lc++)
		topo_idx[lc] = -1;
	topo_n = 0;
	RTE_LCORE_FOREACH(lc) {
		e = &topo_tab[topo_n];
		memset(e, 0, sizeof(*e));
		e->lcore_id = lc;
		e->cpu = topo_first_cpu(lc);
		topo_describe(t, e);
		topo_idx[lc] = (int)topo_n++;
		MMRT_LOG(DEBUG, core,
			"lcore %u: cpu %d core %d l2 %d l3 %d numa %d smt %u",
			e->lcore_id, e->cpu, e->core, e->l2, e->l3, e->numa,
			e->smt);
	}
	if (t != NULL)
		hwloc_topology_destroy(t);
	__atomic_store_n(&topo_ready, 1, __ATOMIC_RELEASE);
	return 0;
}

void
core_topo_fini(void)
{
	__atomic_store_n(&topo_ready, 0, __ATOMIC_RELEASE);
	topo_n = 0;
}

int
mmrt_topo_lcores(struct mmrt_lcore_topo *out, unsigned int n)
{
	unsigned int i;

	if (out == NULL || n == 0)
		return -EINVAL;
	if (!__atomic_load_n(&topo_ready, __ATOMIC_ACQUIRE))
		return -ENODEV;
	for (i = 0; i < n && i < topo_n; i++)
		out[i] = topo_tab[i];
	return (int)i;
}

const char *
mmrt_share_name(enum mmrt_share s)
{
	switch (s) {
	case MMRT_SHARE_CORE:
		return "core";
	case MMRT_SHARE_L2:
		return "l2";
	case MMRT_SHARE_L3:
		return "l3";
	case MMRT_SHARE_NUMA:
		return "numa";
	case MMRT_SHARE_NONE:
		return "none";
	}
	return "unknown";
}

static const struct mmrt_lcore_topo *
topo_get(unsigned int lcore)
{
	if (lcore >= RTE_MAX_LCORE || topo_idx[lcore] < 0)
		return NULL;
	return &topo_tab[topo_idx[lcore]];
}

static enum mmrt_share
topo_share(const struct mmrt_lcore_topo *a, const struct mmrt_lcore_topo *b)
{
	if ((a->cpu >= 0 && a->cpu == b->cpu) ||
	    (a->core >= 0 && a->core == b->core))
		return MMRT_SHARE_CORE;
	if (a->l2 >= 0 && a->l2 == b->l2)
		return MMRT_SHARE_L2;
	if (a->l3 >= 0 && a->l3 == b->l3)
		return MMRT_SHARE_L3;
	if (a->numa >= 0 && a->numa == b->numa)
		return MMRT_SHARE_NUMA;
	return MMRT_SHARE_NONE;
}

int
mmrt_topo_share(unsigned int lcore_a, unsigned int lcore_b)
{
	const struct mmrt_lcore_topo *a, *b;

	if (!__atomic_load_n(&topo_ready, __ATOMIC_ACQUIRE))
		return -ENODEV;
	a = topo_get(lcore_a);
	b = topo_get(lcore_b);
	if (a == NULL || b == NULL)
		return -EINVAL;
	return (int)topo_share(a, b);
}

/*
 * Candidate order: worker lcores by id, then the main lcore. Pairs are
 * built greedily: each server is the first unused candidate and its
 * consumer the closest unused one (ties go to candidate order). When there
 * are fewer than 2n candidates, some servers serve several consumers
 * (and when there are n or fewer, consumers are reused too); the main
 * lcore is then a server, since its own work is control-plane rather than
 * a busy poll.
 */
int
mmrt_placement_plan(struct mmrt_placement *plan, unsigned int n)
{
	unsigned int cand[RTE_MAX_LCORE], srv[RTE_MAX_LCORE];
	unsigned int cons[RTE_MAX_LCORE], load[RTE_MAX_LCORE];
	bool used[RTE_MAX_LCORE];
	unsigned int ncand = 0, nsrv, ncons, workers, main_lc, lc, i, j;
	enum mmrt_share s, best_s;
	int best;

	if (plan == NULL || n == 0)
		return -EINVAL;
	if (!__atomic_load_n(&topo_ready, __ATOMIC_ACQUIRE))
		return -ENODEV;
	if (topo_n < 2)
		return -ENOSPC;

	main_lc = rte_get_main_lcore();
	for (i = 0; i < topo_n; i++)
		if (topo_tab[i].lcore_id != main_lc)
			cand[ncand++] = topo_tab[i].lcore_id;
	workers = ncand;

	if (workers >= 2 * (uint64_t)n) {
		/* Enough workers: n distinct pairs, main lcore unused. */
		memset(used, 0, sizeof(used));
		for (i = 0; i < n; i++) {
			for (j = 0; used[j]; j++)
				;
			used[j] = true;
			best = -1;
			best_s = MMRT_SHARE_NONE;
			for (lc = 0; lc < ncand; lc++) {
				if (used[lc])
					continue;
				s = (enum mmrt_share)mmrt_topo_share(cand[j],
					cand[lc]);
				if (best < 0 || s < best_s) {
					best = (int)lc;
					best_s = s;
				}
			}
			used[best] = true;
			plan[i].server_lcore = cand[j];
			plan[i].consumer_lcore = cand[best];
			plan[i].share = best_s;
		}
		return (int)n;
	}

	/* Short of workers: the main lcore serves, then as many workers. */
	srv[0] = main_lc;
	nsrv = 1;
	if (topo_n > n)
		nsrv = topo_n - n;
	for (i = 1; i < nsrv; i++)
		srv[i] = cand[i - 1];
	ncons = 0;
	for (i = nsrv - 1; i < workers; i++)
		cons[ncons++] = cand[i];
	memset(load, 0, sizeof(load));
	for (i = 0; i < n; i++) {
		lc = cons[i % ncons];
		best = -1;
		best_s = MMRT_SHARE_NONE;
		for (j = 0; j < nsrv; j++) {
			s = (enum mmrt_share)mmrt_topo_share(srv[j], lc);
			if (best < 0 || s < best_s ||
			    (s == best_s && load[j] < load[best])) {
				best = (int)j;
				best_s = s;
			}
		}
		load[best]++;
		plan[i].server_lcore = srv[best];
		plan[i].consumer_lcore = lc;
		plan[i].share = best_s;
	}
	return (int)n;
}
