/* Token ids and token n-gram repetition of one document for the Gopher rules, in one pass per size
 * (filters/text_units.py, TokenVocabulary and TokenNgrams, says why).
 *
 * token_ids(tokens) -> (distinct, ids)
 *
 * ``tokens``: a list of str; ``distinct``: the different tokens in order of first use; ``ids``: bytes,
 * one native int64 per token, its index in ``distinct``.
 *
 * ngram_stats(token_ids, cumulative, n) -> (top_count, top_chars, repeated_chars)
 *
 * ``token_ids``: one native int64 per token, equal ids for equal tokens; ``cumulative``: native int64,
 * one more than the tokens, ``cumulative[i]`` the characters of the first i tokens. Of the n-grams
 * (n >= 1): ``top_count`` is how often the most frequent one occurs and ``top_chars`` the characters
 * of its tokens (of equally frequent ones, the one seen first); ``repeated_chars`` is datatrove's
 * scan: the positions in order, an n-gram equal to one the scan stopped at before adds its
 * characters and the scan jumps n tokens, else it is remembered and the scan moves one token.
 * With fewer than n tokens there are no n-grams: (0, 0, 0).
 *
 * N-grams are told apart exactly: a hash finds the slot, the tokens themselves are compared.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static uint64_t ngram_hash(const int64_t *ids, Py_ssize_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (Py_ssize_t k = 0; k < n; k++) {
        h = (h ^ (uint64_t)ids[k]) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    return h;
}

typedef struct {
    Py_ssize_t size;         /* slots, a power of two at least twice the n-grams */
    Py_ssize_t *first;       /* slot -> first position of its n-gram + 1 (0: empty) */
    Py_ssize_t *occurrences; /* slot -> how often its n-gram occurs */
    uint64_t *hashes;        /* slot -> its n-gram's hash */
    char *seen;              /* slot -> the scan has remembered its n-gram */
    Py_ssize_t *slot_of;     /* position -> slot of the n-gram starting there */
} Table;

static void free_table(Table *t) {
    PyMem_Free(t->first);
    PyMem_Free(t->occurrences);
    PyMem_Free(t->hashes);
    PyMem_Free(t->seen);
    PyMem_Free(t->slot_of);
}

static int alloc_table(Table *t, Py_ssize_t ngrams) {
    t->size = 16;
    while (t->size < 2 * ngrams) t->size <<= 1;
    t->first = PyMem_Calloc(t->size, sizeof(Py_ssize_t));
    t->occurrences = PyMem_Calloc(t->size, sizeof(Py_ssize_t));
    t->hashes = PyMem_Malloc(t->size * sizeof(uint64_t));
    t->seen = PyMem_Calloc(t->size, 1);
    t->slot_of = PyMem_Malloc(ngrams * sizeof(Py_ssize_t));
    if (!t->first || !t->occurrences || !t->hashes || !t->seen || !t->slot_of) {
        free_table(t);
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* Each position's slot: n-grams with the same tokens share one, which counts them. */
static void count_ngrams(Table *t, const int64_t *ids, Py_ssize_t ngrams, Py_ssize_t n) {
    Py_ssize_t mask = t->size - 1;
    for (Py_ssize_t p = 0; p < ngrams; p++) {
        uint64_t h = ngram_hash(ids + p, n);
        Py_ssize_t s = (Py_ssize_t)(h & (uint64_t)mask);
        while (t->first[s]) {
            if (t->hashes[s] == h && memcmp(ids + t->first[s] - 1, ids + p, n * sizeof(int64_t)) == 0) break;
            s = (s + 1) & mask;
        }
        if (!t->first[s]) {
            t->first[s] = p + 1;
            t->hashes[s] = h;
        }
        t->occurrences[s]++;
        t->slot_of[p] = s;
    }
}

static PyObject *ngram_stats(PyObject *self, PyObject *args) {
    Py_buffer ids_buffer, cumulative_buffer;
    Py_ssize_t n;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*y*n", &ids_buffer, &cumulative_buffer, &n)) return NULL;
    Py_ssize_t tokens = ids_buffer.len / (Py_ssize_t)sizeof(int64_t);
    if (ids_buffer.len % (Py_ssize_t)sizeof(int64_t) || cumulative_buffer.len != (tokens + 1) * (Py_ssize_t)sizeof(int64_t) || n < 1) {
        PyErr_SetString(PyExc_ValueError, "ngram_stats: int64 token ids, int64 cumulative characters (one more), n >= 1");
        goto done;
    }
    if (n > tokens) {
        result = Py_BuildValue("(nLL)", (Py_ssize_t)0, 0LL, 0LL);
        goto done;
    }
    const int64_t *ids = ids_buffer.buf, *cumulative = cumulative_buffer.buf;
    Py_ssize_t ngrams = tokens - n + 1;
    Table t;
    if (alloc_table(&t, ngrams) < 0) goto done;
    count_ngrams(&t, ids, ngrams, n);
    Py_ssize_t top_count = 0, top_position = 0, next_start = 0;
    long long repeated = 0;
    for (Py_ssize_t p = 0; p < ngrams; p++) {
        Py_ssize_t s = t.slot_of[p];
        if (t.first[s] == p + 1 && t.occurrences[s] > top_count) {
            top_count = t.occurrences[s];
            top_position = p;
        }
        if (p < next_start) continue;
        if (t.seen[s]) {
            repeated += cumulative[p + n] - cumulative[p];
            next_start = p + n;
        } else {
            t.seen[s] = 1;
        }
    }
    free_table(&t);
    result = Py_BuildValue("(nLL)", top_count, (long long)(cumulative[top_position + n] - cumulative[top_position]), repeated);
done:
    PyBuffer_Release(&ids_buffer);
    PyBuffer_Release(&cumulative_buffer);
    return result;
}

static PyObject *token_ids(PyObject *self, PyObject *tokens) {
    if (!PyList_Check(tokens)) {
        PyErr_SetString(PyExc_TypeError, "token_ids needs a list of tokens");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(tokens);
    PyObject *index = PyDict_New(), *distinct = PyList_New(0);
    PyObject *ids = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t));
    if (!index || !distinct || !ids)
        goto fail;
    int64_t *out = (int64_t *)PyBytes_AS_STRING(ids);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *token = PyList_GET_ITEM(tokens, i);
        PyObject *known = PyDict_GetItemWithError(index, token); /* borrowed */
        if (known) {
            out[i] = PyLong_AsLongLong(known);
            continue;
        }
        if (PyErr_Occurred())
            goto fail;
        Py_ssize_t next = PyList_GET_SIZE(distinct);
        PyObject *number = PyLong_FromSsize_t(next);
        int failed = !number || PyDict_SetItem(index, token, number) < 0 || PyList_Append(distinct, token) < 0;
        Py_XDECREF(number);
        if (failed)
            goto fail;
        out[i] = next;
    }
    Py_DECREF(index);
    return Py_BuildValue("(NN)", distinct, ids);
fail:
    Py_XDECREF(index);
    Py_XDECREF(distinct);
    Py_XDECREF(ids);
    return NULL;
}

static PyMethodDef methods[] = {
    {"token_ids", token_ids, METH_O, "(the distinct tokens in order of first use, each token's index as int64 bytes)."},
    {"ngram_stats", ngram_stats, METH_VARARGS, "(top n-gram count, its characters, datatrove's repeated characters)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ngrams", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ngrams(void) { return PyModule_Create(&module); }
