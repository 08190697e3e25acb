/*
 * ddbkit.core._speedups: DynamoDB's wire JSON decoded straight into Python values (issue 26).
 *
 * Why: a Query/Scan page of 1 MB holds ~12,000 small items. Decoding it the pure way (orjson.loads, then
 * ddbkit.core.codec.unmarshal_items) first builds one dict per AttributeValue ({"S": "..."}) and then throws
 * them away: parsing alone was 2.6 us per small item, more than the decode. Here the page's "Items" array is
 * read once and each item comes out as its final dict of Python values.
 *
 * The contract, checked by tests/core/test_speedups.py (hypothesis, every DynamoDB type, both number modes,
 * damaged input): for any input, decode_items either returns exactly what the pure path returns, or None.
 * None means "not sure": the caller then runs the pure path, which gives the result or raises the canonical
 * error. So this parser accepts only a strict subset of JSON (what DynamoDB sends) and returns None for
 * anything else: a JSON number, an AttributeValue with more than one member, a lone surrogate, invalid UTF-8,
 * an escaped member name, nesting deeper than MAX_DEPTH. Rare types (B, BS, NS and unknown ones) are parsed
 * as plain JSON and handed to the pure value decoder (``fallback``), so their rules live once, in Python.
 *
 * Also find_member, which locates the value of one top-level member of a JSON object (the "Items" array), so
 * the caller can give orjson the small rest of the reply.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_DEPTH 64
#define KEY_CACHE 1024
#define KEY_MAX 64

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
    int mode;           /* 0: int when integral (AUTO), 1: Decimal, 2: float */
    PyObject *conv;     /* the pure number conversion, for every number not decoded here */
    PyObject *decimal;  /* decimal.Decimal: AUTO's non-integral numbers, without the pure function's frame */
    PyObject *fallback; /* the pure AttributeValue decoder, for rare types */
    int depth;
} Parser;

/* member names repeat on every item: one str per name, shared (as orjson does) */
typedef struct {
    Py_ssize_t len;
    PyObject *str;
    unsigned char raw[KEY_MAX];
} KeyEntry;

static KeyEntry key_cache[KEY_CACHE];

static inline void skip_ws(Parser *st) {
    const unsigned char *p = st->p, *end = st->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    st->p = p;
}

static inline int expect(Parser *st, unsigned char c) {
    skip_ws(st);
    if (st->p < st->end && *st->p == c) {
        st->p++;
        return 1;
    }
    return 0;
}

/* After a member or an element: 1 at ',' (another follows), 0 at `close` (the container ends), -1 else. */
static inline int next_in(Parser *st, unsigned char close) {
    skip_ws(st);
    if (st->p >= st->end) return -1;
    if (*st->p == ',') {
        st->p++;
        return 1;
    }
    if (*st->p == close) {
        st->p++;
        return 0;
    }
    return -1;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(const unsigned char *p, const unsigned char *end, unsigned int *out) {
    unsigned int v = 0;
    if (end - p < 4) return 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return 0;
        v = (v << 4) | (unsigned int)h;
    }
    *out = v;
    return 1;
}

/* Scan the next string (after whitespace). On success: *start and *len span the raw bytes between the quotes,
 * *escaped / *ascii describe them, st->p is past the closing quote. 0 when no string is next, on a control
 * character, or on an unterminated string. */
static int scan_string(Parser *st, const unsigned char **start, Py_ssize_t *len, int *escaped, int *ascii) {
    skip_ws(st);
    if (st->p >= st->end || *st->p != '"') return 0;
    const unsigned char *p = st->p + 1, *end = st->end;
    int esc = 0, high = 0;
    *start = p;
    while (p < end) {
        unsigned char c = *p;
        if (c == '"') {
            *len = p - *start;
            *escaped = esc;
            *ascii = !high;
            st->p = p + 1;
            return 1;
        }
        if (c == '\\') {
            esc = 1;
            if (p + 1 >= end) return 0;
            p += 2;
            continue;
        }
        if (c < 0x20) return 0;
        high |= c & 0x80;
        p++;
    }
    return 0;
}

