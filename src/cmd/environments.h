#ifndef CMD_ENVIRONMENTS_H
#define CMD_ENVIRONMENTS_H

#include "ci/ci.h"

/*
 * Environment-CI and Environment-CD are one flow: check every environment
 * locally, compare each with the workspace, report; CD then registers the
 * new and changed versions. `register_versions` picks CD.
 */
int environments_run(struct ci *ci, int register_versions);

#endif
