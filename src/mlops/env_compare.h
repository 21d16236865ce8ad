#ifndef MLOPS_ENV_COMPARE_H
#define MLOPS_ENV_COMPARE_H

#include <stddef.h>

#include "mlops/environment.h"

/*
 * A local environment (mlops/environment.h) against one version Azure has
 * registered: what differs, field by field, for the decision
 * (mlops/env_decide.h) and for the reader of the CI summary.
 */

/* What Azure has for one version, filled by the caller; all strings borrowed. */
struct env_registered {
	const char *version;
	const char *image;            /* NULL for a build context */
	const char *conda_text;       /* the condaFile text; NULL without one */
	const char *content_hash_tag; /* tags[ENVIRONMENT_HASH_TAG]; NULL when missing */
	const char *os_type;          /* "Linux" / "Windows"; NULL means Linux */
	int has_build;
};

enum env_compare {
	ENV_SAME,
	ENV_DIFFERENT,
	ENV_UNKNOWN, /* cannot tell: a build context registered without our hash tag */
};

/* One difference: `before` (registered) or `after` (local) is NULL for an
 * addition or a removal. */
struct env_change {
	char *field;   /* "image", "os_type", "conda_file.dependencies", "build", ... */
	char *before;
	char *after;
};

struct env_diff {
	struct env_change *items;
	size_t nr, alloc;
};
#define ENV_DIFF_INIT { NULL, 0, 0 }

void env_diff_init(struct env_diff *d);
void env_diff_release(struct env_diff *d);

/*
 * Compares `local` with a registered version. Image, os_type (case does not
 * matter: Azure answers "Linux") and the conda file's canonical form are
 * compared field by field; a build context by the registered hash tag.
 * Conda differences are listed per dependency: a changed spec of the same
 * package as one change, added and removed ones with a NULL side; channels,
 * name, prefix and variables as their canonical JSON. `diff` (may be NULL)
 * gets the differences appended; ENV_UNKNOWN explains itself in it.
 * Never fails: a registered condaFile that is not YAML is a difference.
 */
enum env_compare env_compare(struct env_diff *diff, const struct environment *local,
			     const struct env_registered *reg);

#endif
