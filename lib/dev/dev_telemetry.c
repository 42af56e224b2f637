/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * rte_telemetry endpoints under /mmrt/: the pool, the address spaces,
 * the consumers and the uffds (docs/guide.md lists them with their JSON).
 *
 * lib/dev is the lowest library that sees mem, mm and dev, so the
 * endpoints live here, registered by a constructor: commands may be
 * registered before rte_eal_init(), and telemetry only calls them once
 * its socket is up. A callback runs on the telemetry thread, which is
 * not an mmrt poller, possibly before mmrt_init() or after mmrt_fini():
 * it uses only calls documented for any thread, and reaches objects
 * only through the foreach walks, which keep what they pass valid
 * against a concurrent destroy. A bad parameter (missing, unknown name,
 * not a number, out of range) returns a negative errno: telemetry then
 * answers null for the command and keeps serving.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "mmrt_dev.h"
#include "mmrt_uffd.h"

#define TEL_POOL "/mmrt/pool"
#define TEL_AS_LIST "/mmrt/as/list"
#define TEL_AS_INFO "/mmrt/as/info"
#define TEL_CONSUMER_LIST "/mmrt/consumer/list"
#define TEL_CONSUMER_INFO "/mmrt/consumer/info"
#define TEL_UFFD_LIST "/mmrt/uffd/list"
#define TEL_UFFD_INFO "/mmrt/uffd/info"

/* A parameter naming a space: 1..MMRT_NAME_SIZE-1 chars. */
static bool
tel_name_ok(const char *s, size_t len)
{
	return s != NULL && len > 0 && len < MMRT_NAME_SIZE;
}

/*
 * Parse a decimal number of [lo, hi] that is all of @s[0, len): digits
 * only (no sign, space or hex). @return 0, -EINVAL.
 */
static int
tel_parse_u32(const char *s, size_t len, uint32_t lo, uint32_t hi,
	uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || len == 0 || len > 10)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

#define DICT_U64(d, st, f) rte_tel_data_add_dict_u64(d, #f, (st)->f)

/* /mmrt/pool: struct mmrt_mem_stats. */
static int
tel_pool(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	struct mmrt_mem_stats st;
	int ret;

	if (params != NULL && params[0] != '\0')
		return -EINVAL;
	ret = mmrt_mem_stats(&st);
	if (ret != 0)
		return ret;
	rte_tel_data_start_dict(d);
	DICT_U64(d, &st, frames_total);
	DICT_U64(d, &st, frames_free);
	DICT_U64(d, &st, huge_total);
	DICT_U64(d, &st, huge_free);
	DICT_U64(d, &st, pt_pages);
	DICT_U64(d, &st, allocs);
	DICT_U64(d, &st, frees);
	DICT_U64(d, &st, huge_allocs);
	DICT_U64(d, &st, huge_frees);
	DICT_U64(d, &st, alloc_fail);
	DICT_U64(d, &st, splits);
	DICT_U64(d, &st, bytes_meta);
	DICT_U64(d, &st, frames_clean);
	DICT_U64(d, &st, zeroed);
	DICT_U64(d, &st, zero_hits);
	rte_tel_data_add_dict_int(d, "hugepages", st.hugepages);
	rte_tel_data_add_dict_int(d, "iova_as_va", st.iova_as_va);
	rte_tel_data_add_dict_u64(d, "used", mmrt_mem_used());
	return 0;
}

/* ---- address spaces ---------------------------------------------------- */

static int
tel_as_name_cb(struct mmrt_as *as, void *arg)
{
	const char *name = mmrt_as_name(as);

	/* past RTE_TEL_MAX_ARRAY_ENTRIES the list is cut short */
	if (name != NULL)
		(void)rte_tel_data_add_array_string(arg, name);
	return 0;
}

/* /mmrt/as/list: the names of the live spaces. */
static int
tel_as_list(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	int ret;

	if (params != NULL && params[0] != '\0')
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	ret = mmrt_as_foreach(tel_as_name_cb, d);
	return ret < 0 ? ret : 0;
}

/* What an as walk looks for, and what it found. */
struct tel_as_find {
	const char *name;
	size_t len;
	uint32_t pos;            /* uffd position (uffd info) */
	struct rte_tel_data *d;
	int ret;                 /* -ENOENT until found */
};

static bool
tel_as_is(struct mmrt_as *as, const struct tel_as_find *f)
{
	const char *name = mmrt_as_name(as);

	return name != NULL && strlen(name) == f->len &&
		memcmp(name, f->name, f->len) == 0;
}

static int
tel_uffd_count_cb(struct mmrt_uffd *u __rte_unused,
	unsigned int pos __rte_unused, void *arg)
{
	(*(uint64_t *)arg)++;
	return 0;
}

