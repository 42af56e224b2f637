/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The mmrt authors
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "app_common.h"

FILE *
app_json_open(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fprintf(stderr, "cannot write %s: %s\n", path,
			strerror(errno));
	return f;
}

int
app_json_close(FILE *f, const char *path)
{
	int ret;

	if (ferror(f) != 0) {
		fclose(f);
		fprintf(stderr, "error writing %s\n", path);
		return -EIO;
	}
	if (fclose(f) != 0) {
		ret = -errno;
		fprintf(stderr, "error closing %s: %s\n", path,
			strerror(errno));
		return ret;
	}
	return 0;
}

void
app_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* The separator and the key of the next member. */
static void
obj_key(struct app_json_obj *o, const char *key)
{
	if (o->members++ > 0)
		fputs(", ", o->f);
	app_json_str(o->f, key);
	fputs(": ", o->f);
}

void
app_json_obj_begin(struct app_json_obj *o, FILE *f)
{
	o->f = f;
	o->members = 0;
	fputc('{', f);
}

void
app_json_obj_str(struct app_json_obj *o, const char *key, const char *s)
{
	obj_key(o, key);
	app_json_str(o->f, s);
}

void
app_json_obj_num(struct app_json_obj *o, const char *key, double v)
{
	obj_key(o, key);
	if (isfinite(v))
		fprintf(o->f, "%.4f", v);
	else
		fputs("null", o->f);
}

void
app_json_obj_u64(struct app_json_obj *o, const char *key, uint64_t v)
{
	obj_key(o, key);
	fprintf(o->f, "%" PRIu64, v);
}

void
app_json_obj_bool(struct app_json_obj *o, const char *key, bool v)
{
	obj_key(o, key);
	fputs(v ? "true" : "false", o->f);
}

void
app_json_obj_nums(struct app_json_obj *o, const char *key, const double *v,
	size_t n)
{
	size_t i;

	obj_key(o, key);
	fputc('[', o->f);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", o->f);
		if (isfinite(v[i]))
			fprintf(o->f, "%.4f", v[i]);
		else
			fputs("null", o->f);
	}
	fputc(']', o->f);
}

void
app_json_obj_null(struct app_json_obj *o, const char *key)
{
	obj_key(o, key);
	fputs("null", o->f);
}

void
app_json_obj_end(struct app_json_obj *o)
{
	fputc('}', o->f);
}
