#ifndef MLOPS_INFRA_H
#define MLOPS_INFRA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "azure/arm.h"
#include "azure/arm_deployment.h"
#include "core/buf.h"
#include "mlops/templates.h"

/*
 * Workspace-CD's plan for the ARM templates in .cloud/. infra_load finds
 * everything that can be wrong locally (the templates, their parameters
 * and the overrides, the outputs they declare, each deployment's name), for
 * every template before the first is deployed, so that a mistake in a
 * later one changes nothing. Then, one template at a time, infra_preview
 * validates it and lists what it would change, and infra_deploy deploys
 * it. The caller decides between the steps (a dry run stops after the
 * preview; a stop request before the deploy) and reports each.
 */

/* One change of a what-if, as the summary shows it. */
struct infra_change {
	const char *type;             /* "Create", "Modify", ... (static) */
	const char *resource_id;      /* borrowed from the what-if */
	char *details;                /* its property changes, a line each; NULL when none */
};

/* One output of a deployed template, as the summary and the step shows it. */
struct infra_output {
	const char *name;             /* borrowed from the deployment result */
	const char *type;
	char *text;                   /* a string as it is, else compact JSON; "***" when secure */
	int emit;                     /* becomes a step output: neither secure nor missing */
	const cJSON *value;           /* borrowed; NULL when missing */
};

struct infra_deployment {
	const struct arm_template *template;  /* borrowed from the plan's templates */
	struct buf name;              /* "<template>-<commit or time>": ARM's deployment name */
	cJSON *parameters;            /* the finished parameters object */
	/* infra_preview */
	struct arm_deployment_validation validation;
	struct arm_deployment_whatif whatif;
	struct buf change_counts;     /* " 2 Create, 1 Modify": the non-zero counts */
	struct infra_change *changes;
	size_t changes_nr;
	/* infra_deploy */
	struct arm_deployment_result result;
	const char *state;            /* ARM's provisioning state, else Succeeded or Failed */
	struct infra_output *outputs;
	size_t outputs_nr;
};

struct infra_plan {
	struct template_list templates;
	struct infra_deployment *items;       /* one per template, in its order */
	size_t nr;
	cJSON *names;                 /* array: the deployments made */
	cJSON *outputs;               /* object: the template outputs kept (infra_keep_output) */
};
#define INFRA_PLAN_INIT { TEMPLATE_LIST_INIT, NULL, 0, NULL, NULL }

struct infra_options {
	const char *base;                     /* the checkout the patterns are relative to */
	const char *const *patterns;          /* the templates input: globs */
	const char *const *overrides;         /* the parameters input: name=value lines */
	const char *const *reserved;          /* the workflow's own output names */
	const char *commit;                   /* names the deployments; NULL: the time does */
};

/* Where the deployments go. All borrowed. */
struct infra_target {
	struct arm *arm;
	const char *resource_group;
	enum arm_deployment_mode mode;
	long timeout_s;                       /* of each deployment's wait */
};

/*
 * Finds and loads the templates (templates_find), checks the overrides and
 * the outputs (templates_check_*), and names and parameterises each
 * deployment. Errors as those, and ERR_INPUT for a deployment name ARM
 * would refuse. `out` is released with infra_release in any case.
 */
int infra_load(struct infra_plan *out, const struct infra_options *o);

/*
 * Validates deployment `i` and asks ARM what it would change; the change
 * list goes to the log and into the item's preview fields. Errors as
 * arm_deployment_validate and arm_deployment_what_if. Nothing is changed in Azure.
 */
int infra_preview(struct infra_plan *plan, size_t i, const struct infra_target *t);

/*
 * Deploys `i` and follows it to its end (arm_deployment_deploy, errors as
 * that); `state` and, once it succeeded, `outputs` are filled and its name
 * added to `names`. A stop request while following (ERR_CANCELLED) leaves the
 * deployment running in Azure.
 */
int infra_deploy(struct infra_plan *plan, size_t i, const struct infra_target *t);

/* Adds output `o` to `plan->outputs`, replacing one of the same name. */
void infra_keep_output(struct infra_plan *plan, const struct infra_output *o);

void infra_release(struct infra_plan *plan);

#endif
