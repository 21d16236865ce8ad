#include <string.h>

#include <criterion/criterion.h>

#include "core/error.h"
#include "mlops/pip_req.h"
#include "support/check.h"

TestSuite(pip_req);

Test(pip_req, accepts_pep508_url_and_option_lines)
{
	static const char *const good[] = {
		"mlflow", "mlflow==2.12.2", "scikit-learn>=1.3,<1.5", "requests[socks,security]>=2.31",
		"requests [socks] >= 2.31", "numpy (>=1.24, <2)", "pkg~=1.4.2", "pkg===1.0-weird",
		"pkg!=1.5.*", "pkg>=1.0; python_version < \"3.12\" and sys_platform == 'linux'",
		"torch @ https://download.pytorch.org/whl/cpu/torch-2.2.0%2Bcpu-cp311-linux_x86_64.whl",
		"pkg @ git+https://github.com/org/pkg.git@v1.0 ; python_version >= '3.8'",
		"git+https://github.com/org/pkg.git@main#egg=pkg",
		"https://example.com/pkg-1.0.tar.gz",
		"--extra-index-url https://pypi.example.com/simple", "--index-url=https://pypi.org/simple",
		"-r requirements.txt", "--pre", "-e git+https://github.com/org/pkg.git#egg=pkg",
		"mlflow==2.12.2 --hash=sha256:0123abcd", "azureml-inference-server-http==1.2.2",
		"zope.interface>=6", "pkg_name==1.0",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_ok(pip_req_check(good[i]));
}

Test(pip_req, rejects_malformed_lines_with_the_reason)
{
	static const char *const bad[][2] = {
		{ "", "the requirement is empty" },
		{ "pandas=2.2.2", "expected a version operator" },
		{ "pandas>=", "'>=' needs a version after it" },
		{ "pandas>=2,", "expected a version operator" },
		{ "pandas-", "starts with a package name" },
		{ "[extra]pkg", "starts with a package name" },
		{ "pkg[extra", "extras are separated by ','" },
		{ "pkg @", "'@' needs a URL after it" },
		{ "pkg @ not-a-url", "'@' needs a URL after it" },
		{ "pkg>=1;", "';' needs an environment marker" },
		{ "pkg>=1; python_version > '3.8", "unbalanced quotes" },
		{ "--extra-index-url", "needs a value" },
		{ "--pre now", "takes no value" },
		{ "--frobnicate x", "unknown pip option '--frobnicate'" },
		{ "pkg==1.0 trailing", "unexpected 'trailing'" },
		{ "pkg (>=1.0", "without a closing ')'" },
		{ "https://", "a malformed URL" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_fails(pip_req_check(bad[i][0]), ERR_INPUT, bad[i][1]);
}

Test(pip_req, operators_are_pep440s_longest_first)
{
	static const struct { const char *s; size_t len; } cases[] = {
		{ "===1.0", 3 }, { "==1.0", 2 }, { "!=1", 2 }, { ">=1", 2 }, { "<=1", 2 },
		{ "~=1.4", 2 }, { ">1", 1 }, { "<2", 1 }, { "=1", 0 }, { "1.0", 0 }, { "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(pip_req_operator_len(cases[i].s), cases[i].len, "'%s'", cases[i].s);
}

Test(pip_req, urls_start_with_a_scheme)
{
	cr_assert(pip_req_is_url("git+https://github.com/org/pkg.git"));
	cr_assert(pip_req_is_url("https://example.com/pkg.whl"));
	cr_assert_not(pip_req_is_url("pkg @ https://example.com/pkg.whl"));
	cr_assert_not(pip_req_is_url("+https://x"));
	cr_assert_not(pip_req_is_url("file:/x"));
}
