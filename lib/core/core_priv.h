/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef _CORE_PRIV_H_
#define _CORE_PRIV_H_

/*
 * Internal interface between the files of lib/core. Not installed; the
 * symbols are hidden from the shared library.
 */

#include <stdint.h>

#include "mmrt_core.h"

#define CORE_INTERNAL __attribute__((visibility("hidden")))

/* config.c: set one key from its text value (same checks as a file). */
CORE_INTERNAL int core_config_set(struct mmrt_config *cfg,
	const char *section, const char *key, const char *value);

/* qsbr.c: create/destroy the QSBR domain with max_threads reader slots. */
CORE_INTERNAL int core_qsbr_create(uint32_t max_threads);
CORE_INTERNAL void core_qsbr_destroy(void);
/* qsbr.c: registered threads other than the caller. */
CORE_INTERNAL unsigned int core_qsbr_others(void);

/* topo.c: describe the enabled lcores (hwloc), forget them. */
CORE_INTERNAL int core_topo_init(void);
CORE_INTERNAL void core_topo_fini(void);

#endif /* _CORE_PRIV_H_ */
