#ifndef TESTS_EXAMPLES_H
#define TESTS_EXAMPLES_H

#include <cjson/cJSON.h>

/*
 * Azure's official REST examples, read in place (never copied into the
 * repository) from the folder named by MLOPS_AZURE_EXAMPLES, else from
 * ../shared/azure-examples: the repository's sibling, since the tests run
 * from the repository root (make, .ci/run).
 *
 * When that folder is absent, a test that needs an example is skipped and
 * says so on stderr, naming the path it looked for; with
 * MLOPS_REQUIRE_EXAMPLES=1 (CI) it fails instead, so no run that is meant
 * to check against the examples can pass without them. A folder that is
 * there but lacks the example asked for is a failure either way.
 */

#define EXAMPLES_AML "machinelearningservices-2025-12-01"
#define EXAMPLES_DEPLOYMENTS "resources-deployments-2025-04-01"

/* The parsed example `name` of the example set `set` (EXAMPLES_AML), as
 * above when it is missing; fails the test when it is not JSON.
 * The caller frees the tree with cJSON_Delete. */
cJSON *example_load(const char *set, const char *name);

#endif
