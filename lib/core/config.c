/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>

#include <rte_cfgfile.h>
#include <rte_common.h>

#include "mmrt_core.h"
#include "core_priv.h"
#include "core_testhooks.h"

/* One configuration key: where it lives, its range and its field. */
struct config_key {
	const char *section;
	const char *name;
	size_t offset;     /* of the uint32_t field in struct mmrt_config */
	uint32_t min;
	uint32_t max;
	uint32_t def;
	unsigned int pow2; /* value must be a power of two */
};

#define KEY(s, n, f, lo, hi, d, p) \
	{ s, n, offsetof(struct mmrt_config, f), lo, hi, d, p }

/* Keep in step with config/default.ini. */
static const struct config_key config_keys[] = {
	KEY("core", "max_threads", max_threads, 1, 1024, 64, 0),
	KEY("core", "log_level", log_level, 1, 8, 6, 0),
	KEY("mem", "pool_mb", pool_mb, 4, 65536, 256, 0),
	KEY("mem", "huge_reserve_pct", pool_huge_pct, 0, 100, 25, 0),
	KEY("mem", "cache_size", cache_size, 0, 512, 64, 0),
	KEY("mm", "gather_batch_max", gather_batch_max, 1, 1024, 64, 0),
	KEY("mm", "gather_free_chunk", gather_free_chunk, 16, 65536, 512, 0),
	KEY("mm", "qsbr_dq_size", qsbr_dq_size, 64, 1048576, 4096, 1),
	KEY("mm", "max_as", max_as, 1, 4096, 64, 0),
};

#undef KEY

static uint32_t *
config_field(struct mmrt_config *cfg, const struct config_key *k)
{
	return (uint32_t *)((char *)cfg + k->offset);
}

void
mmrt_config_defaults(struct mmrt_config *cfg)
{
	unsigned int i;

	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < RTE_DIM(config_keys); i++)
		*config_field(cfg, &config_keys[i]) = config_keys[i].def;
}

/* Strict decimal parse: digits only (surrounding blanks allowed). */
static int
config_parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v > UINT32_MAX)
		return -EINVAL;
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end != '\0')
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* The key of @p section that @p key most likely misspells, or NULL. */
static const struct config_key *
config_key_near(const char *section, const char *key)
{
	const struct config_key *best = NULL;
	unsigned int i, d, bestd = 3;

	for (i = 0; i < RTE_DIM(config_keys); i++) {
		if (strcmp(config_keys[i].section, section) != 0)
			continue;
		d = core_edit_distance(key, strlen(key), config_keys[i].name,
			strlen(config_keys[i].name));
		if (d < bestd) {
			bestd = d;
			best = &config_keys[i];
		}
	}
	return best;
}

int
core_config_set(struct mmrt_config *cfg, const char *section,
	const char *key, const char *value)
{
	const struct config_key *k = NULL;
	unsigned int i;
	uint32_t v;

	if (cfg == NULL || section == NULL || key == NULL || value == NULL)
		return -EINVAL;
	for (i = 0; i < RTE_DIM(config_keys); i++) {
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, key) == 0) {
			k = &config_keys[i];
			break;
		}
	}
	if (k == NULL) {
		k = config_key_near(section, key);
		if (k != NULL)
			MMRT_LOG(ERR, core, "unknown configuration key [%s] %s:"
				" did you mean %s?", section, key, k->name);
		else
			MMRT_LOG(ERR, core, "unknown configuration key [%s] %s",
				section, key);
		return -EINVAL;
	}
	if (config_parse_u32(value, &v) < 0 || v < k->min || v > k->max ||
	    (k->pow2 && !rte_is_power_of_2(v))) {
		MMRT_LOG(ERR, core, "[%s] %s = '%s': expected %s%u..%u",
			section, key, value,
			k->pow2 ? "a power of two in " : "",
			k->min, k->max);
		return -EINVAL;
	}
	*config_field(cfg, k) = v;
	return 0;
}

