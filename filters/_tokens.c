/* Text preparation for the model stages in one pass: characters mapped, tokens joined
 * (filters/tokens.py says what and why).
 *
 * joined_tokens(text, table, expansions) -> str
 * token_lines(text, table, expansions) -> (list[str], int)
 *
 * ``table`` has one native uint32 per code point (0x110000): what the code point becomes (lower-cased,
 * normalised, or itself) and the role of what it becomes. An entry below 2**31 is one character:
 * its code point in bits 0-20, its role in bits 21-22 (0 = part of a word, 1 = separator, 2 = a token
 * on its own, 3 = line break). An entry with bit 31 set becomes any other number of characters:
 * bits 0-30 are an offset into ``expansions`` (native uint32) where their count is, followed by one
 * entry of the first kind for each of them.
 *
 * ``joined_tokens`` is every line's tokens joined by single spaces, lines joined by "\n": the same
 * string as "\n".join(" ".join(tokens(line)) for line in mapped(text).split("\n")) in Python;
 * ``token_lines`` is (the list of those lines that have tokens, the number of tokens).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

enum { WORD = 0, SEPARATOR = 1, ISOLATED = 2, LINE_BREAK = 3 };
#define CODE_POINTS 0x110000
#define EXPANDED 0x80000000u
#define CHAR_BITS 0x1fffffu
#define ROLE_SHIFT 21

typedef struct {
    const uint32_t *table, *expansions;
    Py_ssize_t n_expansions;
    Py_UCS4 *buf;
    Py_ssize_t n, capacity;
    int line_has_token, in_word;
    Py_UCS4 written; /* the written characters' code points or-ed: the string width they need */
    Py_ssize_t tokens;
    PyObject *lines; /* token_lines: each line with tokens is appended here, and buf starts again */
} Prepared;

/* Room for ``more`` characters, each possibly preceded by a space. */
static int reserve(Prepared *out, Py_ssize_t more) {
    if (out->n + 2 * more <= out->capacity)
        return 0;
    Py_ssize_t capacity = out->n + 2 * more;
    if (capacity < 2 * out->capacity)
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

/* buf as a string. ``written`` (or-ed code points) is below 128, 256 or 0x10000 exactly when every
 * character is, so it gives the string width without a scan. */
static PyObject *as_string(const Prepared *out) {
    PyObject *string = PyUnicode_New(out->n, out->written > 0xffff ? 0x10ffff : out->written);
    if (string == NULL)
        return NULL;
    void *data = PyUnicode_DATA(string);
    switch (PyUnicode_KIND(string)) {
    case PyUnicode_1BYTE_KIND:
        for (Py_ssize_t i = 0; i < out->n; i++)
            ((Py_UCS1 *)data)[i] = (Py_UCS1)out->buf[i];
        break;
    case PyUnicode_2BYTE_KIND:
        for (Py_ssize_t i = 0; i < out->n; i++)
            ((Py_UCS2 *)data)[i] = (Py_UCS2)out->buf[i];
        break;
    default:
        memcpy(data, out->buf, sizeof(Py_UCS4) * out->n);
    }
    return string;
}

/* token_lines: the line in buf, if it has tokens, to the list; buf empty again. */
static int end_line(Prepared *out) {
    if (out->line_has_token) {
        PyObject *line = as_string(out);
        if (line == NULL || PyList_Append(out->lines, line) < 0) {
            Py_XDECREF(line);
            return -1;
        }
        Py_DECREF(line);
    }
    out->n = 0;
    out->line_has_token = out->in_word = 0;
    out->written = 0;
    return 0;
}

/* One mapped character (an entry below 2**31), with room reserved for it and a space. */
static inline int add(Prepared *out, uint32_t entry) {
    Py_UCS4 c = entry & CHAR_BITS;
    switch (entry >> ROLE_SHIFT) {
    case WORD:
        if (out->line_has_token && !out->in_word)
            out->buf[out->n++] = ' ';
        out->tokens += !out->in_word;
        out->buf[out->n++] = c;
        out->written |= c;
        out->in_word = out->line_has_token = 1;
        break;
    case ISOLATED:
        if (out->line_has_token)
            out->buf[out->n++] = ' ';
        out->tokens++;
        out->buf[out->n++] = c;
        out->written |= c;
        out->line_has_token = 1;
        out->in_word = 0;
        break;
    case LINE_BREAK:
        if (out->lines != NULL)
            return end_line(out);
        out->buf[out->n++] = '\n';
        out->line_has_token = out->in_word = 0;
        break;
    default: /* SEPARATOR */
        out->in_word = 0;
    }
    return 0;
}

/* A code point whose entry has bit 31 set: its characters from ``expansions``. */
static int add_expanded(Prepared *out, uint32_t entry) {
    Py_ssize_t at = entry & ~EXPANDED;
    if (at >= out->n_expansions || out->expansions[at] > out->n_expansions - at - 1) {
        PyErr_SetString(PyExc_ValueError, "table points outside expansions");
        return -1;
    }
    uint32_t count = out->expansions[at];
    if (reserve(out, count) < 0)
        return -1;
    for (uint32_t j = 1; j <= count; j++) {
        if ((out->expansions[at + j] & EXPANDED) || add(out, out->expansions[at + j]) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "an expansion holds an expanded entry");
            return -1;
        }
    }
    return 0;
}

