"""api.github.com: issue comments listed (paginated), created and updated, with the token checked."""
from .helpers import ENV, SandboxTest, call

API = ENV.get("GITHUB_API_URL", "https://api.github.com")
REPO = ENV.get("GITHUB_REPOSITORY", "sandbox-org/mlops-sandbox")
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def comments(n, suffix=""):
    return "%s/repos/%s/issues/%d/comments%s" % (API, REPO, n, suffix)


def gh(method, url, body=None, token=None):
    return call(method, url, body=body, headers=HEADERS, token=token or ENV["SANDBOX_GITHUB_TOKEN"])


class IssueCommentTests(SandboxTest):
    def test_create_list_update(self):
        r = gh("POST", comments(7), {"body": "<!-- m -->\nfirst"})
        self.assertEqual(r.status, 201, r.body)
        c = r.json()
        for field in ("id", "node_id", "body", "html_url", "created_at", "updated_at", "url", "issue_url"):
            self.assertIn(field, c)
        self.assertEqual((c["user"]["login"], c["user"]["type"]), ("github-actions[bot]", "Bot"))
        self.assertTrue(c["html_url"].endswith("/pull/7#issuecomment-%d" % c["id"]))
        self.assertEqual(r.header("Location"), c["url"])
        listed = gh("GET", comments(7)).json()
        self.assertEqual([x["id"] for x in listed], [c["id"]])
        self.assertEqual(gh("GET", comments(8)).json(), [])
        up = gh("PATCH", "%s/repos/%s/issues/comments/%d" % (API, REPO, c["id"]), {"body": "<!-- m -->\nsecond"})
        self.assertEqual(up.status, 200, up.body)
        self.assertEqual(up.json()["body"], "<!-- m -->\nsecond")
        self.assertNotEqual(up.json()["updated_at"], up.json()["created_at"])
        self.assertEqual([x["body"] for x in gh("GET", comments(7)).json()], ["<!-- m -->\nsecond"])

    def test_pages_and_link_header(self):
        for i in range(5):
            self.assertEqual(gh("POST", comments(3), {"body": "c%d" % i}).status, 201)
        first = gh("GET", comments(3, "?per_page=2"))
        self.assertEqual([x["body"] for x in first.json()], ["c0", "c1"])
        self.assertIn('page=2>; rel="next"', first.header("Link"))
        self.assertIn('page=3>; rel="last"', first.header("Link"))
        last = gh("GET", comments(3, "?per_page=2&page=3"))
        self.assertEqual([x["body"] for x in last.json()], ["c4"])
        self.assertNotIn('rel="next"', last.header("Link"))
        self.assertIsNone(gh("GET", comments(3, "?per_page=100")).header("Link"))

    def test_token_is_checked(self):
        r = call("GET", comments(7), headers=HEADERS)
        self.assertEqual((r.status, r.json()["message"]), (401, "Requires authentication"))
        r = gh("GET", comments(7), token="ghs_not_a_token")
        self.assertEqual((r.status, r.json()["message"]), (401, "Bad credentials"))
        ro = ENV["SANDBOX_GITHUB_READONLY_TOKEN"]
        self.assertEqual(gh("GET", comments(7), token=ro).status, 200)
        r = gh("POST", comments(7), {"body": "x"}, token=ro)
        self.assertEqual((r.status, r.json()["message"]), (403, "Resource not accessible by integration"))
        cid = gh("POST", comments(7), {"body": "x"}).json()["id"]
        r = gh("PATCH", "%s/repos/%s/issues/comments/%d" % (API, REPO, cid), {"body": "y"}, token=ro)
        self.assertEqual(r.status, 403)

    def test_who_the_token_is(self):
        r = gh("GET", API + "/user")
        self.assertEqual((r.status, r.json()["message"]), (403, "Resource not accessible by integration"))
        r = gh("GET", API + "/user", token=ENV["SANDBOX_GITHUB_USER_TOKEN"])
        self.assertEqual((r.status, r.json()["login"], r.json()["type"]), (200, "sandbox-user", "User"))

    def test_refusals(self):
        self.assertEqual(gh("GET", "%s/repos/other/repo/issues/7/comments" % API).status, 404)
        self.assertEqual(gh("GET", comments(0)).status, 404)
        self.assertEqual(gh("PATCH", "%s/repos/%s/issues/comments/1" % (API, REPO), {"body": "y"}).status, 404)
        self.assertEqual(gh("POST", comments(7), {"nobody": 1}).status, 422)
        r = gh("POST", comments(7), {"body": "x" * 65537})
        self.assertEqual((r.status, r.json()["errors"][0]["field"]), (422, "body"))
        self.assertEqual(gh("POST", comments(7), {"body": "x" * 65536}).status, 201)