/* The str of a scanned string, escapes decoded; NULL (no error set) when it is not valid JSON/UTF-8 or
 * holds a lone surrogate. */
static PyObject *make_string(const unsigned char *s, Py_ssize_t len, int escaped, int ascii) {
    if (!escaped) {
        if (ascii) {
            PyObject *out = PyUnicode_New(len, 127);
            if (out == NULL) return NULL;
            memcpy(PyUnicode_DATA(out), s, (size_t)len);
            return out;
        }
        PyObject *out = PyUnicode_DecodeUTF8((const char *)s, len, NULL);
        if (out == NULL) PyErr_Clear();
        return out;
    }
    /* decoded UTF-8 is never longer than its escaped JSON */
    unsigned char *buf = PyMem_Malloc((size_t)len + 1);
    if (buf == NULL) return NULL;
    unsigned char *o = buf;
    const unsigned char *p = s, *end = s + len;
    while (p < end) {
        unsigned char c = *p;
        if (c != '\\') {
            *o++ = c;
            p++;
            continue;
        }
        c = p[1];
        p += 2;
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned int cp;
            if (!read_hex4(p, end, &cp)) goto bad;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned int lo;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !read_hex4(p + 2, end, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    goto bad; /* a lone high surrogate: not sure, the pure path decides */
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto bad;
            }
            if (cp < 0x80) {
                *o++ = (unsigned char)cp;
            } else if (cp < 0x800) {
                *o++ = (unsigned char)(0xC0 | (cp >> 6));
                *o++ = (unsigned char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (unsigned char)(0xE0 | (cp >> 12));
                *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (unsigned char)(0xF0 | (cp >> 18));
                *o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            goto bad;
        }
    }
    {
        PyObject *out = PyUnicode_DecodeUTF8((const char *)buf, o - buf, NULL);
        if (out == NULL) PyErr_Clear();
        PyMem_Free(buf);
        return out;
    }
bad:
    PyMem_Free(buf);
    return NULL;
}

static PyObject *parse_string(Parser *st) {
    const unsigned char *s;
    Py_ssize_t len;
    int escaped, ascii;
    if (!scan_string(st, &s, &len, &escaped, &ascii)) return NULL;
    return make_string(s, len, escaped, ascii);
}

static unsigned int hash_bytes(const unsigned char *s, Py_ssize_t len) {
    unsigned int h = 2166136261u;
    for (Py_ssize_t i = 0; i < len; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

/* A member name (an item's attribute name or a map key), shared through the cache when short and plain. */
static PyObject *parse_key(Parser *st) {
    const unsigned char *s;
    Py_ssize_t len;
    int escaped, ascii;
    if (!scan_string(st, &s, &len, &escaped, &ascii)) return NULL;
    if (escaped || len > KEY_MAX) return make_string(s, len, escaped, ascii);
    KeyEntry *e = &key_cache[hash_bytes(s, len) & (KEY_CACHE - 1)];
    if (e->str != NULL && e->len == len && memcmp(e->raw, s, (size_t)len) == 0) {
        Py_INCREF(e->str);
        return e->str;
    }
    PyObject *out = make_string(s, len, 0, ascii);
    if (out == NULL) return NULL;
    Py_XDECREF(e->str);
    Py_INCREF(out);
    e->str = out;
    e->len = len;
    memcpy(e->raw, s, (size_t)len);
    return out;
}

static PyObject *parse_av(Parser *st);
static PyObject *parse_json(Parser *st);

/* A number's text: a plain integer of up to 18 digits is made here in AUTO mode (what int(text) gives);
 * every other number goes through the pure conversion. */
/* A number from its text s[0:len] (no escapes): a plain integer of up to 18 digits is made here in AUTO mode
 * (what int(text) gives); every other number goes through the pure conversion, called with `text` (made from
 * s when NULL). */
static PyObject *number_from(Parser *st, const unsigned char *s, Py_ssize_t len, PyObject *text, int ascii) {
    if (st->mode == 0 && len > 0 && len <= 19) {
        Py_ssize_t i = s[0] == '-' ? 1 : 0;
        if (len - i >= 1 && len - i <= 18) {
            long long v = 0;
            Py_ssize_t j = i;
            for (; j < len; j++) {
                unsigned char c = s[j];
                if (c < '0' || c > '9') break;
                v = v * 10 + (c - '0');
            }
            if (j == len) return PyLong_FromLongLong(i ? -v : v);
        }
    }
    PyObject *conv = st->conv;
    if (st->mode == 0 && len > 1 && s[len - 1] != '0' && memchr(s, '.', (size_t)len) != NULL &&
        memchr(s, 'e', (size_t)len) == NULL && memchr(s, 'E', (size_t)len) == NULL)
        conv = st->decimal; /* what ddbkit.core.codec._num_auto does for DynamoDB's usual "12.5" */
    if (text != NULL) return PyObject_CallOneArg(conv, text);
    text = make_string(s, len, 0, ascii);
    if (text == NULL) return NULL;
    PyObject *out = PyObject_CallOneArg(conv, text);
    Py_DECREF(text);
    return out;
}

static PyObject *parse_number(Parser *st) {
    const unsigned char *s;
    Py_ssize_t len;
    int escaped, ascii;
    if (!scan_string(st, &s, &len, &escaped, &ascii)) return NULL;
    if (!escaped) return number_from(st, s, len, NULL, ascii);
    PyObject *text = make_string(s, len, escaped, ascii);
    if (text == NULL) return NULL;
    PyObject *out = PyObject_CallOneArg(st->conv, text); /* escaped: rare, the pure conversion decides */
    Py_DECREF(text);
    return out;
}

/* {"name": AttributeValue, ...}: an item or an M value. */
static PyObject *parse_map(Parser *st) {
    if (!expect(st, '{')) return NULL;
    PyObject *out = PyDict_New();
    if (out == NULL) return NULL;
    if (expect(st, '}')) return out;
    for (;;) {
        PyObject *key = parse_key(st);
        if (key == NULL) goto fail;
        if (!expect(st, ':')) {
            Py_DECREF(key);
            goto fail;
        }
        PyObject *value = parse_av(st);
        if (value == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        int rc = PyDict_SetItem(out, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc < 0) goto fail;
        int more = next_in(st, '}');
        if (more == 0) return out;
        if (more < 0) goto fail;
    }
fail:
    Py_DECREF(out);
    return NULL;
}

/* [AttributeValue, ...] (an L value) into a list, or [string, ...] (SS) into a set. */
static PyObject *parse_array(Parser *st, int strings_to_set) {
    if (!expect(st, '[')) return NULL;
    PyObject *out = strings_to_set ? PySet_New(NULL) : PyList_New(0);
    if (out == NULL) return NULL;
    if (expect(st, ']')) return out;
    for (;;) {
        PyObject *value = strings_to_set ? parse_string(st) : parse_av(st);
        if (value == NULL) goto fail;
        int rc = strings_to_set ? PySet_Add(out, value) : PyList_Append(out, value);
        Py_DECREF(value);
        if (rc < 0) goto fail;
        int more = next_in(st, ']');
        if (more == 0) return out;
        if (more < 0) goto fail;
    }
fail:
    Py_DECREF(out);
    return NULL;
}

static int literal(Parser *st, const char *word, size_t n) {
    skip_ws(st);
    if ((size_t)(st->end - st->p) >= n && memcmp(st->p, word, n) == 0) {
        st->p += n;
        return 1;
    }
    return 0;
}

/* Plain JSON (objects, arrays, strings, true/false/null; no numbers) for the rare types' fallback. */
static PyObject *parse_json(Parser *st) {
    skip_ws(st);
    if (st->p >= st->end || ++st->depth > MAX_DEPTH) return NULL;
    PyObject *out = NULL;
    unsigned char c = *st->p;
    if (c == '"') {
        out = parse_string(st);
    } else if (c == 't') {
        if (literal(st, "true", 4)) out = Py_NewRef(Py_True);
    } else if (c == 'f') {
        if (literal(st, "false", 5)) out = Py_NewRef(Py_False);
    } else if (c == 'n') {
        if (literal(st, "null", 4)) out = Py_NewRef(Py_None);
    } else if (c == '[') {
        st->p++;
        out = PyList_New(0);
        if (out != NULL && !expect(st, ']')) {
            for (;;) {
                PyObject *v = parse_json(st);
                if (v == NULL || PyList_Append(out, v) < 0) {
                    Py_XDECREF(v);
                    Py_CLEAR(out);
                    break;
                }
                Py_DECREF(v);
                if (expect(st, ',')) continue;
                if (!expect(st, ']')) Py_CLEAR(out);
                break;
            }
        }
    } else if (c == '{') {
        st->p++;
        out = PyDict_New();
        if (out != NULL && !expect(st, '}')) {
            for (;;) {
                PyObject *k = parse_string(st);
                PyObject *v = (k != NULL && expect(st, ':')) ? parse_json(st) : NULL;
                if (v == NULL || PyDict_SetItem(out, k, v) < 0) {
                    Py_XDECREF(k);
                    Py_XDECREF(v);
                    Py_CLEAR(out);
                    break;
                }
                Py_DECREF(k);
                Py_DECREF(v);
                if (expect(st, ',')) continue;
                if (!expect(st, '}')) Py_CLEAR(out);
                break;
            }
        }
    }
    st->depth--;
    return out;
}

/* One AttributeValue: an object with exactly one member whose name is the type. */
static PyObject *parse_av(Parser *st) {
    if (!expect(st, '{')) return NULL;
    if (++st->depth > MAX_DEPTH) return NULL;
    const unsigned char *tag;
    Py_ssize_t n;
    int escaped, ascii;
    if (!scan_string(st, &tag, &n, &escaped, &ascii) || escaped)
        return NULL;
    if (!expect(st, ':')) return NULL;
    PyObject *out = NULL;
    if (n == 1 && tag[0] == 'S') {
        out = parse_string(st);
    } else if (n == 1 && tag[0] == 'N') {
        out = parse_number(st);
    } else if (n == 1 && tag[0] == 'M') {
        out = parse_map(st);
    } else if (n == 1 && tag[0] == 'L') {
        out = parse_array(st, 0);
    } else if (n == 4 && memcmp(tag, "BOOL", 4) == 0) {
        if (literal(st, "true", 4)) out = Py_NewRef(Py_True);
        else if (literal(st, "false", 5)) out = Py_NewRef(Py_False);
    } else if (n == 4 && memcmp(tag, "NULL", 4) == 0) {
        if (literal(st, "true", 4)) out = Py_NewRef(Py_None);
    } else if (n == 2 && memcmp(tag, "SS", 2) == 0) {
        out = parse_array(st, 1);
    } else {
        /* B, BS, NS and anything else: plain JSON, decoded by the pure decoder */
        PyObject *value = parse_json(st);
        if (value != NULL) {
            PyObject *name = make_string(tag, n, 0, ascii);
            PyObject *av = name != NULL ? PyDict_New() : NULL;
            if (av != NULL && PyDict_SetItem(av, name, value) == 0) out = PyObject_CallOneArg(st->fallback, av);
            Py_XDECREF(av);
            Py_XDECREF(name);
            Py_DECREF(value);
        }
    }
    if (out != NULL && !expect(st, '}')) Py_CLEAR(out); /* a second member: not sure */
    st->depth--;
    return out;
}

/* [item, ...] at st->p into a list of plain dicts; NULL when not sure. */
static PyObject *parse_items(Parser *st) {
    if (!expect(st, '[')) return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL || expect(st, ']')) return out;
    for (;;) {
        PyObject *item = parse_map(st);
        if (item == NULL || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(item);
        int more = next_in(st, ']');
        if (more == 0) return out;
        if (more < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
}

/* Errors of the user's own making (KeyboardInterrupt, SystemExit) go up; every other one means "not sure". */
static PyObject *not_sure(void) {
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_Exception) || PyErr_ExceptionMatches(PyExc_MemoryError)) return NULL;
        PyErr_Clear();
    }
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------------------------------------
 * The same decode from wire dicts already in memory (botocore's replies, a Lambda stream event's images).
 * The contract is the same: exactly what ddbkit.core.codec's pure decoder returns, or None.
 * ------------------------------------------------------------------------------------------------------- */

static PyObject *walk_av(Parser *st, PyObject *av);

static PyObject *walk_map(Parser *st, PyObject *m) {
    if (!PyDict_CheckExact(m)) return NULL;
    PyObject *out = PyDict_New();
    if (out == NULL) return NULL;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(m, &pos, &k, &v)) {
        PyObject *value = walk_av(st, v);
        if (value == NULL || PyDict_SetItem(out, k, value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(value);
    }
    return out;
}

static PyObject *walk_av(Parser *st, PyObject *av) {
    /* one member, as DynamoDB sends; anything else (several members, not a dict): the pure decoder decides */
    if (!PyDict_CheckExact(av) || PyDict_GET_SIZE(av) != 1 || st->depth >= MAX_DEPTH) return NULL;
    Py_ssize_t pos = 0, n;
    PyObject *tag, *v;
    PyDict_Next(av, &pos, &tag, &v);
    if (!PyUnicode_CheckExact(tag)) return NULL;
    const char *t = PyUnicode_AsUTF8AndSize(tag, &n);
    if (t == NULL) return NULL;
    PyObject *out = NULL;
    st->depth++;
    if (n == 1 && t[0] == 'S') {
        out = Py_NewRef(v); /* the pure decoder returns the value as it is */
    } else if (n == 1 && t[0] == 'N') {
        if (PyUnicode_CheckExact(v) && PyUnicode_IS_ASCII(v))
            out = number_from(st, PyUnicode_1BYTE_DATA(v), PyUnicode_GET_LENGTH(v), v, 1);
        else if (PyUnicode_CheckExact(v))
            out = PyObject_CallOneArg(st->conv, v);
    } else if (n == 1 && t[0] == 'M') {
        out = walk_map(st, v);
    } else if (n == 1 && t[0] == 'L') {
        if (PyList_CheckExact(v)) {
            Py_ssize_t size = PyList_GET_SIZE(v);
            out = PyList_New(size);
            for (Py_ssize_t i = 0; out != NULL && i < size; i++) {
                PyObject *x = walk_av(st, PyList_GET_ITEM(v, i));
                if (x == NULL) Py_CLEAR(out);
                else PyList_SET_ITEM(out, i, x);
            }
        }
    } else if (n == 4 && memcmp(t, "BOOL", 4) == 0) {
        out = Py_NewRef(v);
    } else if (n == 4 && memcmp(t, "NULL", 4) == 0) {
        out = Py_NewRef(Py_None);
    } else if (n == 2 && memcmp(t, "SS", 2) == 0) {
        out = PySet_New(v);
    } else {
        out = PyObject_CallOneArg(st->fallback, av); /* B, BS, NS, unknown: the pure decoder */
    }
    st->depth--;
    return out;
}

PyDoc_STRVAR(unmarshal_item_doc,
"unmarshal_item(item, mode, conv, decimal, fallback) -> dict | None\n\n"
"A wire item (a dict of AttributeValue dicts) as a plain dict, or None when not sure (the caller then runs\n"
"the pure decoder). Arguments as for decode_page.");

static PyObject *unmarshal_item(PyObject *self, PyObject *args) {
    PyObject *item, *conv, *decimal, *fallback;
    int mode;
    if (!PyArg_ParseTuple(args, "OiOOO", &item, &mode, &conv, &decimal, &fallback)) return NULL;
    Parser st = {NULL, NULL, mode, conv, decimal, fallback, 0};
    PyObject *out = walk_map(&st, item);
    return out != NULL ? out : not_sure();
}

/* Past one JSON value at p (not validated: orjson and decode_items validate what is kept). NULL if cut. */
static const unsigned char *skip_value(const unsigned char *p, const unsigned char *end) {
    if (p >= end) return NULL;
    if (*p == '"') {
        const unsigned char *q = p + 1;
        for (;;) { /* the next quote not escaped by an odd run of backslashes */
            q = memchr(q, '"', (size_t)(end - q));
            if (q == NULL) return NULL;
            const unsigned char *b = q;
            while (b > p + 1 && b[-1] == '\\') b--;
            if (((q - b) & 1) == 0) return q + 1;
            q++;
        }
    }
    if (*p == '{' || *p == '[') {
        Py_ssize_t depth = 0;
        while (p < end) {
            unsigned char c = *p;
            if (c == '"') {
                p = skip_value(p, end);
                if (p == NULL) return NULL;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
        p++;
    return p;
}

PyDoc_STRVAR(decode_page_doc,
"decode_page(body, name, single, mode, conv, decimal, fallback) -> (start, end, items) | None\n\n"
"For the JSON object in body (a Query/Scan/GetItem reply), the value of its last top-level member spelled\n"
"exactly `name` (b'Items': a JSON array of wire items, decoded into a list of plain dicts; with `single`,\n"
"b'Item': one wire item, decoded into a plain dict), with that value's byte span (so the caller parses\n"
"the rest with orjson). None when not sure: the caller runs the pure path.\n"
"mode: 0 int when integral, 1 Decimal, 2 float; conv: the pure number conversion; decimal: decimal.Decimal;\n"
"fallback: the pure decoder of one AttributeValue (for B, BS, NS and unknown types). Members other than\n"
"`name` are only skipped here, not validated: orjson validates them.");

static PyObject *decode_page(PyObject *self, PyObject *args) {
    Py_buffer view, name;
    int mode;
    int single;
    PyObject *conv, *decimal, *fallback;
    if (!PyArg_ParseTuple(args, "y*y*iiOOO", &view, &name, &single, &mode, &conv, &decimal, &fallback))
        return NULL;
    const unsigned char *base = view.buf, *end = base + view.len;
    Parser st = {base, end, mode, conv, decimal, fallback, 0};
    Py_ssize_t found_start = -1, found_end = -1;
    PyObject *items = NULL;
    int ok = 0;
    if (expect(&st, '{')) {
        if (expect(&st, '}')) ok = 1;
        while (!ok) {
            const unsigned char *s;
            Py_ssize_t len;
            int escaped, ascii;
            if (!scan_string(&st, &s, &len, &escaped, &ascii)) break;
            if (escaped || !expect(&st, ':')) break; /* an escaped name could spell `name`: not sure */
            skip_ws(&st);
            const unsigned char *v = st.p;
            if (len == name.len && memcmp(s, name.buf, (size_t)len) == 0) {
                Py_CLEAR(items);
                items = single ? parse_map(&st) : parse_items(&st);
                if (items == NULL) break;
                found_start = v - base;
                found_end = st.p - base;
            } else {
                const unsigned char *after = skip_value(v, end);
                if (after == NULL) break;
                st.p = after;
            }
            if (expect(&st, ',')) continue;
            if (expect(&st, '}')) ok = 1;
            break;
        }
    }
    PyBuffer_Release(&view);
    PyBuffer_Release(&name);
    if (!ok || items == NULL) {
        Py_XDECREF(items);
        return not_sure();
    }
    PyObject *out = Py_BuildValue("(nnN)", found_start, found_end, items);
    return out;
}

static PyMethodDef methods[] = {
    {"decode_page", decode_page, METH_VARARGS, decode_page_doc},
    {"unmarshal_item", unmarshal_item, METH_VARARGS, unmarshal_item_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "ddbkit.core._speedups",
    "DynamoDB wire JSON decoded straight into Python values (optional; the pure codec is the reference).", -1,
    methods, NULL, NULL, NULL, NULL,
};

/* What ddbkit.core.codec expects (it ignores a module of another version: a stale in-place build). */
#define SPEEDUPS_API 2

PyMODINIT_FUNC PyInit__speedups(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "API", SPEEDUPS_API) < 0) Py_CLEAR(m);
    return m;
}
