#include <string.h>

#include <criterion/criterion.h>

#include "mlops/deploy_diagnose.h"

static struct deploy_diagnosis d = DEPLOY_DIAGNOSIS_INIT;

static void fini(void)
{
	deploy_diagnosis_release(&d);
}

TestSuite(deploy_diagnose, .fini = fini);

/* Every diagnosis is complete: a name, a cause and a fix in words. */
static void diagnose(const char *code, const char *message, const char *logs)
{
	deploy_diagnose(&d, code, message, logs);
	cr_assert_not_null(d.name);
	cr_assert(d.why && strlen(d.why) > 20);
	cr_assert(d.fix && strlen(d.fix) > 20);
}

Test(deploy_diagnose, image_build_failure_points_at_the_environment)
{
	diagnose("ImageBuildFailure", "Image build failed. Build log: https://x/y\nmore", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_IMAGE_BUILD);
	cr_assert_str_eq(d.field, "environment");
	cr_assert_str_eq(d.detail, "Image build failed. Build log: https://x/y");
	cr_assert(strstr(d.fix, "build log"));
}

Test(deploy_diagnose, waiting_for_the_environment_image_is_an_image_build)
{
	/* ResourceNotFound, seen when the image never became available. */
	diagnose("ResourceNotFound", "Deployment failed due to timeout while waiting for "
		 "Environment Image to become available.", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_IMAGE_BUILD);
}

Test(deploy_diagnose, out_of_quota_points_at_the_instance_type)
{
	diagnose("OutOfQuota", "Not enough quota available for Standard_DS3_v2", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_QUOTA);
	cr_assert_str_eq(d.field, "instance_type");
	cr_assert(strstr(d.fix, "quota increase"));
	diagnose("InternalServerError", "Subscription x has insufficient quota for this", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_QUOTA);
	diagnose(NULL, "Subscription xxxx does not have enough quota for Standard_DS2_v2.", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_QUOTA);
}

Test(deploy_diagnose, out_of_capacity_points_at_the_instance_type)
{
	diagnose("OutOfCapacity", "The requested VM size is not available in the region", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_CAPACITY);
	cr_assert_str_eq(d.field, "instance_type");
	cr_assert(strstr(d.fix, "another instance_type"));
}

Test(deploy_diagnose, bad_argument_quotes_the_message)
{
	diagnose("BadArgument", "Invalid instance type: Standard_Nope", "Traceback (most recent "
		 "call last)\nValueError: x");
	/* A definite code wins over what the logs hold. */
	cr_assert_eq(d.cause, DEPLOY_CAUSE_BAD_ARGUMENT);
	cr_assert_null(d.field);
	cr_assert_str_eq(d.detail, "Invalid instance type: Standard_Nope");
}

Test(deploy_diagnose, a_traceback_in_the_logs_is_the_scoring_script)
{
	static const char logs[] =
		"2026-12-04 10:00:00,001 I [1] azmlinfsrv - Starting up\n"
		"Traceback (most recent call last):\n"
		"  File \"/var/azureml-app/score.py\", line 9, in init\n"
		"    except KeyError:\n"
		"    model = load(path)\n"
		"2026-12-04 10:00:01 E [1] azmlinfsrv - FileNotFoundError: [Errno 2] No such file: "
		"'model.pkl'\n"
		"Worker exiting\n";

	diagnose("ResourceNotReady", "User container has crashed or terminated", logs);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_SCORING_SCRIPT);
	cr_assert_str_eq(d.field, "code_configuration.scoring_script");
	cr_assert_str_eq(d.detail, "FileNotFoundError: [Errno 2] No such file: 'model.pkl'");
}

Test(deploy_diagnose, a_missing_module_points_at_the_environment)
{
	diagnose("ResourceNotReady", "User container has crashed",
		 "loading\nModuleNotFoundError: No module named 'sklearn'\n");
	cr_assert_eq(d.cause, DEPLOY_CAUSE_SCORING_SCRIPT);
	cr_assert_str_eq(d.field, "environment");
	cr_assert_str_eq(d.detail, "ModuleNotFoundError: No module named 'sklearn'");
	cr_assert(strstr(d.why, "ModuleNotFoundError"));
	/* An error line without a traceback or an import error is not enough. */
	diagnose("ResourceNotReady", "User container has crashed", "ValueError: nothing\n");
	cr_assert_eq(d.cause, DEPLOY_CAUSE_NOT_READY);
}

Test(deploy_diagnose, a_traceback_with_no_exception_line_quotes_its_start)
{
	diagnose(NULL, NULL, "x\n  Traceback (most recent call last):\n  File \"a.py\"");
	cr_assert_eq(d.cause, DEPLOY_CAUSE_SCORING_SCRIPT);
	cr_assert_str_eq(d.detail, "Traceback (most recent call last):");
}

Test(deploy_diagnose, resource_not_ready_is_a_crashed_container)
{
	diagnose("ResourceNotReady", "User container has crashed or terminated.", "starting\n");
	cr_assert_eq(d.cause, DEPLOY_CAUSE_NOT_READY);
	cr_assert_str_eq(d.field, "code_configuration.scoring_script");
	cr_assert(strstr(d.why, "init()"));
}

Test(deploy_diagnose, probe_failures_point_at_their_probe)
{
	diagnose("ResourceNotReady", "Container failed.\nLiveness probe failed: HTTP probe failed "
		 "with statuscode: 502", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_PROBE);
	cr_assert_str_eq(d.field, "liveness_probe");
	cr_assert_str_eq(d.detail, "Liveness probe failed: HTTP probe failed with statuscode: 502");
	diagnose(NULL, "failed", "Readiness probe failed: connection refused");
	cr_assert_eq(d.cause, DEPLOY_CAUSE_PROBE);
	cr_assert_str_eq(d.field, "readiness_probe");
}

Test(deploy_diagnose, timeouts)
{
	diagnose("DeploymentTimeout", "The operation took too long", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_TIMEOUT);
	cr_assert_null(d.field);
	diagnose("InternalServerError", "Request timed out after 90 minutes", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_TIMEOUT);
}

Test(deploy_diagnose, an_unknown_code_is_generic)
{
	diagnose("SomethingNew", "A thing went wrong\nsecond line", "all fine");
	cr_assert_eq(d.cause, DEPLOY_CAUSE_UNKNOWN);
	cr_assert_null(d.field);
	cr_assert_str_eq(d.detail, "A thing went wrong");
	cr_assert(strstr(d.fix, "get-logs"));
	diagnose(NULL, NULL, NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_UNKNOWN);
	cr_assert_null(d.detail);
	/* Codes are exact: a near miss is not a known code. */
	diagnose("outofquota", "no details", NULL);
	cr_assert_eq(d.cause, DEPLOY_CAUSE_UNKNOWN);
}

Test(deploy_diagnose, the_detail_is_one_short_printable_line)
{
	char message[1000];

	memset(message, 'x', sizeof(message) - 1);
	message[sizeof(message) - 1] = 0;
	message[3] = '\x1b';
	/* A two-byte UTF-8 character across the cut stays whole or goes. */
	message[DEPLOY_DETAIL_MAX - 1] = '\xc3';
	message[DEPLOY_DETAIL_MAX] = '\xa9';
	diagnose("X", message, NULL);
	cr_assert_eq(d.detail[3], '?');
	cr_assert_eq(strlen(d.detail), DEPLOY_DETAIL_MAX - 1);
	cr_assert_null(strchr(d.detail, '\xc3'));
}
