"""ARM template language: enough to evaluate real workspace templates.

Expressions are strings in [brackets]: function calls, 'string' literals,
numbers, property access (.name) and indexing ([0]). `[[` escapes a literal
bracket. Functions cover the ones workspace templates use; unknown functions
are an InvalidTemplate error, as in ARM. uniqueString() is deterministic
(13 base32 characters) but not ARM's exact hash.
"""
import base64
import copy
import hashlib
import json
import re
import uuid


class TemplateError(Exception):
    pass


_TOKEN = re.compile(r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<name>[A-Za-z_][\w]*)|(?P<punct>[(),.\[\]]))")


def _tokens(text):
    pos = 0
    out = []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise TemplateError("unexpected character at position %d in '%s'" % (pos, text))
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)
        out.append((kind, value))
    return out


class _Parser:
    def __init__(self, text):
        self.toks = _tokens(text)
        self.i = 0
        self.text = text

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise TemplateError("expected '%s' in expression '%s'" % (value, self.text))
        self.i += 1
        return tok

    def parse(self):
        node = self.expr()
        if self.i != len(self.toks):
            raise TemplateError("unexpected '%s' in expression '%s'" % (self.peek()[1], self.text))
        return node

    def expr(self):
        kind, value = self.take()
        if kind == "num":
            node = ("lit", float(value) if "." in value else int(value))
        elif kind == "str":
            node = ("lit", value[1:-1].replace("''", "'"))
        elif kind == "name":
            self.take("(")
            args = []
            if self.peek()[1] != ")":
                args.append(self.expr())
                while self.peek()[1] == ",":
                    self.take(",")
                    args.append(self.expr())
            self.take(")")
            node = ("call", value, args)
        else:
            raise TemplateError("unexpected '%s' in expression '%s'" % (value, self.text))
        while self.peek()[1] in (".", "["):
            if self.take()[1] == ".":
                node = ("prop", node, ("lit", self.take()[1]))
            else:
                idx = self.expr()
                self.take("]")
                node = ("prop", node, idx)
        return node


def unique_string(*parts):
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:13]


