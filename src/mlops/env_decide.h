#ifndef MLOPS_ENV_DECIDE_H
#define MLOPS_ENV_DECIDE_H

#include "core/buf.h"
#include "mlops/env_compare.h"
#include "mlops/environment.h"

/*
 * The version decision of Environment-CI/CD: given a local environment and
 * what is registered, whether to create, leave, or ask for a new version,
 * and which. The versions a YAML may declare are checked when it is loaded
 * (mlops/asset_version.h); this is what comes after them. Pure.
 */

/*
 * The version after `version`: an integer plus one ("3" -> "4", "99" ->
 * "100"), or a dotted numeric version with its last part plus one ("1.9" ->
 * "1.10"). Appends to `out`; ERR_INPUT for anything else, asking for an
 * explicit version.
 */
int env_next_version(struct buf *out, const char *version);

enum env_status {
	ENV_NEW,          /* the version is not registered: create it */
	ENV_UNCHANGED,    /* registered with the same content: nothing to do */
	ENV_NEEDS_BUMP,   /* declared mode: same version, other content: CI fails */
	ENV_CHANGED_AUTO, /* auto mode: content differs from the latest: register `version` */
};

/* "new", "unchanged", "needs-version-bump", "changed". */
const char *env_status_name(enum env_status status);

struct env_decision {
	enum env_status status;
	char *version;        /* the version to register (NEW, CHANGED_AUTO) or that matched */
	char *next_version;   /* NEEDS_BUMP: what to use instead (NULL when it cannot be
			       * computed: the message then asks for one); CHANGED_AUTO: == version */
	int uncertain;        /* the comparison was ENV_UNKNOWN (see env_decide) */
	struct env_diff diff; /* NEEDS_BUMP, CHANGED_AUTO: what differs */
};
#define ENV_DECISION_INIT { ENV_NEW, NULL, NULL, 0, ENV_DIFF_INIT }

void env_decision_init(struct env_decision *d);
void env_decision_release(struct env_decision *d);

/*
 * What CI/CD does with `local`, given the registered version with the same
 * number as the YAML's (`same`, NULL when none or when the YAML has no
 * version) and the latest registered version (`latest`, NULL when the
 * environment does not exist). Pure.
 *
 * declared: not registered -> NEW; same content -> UNCHANGED; other content
 *   -> NEEDS_BUMP with the diff and next_version = latest + 1. A build
 *   context registered without our hash tag cannot be compared and, as the
 *   version is immutable anyway, is UNCHANGED with `uncertain` set.
 * auto: a declared version not yet registered -> NEW with it; otherwise the
 *   declared version (when registered) or else the latest is compared:
 *   same -> UNCHANGED; other content -> CHANGED_AUTO with version = latest
 *   + 1; nothing registered at all -> NEW with the declared version or "1".
 *   An uncomparable build context registers the next version (with our tag,
 *   so the next run can compare) and sets `uncertain`.
 * ERR_INPUT when a version is required and missing, or auto mode cannot
 * compute the next version (the message names the YAML's version line).
 */
int env_decide(struct env_decision *out, const struct environment *local,
	       const struct env_registered *same, const struct env_registered *latest,
	       enum env_versioning mode);

#endif
