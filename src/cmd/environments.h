#ifndef CMD_ENVIRONMENTS_H
#define CMD_ENVIRONMENTS_H

#include "ci/ci.h"

/*
 * Environment-CI and Environment-CD are one flow: check every environment
 * locally, compare each with the workspace, report; CD then registers the
 * new and changed versions.
 */
enum environments_flow {
	ENVIRONMENTS_CHECK,           /* Environment-CI: check and report */
	ENVIRONMENTS_REGISTER,        /* Environment-CD: check, register, report */
};

int environments_run(struct ci *ci, enum environments_flow flow);

#endif
