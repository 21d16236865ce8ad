#include <string.h>

#include <criterion/criterion.h>

#include "mlops/image_ref.h"

TestSuite(image_ref);

Test(image_ref, accepts_what_docker_accepts)
{
	static const char *const good[] = {
		"ubuntu", "ubuntu:22.04", "library/ubuntu", "localhost:5000/team/img:v1",
		"myregistry.azurecr.io/azureml/azureml_abc123:latest", "a/b__c/d-e---f.g",
		"mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04@sha256:"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"reg.io:443/img:_Tag-1.0", "localhost/img",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_null(image_ref_problem(good[i]), "'%s': %s", good[i], image_ref_problem(good[i]));
}

Test(image_ref, says_why_a_reference_is_refused)
{
	static const char *const bad[][2] = {
		{ "", "it is empty" },
		{ "Ubuntu", "repository names must be lowercase" },
		{ "team/Img", "repository names must be lowercase" },
		{ "ubuntu:", "a tag is 1-128 characters" },
		{ "ubuntu:-x", "a tag starts with a letter, digit or '_'" },
		{ "img:tag with space", "a tag holds only letters, digits, '_', '.' and '-'" },
		{ "reg.io//img", "an empty path component (a stray '/')" },
		{ "img/", "an empty path component (a stray '/')" },
		{ "-img", "path components start and end with a letter or digit" },
		{ "img_", "path components start and end with a letter or digit" },
		{ "img$", "an illegal character in the repository name" },
		{ "reg..io/img", "a malformed registry host" },
		{ "reg.io:port/img", "a malformed registry port" },
		{ "reg.io/img@sha256:1234", "a digest is '@sha256:' and 64 lowercase hex digits" },
		{ "reg.io/img@md5:1234", "a digest is '@sha256:' and 64 hex digits" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = image_ref_problem(bad[i][0]);

		cr_assert_not_null(why, "'%s' was accepted", bad[i][0]);
		cr_assert_str_eq(why, bad[i][1], "'%s'", bad[i][0]);
	}
}

Test(image_ref, a_repository_name_is_at_most_255_characters)
{
	char name[300];

	memset(name, 'a', 255);
	name[255] = '\0';
	cr_assert_null(image_ref_problem(name));
	memset(name, 'a', 256);
	memcpy(name + 256, ":v1", 4);
	cr_assert_str_eq(image_ref_problem(name), "the repository name is longer than 255 characters");
}
