#ifndef MLOPS_DEPLOY_DIAGNOSE_H
#define MLOPS_DEPLOY_DIAGNOSE_H

/*
 * Why an Azure ML online deployment failed, and what to change, in words:
 * the failed operation's error code and message (and, when read, the
 * container logs of getLogs) mapped to one known cause, after Azure ML's
 * troubleshooting guide for online endpoints. Pure: no Azure call, no CI
 * host. The message and logs are hostile text: only `detail` quotes them,
 * and the caller escapes it as it escapes any remote text.
 */

enum deploy_cause {
	DEPLOY_CAUSE_UNKNOWN,         /* a code not known here: the message as it is */
	DEPLOY_CAUSE_IMAGE_BUILD,     /* ImageBuildFailure */
	DEPLOY_CAUSE_QUOTA,           /* OutOfQuota, "insufficient quota" */
	DEPLOY_CAUSE_CAPACITY,        /* OutOfCapacity: the SKU is not available */
	DEPLOY_CAUSE_BAD_ARGUMENT,    /* BadArgument */
	DEPLOY_CAUSE_SCORING_SCRIPT,  /* a Traceback / ModuleNotFoundError in the logs */
	DEPLOY_CAUSE_PROBE,           /* liveness or readiness probe failed */
	DEPLOY_CAUSE_NOT_READY,       /* ResourceNotReady: the container crashed, init() failed */
	DEPLOY_CAUSE_TIMEOUT,         /* the operation or a request timed out */
};

struct deploy_diagnosis {
	enum deploy_cause cause;
	const char *name;     /* static: "image build failure", "out of quota", ... */
	const char *why;      /* static: the cause in words */
	const char *fix;      /* static: what to change, in words */
	/* static: the deployment YAML field an annotation points at
	 * ("instance_type", "liveness_probe", "environment",
	 * "code_configuration.scoring_script", ...); NULL when none is known */
	const char *field;
	/* owned: the line of the logs (or of the message) that told, cut to
	 * DEPLOY_DETAIL_MAX bytes, control characters replaced; NULL when
	 * none stands out */
	char *detail;
};
#define DEPLOY_DIAGNOSIS_INIT { DEPLOY_CAUSE_UNKNOWN, NULL, NULL, NULL, NULL, NULL }
#define DEPLOY_DETAIL_MAX 300
void deploy_diagnosis_release(struct deploy_diagnosis *d);

/*
 * Diagnoses a failed deployment (`out` released first). `code` is the
 * operation's error code ("ImageBuildFailure"; NULL or "" when none),
 * `message` its message, `logs` the container logs (each may be NULL).
 * The scoring script's own errors in the logs (a Python Traceback,
 * ModuleNotFoundError, ImportError) win over ResourceNotReady, which they
 * explain; a probe failure named in the message or the logs wins over
 * ResourceNotReady too. Codes are compared exactly; when the code is
 * unknown or absent the message is read for the same causes ("quota",
 * "capacity", "timed out"). Always fills `out`: the unknown cause says to
 * read the message and the logs.
 */
void deploy_diagnose(struct deploy_diagnosis *out, const char *code, const char *message,
		     const char *logs);

#endif