static int
tel_as_info_cb(struct mmrt_as *as, void *arg)
{
	struct tel_as_find *f = arg;
	struct mmrt_as_stats st;
	struct rte_tel_data *d = f->d;
	uint64_t uffds = 0;

	if (!tel_as_is(as, f))
		return 0;
	f->ret = mmrt_as_stats(as, &st);
	if (f->ret != 0)
		return 1;
	(void)mmrt_uffd_foreach(as, tel_uffd_count_cb, &uffds);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", mmrt_as_name(as));
	DICT_U64(d, &st, regions);
	DICT_U64(d, &st, mapped_bytes);
	DICT_U64(d, &st, rss_pages);
	DICT_U64(d, &st, pt_pages);
	DICT_U64(d, &st, faults);
	DICT_U64(d, &st, cow);
	DICT_U64(d, &st, cow_reuse);
	DICT_U64(d, &st, cow_huge);
	DICT_U64(d, &st, cow_reuse_huge);
	DICT_U64(d, &st, splits);
	DICT_U64(d, &st, flushes);
	DICT_U64(d, &st, nested_flushes);
	rte_tel_data_add_dict_u64(d, "uffds", uffds);
	return 1;
}

/* /mmrt/as/info,NAME: struct mmrt_as_stats of the space NAME. */
static int
tel_as_info(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	struct tel_as_find f = { .name = params, .d = d, .ret = -ENOENT };
	int ret;

	f.len = params != NULL ? strlen(params) : 0;
	if (!tel_name_ok(f.name, f.len))
		return -EINVAL;
	ret = mmrt_as_foreach(tel_as_info_cb, &f);
	return ret < 0 ? ret : f.ret;
}

/* ---- consumers --------------------------------------------------------- */

static int
tel_consumer_id_cb(struct mmrt_consumer *c, void *arg)
{
	int id = mmrt_consumer_id(c);

	if (id > 0)
		(void)rte_tel_data_add_array_int(arg, id);
	return 0;
}

/* /mmrt/consumer/list: binding ids of the bound consumers. */
static int
tel_consumer_list(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	int ret;

	if (params != NULL && params[0] != '\0')
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	ret = mmrt_consumer_foreach(tel_consumer_id_cb, d);
	return ret < 0 ? ret : 0;
}

struct tel_consumer_find {
	int id;
	struct rte_tel_data *d;
	int ret;
};

/* Under the consumer registry lock: copy out, format, never wait. */
static int
tel_consumer_info_cb(struct mmrt_consumer *c, void *arg)
{
	struct tel_consumer_find *f = arg;
	struct mmrt_consumer_stats st;
	struct rte_tel_data *d = f->d;
	const char *name;

	if (mmrt_consumer_id(c) != f->id)
		return 0;
	name = mmrt_consumer_name(c);
	f->ret = mmrt_consumer_stats(c, &st);
	if (f->ret != 0 || name == NULL) {
		f->ret = f->ret != 0 ? f->ret : -ENOENT;
		return 1;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", name);
	rte_tel_data_add_dict_int(d, "id", f->id);
	rte_tel_data_add_dict_int(d, "fenced", mmrt_consumer_fenced(c));
	DICT_U64(d, &st, tlb_hits);
	DICT_U64(d, &st, tlb_misses);
	DICT_U64(d, &st, tlb_fills);
	DICT_U64(d, &st, tlb_evictions);
	DICT_U64(d, &st, inval_descs);
	DICT_U64(d, &st, inval_flush_all);
	DICT_U64(d, &st, inval_mailbox);
	DICT_U64(d, &st, entries_dropped);
	DICT_U64(d, &st, acks);
	DICT_U64(d, &st, fences);
	DICT_U64(d, &st, page_requests);
	DICT_U64(d, &st, page_requests_dedup);
	DICT_U64(d, &st, userfaults);
	DICT_U64(d, &st, faults_resolved);
	DICT_U64(d, &st, quarantined);
	DICT_U64(d, &st, quarantine_held);
	return 1;
}

/* /mmrt/consumer/info,ID: struct mmrt_consumer_stats of binding ID. */
static int
tel_consumer_info(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	struct tel_consumer_find f = { .d = d, .ret = -ENOENT };
	uint32_t id;
	int ret;

	if (tel_parse_u32(params, params != NULL ? strlen(params) : 0, 1,
			INT32_MAX, &id) != 0)
		return -EINVAL;
	f.id = (int)id;
	ret = mmrt_consumer_foreach(tel_consumer_info_cb, &f);
	return ret < 0 ? ret : f.ret;
}

/* ---- uffds ------------------------------------------------------------- */

struct tel_uffd_list {
	struct rte_tel_data *d;
	const char *name;
};

static int
tel_uffd_list_one(struct mmrt_uffd *u __rte_unused, unsigned int pos,
	void *arg)
{
	struct tel_uffd_list *l = arg;
	char s[MMRT_NAME_SIZE + 16];

	snprintf(s, sizeof(s), "%s,%u", l->name, pos);
	(void)rte_tel_data_add_array_string(l->d, s);
	return 0;
}

static int
tel_uffd_list_cb(struct mmrt_as *as, void *arg)
{
	struct tel_uffd_list l = { .d = arg, .name = mmrt_as_name(as) };

	if (l.name != NULL)
		(void)mmrt_uffd_foreach(as, tel_uffd_list_one, &l);
	return 0;
}

/*
 * /mmrt/uffd/list: "SPACE,POS" for every uffd bound to a space, the
 * parameter /mmrt/uffd/info takes.
 */
static int
tel_uffd_list(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	int ret;

	if (params != NULL && params[0] != '\0')
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	ret = mmrt_as_foreach(tel_uffd_list_cb, d);
	return ret < 0 ? ret : 0;
}

static int
tel_uffd_info_one(struct mmrt_uffd *u, unsigned int pos, void *arg)
{
	struct tel_as_find *f = arg;
	struct mmrt_uffd_stats st;
	struct rte_tel_data *d = f->d;

	if (pos != f->pos)
		return 0;
	f->ret = mmrt_uffd_stats(u, &st);
	if (f->ret != 0)
		return 1;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "pos", (int)pos);
	rte_tel_data_add_dict_u64(d, "features", mmrt_uffd_features(u));
	DICT_U64(d, &st, faults);
	DICT_U64(d, &st, faults_dedup);
	DICT_U64(d, &st, faults_missing);
	DICT_U64(d, &st, faults_wp);
	DICT_U64(d, &st, faults_minor);
	DICT_U64(d, &st, faults_sigbus);
	DICT_U64(d, &st, faults_full);
	DICT_U64(d, &st, events);
	DICT_U64(d, &st, events_lost);
	DICT_U64(d, &st, wp_async);
	DICT_U64(d, &st, wakes);
	DICT_U64(d, &st, filled_pages);
	DICT_U64(d, &st, pending);
	return 1;
}