unsigned int
core_edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned int row[CORE_EDIT_MAX + 1], diag, up, cost;
	size_t i, j;

	/* Long words are never near misses of mmrt's short names. */
	if (la > CORE_EDIT_MAX || lb > CORE_EDIT_MAX)
		return UINT_MAX;
	/* One row of the Levenshtein table: row[j] = d(a[0..i), b[0..j)). */
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			row[j] = RTE_MIN(RTE_MIN(up + 1, row[j - 1] + 1),
				diag + cost);
			diag = up;
		}
	}
	return row[lb];
}

/*
 * mmrt's section that @p section most likely misspells, or NULL: same
 * name in another case, one edit away from a name of up to four letters,
 * or two from a longer one.
 */
static const char *
config_section_near(const char *section)
{
	unsigned int i, d, max;
	size_t len = strlen(section), klen;

	for (i = 0; i < RTE_DIM(config_keys); i++) {
		klen = strlen(config_keys[i].section);
		max = klen <= 4 ? 1 : 2;
		d = core_edit_distance(section, len, config_keys[i].section,
			klen);
		if (d <= max || strcasecmp(section, config_keys[i].section) == 0)
			return config_keys[i].section;
	}
	return NULL;
}

static bool
config_section_known(const char *section)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(config_keys); i++)
		if (strcmp(config_keys[i].section, section) == 0)
			return true;
	return false;
}

/*
 * Apply every entry of mmrt's sections of @p file to @p cfg; 0 or a
 * negative errno. Sections mmrt does not own are the application's and
 * are skipped, unless their name looks like a typo of one of mmrt's.
 */
static int
config_apply(struct rte_cfgfile *file, struct mmrt_config *cfg)
{
	struct rte_cfgfile_entry *entries;
	char section[CFG_NAME_LEN];
	const char *near;
	int nsec, nent, max, i, j, ret = 0;

	nsec = rte_cfgfile_num_sections(file, NULL, 0);
	for (i = 0; i < nsec && ret == 0; i++) {
		max = rte_cfgfile_section_num_entries_by_index(file, section, i);
		if (max < 0)
			return -EINVAL;
		if (!config_section_known(section)) {
			near = config_section_near(section);
			if (near != NULL) {
				MMRT_LOG(ERR, core,
					"unknown configuration section [%s]:"
					" did you mean [%s]?", section, near);
				return -EINVAL;
			}
			MMRT_LOG(DEBUG, core,
				"section [%s] is not mmrt's: skipped", section);
			continue;
		}
		if (max == 0)
			continue;
		entries = TEST_ALLOC_FAIL() ? NULL :
			calloc(max, sizeof(*entries));
		if (entries == NULL)
			return -ENOMEM;
		nent = rte_cfgfile_section_entries_by_index(file, i, section,
			entries, max);
		if (nent < 0)
			ret = -EINVAL;
		for (j = 0; j < nent && ret == 0; j++)
			ret = core_config_set(cfg, section, entries[j].name,
				entries[j].value);
		free(entries);
	}
	return ret;
}

int
mmrt_config_load(const char *file, struct mmrt_config *cfg)
{
	struct mmrt_config tmp;
	struct rte_cfgfile *cf;
	FILE *f;
	int ret;

	if (file == NULL || cfg == NULL || file[0] == '\0' ||
	    strlen(file) >= MMRT_PATH_MAX)
		return -EINVAL;
	f = fopen(file, "r");
	if (f == NULL)
		return errno == ENOENT ? -ENOENT : -errno;
	fclose(f);

	cf = rte_cfgfile_load(file, CFG_FLAG_GLOBAL_SECTION);
	if (cf == NULL) {
		MMRT_LOG(ERR, core, "%s: not a valid INI file", file);
		return -EINVAL;
	}
	mmrt_config_defaults(&tmp);
	ret = config_apply(cf, &tmp);
	rte_cfgfile_close(cf);
	if (ret < 0) {
		MMRT_LOG(ERR, core, "%s: bad configuration", file);
		return ret;
	}
	strcpy(tmp.path, file);
	*cfg = tmp;
	return 0;
}
