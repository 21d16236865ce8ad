/*
 * libFuzzer target: the command job YAML reader (job_yaml_parse), which
 * reads whatever a repository's job YAML files hold before anything is sent.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "mlops/job_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_yaml spec = JOB_YAML_INIT;

	job_yaml_parse(&spec, (const char *)data, size, "fuzz.yml");
	job_yaml_release(&spec);
	error_clear();
	return 0;
}
