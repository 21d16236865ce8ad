#ifndef CORE_JSON_H
#define CORE_JSON_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"

/*
 * Typed access to cJSON trees. A path is a dot-separated list of object keys
 * with optional [index] parts: "properties.tags", "value[0].name". Getters
 * return 0, ERR_NOT_FOUND when the path does not exist, or ERR_JSON when it
 * holds the wrong type; the message names the path and the types. Results
 * are borrowed from the tree (cJSON's rule: the parse root owns it all).
 */

/* Parses `len` bytes; `what` names the document in the error message. */
int json_parse(cJSON **out, const char *text, size_t len, const char *what);

/*
 * Parses a document a person wrote (an ARM template or parameters file,
 * AZURE_CREDENTIALS), more strictly than json_parse, because a tool that
 * reads it more loosely than Azure does deploys something else than what
 * was reviewed: exactly one value with only white space after it (no
 * trailing text, no second document), no object holding the same key
 * twice (ARM keeps the last one, readers the first), UTF-8 only, numbers as
 * RFC 8259 writes them (no 012, which .NET reads as octal, no 1.) and
 * within a double's range (1e999999 is refused, not sent as infinity).
 *
 * The message is "<what>:<line>:<column>: <reason>", naming the field for
 * a key or value ("parameters.workspaceName is given twice (first at line
 * 3)"). With `file` not NULL the error carries that location for an
 * annotation (error_where); `what` is then usually the same path. Returns 0
 * or ERR_INPUT: the document is the user's. A UTF-8 byte order mark at the
 * start is skipped, as cJSON does.
 */
int json_parse_strict(cJSON **out, const char *text, size_t len, const char *what,
		      const char *file);

/* The item at `path`, or NULL. */
const cJSON *json_find(const cJSON *root, const char *path);

int json_get_string(const char **out, const cJSON *root, const char *path);
/* An int64 written as a JSON number (exact integers only) or a decimal
 * string, as protobuf-JSON and Azure both do. */
int json_get_int64(int64_t *out, const cJSON *root, const char *path);
int json_get_bool(int *out, const cJSON *root, const char *path);
int json_get_object(const cJSON **out, const cJSON *root, const char *path);
int json_get_array(const cJSON **out, const cJSON *root, const char *path);

/* The first of two spellings that exists (snake_case and camelCase replies). */
const char *json_pick(const cJSON *root, const char *a, const char *b);

/* The string at `path`, or `fallback` when it is absent or not a string. */
const char *json_string_or(const cJSON *root, const char *path, const char *fallback);

/* Appends the compact serialisation of `item`. */
void json_write(struct buf *out, const cJSON *item);
/* A human name for the item's type: "string", "object", ... */
const char *json_type_name(const cJSON *item);

/* Adders that abort on out-of-memory, for body builders. */
cJSON *json_new_object(void);
/* A deep copy of `item` for the caller to own, or NULL for a NULL `item`.
 * Aborts when cJSON cannot copy it (out of memory), as the adders do. */
cJSON *json_duplicate(const cJSON *item);
/* Adds a deep copy of `item` (not NULL) under `key`. */
void json_add_copy(cJSON *parent, const char *key, const cJSON *item);
cJSON *json_add_object(cJSON *parent, const char *key);
void json_add_string(cJSON *parent, const char *key, const char *value);
void json_add_number(cJSON *parent, const char *key, double value);
void json_add_bool(cJSON *parent, const char *key, int value);

#endif
