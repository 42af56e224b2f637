/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

/*
 * rte_telemetry endpoints of the software DMA engines: /mmrt/swdma/list
 * (names) and /mmrt/swdma/info,NAME (struct mmrt_swdma_stats, with the
 * engine's consumer counters in "consumer"). As lib/dev/dev_telemetry.c:
 * registered by a constructor, run on the telemetry thread, engines
 * reached only through mmrt_swdma_foreach(), bad parameters answered
 * with a negative errno (null). A dma_mmrt device's engine is listed here
 * too; the device itself is under /dmadev/.
 */

#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "mmrt_swdma.h"

#define DICT_U64(d, st, f) rte_tel_data_add_dict_u64(d, #f, (st)->f)

static int
tel_swdma_name_cb(struct mmrt_swdma *dma, void *arg)
{
	const char *name = mmrt_swdma_name(dma);

	if (name != NULL)
		(void)rte_tel_data_add_array_string(arg, name);
	return 0;
}

static int
tel_swdma_list(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	int ret;

	if (params != NULL && params[0] != '\0')
		return -EINVAL;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	ret = mmrt_swdma_foreach(tel_swdma_name_cb, d);
	return ret < 0 ? ret : 0;
}

struct tel_swdma_find {
	const char *name;
	struct rte_tel_data *d;
	struct rte_tel_data *cd; /* the "consumer" container */
	int ret;
};

/* Under the engine registry lock: copy out, format, never wait. */
static int
tel_swdma_info_cb(struct mmrt_swdma *dma, void *arg)
{
	struct tel_swdma_find *f = arg;
	const char *name = mmrt_swdma_name(dma);
	struct mmrt_swdma_stats st;
	struct rte_tel_data *d = f->d, *cd = f->cd;

	if (name == NULL || strcmp(name, f->name) != 0)
		return 0;
	f->ret = mmrt_swdma_stats(dma, &st);
	if (f->ret != 0)
		return 1;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", name);
	DICT_U64(d, &st, submitted);
	DICT_U64(d, &st, completed);
	DICT_U64(d, &st, errors);
	DICT_U64(d, &st, page_faults);
	DICT_U64(d, &st, bytes);
	DICT_U64(d, &st, parks);
	DICT_U64(d, &st, resumes);
	DICT_U64(d, &st, steps);
	DICT_U64(d, &st, idle_polls);
	rte_tel_data_start_dict(cd);
	rte_tel_data_add_dict_int(cd, "id",
		mmrt_consumer_id(mmrt_swdma_consumer(dma)));
	DICT_U64(cd, &st.consumer, tlb_hits);
	DICT_U64(cd, &st.consumer, tlb_misses);
	DICT_U64(cd, &st.consumer, inval_descs);
	DICT_U64(cd, &st.consumer, acks);
	DICT_U64(cd, &st.consumer, fences);
	DICT_U64(cd, &st.consumer, page_requests);
	DICT_U64(cd, &st.consumer, userfaults);
	return 1;
}

static int
tel_swdma_info(const char *cmd __rte_unused, const char *params,
	struct rte_tel_data *d)
{
	struct tel_swdma_find f = { .name = params, .d = d, .ret = -ENOENT };
	int ret;

	if (params == NULL || params[0] == '\0')
		return -EINVAL;
	f.cd = rte_tel_data_alloc();
	if (f.cd == NULL)
		return -ENOMEM;
	ret = mmrt_swdma_foreach(tel_swdma_info_cb, &f);
	if (ret < 0 || f.ret != 0) {
		rte_tel_data_free(f.cd);
		return ret < 0 ? ret : f.ret;
	}
	/* the container is freed with @d */
	rte_tel_data_add_dict_container(d, "consumer", f.cd, 0);
	return 0;
}

RTE_INIT(mmrt_swdma_telemetry)
{
	rte_telemetry_register_cmd("/mmrt/swdma/list", tel_swdma_list,
		"Names of the mmrt software DMA engines. Takes no parameters");
	rte_telemetry_register_cmd("/mmrt/swdma/info", tel_swdma_info,
		"Statistics of an mmrt software DMA engine. Parameters: name");
}
