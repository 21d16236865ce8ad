/*
 * libFuzzer target: the online deployment YAML reader (online_yaml_parse),
 * which reads whatever a repository's deployment YAML holds before
 * anything is sent; the line lookup and the spec are walked too.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "mlops/online_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = { "mlops.model", "m:1", NULL };
	struct online_deployment d = ONLINE_DEPLOYMENT_INIT;
	struct aml_deployment_spec spec;

	if (!online_yaml_parse(&d, (const char *)data, size, "fuzz.yml")) {
		online_yaml_line(&d, "code_configuration.scoring_script");
		online_yaml_line(&d, "liveness_probe");
		online_deployment_spec(&spec, &d, "eastus", "/models/m/versions/1",
				       "/environments/e/versions/1",
				       d.code ? "/codes/c/versions/1" : NULL, tags);
	}
	online_deployment_release(&d);
	error_clear();
	return 0;
}
