/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#ifndef _CORE_PRIV_H_
#define _CORE_PRIV_H_

/*
 * Internal interface between the files of lib/core. Not installed; the
 * symbols are hidden from the shared library.
 */

#include <stddef.h>
#include <stdint.h>

#include "mmrt_core.h"

#define CORE_INTERNAL __attribute__((visibility("hidden")))

/* config.c: set one key from its text value (same checks as a file). */
CORE_INTERNAL int core_config_set(struct mmrt_config *cfg,
	const char *section, const char *key, const char *value);

/*
 * config.c: Levenshtein distance between a[0..la) and b[0..lb), UINT_MAX
 * if either is longer than CORE_EDIT_MAX (for "did you mean" hints).
 */
#define CORE_EDIT_MAX 63
CORE_INTERNAL unsigned int core_edit_distance(const char *a, size_t la,
	const char *b, size_t lb);

/* qsbr.c: create/destroy the QSBR domain with max_threads reader slots. */
CORE_INTERNAL int core_qsbr_create(uint32_t max_threads);
CORE_INTERNAL void core_qsbr_destroy(void);
/* qsbr.c: registered threads other than the caller. */
CORE_INTERNAL unsigned int core_qsbr_others(void);

/* topo.c: describe the enabled lcores (hwloc), forget them. */
CORE_INTERNAL int core_topo_init(void);
CORE_INTERNAL void core_topo_fini(void);

#endif /* _CORE_PRIV_H_ */
