#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "azure/aml_score.h"
#include "core/error.h"
#include "core/log.h"
#include "support/check.h"
#include "support/stub_server.h"

static cJSON *j(const char *text)
{
	cJSON *v = cJSON_Parse(text);

	cr_assert_not_null(v, "bad test JSON %s", text);
	return v;
}

static bool subset(const char *expect, const char *got)
{
	cJSON *e = j(expect), *g = j(got);
	bool r = aml_score_subset(e, g);

	cJSON_Delete(e);
	cJSON_Delete(g);
	return r;
}

Test(aml_score, subset_objects_ignore_extra_keys_recursively)
{
	cr_assert(subset("{}", "{\"a\":1}"));
	cr_assert(subset("{\"a\":1}", "{\"a\":1,\"b\":2}"));
	cr_assert(subset("{\"o\":{\"x\":\"y\"}}", "{\"o\":{\"x\":\"y\",\"z\":null},\"p\":[]}"));
	cr_assert_not(subset("{\"a\":1}", "{\"b\":1}"));
	cr_assert_not(subset("{\"a\":1}", "{\"a\":2}"));
	cr_assert_not(subset("{\"a\":1}", "{\"a\":\"1\"}"));
	cr_assert_not(subset("{\"o\":{\"x\":\"y\"}}", "{\"o\":{\"x\":\"z\"}}"));
	cr_assert_not(subset("{\"a\":{}}", "{\"a\":[]}"));
	/* Keys are case-sensitive, as JSON is. */
	cr_assert_not(subset("{\"A\":1}", "{\"a\":1}"));
}

Test(aml_score, subset_arrays_match_element_by_element)
{
	cr_assert(subset("{\"predictions\":[1,0]}", "{\"predictions\":[1,0],\"probabilities\":[0.9,0.1]}"));
	cr_assert(subset("[{\"a\":1},{}]", "[{\"a\":1,\"b\":2},{\"c\":3}]"));
	cr_assert_not(subset("[1,0]", "[0,1]"));
	cr_assert_not(subset("[1]", "[1,0]"));
	cr_assert_not(subset("[1,0]", "[1]"));
	cr_assert_not(subset("[{\"a\":1}]", "[{\"a\":2}]"));
}

Test(aml_score, subset_scalars)
{
	cr_assert(subset("true", "true"));
	cr_assert(subset("null", "null"));
	cr_assert(subset("\"plain text\"", "\"plain text\""));
	cr_assert(subset("2.5", "2.5"));
	cr_assert_not(subset("true", "false"));
	cr_assert_not(subset("false", "0"));
	cr_assert_not(subset("null", "{}"));
	cr_assert_not(subset("\"1\"", "1"));
	cr_assert_not(aml_score_subset(NULL, NULL));
}

Test(aml_score, uri_check)
{
	cr_assert_ok(aml_score_check_uri("https://ep.eastus.inference.ml.azure.com/score"));
	cr_assert_ok(aml_score_check_uri("http://127.0.0.1:5001/score"));
	cr_assert_fails(aml_score_check_uri("http://ep.eastus.inference.ml.azure.com/score"), ERR_INPUT, "https://");
	cr_assert_fails(aml_score_check_uri("https://"), ERR_INPUT, "https://");
	cr_assert_fails(aml_score_check_uri(NULL), ERR_INPUT, "https://");
	cr_assert_fails(aml_score_check_uri("https://h/score\r\nX-Evil: 1"), ERR_INPUT, "control character");
}

/* The key goes with the request: a URI whose host is not what it seems
 * must not get it (curl reads "a:b@host" as a user and a host). */
Test(aml_score, a_uri_naming_another_host_is_refused)
{
	cr_assert_ok(aml_score_check_uri("http://localhost:5001"));
	cr_assert_ok(aml_score_check_uri("https://ep.eastus.inference.ml.azure.com/score?x=a@b"));
	cr_assert_fails(aml_score_check_uri("http://127.0.0.1:5001@evil.example/score"), ERR_INPUT, "https://");
	cr_assert_fails(aml_score_check_uri("http://localhost:@evil.example/"), ERR_INPUT, "https://");
	cr_assert_fails(aml_score_check_uri("http://127.0.0.1:80.evil.example/"), ERR_INPUT, "https://");
	cr_assert_fails(aml_score_check_uri("https://key@evil.example/score"), ERR_INPUT, "names a user");
}

