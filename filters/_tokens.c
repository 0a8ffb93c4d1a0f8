/* Text preparation for the model stages in one pass: characters mapped, tokens joined
 * (filters/tokens.py says what and why).
 *
 * joined_tokens(text, kinds, starts, chars) -> str
 *
 * ``starts`` and ``chars`` map every code point to a replacement (lower-casing, cc_net's
 * normalisation), or are both None to keep the text as it is: code point c becomes the code points
 * chars[starts[c]:starts[c + 1]] (``starts``: 0x110001 native uint32, ``chars``: native UCS4).
 * ``kinds`` has one byte per code point (0x110000) for the mapped characters: 0 = part of a word,
 * 1 = separator, 2 = a token on its own, 3 = line break. The result is every line's tokens joined by
 * single spaces, lines joined by "\n": the same string as
 * "\n".join(" ".join(tokens(line)) for line in mapped(text).split("\n")) in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

enum { WORD = 0, SEPARATOR = 1, ISOLATED = 2, LINE_BREAK = 3 };
#define CODE_POINTS 0x110000

typedef struct {
    Py_UCS4 *buf;
    Py_ssize_t n, capacity;
    int line_has_token, in_word;
} Joined;

/* Room for ``more`` characters, each possibly preceded by a space. */
static int reserve(Joined *out, Py_ssize_t more) {
    if (out->n + 2 * more <= out->capacity)
        return 0;
    Py_ssize_t capacity = out->n + 2 * more;
    if (out->buf != NULL && capacity < 2 * out->capacity)
        capacity = 2 * out->capacity; /* grown by doubling: few reallocations */
    Py_UCS4 *buf = PyMem_Realloc(out->buf, sizeof(Py_UCS4) * capacity);
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    out->buf = buf;
    out->capacity = capacity;
    return 0;
}

static inline void add(Joined *out, const unsigned char *kind_of, Py_UCS4 c) {
    switch (kind_of[c]) {
    case WORD:
        if (out->line_has_token && !out->in_word)
            out->buf[out->n++] = ' ';
        out->buf[out->n++] = c;
        out->in_word = out->line_has_token = 1;
        break;
    case ISOLATED:
        if (out->line_has_token)
            out->buf[out->n++] = ' ';
        out->buf[out->n++] = c;
        out->line_has_token = 1;
        out->in_word = 0;
        break;
    case LINE_BREAK:
        out->buf[out->n++] = '\n';
        out->line_has_token = out->in_word = 0;
        break;
    default: /* SEPARATOR */
        out->in_word = 0;
    }
}

/* The mapping's buffers, checked; starts.buf == NULL when there is no mapping. */
static int check_mapping(const Py_buffer *starts, const Py_buffer *chars) {
    if ((starts->buf == NULL) != (chars->buf == NULL)) {
        PyErr_SetString(PyExc_ValueError, "starts and chars must both be given or both be None");
        return -1;
    }
    if (starts->buf == NULL)
        return 0;
    if (starts->len != (Py_ssize_t)sizeof(uint32_t) * (CODE_POINTS + 1) || chars->len % sizeof(Py_UCS4) != 0 ||
        ((const uint32_t *)starts->buf)[CODE_POINTS] != chars->len / sizeof(Py_UCS4)) {
        PyErr_SetString(PyExc_ValueError, "starts must have 0x110001 uint32 offsets ending at len(chars)");
        return -1;
    }
    return 0;
}

/* Appends the mapped characters of ``text`` to ``out``. */
static int join_mapped(Joined *out, PyObject *text, const unsigned char *kind_of, const Py_buffer *starts,
                       const Py_buffer *chars) {
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    const uint32_t *start = starts->buf;
    const Py_UCS4 *mapped = chars->buf;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (start == NULL) {
            add(out, kind_of, c);
            continue;
        }
        uint32_t first = start[c], last = start[c + 1];
        if (last < first || last > start[CODE_POINTS]) {
            PyErr_SetString(PyExc_ValueError, "starts must not decrease");
            return -1;
        }
        if (reserve(out, last - first) < 0)
            return -1;
        for (uint32_t j = first; j < last; j++) {
            if (mapped[j] >= CODE_POINTS) {
                PyErr_SetString(PyExc_ValueError, "chars must hold code points below 0x110000");
                return -1;
            }
            add(out, kind_of, mapped[j]);
        }
    }
    return 0;
}

static PyObject *joined_tokens(PyObject *self, PyObject *args) {
    PyObject *text, *result = NULL;
    Py_buffer kinds, starts, chars;
    if (!PyArg_ParseTuple(args, "Uy*z*z*", &text, &kinds, &starts, &chars))
        return NULL;
    Joined out = {NULL, 0, 0, 0, 0};
    if (kinds.len != CODE_POINTS) {
        PyErr_SetString(PyExc_ValueError, "kinds must have one byte per code point (0x110000)");
        goto done;
    }
    if (check_mapping(&starts, &chars) < 0 || PyUnicode_READY(text) < 0)
        goto done;
    /* unmapped, each character adds at most itself and one space before it */
    if (reserve(&out, PyUnicode_GET_LENGTH(text) + 1) < 0)
        goto done;
    if (join_mapped(&out, text, kinds.buf, &starts, &chars) == 0)
        result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out.buf, out.n);
done:
    PyMem_Free(out.buf);
    PyBuffer_Release(&kinds);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&chars);
    return result;
}

static PyMethodDef methods[] = {
    {"joined_tokens", joined_tokens, METH_VARARGS, "Every line's tokens, characters mapped, joined by single spaces."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tokens", NULL, -1, methods};

PyMODINIT_FUNC PyInit__tokens(void) { return PyModule_Create(&module); }