class Evaluator:
    def __init__(self, template, parameters, context):
        """context: subscription_id, tenant_id, resource_group, location, deployment_name, reference(id, full)"""
        self.t = template
        self.ctx = context
        self.params = parameters
        self.vars_raw = template.get("variables") or {}
        self.vars = {}
        self.copy_index = {}

    # -- evaluation ----------------------------------------------------------------

    def value(self, v):
        if isinstance(v, str):
            if v.startswith("[[") :
                return v[1:]
            if v.startswith("[") and v.endswith("]"):
                return self.expr(v[1:-1])
            return v
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {self.value(k) if isinstance(k, str) else k: self.value(x) for k, x in v.items()}
        return v

    def expr(self, text):
        return self.eval(_Parser(text).parse())

    def eval(self, node):
        if node[0] == "lit":
            return node[1]
        if node[0] == "prop":
            base = self.eval(node[1])
            key = self.eval(node[2])
            try:
                if isinstance(base, list):
                    return base[int(key)]
                if isinstance(base, dict):
                    for k in base:
                        if isinstance(key, str) and k.lower() == key.lower():
                            return base[k]
                    raise KeyError(key)
                raise KeyError(key)
            except (KeyError, IndexError, ValueError, TypeError):
                raise TemplateError("The language expression property '%s' doesn't exist." % key)
        name = node[1].lower()
        args = node[2]
        fn = getattr(self, "fn_" + name, None)
        if fn is None:
            raise TemplateError("The template function '%s' is not valid. Please see https://aka.ms/arm-functions for usage details." % node[1])
        if name in ("if",):
            return fn(args)
        return fn(*[self.eval(a) for a in args])

    # -- functions ---------------------------------------------------------------------

    def fn_parameters(self, name):
        for k, v in self.params.items():
            if k.lower() == str(name).lower():
                return v
        raise TemplateError("The template parameter '%s' is not found." % name)

    def fn_variables(self, name):
        for k in self.vars_raw:
            if k.lower() == str(name).lower():
                if k not in self.vars:
                    self.vars[k] = None
                    self.vars[k] = self.value(self.vars_raw[k])
                return self.vars[k]
        raise TemplateError("The template variable '%s' is not found." % name)

    def fn_concat(self, *a):
        if a and all(isinstance(x, list) for x in a):
            return [y for x in a for y in x]
        return "".join(_s(x) for x in a)

    def fn_format(self, fmt, *a):
        return re.sub(r"\{(\d+)(?::[^}]*)?\}", lambda m: _s(a[int(m.group(1))]), fmt)

    def fn_resourceid(self, *a):
        a = [str(x) for x in a]
        type_i = next((i for i, x in enumerate(a) if "/" in x and "." in x.split("/")[0]), None)
        if type_i is None:
            raise TemplateError("resourceId needs a fully qualified resource type.")
        sub, rg = self.ctx["subscription_id"], self.ctx["resource_group"]
        if type_i == 1:
            rg = a[0]
        elif type_i == 2:
            sub, rg = a[0], a[1]
        rtype, names = a[type_i], a[type_i + 1:]
        segs = rtype.split("/")
        path = segs[0] + "/" + segs[1] + "/" + names[0]
        for t, n in zip(segs[2:], names[1:]):
            path += "/%s/%s" % (t, n)
        return "/subscriptions/%s/resourceGroups/%s/providers/%s" % (sub, rg, path)

    def fn_subscriptionresourceid(self, rtype, *names):
        return "/subscriptions/%s/providers/%s/%s" % (self.ctx["subscription_id"], rtype, "/".join(names))

    def fn_reference(self, ref, api_version=None, full=None):
        return self.ctx["reference"](str(ref), str(full or "").lower() == "full")

    def fn_uniquestring(self, *a):
        return unique_string(*[_s(x) for x in a])

    def fn_guid(self, *a):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(_s(x) for x in a)))

    def fn_newguid(self):
        return str(uuid.uuid4())

    def fn_resourcegroup(self):
        rg = self.ctx["resource_group"]
        return {"id": "/subscriptions/%s/resourceGroups/%s" % (self.ctx["subscription_id"], rg), "name": rg,
                "location": self.ctx["location"], "type": "Microsoft.Resources/resourceGroups", "tags": {},
                "properties": {"provisioningState": "Succeeded"}}

    def fn_subscription(self):
        return {"id": "/subscriptions/%s" % self.ctx["subscription_id"], "subscriptionId": self.ctx["subscription_id"],
                "tenantId": self.ctx["tenant_id"], "displayName": "Sandbox subscription"}

    def fn_tenant(self):
        return {"tenantId": self.ctx["tenant_id"], "countryCode": "US", "displayName": "Sandbox tenant"}

    def fn_deployment(self):
        return {"name": self.ctx["deployment_name"], "properties": {"templateHash": self.ctx.get("template_hash", "")}}

    def fn_environment(self):
        return {"name": "AzureCloud", "suffixes": {"storage": "core.windows.net", "keyvaultDns": ".vault.azure.net",
                                                     "acrLoginServer": ".azurecr.io"},
                "resourceManager": "https://management.azure.com/", "authentication": {"loginEndpoint": "https://login.microsoftonline.com/"}}

    def fn_tolower(self, s):
        return _s(s).lower()

    def fn_toupper(self, s):
        return _s(s).upper()

    def fn_string(self, v):
        return _s(v)

    def fn_int(self, v):
        return int(v)

    def fn_bool(self, v):
        return v if isinstance(v, bool) else str(v).lower() == "true"

    def fn_json(self, s):
        return json.loads(s)

    def fn_true(self):
        return True

    def fn_false(self):
        return False

    def fn_null(self):
        return None

    def fn_if(self, args):
        cond = self.eval(args[0])
        return self.eval(args[1] if cond else args[2])

    def fn_equals(self, a, b):
        return a == b

    def fn_not(self, a):
        return not a

    def fn_and(self, *a):
        return all(a)

    def fn_or(self, *a):
        return any(a)

    def fn_empty(self, v):
        return v is None or len(v) == 0

    def fn_length(self, v):
        return len(v)

    def fn_contains(self, c, v):
        return (v in c) if not isinstance(c, str) else str(v) in c

    def fn_replace(self, s, a, b):
        return _s(s).replace(a, b)

    def fn_substring(self, s, start, length=None):
        return s[start:] if length is None else s[start:start + length]

    def fn_take(self, v, n):
        return v[:n]

    def fn_skip(self, v, n):
        return v[n:]

    def fn_split(self, s, d):
        return s.split(d)

    def fn_trim(self, s):
        return s.strip()

    def fn_startswith(self, s, p):
        return s.lower().startswith(p.lower())

    def fn_endswith(self, s, p):
        return s.lower().endswith(p.lower())

    def fn_first(self, v):
        return v[0]

    def fn_last(self, v):
        return v[-1]

    def fn_coalesce(self, *a):
        return next((x for x in a if x is not None), None)

    def fn_union(self, *a):
        if all(isinstance(x, dict) for x in a):
            out = {}
            for x in a:
                out.update(x)
            return out
        out = []
        for x in a:
            out += [y for y in x if y not in out]
        return out

    def fn_createobject(self, *a):
        return {a[i]: a[i + 1] for i in range(0, len(a), 2)}

    def fn_createarray(self, *a):
        return list(a)

    def fn_array(self, v):
        return v if isinstance(v, list) else [v]

    def fn_add(self, a, b):
        return a + b

    def fn_sub(self, a, b):
        return a - b

    def fn_mul(self, a, b):
        return a * b

    def fn_div(self, a, b):
        return a // b

    def fn_mod(self, a, b):
        return a % b

    def fn_min(self, *a):
        return min(a[0] if len(a) == 1 else a)

    def fn_max(self, *a):
        return max(a[0] if len(a) == 1 else a)

    def fn_greater(self, a, b):
        return a > b

    def fn_less(self, a, b):
        return a < b

    def fn_greaterorequals(self, a, b):
        return a >= b

    def fn_lessorequals(self, a, b):
        return a <= b

    def fn_base64(self, s):
        return base64.b64encode(_s(s).encode()).decode()

    def fn_uri(self, base, rel):
        return base.rsplit("/", 1)[0] + "/" + rel.lstrip("/") if not base.endswith("/") else base + rel.lstrip("/")

    def fn_utcnow(self, fmt=None):
        import time
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())

    def fn_copyindex(self, name=None, offset=0):
        if isinstance(name, int):
            name, offset = None, name
        if not self.copy_index:
            raise TemplateError("The template function 'copyIndex' is not expected at this location.")
        return list(self.copy_index.values())[-1] + offset if name is None else self.copy_index[name] + offset

    def fn_listkeys(self, ref, api_version=None):
        return {"keys": [{"keyName": "key1", "value": "sandbox-key-1", "permissions": "FULL"},
                         {"keyName": "key2", "value": "sandbox-key-2", "permissions": "FULL"}]}


