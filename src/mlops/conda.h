#ifndef MLOPS_CONDA_H
#define MLOPS_CONDA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/yaml.h"

/*
 * Conda environment files (environment.yml / conda.yml): strict validation
 * and the canonical form the environment content hash is taken over.
 *
 * The accepted document is a mapping with
 *   name          optional string
 *   channels      optional list of non-empty strings
 *   dependencies  required list; each item a conda match spec string, or
 *                 (at most once) a mapping {pip: [pip requirement strings]}
 *                 (mlops/pip_req.h)
 *   prefix        optional string
 *   variables     optional mapping of names to scalar values
 * and nothing else. Every error is ERR_YAML (malformed YAML, a wrong type)
 * or ERR_INPUT (a bad value) with "<file>:<line>:<col>: field '<path>': ..."
 * and error_where() set, so the workflow can annotate the exact line.
 *
 * The canonical form is the document as compact JSON with object keys
 * sorted byte-wise, lists in their order and every non-null scalar written
 * as a JSON string of its text as written (`1.10` stays "1.10"; a quoted
 * "4" and a plain 4 are the same value to conda). Comments, whitespace,
 * quoting, flow or block style and key order therefore do not change it;
 * any change of a value, of list order or of a key does.
 */

struct conda_file {
	struct yaml_doc doc;
	char *canonical;         /* canonical JSON, owned */
};
#define CONDA_FILE_INIT { YAML_DOC_INIT, NULL }

void conda_file_init(struct conda_file *c);
/* Frees the contents; `c` is CONDA_FILE_INIT again afterwards. NULL is fine. */
void conda_file_release(struct conda_file *c);

/* Loads and validates a conda file (at most YAML_MAX_FILE bytes). */
int conda_load_file(struct conda_file *out, const char *path);
/* Loads and validates conda YAML text; `name` stands for the file in messages. */
int conda_load_string(struct conda_file *out, const char *text, size_t len,
		      const char *name);

/*
 * Appends the canonical form of conda YAML (or JSON) text to `out`, without
 * the strict validation: for a registered environment's condaFile as Azure
 * returns it, which must compare equal to the local file it came from even
 * if it was written by another tool. ERR_YAML when the text is not YAML.
 */
int conda_canonical_text(struct buf *out, const char *text, size_t len,
			 const char *name);

/*
 * Appends the canonical JSON of `node` (any node of `doc`, or of a plain
 * cJSON tree when `doc` is NULL: numbers are then printed by cJSON).
 */
void conda_write_canonical(struct buf *out, const struct yaml_doc *doc,
			   const cJSON *node);

/*
 * Checks one conda match spec ("numpy", "conda-forge::numpy>=1.24,<2",
 * "numpy 1.24.*", "python=3.11=h1234_0", "pkg=1.2|1.3"). 0, or ERR_INPUT
 * with a message saying what is wrong (no location: the caller adds it).
 * The lines of a `pip:` section are pip's grammar: mlops/pip_req.h.
 */
int conda_check_spec(const char *spec);

/*
 * The package name a conda or pip spec is about (channel, extras and
 * version dropped, lowercased), appended to `out`; for the diff. Option
 * lines and bare URLs give the whole line.
 */
void conda_spec_name(struct buf *out, const char *spec);

#endif
