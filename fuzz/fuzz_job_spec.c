/*
 * libFuzzer target: the command job YAML reader (job_spec_parse), which
 * reads whatever a repository's job YAML files hold before anything is sent.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "mlops/job_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_spec spec = JOB_SPEC_INIT;

	job_spec_parse(&spec, (const char *)data, size, "fuzz.yml");
	job_spec_release(&spec);
	error_clear();
	return 0;
}
