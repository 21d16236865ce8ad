#ifndef MLOPS_ASSET_VERSION_H
#define MLOPS_ASSET_VERSION_H

#include <cjson/cJSON.h>

#include "core/yaml.h"

/*
 * The version rule of the assets a repository declares (data assets and
 * environments), in one place. A version passes Azure's rule
 * (aml_check_version: 1-50 letters, digits, '-', '_', '.'), and, since
 * Azure stores any such string, these are refused here too:
 *   - "latest", in any case: Azure ML reads <name>@latest as the newest
 *     version, so a version named so could never be referenced;
 *   - "0" (and "0.0"): versions start at 1;
 *   - leading zeros ("01", "1.01"): "01" and "1" are different versions to
 *     Azure but the same number to a reader;
 *   - numbers in YAML's other notations ("1e3" is 1000 to YAML, "1e3" to
 *     Azure; "0x10", "0o7").
 * Whole numbers from 1 ("1", "2", "10"), dotted numbers ("1.10", "0.1")
 * and other text ("beta", "2024-05-rc1") pass.
 *
 * Returns 0, or ERR_INPUT with "<file>:<line>:<col>: field 'version': ..."
 * located at `at` (the version: node of `doc`); `what` names the asset in
 * Azure's rule's message ("data asset version").
 */
int asset_version_check(const struct yaml_doc *doc, const cJSON *at, const char *version,
			const char *what);

#endif