/* What the loop below leaves out: expansions, line breaks, and a full buffer. */
static int add_other(Prepared *out, uint32_t entry) {
    if (entry & EXPANDED)
        return add_expanded(out, entry);
    return reserve(out, 1) < 0 ? -1 : add(out, entry);
}

/* The loop over one string representation (1, 2 or 4 bytes per character). A word character or a
 * token of its own is added without branches (token boundaries are not predictable), with the
 * state in local variables; everything else goes through add_other. */
#define ADD_ALL(TYPE)                                                                                                  \
    do {                                                                                                               \
        const TYPE *chars = data;                                                                                      \
        const uint32_t *table = out->table;                                                                            \
        Py_UCS4 *buf = out->buf;                                                                                       \
        Py_ssize_t n = out->n, capacity = out->capacity, tokens = out->tokens;                                         \
        int line_has_token = out->line_has_token, in_word = out->in_word;                                              \
        Py_UCS4 written = out->written;                                                                                \
        for (Py_ssize_t i = 0; i < length; i++) {                                                                      \
            uint32_t entry = table[chars[i]], role = entry >> ROLE_SHIFT;                                              \
            if (role <= ISOLATED && n + 2 <= capacity) {                                                               \
                int word = role == WORD, token = role != SEPARATOR, starts = token & !(word & in_word);                \
                buf[n] = ' ';                                                                                          \
                n += starts & line_has_token;                                                                          \
                tokens += starts;                                                                                      \
                buf[n] = entry & CHAR_BITS;                                                                            \
                written |= entry & CHAR_BITS & (0u - token);                                                           \
                n += token;                                                                                            \
                in_word = word;                                                                                        \
                line_has_token |= token;                                                                               \
                continue;                                                                                              \
            }                                                                                                          \
            out->n = n, out->tokens = tokens, out->written = written;                                                  \
            out->line_has_token = line_has_token, out->in_word = in_word;                                              \
            if (add_other(out, entry) < 0)                                                                             \
                return -1;                                                                                             \
            buf = out->buf, n = out->n, capacity = out->capacity, tokens = out->tokens, written = out->written;        \
            line_has_token = out->line_has_token, in_word = out->in_word;                                              \
        }                                                                                                              \
        out->n = n, out->tokens = tokens, out->written = written;                                                      \
        out->line_has_token = line_has_token, out->in_word = in_word;                                                  \
    } while (0)

static int add_text(Prepared *out, PyObject *text) {
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        ADD_ALL(Py_UCS1);
        break;
    case PyUnicode_2BYTE_KIND:
        ADD_ALL(Py_UCS2);
        break;
    default:
        ADD_ALL(Py_UCS4);
    }
    return 0;
}

/* The prepared text: one string, or (``lines`` a new list) the lines that have tokens. */
static PyObject *prepare(PyObject *args, PyObject *lines) {
    PyObject *text, *result = NULL;
    Py_buffer table, expansions;
    if (!PyArg_ParseTuple(args, "Uy*y*", &text, &table, &expansions)) {
        Py_XDECREF(lines);
        return NULL;
    }
    Prepared out = {table.buf, expansions.buf, expansions.len / sizeof(uint32_t), NULL, 0, 0, 0, 0, 0, 0, lines};
    if (table.len != (Py_ssize_t)sizeof(uint32_t) * CODE_POINTS || expansions.len % sizeof(uint32_t) != 0) {
        PyErr_SetString(PyExc_ValueError, "table must have one uint32 per code point, expansions whole uint32s");
        goto done;
    }
    if (PyUnicode_READY(text) < 0)
        goto done;
    /* a string at once: room for the text mapped one to one; lines: room for a long line */
    if (reserve(&out, lines == NULL ? PyUnicode_GET_LENGTH(text) + 1 : 512) < 0 || add_text(&out, text) < 0)
        goto done;
    if (lines == NULL)
        result = as_string(&out);
    else if (end_line(&out) == 0)
        result = Py_BuildValue("(On)", lines, out.tokens);
done:
    Py_XDECREF(lines);
    PyMem_Free(out.buf);
    PyBuffer_Release(&table);
    PyBuffer_Release(&expansions);
    return result;
}

static PyObject *joined_tokens(PyObject *self, PyObject *args) { return prepare(args, NULL); }

static PyObject *token_lines(PyObject *self, PyObject *args) {
    PyObject *lines = PyList_New(0);
    return lines == NULL ? NULL : prepare(args, lines);
}

static PyMethodDef methods[] = {
    {"joined_tokens", joined_tokens, METH_VARARGS, "Every line's tokens, characters mapped, joined by single spaces."},
    {"token_lines", token_lines, METH_VARARGS, "The lines with tokens (characters mapped, tokens joined by spaces) and the number of tokens."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tokens", NULL, -1, methods};

PyMODINIT_FUNC PyInit__tokens(void) { return PyModule_Create(&module); }
