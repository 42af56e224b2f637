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

/*
 * Nearest-rank percentile of @p n > 0 sorted values: the smallest value
 * with at least the fraction @p p of the samples at or below it.
 */
static double
app_rank(const double *sorted, size_t n, double p)
{
	double x = p * (double)n;
	size_t k = (size_t)x;

	if ((double)k < x)
		k++;
	if (k == 0)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

void
app_pct(double *v, size_t n, struct app_pct *out)
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