def _s(v):
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return "" if v is None else str(v)


PARAM_TYPES = {"string": str, "securestring": str, "int": int, "bool": bool, "object": dict, "secureobject": dict, "array": list}
# How ARM spells a parameter or output type in its answers, whatever the template wrote.
TYPE_NAMES = {"string": "String", "securestring": "SecureString", "int": "Int", "bool": "Bool", "object": "Object",
              "secureobject": "SecureObject", "array": "Array"}


def type_name(t):
    t = str(t)
    return TYPE_NAMES.get(t.lower(), t[:1].upper() + t[1:])


def bind_parameters(template, given):
    """Template parameter values from the request's {"name": {"value": ...}} map."""
    declared = template.get("parameters") or {}
    if not isinstance(declared, dict):
        raise TemplateError("The template 'parameters' section must be an object.")
    if not isinstance(given, dict):
        raise TemplateError("The deployment parameters must be an object.")
    lower = {k.lower(): k for k in declared}
    unknown = [k for k in given if k.lower() not in lower]
    if unknown:
        raise TemplateError("The template parameters '%s' in the parameters file are not valid; they are not present in the "
                            "original template and can therefore not be provided at deployment time. The only supported "
                            "parameters for this template are '%s'." % (", ".join(unknown), ", ".join(declared)))
    values = {}
    pending_defaults = {}
    for name, spec in declared.items():
        spec = spec or {}
        ptype = str(spec.get("type", "")).lower()
        if ptype not in PARAM_TYPES:
            raise TemplateError("The template parameter '%s' has an invalid type '%s'." % (name, spec.get("type")))
        entry = next((v for k, v in given.items() if k.lower() == name.lower()), None)
        if entry is not None:
            if not isinstance(entry, dict):
                raise TemplateError("The value of deployment parameter '%s' must be an object with a 'value'." % name)
            if "reference" in entry:
                value = "sandbox-keyvault-secret"
            elif "value" in entry:
                value = entry["value"]
            else:
                raise TemplateError("The value of deployment parameter '%s' is null." % name)
        elif "defaultValue" in spec:
            pending_defaults[name] = spec["defaultValue"]
            continue
        else:
            raise TemplateError("Deployment template validation failed: 'The value for the template parameter '%s' at line '1' "
                                "and column '1' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details.'" % name)
        values[name] = _check_param(name, spec, ptype, value)
    return values, pending_defaults


def _check_param(name, spec, ptype, value):
    want = PARAM_TYPES[ptype]
    if ptype == "int" and isinstance(value, str) and re.match(r"^-?\d+$", value):
        value = int(value)
    if ptype == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        raise TemplateError("Template parameter '%s' expects a value of type '%s'." % (name, spec.get("type")))
    allowed = spec.get("allowedValues")
    if allowed is not None and value not in allowed:
        raise TemplateError("Deployment template validation failed: 'The provided value '%s' for the template parameter '%s' is not "
                            "valid. The parameter value is not part of the allowed value(s): '%s'.'" % (value, name, ",".join(map(str, allowed))))
    for key, test in (("minLength", lambda v, n: len(v) >= n), ("maxLength", lambda v, n: len(v) <= n),
                      ("minValue", lambda v, n: v >= n), ("maxValue", lambda v, n: v <= n)):
        if key in spec and not test(value, spec[key]):
            raise TemplateError("The provided value for the template parameter '%s' violates its %s of %s." % (name, key, spec[key]))
    return value


