/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* 1-based nearest rank of the fraction @p p of @p n samples. */
static size_t
rank_of(size_t n, double p)
{
	double x = p * (double)n;
	size_t k = (size_t)x;

	if ((double)k < x)
		k++;
	if (k == 0)
		k = 1;
	if (k > n)
		k = n;
	return k;
}

double
app_rank(const double *sorted, size_t n, double p)
{
	return sorted[rank_of(n, p) - 1];
}

void
app_pct_double(double *v, size_t n, struct app_pct *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	out->p50 = app_rank(v, n, 0.50);
	out->p99 = app_rank(v, n, 0.99);
	out->p999 = app_rank(v, n, 0.999);
	out->max = v[n - 1];
	out->n = n;
}

void
app_pct_u64(uint64_t *v, size_t n, struct app_pct *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	out->p50 = (double)v[rank_of(n, 0.50) - 1];
	out->p99 = (double)v[rank_of(n, 0.99) - 1];
	out->p999 = (double)v[rank_of(n, 0.999) - 1];
	out->max = (double)v[n - 1];
	out->n = n;
}

double
app_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	if (n % 2 == 1)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}
