/* libFuzzer target: the YAML loader and its typed getters on any input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yaml_doc doc = YAML_DOC_INIT;
	const cJSON *obj;
	const char *s;
	int line, col;

	if (yaml_load_string(&doc, (const char *)data, size, "fuzz.yml")) {
		/* An error quotes the file only as an excerpt: always one printable line. */
		if (strpbrk(error_message(), "\r\n\x1b"))
			abort();
	} else {
		yaml_get_text(&doc, &s, doc.root, "version");
		yaml_get_string(&doc, &s, doc.root, "name");
		yaml_get_object(&doc, &obj, doc.root, "conda_file.dependencies[0]");
		yaml_get_array(&doc, &obj, doc.root, "dependencies");
		yaml_where(&doc, json_find(doc.root, "a.b[1]"), &line, &col);
		yaml_doc_release(&doc);
	}
	error_clear();
	return 0;
}