def expand(template, parameters, context):
    """Evaluates a template: (resources, outputs_fn, evaluator). resources is a list of
    dicts with id, type, name, apiVersion, location, properties, tags, sku, kind, dependsOn
    (resolved ids), in deployment order. outputs_fn() evaluates outputs (after deployment)."""
    if not isinstance(template, dict):
        raise TemplateError("The template must be a JSON object.")
    if "$schema" not in template:
        raise TemplateError("Template schema '$schema' is missing.")
    resources = template.get("resources", [])
    if not isinstance(resources, (list, dict)):
        raise TemplateError("The template 'resources' section must be an array.")
    values, defaults = bind_parameters(template, parameters)
    ev = Evaluator(template, values, context)
    for name, default in defaults.items():
        spec = template["parameters"][name]
        values[name] = _check_param(name, spec, str(spec.get("type")).lower(), ev.value(copy.deepcopy(default)))
    flat = []

    def collect(res_list, parent=None):
        if isinstance(res_list, dict):      # languageVersion 2.0 symbolic names
            res_list = list(res_list.values())
        for res in res_list:
            if not isinstance(res, dict) or "type" not in res or "name" not in res or "apiVersion" not in res:
                raise TemplateError("Each resource needs 'type', 'name' and 'apiVersion'.")
            loop = res.get("copy")
            if loop:
                count = ev.value(loop.get("count"))
                for i in range(int(count)):
                    ev.copy_index[loop.get("name", "copy")] = i
                    flat.append(_evaluate_resource(ev, res, parent))
                    ev.copy_index.pop(loop.get("name", "copy"))
            else:
                r = _evaluate_resource(ev, res, parent)
                if r is not None:
                    flat.append(r)
                    if res.get("resources"):
                        collect(res["resources"], r)
    collect(resources)
    flat = [r for r in flat if r is not None]
    by_id = {r["id"].lower(): r for r in flat}
    by_name = {}
    for r in flat:
        by_name.setdefault(r["name"].split("/")[-1].lower(), r)
        by_name.setdefault(r["name"].lower(), r)
    for r in flat:
        resolved = []
        for dep in r["dependsOn"]:
            d = dep.lower()
            target = by_id.get(d) or by_name.get(d) or by_name.get(d.split("/")[-1])
            if target is None:
                if d.startswith("/subscriptions/"):
                    continue        # an existing resource outside the template
                raise TemplateError("Deployment template validation failed: 'The resource '%s' is not defined in the template.'" % dep)
            resolved.append(target["id"])
        r["dependsOn"] = resolved
    ordered = []
    state = {}

    def visit(r):
        key = r["id"].lower()
        if state.get(key) == 1:
            raise TemplateError("Deployment template validation failed: 'Circular dependency detected on resource: '%s'.'" % r["id"])
        if state.get(key) == 2:
            return
        state[key] = 1
        for dep in r["dependsOn"]:
            visit(by_id[dep.lower()])
        state[key] = 2
        ordered.append(r)
    for r in flat:
        visit(r)

    def outputs():
        out = {}
        for name, spec in (template.get("outputs") or {}).items():
            if "condition" in spec and not ev.value(spec["condition"]):
                continue
            value = ev.value(copy.deepcopy(spec.get("value")))
            otype = str(spec.get("type", "string"))
            out[name] = {"type": type_name(otype), "value": value}
        return out
    return ordered, outputs, ev


def _evaluate_resource(ev, res, parent):
    if "condition" in res and not ev.value(res["condition"]):
        return None
    rtype = ev.value(res["type"])
    name = ev.value(res["name"])
    if parent is not None and rtype.count("/") == 1:
        rtype = parent["type"] + "/" + rtype
        name = parent["name"] + "/" + name
    segs = rtype.split("/")
    names = str(name).split("/")
    if len(segs) - 1 != len(names):
        raise TemplateError("Deployment template validation failed: 'The template resource '%s' for type '%s' has incorrect segment "
                            "lengths. A nested resource type must have identical number of segments as its resource name.'" % (name, rtype))
    rid = ev.fn_resourceid(rtype, *names)
    out = {"id": rid, "type": rtype, "name": name, "apiVersion": ev.value(res["apiVersion"]),
           "dependsOn": [str(ev.value(d)) for d in res.get("dependsOn", [])]}
    for key in ("location", "properties", "tags", "sku", "kind", "identity", "zones"):
        if key in res:
            out[key] = ev.value(copy.deepcopy(res[key]))
    if parent is not None:
        out["dependsOn"].append(parent["id"])
    return out
