/* libFuzzer target: JSON parsing (lenient, strict, MLflow's) and the typed getters
 * on any input. Whatever the strict parser accepts, cJSON accepts too, and
 * what it refuses has a line and column. */
#include <stddef.h>
#include <stdint.h>

#include "azure/mlflow.h"
#include "core/error.h"
#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"value", "value[0].name", "properties.latestVersion", "error.details[0].message",
		"artifact_id", "a.b.c[2][0]", "[0]", "",
	};
	cJSON *root = NULL, *strict = NULL;
	size_t i;
	int ret;

	ret = json_parse_strict(&strict, (const char *)data, size, "fuzz", "fuzz.json");
	if (!ret && !strict)
		__builtin_trap();
	if (ret && (strict || !error_where() || error_where()->line < 1))
		__builtin_trap();
	cJSON_Delete(strict);
	error_clear();
	/* MLflow replies: bare NaN/Infinity read as strings, never past the input. */
	if (!mlflow_json_parse(&strict, (const char *)data, size))
		cJSON_Delete(strict);
	error_clear();

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
