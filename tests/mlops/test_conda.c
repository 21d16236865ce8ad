#include <string.h>

#include <criterion/criterion.h>

#include "core/buf.h"
#include "core/error.h"
#include "mlops/conda.h"
#include "support/check.h"

TestSuite(conda);

Test(conda, accepts_the_conda_spec_forms_conda_accepts)
{
	static const char *const good[] = {
		"numpy", "numpy=1.24", "numpy==1.24.3", "numpy>=1.2,<2", "numpy 1.24.*",
		"numpy 1.24.* py311h64a7726_0", "python=3.11=h955ad1f_0", "pkg=1.2|1.3",
		"conda-forge::numpy>=1.24", "pkgs/main::python", "https://conda.anaconda.org/conda-forge::numpy",
		"libgcc-ng", "_libgcc_mutex", "r-base>=4.1", "numpy >= 1.2, < 2", "numpy!=1.25.0",
		"numpy~=1.24", "numpy=1.24.*", "pytorch=*=*cuda*", "openssl>=3.0.0,<4.0a0",
		"numpy[version='>=1.20',build=py*]", "python 3.11.*", "numpy 2!1.0+local",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_ok(conda_check_spec(good[i]));
}

Test(conda, rejects_malformed_conda_specs_with_the_reason)
{
	static const char *const bad[][2] = {
		{ "", "the spec is empty" },
		{ "numpy>=", "'>=' needs a version after it" },
		{ "numpy==", "'==' needs a version after it" },
		{ "numpy>=1.2,", "empty version constraint" },
		{ "numpy=>1.2", "'=' followed by the operator" },
		{ "::numpy", "empty channel" },
		{ "conda-forge::", "no package name" },
		{ "-numpy", "must start with a letter, digit or '_'" },
		{ "numpy$", "illegal character '$' after the package name" },
		{ "numpy=1.2=", "needs a build string" },
		{ "numpy 1.2 py_0 extra", "too many parts" },
		{ "numpy>=1..2", "empty segment" },
		{ "numpy=1.2;", "illegal character ';' in the version" },
		{ "numpy[colour=red]", "unknown bracket key 'colour'" },
		{ "numpy[version='>=1.2'", "without a closing ']'" },
		{ "conda forge::numpy", "illegal character ' ' in the channel" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_fails(conda_check_spec(bad[i][0]), ERR_INPUT, bad[i][1]);
}

static void load(struct conda_file *c, const char *text)
{
	cr_assert_ok(conda_load_string(c, text, strlen(text), "conda.yml"));
}

Test(conda, document_errors_name_the_line_column_and_field)
{
	static const char *const cases[][2] = {
		{ "- numpy\n", "conda.yml:1:1: a conda file is a mapping" },
		{ "name: x\n", "conda.yml:1:1: required field 'dependencies' is missing" },
		{ "dependencies: numpy\n", "conda.yml:1:15: field 'dependencies' is a string" },
		{ "channels: [conda-forge, '']\ndependencies: [numpy]\n", "conda.yml:1:25: field 'channels[1]'" },
		{ "dependencies:\n  - numpy\n  - 42\n", "conda.yml:3:5: field 'dependencies[1]' is a number" },
		{ "dependencies:\n  - {pip: [a], conda: [b]}\n", "conda.yml:2:5: field 'dependencies[0]': a mapping" },
		{ "dependencies:\n  - pip: mlflow\n", "conda.yml:2:10: field 'dependencies[0].pip' is a string" },
		{ "dependencies:\n  - pip: [mlflow]\n  - pip: [pandas]\n", "conda.yml:3:5: field 'dependencies[1]': a second pip section" },
		{ "dependencies:\n  - pip:\n    - ok\n    - 3\n", "conda.yml:4:7: field 'dependencies[0].pip[1]' is a number" },
		{ "dependencies: [numpy]\nvariables: {A: [1]}\n", "conda.yml:2:16: field 'variables.A' is an array" },
		{ "dependencies: [numpy]\nname: [x]\n", "conda.yml:2:7: field 'name' is an array" },
		{ "dependencies: [numpy]\nprefix_: /opt\n", "conda.yml:2:10: field 'prefix_': unknown" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conda_file c = CONDA_FILE_INIT;

		cr_assert(conda_load_string(&c, cases[i][0], strlen(cases[i][0]), "conda.yml") < 0,
			  "case %zu was accepted", i);
		cr_assert(strstr(error_message(), cases[i][1]), "case %zu: '%s' lacks '%s'", i,
			  error_message(), cases[i][1]);
		cr_assert_not_null(error_where());
		cr_assert_null(c.canonical);
	}
}

Test(conda, canonical_json_sorts_keys_keeps_list_order_and_scalars_as_written)
{
	struct conda_file c = CONDA_FILE_INIT;

	load(&c, "# comment\nname: 'x'\nvariables: {B: 1.10, A: true, C: \"s\"}\n"
		 "dependencies:\n  - python=3.11   # why\n  - pip:\n    - b==1\n    - a==2\n"
		 "channels: [conda-forge, defaults]\nprefix: /opt/env\n");
	cr_assert_str_eq(c.canonical,
			 "{\"channels\":[\"conda-forge\",\"defaults\"],\"dependencies\":[\"python=3.11\","
			 "{\"pip\":[\"b==1\",\"a==2\"]}],\"name\":\"x\",\"prefix\":\"/opt/env\","
			 "\"variables\":{\"A\":\"true\",\"B\":\"1.10\",\"C\":\"s\"}}");
	conda_file_release(&c);
	conda_file_release(&c); /* released twice is fine */
	conda_file_release(NULL);
}

Test(conda, canonical_text_of_registered_yaml_or_json_matches_the_file)
{
	struct conda_file c = CONDA_FILE_INIT;
	struct buf yaml_form = BUF_INIT, json_form = BUF_INIT;
	const char *registered_yaml = "channels:\n- conda-forge\ndependencies:\n- python=3.11\n- pip:\n  - mlflow==2.12.2\n";
	const char *registered_json = "{\"dependencies\": [\"python=3.11\", {\"pip\": [\"mlflow==2.12.2\"]}],"
				      " \"channels\": [\"conda-forge\"]}";

	load(&c, "dependencies:\n  - \"python=3.11\"\n  - pip: [mlflow==2.12.2]\nchannels:\n  - conda-forge\n");
	cr_assert_ok(conda_canonical_text(&yaml_form, registered_yaml, strlen(registered_yaml), "registered"));
	cr_assert_ok(conda_canonical_text(&json_form, registered_json, strlen(registered_json), "registered"));
	cr_assert_str_eq(yaml_form.data, c.canonical);
	cr_assert_str_eq(json_form.data, c.canonical);
	cr_assert_fails(conda_canonical_text(&yaml_form, "a: [", 4, "registered"), ERR_YAML, "registered:");
	buf_release(&yaml_form);
	buf_release(&json_form);
	conda_file_release(&c);
}

Test(conda, spec_names_key_the_diff)
{
	static const char *const cases[][2] = {
		{ "conda-forge::NumPy>=1.2", "numpy" }, { "scikit_learn==1.4", "scikit-learn" },
		{ "requests[socks]>=2", "requests" }, { "--pre", "--pre" },
		{ "git+https://x/y.git", "git+https://x/y.git" }, { "python 3.11.*", "python" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf name = BUF_INIT;

		conda_spec_name(&name, cases[i][0]);
		cr_assert_str_eq(name.data, cases[i][1]);
		buf_release(&name);
	}
}

Test(conda, errors_quote_the_file_short_and_on_one_line)
{
	/* A spec and a key are file text: a newline, an escape or a long secret stays out. */
	static const char *const cases[][2] = {
		{ "dependencies:\n  - \"numpy\\r::error::forged 0123456789012345678901234567890123456789-tail\"\n",
		  "invalid conda spec 'numpy\\r::error::forged" },
		{ "dependencies:\n  - pip:\n    - \"pandas==2 \\u001b[2J 0123456789012345678901234567890123456789-tail\"\n",
		  "invalid pip requirement 'pandas==2 \\x1b[2J" },
		{ "dependencies: [numpy]\n\"token\\nghp_0123456789012345678901234567890123456789-tail\": 1\n",
		  "field 'token\\nghp_" },
		{ "dependencies: [\"numpy=1.0\\u0007\"]\n", "illegal character '\\x07'" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conda_file c = CONDA_FILE_INIT;

		cr_assert(conda_load_string(&c, cases[i][0], strlen(cases[i][0]), "conda.yml") < 0,
			  "case %zu was accepted", i);
		cr_assert(strstr(error_message(), cases[i][1]), "case %zu: '%s' lacks '%s'", i,
			  error_message(), cases[i][1]);
		cr_assert_null(strpbrk(error_message(), "\r\n\x1b\x07"), "case %zu: %s", i, error_message());
		cr_assert_null(strstr(error_message(), "-tail"), "case %zu: %s", i, error_message());
	}
}
