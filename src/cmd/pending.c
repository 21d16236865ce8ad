#include "cmd/workflow.h"
#include "core/banned.h"

int workflow_pending(struct ci *ci, const struct ci_spec *spec)
{
	const struct input_spec *in;
	int ret;

	for (in = spec->inputs; in->name; in++) {
		if (in->flags & INPUT_BOOL) {
			int b;
			ret = ci_input_bool(ci, in->name, &b);
		} else {
			const char *v;
			ret = ci_input(ci, in->name, &v);
		}
		if (ret)
			return ret;
	}
	return error_set(ERR_NOT_FOUND, "the %s workflow is not available in this build yet; "
			 "its inputs were read and are valid", spec->name);
}
