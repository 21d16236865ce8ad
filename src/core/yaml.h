#ifndef CORE_YAML_H
#define CORE_YAML_H

#include <cjson/cJSON.h>

/*
 * YAML loaded by libyaml into the same cJSON tree the JSON helpers read, so
 * one set of typed getters serves both. The document also remembers where
 * each node stood (line and column, from 1) and the source text of each
 * scalar, so errors can name file, line and field, and a field such as
 * `version: 1.10` can be read back exactly as written.
 *
 * Plain scalars are typed by the YAML 1.2 core schema (null, true/false,
 * integers, floats); quoted scalars and `!!str` stay strings. Aliases are
 * expanded (with a bound on the total node count against "billion laughs"),
 * duplicate keys and non-scalar keys are errors, and only one document per
 * file is accepted.
 */
struct yaml_mark;

struct yaml_doc {
	cJSON *root;
	char *file;
	struct yaml_mark *marks; /* open-addressed by node pointer */
	size_t nr_marks, alloc_marks;
};
#define YAML_DOC_INIT { NULL, NULL, NULL, 0, 0 }

/* The largest YAML file read (bytes); larger ones are an input error. */
#define YAML_MAX_FILE (4 << 20)

/* Loads a file; errors carry the file, line and column. */
int yaml_load_file(struct yaml_doc *out, const char *path);
/* Loads text; `name` stands for the file in messages. */
int yaml_load_string(struct yaml_doc *out, const char *text, size_t len,
		     const char *name);
void yaml_doc_release(struct yaml_doc *doc);

/* Where `item` stood: 0 and line/column, or ERR_NOT_FOUND. */
int yaml_where(const struct yaml_doc *doc, const cJSON *item, int *line, int *column);
/* A scalar's text as written (NULL for collections or unknown nodes). */
const char *yaml_scalar_text(const struct yaml_doc *doc, const cJSON *item);

/*
 * Sets an ERR_INPUT-class `code` error located at `item` (or at its file
 * alone when the item is unknown): "<file>:<line>:<col>: <message>".
 */
int yaml_error_at(const struct yaml_doc *doc, const cJSON *item, int code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * Re-sets the current error (a checker's message, which knows no file) as
 * ERR_INPUT at `item`: "<file>:<line>:<col>: field '<field>': <message>".
 */
int yaml_error_for_field(const struct yaml_doc *doc, const cJSON *item, const char *field);

/*
 * Typed getters under `obj` (see json.h for paths), whose errors name the
 * file, the line of the offending node (of `obj` when the field is
 * missing) and the field. Required ones fail with ERR_YAML when missing.
 */
int yaml_get_string(const struct yaml_doc *doc, const char **out,
		    const cJSON *obj, const char *path);
/* Like yaml_get_string, but a number or boolean is read as its source text. */
int yaml_get_text(const struct yaml_doc *doc, const char **out,
		  const cJSON *obj, const char *path);
int yaml_get_object(const struct yaml_doc *doc, const cJSON **out,
		    const cJSON *obj, const char *path);
int yaml_get_array(const struct yaml_doc *doc, const cJSON **out,
		   const cJSON *obj, const char *path);

/*
 * The strict readers' check that every key of the mapping `map` (a node of
 * `doc`) is one of `known` (NULL-terminated). The first unknown key is
 * ERR_INPUT located at its value, as every field error is:
 *   "<file>:<line>:<col>: field '<path>.<key>': unknown in <what> (known: <known, ...>)"
 * with "<path>." left out when `path` is NULL (the top level) and " in
 * <what>" when `what` is NULL ("a conda file"); the key is file text and is
 * quoted as an excerpt. A node that is not a mapping has no keys, so it
 * passes: callers check the type first, in their own words.
 */
int yaml_check_keys(const struct yaml_doc *doc, const cJSON *map, const char *path,
		    const char *const *known, const char *what);

#endif