static const struct http_options fast = {
	.max_attempts = 3, .retry_base_ms = 1, .retry_max_delay_ms = 2, .retry_budget_ms = 100,
};

static char *score_url(struct stub_server *stub)
{
	size_t n = strlen(stub_url(stub)) + sizeof("/score");
	char *u = malloc(n);

	snprintf(u, n, "%s/score", stub_url(stub));
	return u;
}

Test(aml_score, post_sends_key_and_deployment_and_reads_the_answer)
{
	struct stub_reply script[] = { { .status = 200, .body = "{\"predictions\":[1]}",
		.headers = "azureml-model-deployment: green\r\nx-request-id: r-1\r\n" } };
	struct stub_server *stub = stub_start(script, 1);
	struct aml_score_result r = AML_SCORE_RESULT_INIT;
	struct buf line = BUF_INIT;
	struct http_client *http;
	const char *sent;
	size_t len;
	char *url = score_url(stub);

	cr_assert_ok(http_client_new(&http, &fast));
	cr_assert_ok(aml_score_post(&r, http, url, "k3y-s3cret", "green", "{\"input_data\":[]}", 17, 5000));
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body.data, "{\"predictions\":[1]}");
	cr_assert_str_eq(r.deployment, "green");
	cr_assert_str_eq(r.request_id, "r-1");
	cr_assert_geq(r.latency_ms, 0);
	cr_assert(strstr(stub_head(stub, 0), "POST /score HTTP") != NULL);
	cr_assert(strstr(stub_head(stub, 0), "Authorization: Bearer k3y-s3cret") != NULL);
	cr_assert(strstr(stub_head(stub, 0), "azureml-model-deployment: green") != NULL);
	sent = stub_body(stub, 0, &len);
	cr_assert_eq(len, 17);
	cr_assert(!memcmp(sent, "{\"input_data\":[]}", 17));
	/* The key is registered as a secret. */
	buf_addstr(&line, "k3y-s3cret");
	log_mask(&line);
	cr_assert_str_eq(line.data, "***");
	log_reset_secrets();
	buf_release(&line);
	aml_score_result_release(&r);
	http_client_free(http);
	stub_stop(stub);
	free(url);
}

Test(aml_score, a_failing_status_is_an_answer_and_is_not_retried)
{
	struct stub_reply script[] = { { .status = 503, .body = "{\"message\":\"down\"}",
		.headers = "x-ms-request-id: r-2\r\n" }, { .status = 200, .body = "{}" } };
	struct stub_server *stub = stub_start(script, 2);
	struct aml_score_result r = AML_SCORE_RESULT_INIT;
	struct http_client *http;
	char *url = score_url(stub);

	cr_assert_ok(http_client_new(&http, &fast));
	cr_assert_ok(aml_score_post(&r, http, url, "k", NULL, "{}", 2, 0));
	cr_assert_eq(r.status, 503);
	cr_assert_eq(stub_count(stub), 1);
	cr_assert_null(r.deployment);
	cr_assert_str_eq(r.request_id, "r-2");
	cr_assert(strstr(stub_head(stub, 0), "azureml-model-deployment") == NULL);
	log_reset_secrets();
	aml_score_result_release(&r);
	http_client_free(http);
	stub_stop(stub);
	free(url);
}

Test(aml_score, bad_inputs_are_refused_before_any_call)
{
	struct aml_score_result r = AML_SCORE_RESULT_INIT;
	struct http_client *http;

	cr_assert_ok(http_client_new(&http, &fast));
	cr_assert_fails(aml_score_post(&r, http, "ftp://x/score", "k", NULL, "{}", 2, 0), ERR_INPUT, "https://");
	cr_assert_fails(aml_score_post(&r, http, "https://x/score", "k", "bad\r\nname", "{}", 2, 0),
			ERR_INPUT, "deployment name");
	cr_assert_fails(aml_score_post(&r, http, "https://x/score", "", NULL, "{}", 2, 0), ERR_INPUT, "no endpoint key");
	http_client_free(http);
}
