#ifndef AZURE_ARM_DEPLOYMENT_INTERNAL_H
#define AZURE_ARM_DEPLOYMENT_INTERNAL_H

#include <cjson/cJSON.h>

#include "azure/arm_deployment.h"

/*
 * Shared by arm_deployment.c (the calls) and arm_deployment_parse.c (the
 * reading of their answers) only; callers use arm_deployment.h.
 */

/* Parses a DeploymentValidateResult. ERR_JSON on wrong types. */
int arm_deployment_validation_parse(struct arm_deployment_validation *out, const cJSON *json);

#endif
