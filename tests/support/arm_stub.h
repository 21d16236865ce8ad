#ifndef TESTS_ARM_STUB_H
#define TESTS_ARM_STUB_H

#include <stddef.h>

#include "azure/aml.h"
#include "azure/arm.h"
#include "core/http.h"
#include "support/stub_server.h"

/*
 * The fixture of the ARM-based client tests: a scripted stub server, an
 * HTTP client that retries fast (2 attempts, 1-2 ms apart), and an ARM
 * client for subscription "sub-1" pointed at the stub, with the token
 * "test-token" and a 1 ms default poll. arm_stub_stop releases it all.
 */
struct arm_stub {
	struct stub_server *stub;
	struct http_client *http;
	struct arm arm;
	struct aml aml;      /* only after arm_stub_start_aml */
	char hdr[512];       /* room for a reply header that names the stub's own URL */
};

void arm_stub_start(struct arm_stub *f, const struct stub_reply *script, size_t n);
/* arm_stub_start, then `aml` for resource group "rg" and `workspace`. */
void arm_stub_start_aml(struct arm_stub *f, const struct stub_reply *script, size_t n,
			const char *workspace);
void arm_stub_stop(struct arm_stub *f);

#endif
