/* SPDX-License-Identifier: MIT */
/* A minimal streaming JSON writer (objects, arrays, strings, numbers). */
#ifndef VBDCTL_JSON_H
#define VBDCTL_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	int count[JSON_MAX_DEPTH]; /* items written at each level */
	int after_key;
};

void json_init(struct json *j, FILE *f);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *k);
void json_str(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_null(struct json *j);
void json_bool(struct json *j, int v);
/* key + value shorthands */
void json_kstr(struct json *j, const char *k, const char *s); /* NULL -> null */
void json_ku64(struct json *j, const char *k, uint64_t v);
void json_ki64(struct json *j, const char *k, int64_t v);

#endif
