#include <stddef.h>

#include "azure/aml_data.h"
#include "core/json.h"
#include "core/banned.h"

static void add_properties(cJSON *props, const void *p)
{
	const struct aml_data_version *v = p;

	json_add_string(props, "dataType", v->data_type ? v->data_type : "");
	json_add_string(props, "dataUri", v->data_uri ? v->data_uri : "");
}

#define FIELD(path, member, flags) { path, offsetof(struct aml_data_version, member), flags }
static const struct aml_field fields[] = {
	FIELD("properties.dataType", data_type, AML_FIELD_REPLY | AML_FIELD_PUT),
	FIELD("properties.dataUri", data_uri, AML_FIELD_REPLY | AML_FIELD_PUT),
	{ 0 },
};
#undef FIELD

AML_VERSION_FUNCTIONS(aml_data_version, struct aml_data_version,
		      .kind = AML_DATA, .what = "data asset version", .fields = fields,
		      .add_properties = add_properties)