static int
tel_uffd_info_cb(struct mmrt_as *as, void *arg)
{
	struct tel_as_find *f = arg;

	if (!tel_as_is(as, f))
		return 0;
	(void)mmrt_uffd_foreach(as, tel_uffd_info_one, f);
	if (f->ret == 0)
		rte_tel_data_add_dict_string(f->d, "as", mmrt_as_name(as));
	return 1;
}

/*
 * /mmrt/uffd/info,SPACE,POS: struct mmrt_uffd_stats of the uffd at
 * position POS (0: the oldest) of the space SPACE. The name is what
 * precedes the last comma, so a space name may hold commas.
 */
static int
tel_uffd_info(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	struct tel_as_find f = { .name = params, .d = d, .ret = -ENOENT };
	const char *comma;
	int ret;

	if (params == NULL || (comma = strrchr(params, ',')) == NULL)
		return -EINVAL;
	f.len = (size_t)(comma - params);
	if (!tel_name_ok(f.name, f.len) ||
	    tel_parse_u32(comma + 1, strlen(comma + 1), 0, INT32_MAX,
			&f.pos) != 0)
		return -EINVAL;
	ret = mmrt_as_foreach(tel_uffd_info_cb, &f);
	return ret < 0 ? ret : f.ret;
}

RTE_INIT(mmrt_dev_telemetry)
{
	rte_telemetry_register_cmd(TEL_POOL, tel_pool,
		"mmrt frame pool statistics. Takes no parameters");
	rte_telemetry_register_cmd(TEL_AS_LIST, tel_as_list,
		"Names of the mmrt address spaces. Takes no parameters");
	rte_telemetry_register_cmd(TEL_AS_INFO, tel_as_info,
		"Statistics of an mmrt address space. Parameters: name");
	rte_telemetry_register_cmd(TEL_CONSUMER_LIST, tel_consumer_list,
		"Binding ids of the bound mmrt consumers. Takes no parameters");
	rte_telemetry_register_cmd(TEL_CONSUMER_INFO, tel_consumer_info,
		"Statistics of an mmrt consumer. Parameters: binding id");
	rte_telemetry_register_cmd(TEL_UFFD_LIST, tel_uffd_list,
		"The mmrt uffds, as space,position. Takes no parameters");
	rte_telemetry_register_cmd(TEL_UFFD_INFO, tel_uffd_info,
		"Statistics of an mmrt uffd. Parameters: space,position");
}
