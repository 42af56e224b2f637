/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#include <inttypes.h>

#include "app_common.h"

void
app_table_header(FILE *f, const struct app_col *cols, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		app_table_str(f, &cols[i], cols[i].title);
	app_table_end(f);
}

void
app_table_str(FILE *f, const struct app_col *c, const char *s)
{
	fprintf(f, "%*s%*s", (int)c->gap, "", c->width, s);
}

void
app_table_num(FILE *f, const struct app_col *c, double v)
{
	fprintf(f, "%*s%*.*f", (int)c->gap, "", c->width, c->prec, v);
}

void
app_table_u64(FILE *f, const struct app_col *c, uint64_t v)
{
	fprintf(f, "%*s%*" PRIu64, (int)c->gap, "", c->width, v);
}

void
app_table_end(FILE *f)
{
	fputc('\n', f);
}
