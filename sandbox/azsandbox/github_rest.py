"""api.github.com: the few REST endpoints a pull request comment needs.

* GET  /repos/{owner}/{repo}/issues/{n}/comments   per_page (default 30, at most 100), page; Link header
* POST /repos/{owner}/{repo}/issues/{n}/comments   {"body"} -> 201
* PATCH /repos/{owner}/{repo}/issues/comments/{id} {"body"} -> 200
* GET  /user                                       a user's token only (an app's gets 403)

Tokens (made per run, in config.json and the env file): an installation token
that may write (posts as github-actions[bot], the way GITHUB_TOKEN does), one
that may only read (a fork's pull request: writes get 403 "Resource not
accessible by integration"), and a user's token (sandbox-user). Anything else
is 401 "Bad credentials"; no Authorization header 401 "Requires
authentication". Issues 1..9999 exist in the sandbox repository; any other
number or repository is 404.
"""
import base64
import re
import threading
import time

from .httpcore import json_response

GITHUB_API_HOST = "api.github.com"
API = "https://" + GITHUB_API_HOST
DOCS = "https://docs.github.com/rest"
MAX_BODY = 65536
ISSUES = range(1, 10000)

COMMENTS_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/([0-9]+)/comments$")
COMMENT_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/comments/([0-9]+)$")


def _iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _error(status, message, doc=DOCS, **extra):
    body = {"message": message, "documentation_url": doc, "status": str(status)}
    body.update(extra)
    return json_response(status, body)


def accounts(tokens):
    """token -> who it is, from config.json's github_tokens."""
    return {
        tokens["write"]: {"login": "github-actions[bot]", "id": 41898282, "type": "Bot", "app": True, "write": True},
        tokens["readonly"]: {"login": "github-actions[bot]", "id": 41898282, "type": "Bot", "app": True, "write": False},
        tokens["user"]: {"login": "sandbox-user", "id": 300003, "type": "User", "app": False, "write": True},
    }


class IssueComments:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.repository = app.github["repository"]
        self.tokens = accounts(app.conf["github_tokens"])
        self.reset()

    def reset(self):
        with self.lock:
            self.comments = {}      # id -> record, in creation order
            self.next_id = 2000000001

    def dump(self):
        with self.lock:
            return [dict(c) for c in self.comments.values()]

    # -- HTTP --------------------------------------------------------------------

    def handle(self, req):
        auth = req.header("Authorization") or ""
        if not auth:
            return _error(401, "Requires authentication")
        scheme, _, token = auth.partition(" ")
        who = self.tokens.get(token.strip()) if scheme.lower() in ("bearer", "token") else None
        if who is None:
            return _error(401, "Bad credentials")
        if req.path == "/user" and req.method == "GET":
            if who["app"]:
                return _error(403, "Resource not accessible by integration",
                              DOCS + "/users/users#get-the-authenticated-user")
            return json_response(200, self._user(who))
        m = COMMENTS_PATH.match(req.path)
        if m and self._issue(m) and req.method in ("GET", "POST"):
            if req.method == "GET":
                return self._list(req, int(m.group(3)))
            return self._create(req, who, int(m.group(3)))
        m = COMMENT_PATH.match(req.path)
        if m and "%s/%s" % (m.group(1), m.group(2)) == self.repository and req.method == "PATCH":
            return self._update(req, who, int(m.group(3)))
        return _error(404, "Not Found")

    def _issue(self, m):
        return "%s/%s" % (m.group(1), m.group(2)) == self.repository and int(m.group(3)) in ISSUES

    def _user(self, who):
        return {"login": who["login"], "id": who["id"], "node_id": self._node("U_", who["id"]),
                "type": who["type"], "site_admin": False,
                "html_url": "https://github.com/%s" % who["login"]}

    def _node(self, prefix, n):
        return prefix + base64.b64encode(b"\x00sbx" + n.to_bytes(8, "big")).decode().rstrip("=")

    def _shape(self, c):
        repo = self.repository
        return {"id": c["id"], "node_id": self._node("IC_", c["id"]),
                "url": "%s/repos/%s/issues/comments/%d" % (API, repo, c["id"]),
                "html_url": "https://github.com/%s/pull/%d#issuecomment-%d" % (repo, c["issue"], c["id"]),
                "issue_url": "%s/repos/%s/issues/%d" % (API, repo, c["issue"]),
                "body": c["body"], "user": self._user(c["user"]),
                "created_at": _iso(c["created_at"]), "updated_at": _iso(c["updated_at"]),
                "author_association": "NONE" if c["user"]["app"] else "MEMBER",
                "performed_via_github_app": None}

    def _body(self, req, doc):
        try:
            data = req.json()
        except ValueError:
            return None, _error(400, "Problems parsing JSON", doc)
        if not isinstance(data, dict) or not isinstance(data.get("body"), str):
            return None, _error(422, "Invalid request.\n\n\"body\" wasn't supplied.", doc)
        if len(data["body"]) > MAX_BODY:
            return None, _error(422, "Validation Failed", doc, errors=[{
                "resource": "IssueComment", "code": "custom", "field": "body",
                "message": "body is too long (maximum is %d characters)" % MAX_BODY}])
        return data["body"], None

    def _list(self, req, issue):
        try:
            per_page = min(max(int(req.q("per_page", "30")), 1), 100)
            page = max(int(req.q("page", "1")), 1)
        except ValueError:
            per_page, page = 30, 1
        with self.lock:
            mine = [c for c in self.comments.values() if c["issue"] == issue]
        last = max((len(mine) + per_page - 1) // per_page, 1)
        items = [self._shape(c) for c in mine[(page - 1) * per_page: page * per_page]]
        url = "%s/repos/%s/issues/%d/comments?per_page=%d&page=%%d" % (API, self.repository, issue, per_page)
        links = []
        if page < last:
            links += ['<%s>; rel="next"' % (url % (page + 1)), '<%s>; rel="last"' % (url % last)]
        if page > 1:
            links += ['<%s>; rel="first"' % (url % 1), '<%s>; rel="prev"' % (url % (page - 1))]
        return json_response(200, items, headers=[("Link", ", ".join(links))] if links else None)

    def _create(self, req, who, issue):
        doc = DOCS + "/issues/comments#create-an-issue-comment"
        if not who["write"]:
            return _error(403, "Resource not accessible by integration", doc)
        body, err = self._body(req, doc)
        if err:
            return err
        now = time.time()
        with self.lock:
            cid = self.next_id
            self.next_id += 1
            c = {"id": cid, "issue": issue, "body": body, "user": who, "created_at": now, "updated_at": now}
            self.comments[cid] = c
            shaped = self._shape(c)
        return json_response(201, shaped, headers=[("Location", shaped["url"])])

    def _update(self, req, who, cid):
        doc = DOCS + "/issues/comments#update-an-issue-comment"
        with self.lock:
            c = self.comments.get(cid)
        if c is None:
            return _error(404, "Not Found", doc)
        if not who["write"]:
            return _error(403, "Resource not accessible by integration", doc)
        body, err = self._body(req, doc)
        if err:
            return err
        with self.lock:
            c.update(body=body, updated_at=max(time.time(), c["created_at"] + 1))
            return json_response(200, self._shape(c))
