/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"

const double app_pct_levels[APP_PCT_Q] = {
	0.00, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.18,
	0.20, 0.22, 0.24, 0.26, 0.28, 0.30, 0.32, 0.34, 0.36, 0.38,
	0.40, 0.42, 0.44, 0.46, 0.48, 0.50, 0.52, 0.54, 0.56, 0.58,
	0.60, 0.62, 0.64, 0.66, 0.68, 0.70, 0.72, 0.74, 0.76, 0.78,
	0.80, 0.82, 0.84, 0.86, 0.88, 0.90, 0.92, 0.94, 0.96, 0.98,
	0.99, 0.995, 0.999, 1.0,
};

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
	unsigned int i;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	out->p50 = app_rank(v, n, 0.50);
	out->p99 = app_rank(v, n, 0.99);
	out->p999 = app_rank(v, n, 0.999);
	out->max = v[n - 1];
	out->n = n;
	for (i = 0; i < APP_PCT_Q; i++)
		out->q[i] = app_rank(v, n, app_pct_levels[i]);
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
