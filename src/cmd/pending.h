#ifndef CMD_PENDING_H
#define CMD_PENDING_H

#include "ci/ci.h"

/*
 * For a workflow whose steps are not built yet: reads and checks every
 * declared input (so bad inputs fail exactly as they will later), then
 * fails saying the workflow is not available in this build. Nothing is
 * sent to Azure.
 */
int workflow_pending(struct ci *ci, const struct ci_spec *spec);

#endif
