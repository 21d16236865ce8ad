/*
 * libFuzzer target: the AZURE_CREDENTIALS parser, the credential input
 * checks it feeds (no network: validation fails or passes before any call),
 * and the unverified JWT payload decoder, on the raw input and on the input
 * wrapped as a JWT's middle segment so the JSON and exp paths are reached.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "azure/credential.h"
#include "core/buf.h"
#include "core/encode.h"
#include "core/error.h"
#include "core/jwt.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(const char *token)
{
	cJSON *claims = NULL;
	int64_t exp;

	if (!jwt_decode_payload(&claims, token))
		cJSON_Delete(claims);
	jwt_expiry(&exp, token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf text = BUF_INIT, jwt = BUF_INIT;
	struct credential_config cfg;
	struct credential *cred = NULL;
	const char *sub, *arm;
	cJSON *json = NULL;

	buf_add(&text, data, size); /* NUL-terminated; an embedded NUL ends the text */
	if (!credential_parse_creds(&cfg, &sub, &arm, &json, text.data)) {
		if (!credential_new(&cred, &cfg, NULL))
			credential_free(cred);
		credential_creds_free(json);
	}
	decode(text.data);
	buf_addstr(&jwt, "eyJhbGciOiJSUzI1NiJ9.");
	base64url_encode(&jwt, data, size);
	buf_addstr(&jwt, ".c2ln");
	decode(jwt.data);
	buf_release(&text);
	buf_release(&jwt);
	log_reset_secrets(); /* the registry would grow with every input */
	error_clear();
	return 0;
}
