"""The JSON that Azure Resource Manager reads in a deployment request.

ARM deserialises request bodies more leniently than RFC 8259 in exactly the
ways its template documentation promises, and the Azure CLI relies on them:
`az deployment group create --template-file` sends
`{"properties": {..., "mode": "Incremental", template:<the file as written>}}`
(see its JsonCTemplatePolicy): an unquoted property name followed by the
template text itself, comments and line breaks inside strings included.

Accepted beyond strict JSON, and nothing else:
  * `// line` and `/* block */` comments wherever whitespace may stand;
  * line breaks (and other control characters) inside string literals
    ("multi-line strings" in the template syntax documentation);
  * property names written as bare identifiers (`template:`).
Still refused, as strict JSON does: trailing commas, single-quoted strings,
NaN / Infinity, leading zeros, bare words as values, text after the value.

Errors read like ARM's (Json.NET's) messages: what was wrong, the JSON path,
the line and the position.
"""
import re

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class JsoncError(ValueError):
    def __init__(self, message, path, line, position):
        super().__init__("%s Path '%s', line %d, position %d." % (message, path, line, position))
        self.reason, self.path, self.line, self.position = message, path, line, position


class _Reader:
    def __init__(self, text):
        self.s = text
        self.i = 0
        self.path = []

    def fail(self, message, at=None):
        at = self.i if at is None else at
        line = self.s.count("\n", 0, at) + 1
        position = at - (self.s.rfind("\n", 0, at) + 1)
        path = ""
        for p in self.path[:64]:
            path += "[%d]" % p if isinstance(p, int) else ("." if path else "") + p
        raise JsoncError(message, path, line, position)

    def skip(self):
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif s.startswith("//", self.i):
                end = s.find("\n", self.i)
                self.i = n if end < 0 else end + 1
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                if end < 0:
                    self.i = n
                    self.fail("Unexpected end while parsing comment.")
                self.i = end + 2
            else:
                break

    def peek(self):
        self.skip()
        return self.s[self.i] if self.i < len(self.s) else ""

    def value(self):
        c = self.peek()
        if c == "{":
            return self.obj()
        if c == "[":
            return self.arr()
        if c == '"':
            return self.string()
        if c == "-" or c.isdigit():
            m = _NUMBER.match(self.s, self.i)
            end = m.end() if m else self.i
            if not m or (end < len(self.s) and (self.s[end].isalnum() or self.s[end] in "._")):
                self.fail("Input string '%s' is not a valid number." % re.match(r"[-\w.+]*", self.s[self.i:]).group(0))
            self.i = end
            text = m.group(0)
            return float(text) if any(ch in text for ch in ".eE") else int(text)
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(word, self.i) and not _IDENT.match(self.s, self.i + len(word)):
                self.i += len(word)
                return val
        if not c:
            self.fail("Unexpected end when reading JSON.")
        self.fail("Unexpected character encountered while parsing value: %s." % c)

    def string(self):
        s, i = self.s, self.i + 1
        out = []
        while True:
            j = i
            while j < len(s) and s[j] not in '"\\':
                j += 1
            out.append(s[i:j])
            if j >= len(s):
                self.i = j
                self.fail("Unterminated string. Expected delimiter: \".")
            if s[j] == '"':
                self.i = j + 1
                return "".join(out)
            esc = s[j + 1:j + 2]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                i = j + 2
            elif esc == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[j + 2:j + 6]):
                code = int(s[j + 2:j + 6], 16)
                i = j + 6
                if 0xD800 <= code < 0xDC00 and s[i:i + 2] == "\\u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[i + 2:i + 6]):
                    low = int(s[i + 2:i + 6], 16)
                    if 0xDC00 <= low < 0xE000:
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                out.append(chr(code))
            else:
                self.i = j
                self.fail("Bad JSON escape sequence: \\%s." % esc)

    def name(self):
        c = self.peek()
        if c == '"':
            return self.string()
        m = _IDENT.match(self.s, self.i)
        if m:
            self.i = m.end()
            return m.group(0)
        if c == "}":
            self.fail("Unexpected character encountered while parsing object: }. A trailing comma is not allowed.")
        self.fail("Invalid property identifier character: %s." % (c or "end of input"))

    def obj(self):
        self.i += 1
        out = {}
        if self.peek() == "}":
            self.i += 1
            return out
        while True:
            key = self.name()
            if self.peek() != ":":
                self.fail("Invalid character after parsing property name. Expected ':' but got: %s." % (self.peek() or "end of input"))
            self.i += 1
            self.path.append(key)
            out[key] = self.value()
            self.path.pop()
            c = self.peek()
            if c == ",":
                self.i += 1
                continue
            if c == "}":
                self.i += 1
                return out
            self.fail("After parsing a value an unexpected character was encountered: %s." % (c or "end of input"))

    def arr(self):
        self.i += 1
        out = []
        if self.peek() == "]":
            self.i += 1
            return out
        while True:
            self.path.append(len(out))
            if self.peek() == "]":
                self.fail("Unexpected character encountered while parsing value: ]. A trailing comma is not allowed.")
            out.append(self.value())
            self.path.pop()
            c = self.peek()
            if c == ",":
                self.i += 1
                continue
            if c == "]":
                self.i += 1
                return out
            self.fail("After parsing a value an unexpected character was encountered: %s." % (c or "end of input"))


def loads(text):
    """Parse `text` (str or UTF-8 bytes) as ARM reads a request body; raises JsoncError."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    r = _Reader(text[1:] if text.startswith("\ufeff") else text)
    if not r.peek():
        r.fail("Unexpected end when reading JSON.")
    try:
        value = r.value()
    except RecursionError:
        r.fail("The reader's MaxDepth has been exceeded.")
    if r.peek():
        r.fail("Additional text encountered after finished reading JSON content: %s." % r.peek())
    return value
