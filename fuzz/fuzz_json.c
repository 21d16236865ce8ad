/* libFuzzer target: JSON parsing and the typed getters on any input. */
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"value", "value[0].name", "properties.latestVersion", "error.details[0].message",
		"artifact_id", "a.b.c[2][0]", "[0]", "",
	};
	cJSON *root = NULL;
	size_t i;

	if (!json_parse(&root, (const char *)data, size, "fuzz")) {
		for (i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
			const char *s;
			int64_t n;
			int b;
			const cJSON *o;

			json_get_string(&s, root, paths[i]);
			json_get_int64(&n, root, paths[i]);
			json_get_bool(&b, root, paths[i]);
			json_get_object(&o, root, paths[i]);
			json_get_array(&o, root, paths[i]);
		}
		cJSON_Delete(root);
	}
	error_clear();
	return 0;
}
