/*
 * Why an online deployment failed (mlops/deploy_diagnose.h). The causes
 * and fixes follow Azure ML's troubleshooting guide for online endpoints,
 * in our words; the order of the checks is what makes the answer right:
 * a definite code first, then what the container itself said, then the
 * generic codes and words those explain.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "mlops/deploy_diagnose.h"
#include "core/banned.h"

struct cause_text {
	const char *name, *why, *fix, *field;
};

static const struct cause_text causes[] = {
	[DEPLOY_CAUSE_UNKNOWN] = {
		"deployment failure",
		"Azure ML reported an error this action does not know how to explain.",
		"Read the error message and the deployment's container logs (az ml "
		"online-deployment get-logs); run the deployment locally (--local) to reproduce it.",
		NULL },
	[DEPLOY_CAUSE_IMAGE_BUILD] = {
		"image build failure",
		"The container image of the deployment's environment could not be built: "
		"usually a conda or pip dependency that does not resolve or install, a base "
		"image that cannot be pulled, or a container registry the workspace cannot reach.",
		"Read the image build log the error links to (in the workspace's storage or "
		"registry), build the environment's conda file locally, pin the failing package, "
		"and check the workspace's registry access and network rules.",
		"environment" },
	[DEPLOY_CAUSE_QUOTA] = {
		"out of quota",
		"The subscription has not enough vCPU quota in the region for the instance type "
		"times the instance count (Azure ML also holds back extra capacity for upgrades).",
		"Request a quota increase for the VM family, lower instance_count, pick a smaller "
		"instance_type, or delete deployments you no longer need.",
		"instance_type" },
	[DEPLOY_CAUSE_CAPACITY] = {
		"out of capacity",
		"Azure has no capacity left for the requested instance type in the region at the "
		"moment: the quota is there, the machines are not.",
		"Retry later, or choose another instance_type (or region) that is available.",
		"instance_type" },
	[DEPLOY_CAUSE_BAD_ARGUMENT] = {
		"bad argument",
		"Azure ML refused the deployment's definition: a value is invalid or refers to "
		"something that does not exist or cannot be used (a model or environment version, "
		"an instance type, a storage path the endpoint may not read).",
		"Correct the field the error message names in the deployment YAML and check that "
		"the model and environment it refers to exist and are accessible to the endpoint.",
		NULL },
	[DEPLOY_CAUSE_SCORING_SCRIPT] = {
		"scoring script error",
		"The scoring script raised an exception in the container (the logs show a Python "
		"traceback), so the inference server never became ready.",
		"Fix the error the traceback ends with in the scoring script's init() or run(); "
		"test it locally with the Azure ML inference HTTP server before deploying again.",
		"code_configuration.scoring_script" },
	[DEPLOY_CAUSE_PROBE] = {
		"health probe failed",
		"The container started but did not answer its health probe in time: init() takes "
		"longer than the probe allows (a large model loading), or the server is stuck.",
		"Give the probe more time (a longer initial_delay, period or failure_threshold), "
		"make init() faster, or choose a larger instance_type.",
		"liveness_probe" },
	[DEPLOY_CAUSE_NOT_READY] = {
		"container not ready",
		"The container did not start or kept crashing: the scoring script's init() failed "
		"(the model path, a missing file or package), or the instance ran out of memory.",
		"Read the container logs (az ml online-deployment get-logs) for the error init() "
		"raised; check the model path the script loads and the instance's memory.",
		"code_configuration.scoring_script" },
	[DEPLOY_CAUSE_TIMEOUT] = {
		"timeout",
		"The operation did not finish in time: the image build, the model download or the "
		"container start took longer than Azure ML waits.",
		"Check the build and container logs for what was slow; a smaller environment, a "
		"larger instance_type or a longer probe delay helps, then deploy again.",
		NULL },
};

void deploy_diagnosis_release(struct deploy_diagnosis *d)
{
	free(d->detail);
	memset(d, 0, sizeof(*d));
}

static int has(const char *hay, const char *needle)
{
	size_t m = strlen(needle);

	for (; hay && *hay; hay++)
		if (!strncasecmp(hay, needle, m))
			return 1;
	return 0;
}

static int is(const char *code, const char *name)
{
	return code && !strcmp(code, name);
}

/* The line [s, end) as a detail: control characters as '?', cut at
 * DEPLOY_DETAIL_MAX bytes without splitting a UTF-8 sequence. */
