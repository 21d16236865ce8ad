#ifndef TESTS_EXAMPLES_H
#define TESTS_EXAMPLES_H

#include <cjson/cJSON.h>

/*
 * Azure's official REST examples, read in place from ../shared/azure-examples
 * (never copied into the repository). A test that needs one is skipped, not
 * failed, on a machine that does not have them.
 */

#define EXAMPLES_AML "machinelearningservices-2025-12-01"
#define EXAMPLES_DEPLOYMENTS "resources-deployments-2025-04-01"

/* The parsed example `name` of the example set `set` (EXAMPLES_AML);
 * skips the test when it is absent, fails it when it is not JSON.
 * The caller frees the tree with cJSON_Delete. */
cJSON *example_load(const char *set, const char *name);

#endif
