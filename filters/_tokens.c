/* Token joining for the model stages' text preparation (filters/tokens.py says what and why).
 *
 * joined_tokens(text, kinds) -> str
 *
 * ``kinds`` has one byte per code point (0x110000): 0 = part of a word, 1 = separator,
 * 2 = a token on its own, 3 = line break. The result is every line's tokens joined by single
 * spaces, lines joined by "\n": the same string as
 * "\n".join(" ".join(tokens(line)) for line in text.split("\n")) in Python, in one pass.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

enum { WORD = 0, SEPARATOR = 1, ISOLATED = 2, LINE_BREAK = 3 };

static PyObject *joined_tokens(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_buffer kinds;
    if (!PyArg_ParseTuple(args, "Uy*", &text, &kinds))
        return NULL;
    if (kinds.len != 0x110000) {
        PyBuffer_Release(&kinds);
        PyErr_SetString(PyExc_ValueError, "kinds must have one byte per code point (0x110000)");
        return NULL;
    }
    if (PyUnicode_READY(text) < 0) {
        PyBuffer_Release(&kinds);
        return NULL;
    }
    const unsigned char *kind_of = kinds.buf;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    /* each character adds at most itself and one space before it */
    Py_UCS4 *out = PyMem_Malloc(sizeof(Py_UCS4) * (2 * length + 1));
    if (out == NULL) {
        PyBuffer_Release(&kinds);
        return PyErr_NoMemory();
    }
    Py_ssize_t n = 0;
    int line_has_token = 0, in_word = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        switch (kind_of[c]) {
        case WORD:
            if (line_has_token && !in_word)
                out[n++] = ' ';
            out[n++] = c;
            in_word = line_has_token = 1;
            break;
        case ISOLATED:
            if (line_has_token)
                out[n++] = ' ';
            out[n++] = c;
            line_has_token = 1;
            in_word = 0;
            break;
        case LINE_BREAK:
            out[n++] = '\n';
            line_has_token = in_word = 0;
            break;
        default: /* SEPARATOR */
            in_word = 0;
        }
    }
    PyBuffer_Release(&kinds);
    PyObject *result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, n);
    PyMem_Free(out);
    return result;
}

static PyMethodDef methods[] = {
    {"joined_tokens", joined_tokens, METH_VARARGS, "Every line's tokens joined by single spaces."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tokens", NULL, -1, methods};

PyMODINIT_FUNC PyInit__tokens(void) { return PyModule_Create(&module); }
