#ifndef TESTS_ENV_FIXTURE_H
#define TESTS_ENV_FIXTURE_H

#include "mlops/env_compare.h"
#include "mlops/environment.h"

/*
 * Environments for the suites of mlops/environment.c and the files that
 * build on it (env_compare, env_decide): one scratch folder per test, made
 * by env_fixture_setup (a suite's .init) and removed by
 * env_fixture_teardown (its .fini). The whole file system is the
 * workspace meanwhile, since the tests read tests/fixtures and /tmp.
 */
#define ENV_FIXTURES "tests/fixtures/environments/"
#define ENV_IMAGE "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"

/* An environment.yml on ENV_IMAGE naming conda.yml, and a conda.yml with pip pins. */
extern const char *const env_base_yml;
extern const char *const env_base_conda;

void env_fixture_setup(void);
void env_fixture_teardown(void);
/* The scratch folder of the running test. */
const char *env_fixture_root(void);

/* Writes <root>/<dir>/environment.yml (and conda.yml unless NULL) and loads
 * the folder in declared mode; the test fails if it does not load. */
void env_fixture_load(struct environment *env, const char *dir, const char *yml,
		      const char *conda);

/* A registered version on ENV_IMAGE (Linux) with `conda_text` as its condaFile. */
struct env_registered env_fixture_registered(const char *version, const char *conda_text);

/* The change of `fieldname` from `before` to `after` (NULL: none) in `d`, or NULL. */
const struct env_change *env_fixture_find_change(const struct env_diff *d, const char *fieldname,
						 const char *before, const char *after);

#endif