static char *detail_of(const char *s, const char *end)
{
	struct buf out = BUF_INIT;
	size_t len;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	len = (size_t)(end - s);
	if (len > DEPLOY_DETAIL_MAX)
		for (len = DEPLOY_DETAIL_MAX; len && ((unsigned char)s[len] & 0xc0) == 0x80; len--)
			;
	for (size_t i = 0; i < len; i++)
		buf_addch(&out, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
	buf_trim(&out);
	if (!out.len) {
		buf_release(&out);
		return NULL;
	}
	return buf_detach(&out, NULL);
}

/* The first line of `text`. */
static char *first_line(const char *text)
{
	return text ? detail_of(text, text + strcspn(text, "\r\n")) : NULL;
}

static int ident_char(char c)
{
	return c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/*
 * Where `line` names an exception, "ModuleNotFoundError: No module named
 * 'x'" (a traceback's last line), maybe after the inference server's
 * timestamp and level; NULL when it does not.
 */
static const char *exception_in(const char *line)
{
	const char *colon, *start;

	for (colon = strchr(line, ':'); colon; colon = strchr(colon + 1, ':')) {
		for (start = colon; start > line && ident_char(start[-1]); start--)
			;
		if ((colon - start > 5 && !strncmp(colon - 5, "Error", 5)) ||
		    (colon - start > 9 && !strncmp(colon - 9, "Exception", 9)))
			return start;
	}
	return NULL;
}

static int import_error(const char *s)
{
	return !strncmp(s, "ModuleNotFoundError", 19) || !strncmp(s, "ImportError", 11);
}

/*
 * The scoring script's error in the logs: 1 when they hold a Python
 * traceback or an import error; `*line` the last exception line after it
 * (the one that says what went wrong), or the traceback's first line when
 * none follows; `*import` whether that is an import error.
 */
static int script_error(char **line, int *import, const char *logs)
{
	struct buf l = BUF_INIT, found = BUF_INIT;
	const char *p = logs, *end, *e;
	int traceback = 0;

	*import = 0;
	for (; p && *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		buf_reset(&l);
		buf_add(&l, p, (size_t)(end - p));
		if ((e = strstr(l.data, "Traceback (most recent call last)")) && !traceback) {
			traceback = 1;
			buf_reset(&found);
			buf_addstr(&found, e);
		} else if ((e = exception_in(l.data)) && (traceback || import_error(e))) {
			traceback = 1;
			*import = import_error(e);
			buf_reset(&found);
			buf_addstr(&found, e);
		}
	}
	if (traceback)
		*line = detail_of(found.data, found.data + found.len);
	buf_release(&l);
	buf_release(&found);
	return traceback;
}

/* The line of `text` naming a failed probe; its kind in `*readiness`. */
static int probe_failed(char **line, int *readiness, const char *text)
{
	const char *p = text, *end;

	for (; p && *p; p = *end ? end + 1 : end) {
		struct buf l = BUF_INIT;
		int hit;

		end = p + strcspn(p, "\n");
		buf_add(&l, p, (size_t)(end - p));
		hit = has(l.data, "liveness probe") || has(l.data, "readiness probe");
		if (hit) {
			*readiness = !has(l.data, "liveness probe");
			*line = detail_of(p, end);
		}
		buf_release(&l);
		if (hit)
			return 1;
	}
	return 0;
}

/* The cause a definite code names; UNKNOWN when it names none. */
static enum deploy_cause by_code(const char *code, const char *message)
{
	if (is(code, "ImageBuildFailure"))
		return DEPLOY_CAUSE_IMAGE_BUILD;
	if (is(code, "OutOfQuota") || has(message, "insufficient quota") ||
	    has(message, "not have enough quota"))
		return DEPLOY_CAUSE_QUOTA;
	if (is(code, "OutOfCapacity"))
		return DEPLOY_CAUSE_CAPACITY;
	if (is(code, "BadArgument"))
		return DEPLOY_CAUSE_BAD_ARGUMENT;
	return DEPLOY_CAUSE_UNKNOWN;
}

/* What the words of a message say when the code did not. */
static enum deploy_cause by_words(const char *code, const char *message)
{
	if (has(message, "image build") || has(message, "environment image"))
		return DEPLOY_CAUSE_IMAGE_BUILD;
	if (has(message, "quota"))
		return DEPLOY_CAUSE_QUOTA;
	if (has(message, "capacity"))
		return DEPLOY_CAUSE_CAPACITY;
	if (has(code, "timeout") || has(message, "timed out") || has(message, "timeout"))
		return DEPLOY_CAUSE_TIMEOUT;
	return DEPLOY_CAUSE_UNKNOWN;
}

static void set(struct deploy_diagnosis *out, enum deploy_cause c)
{
	out->cause = c;
	out->name = causes[c].name;
	out->why = causes[c].why;
	out->fix = causes[c].fix;
	out->field = causes[c].field;
}

void deploy_diagnose(struct deploy_diagnosis *out, const char *code, const char *message,
		     const char *logs)
{
	enum deploy_cause c = by_code(code, message);
	char *line = NULL;
	int flag = 0;

	deploy_diagnosis_release(out);
	if (c == DEPLOY_CAUSE_UNKNOWN && script_error(&line, &flag, logs)) {
		set(out, DEPLOY_CAUSE_SCORING_SCRIPT);
		if (flag) {
			out->why = "The scoring script imports a module the container does not "
				   "have (the logs show ModuleNotFoundError or ImportError).";
			out->fix = "Add the package to the environment's conda or pip "
				   "dependencies; if it is your own module, ship it in "
				   "code_configuration.code beside the scoring script.";
			out->field = "environment";
		}
	} else if (c == DEPLOY_CAUSE_UNKNOWN && (probe_failed(&line, &flag, message) ||
						 probe_failed(&line, &flag, logs))) {
		set(out, DEPLOY_CAUSE_PROBE);
		if (flag)
			out->field = "readiness_probe";
	} else if (c == DEPLOY_CAUSE_UNKNOWN && is(code, "ResourceNotReady")) {
		set(out, DEPLOY_CAUSE_NOT_READY);
	} else {
		set(out, c == DEPLOY_CAUSE_UNKNOWN ? by_words(code, message) : c);
	}
	out->detail = line ? line : first_line(message);
}
