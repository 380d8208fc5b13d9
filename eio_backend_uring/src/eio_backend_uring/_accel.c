/* The compiled accelerator of the io_uring backend: `RingCore` in C.
 *
 * `_ring_core.py` is the reference implementation; this file implements the
 * same class (same attribute names, methods, results and exceptions) with
 * the per-operation work done without the interpreter: filling an SQE is a
 * few stores instead of a `struct.pack_into` with 16 arguments, a buffer's
 * address comes from the buffer protocol, `io_uring_enter` is a direct
 * system call (the interpreter lock is released only when it may block),
 * and completions are read from shared memory and delivered to their fibers
 * in one loop. Unlike the pure-Python path it orders its accesses to the
 * shared counters with acquire/release atomics instead of relying on
 * x86-64's ordering of plain loads and stores.
 *
 * Uncommon cases call the same Python helpers as the reference (pinning of
 * buffers other than bytes/bytearray/memoryview, `span`), so
 * their behaviour has one definition. Arguments that do not fit an SQE field
 * raise `struct.error`, as `struct.pack_into` does in the reference.
 *
 * The module is optional: the package builds without it when no compiler is
 * present, and `EIO_PURE_PYTHON=1` keeps it unused.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_INT T_INT
#define Py_T_UINT T_UINT
#define Py_T_BOOL T_BOOL
#define Py_T_PYSSIZET T_PYSSIZET
#define Py_T_OBJECT_EX T_OBJECT_EX
#define Py_READONLY READONLY
#endif

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif

/* The values of _abi.py; tests/test_accel compares them through CONSTANTS. */
#define OP_ASYNC_CANCEL 14
#define OP_POLL_ADD 6
#define OP_READ 22
#define OP_WRITE 23
#define OP_RECV 27
#define ENTER_GETEVENTS 1u
#define ENTER_EXT_ARG 8u
#define FEAT_EXT_ARG (1u << 8)
#define SQ_NEEDS_ENTER ((1u << 1) | (1u << 2))
#define CQE_F_MORE (1u << 1)
#define POLL_ADD_MULTI 1u
#define RECVSEND_POLL_FIRST 1u
#define MAX_RW 0x7FFFF000LL

struct sqe {
    uint8_t opcode;
    uint8_t flags;
    uint16_t ioprio;
    int32_t fd;
    uint64_t off;
    uint64_t addr;
    uint32_t len;
    uint32_t op_flags;
    uint64_t user_data;
    uint16_t buf_index;
    uint16_t personality;
    int32_t splice_fd_in;
    uint64_t addr3;
    uint64_t pad;
};
_Static_assert(sizeof(struct sqe) == 64, "io_uring_sqe is 64 bytes");

struct cqe {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
};
_Static_assert(sizeof(struct cqe) == 16, "io_uring_cqe is 16 bytes");

struct getevents_arg {
    uint64_t sigmask;
    uint32_t sigmask_sz;
    uint32_t pad;
    uint64_t ts;
};

struct kernel_timespec {
    int64_t tv_sec;
    long long tv_nsec;
};

/* Python objects looked up once, at import. */
static PyObject *struct_error;   /* struct.error */
static PyObject *pin_readable;   /* _pin.pin_readable */
static PyObject *pin_writable;   /* _pin.pin_writable */
static PyObject *span_fn;        /* _pin.span */
static PyObject *str_cancel_fn;  /* "cancel_fn" */
static PyObject *str_value;      /* "value" */
static PyObject *py_zero;        /* 0 */
static PyObject *py_minus_one;   /* -1 */

typedef struct {
    PyObject_HEAD
    /* Attributes shared with Python code (see the member table). */
    int fd;
    unsigned int features;
    unsigned int sq_entries;
    char events_always;
    unsigned int sq_tail;
    unsigned int sq_limit;
    unsigned int sq_mask;
    unsigned int cq_head;
    unsigned int cq_mask;
    Py_ssize_t sq_head_i, sq_tail_i, sq_flags_i, cq_head_i, cq_tail_i, cqes_at;
    PyObject *sq_u32, *cq_u32, *cq_bytes, *sqes_view, *inflight, *backlog;
    /* Raw pointers into the mappings, valid between _attach and _detach. */
    uint32_t *p_sq_head, *p_sq_tail, *p_sq_flags, *p_cq_head, *p_cq_tail;
    struct cqe *p_cqes;
    struct sqe *p_sqes;
} RingCore;

/* ------------------------------------------------------------ arguments */

static int
range_error(void)
{
    PyErr_SetString(struct_error, "argument out of range");
    return -1;
}

static PyObject *
range_error_obj(void)
{
    range_error();
    return NULL;
}

static int
as_i64(PyObject *o, long long lo, long long hi, long long *out)
{
    if (!PyLong_Check(o)) {
        PyErr_SetString(struct_error, "required argument is not an integer");
        return -1;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < lo || v > hi)
        return range_error();
    *out = v;
    return 0;
}

static int
as_u64(PyObject *o, uint64_t *out)
{
    if (!PyLong_Check(o)) {
        PyErr_SetString(struct_error, "required argument is not an integer");
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            return range_error();
        }
        return -1;
    }
    *out = v;
    return 0;
}

/* ------------------------------------------------------------ the rings */

static int
check_attached(RingCore *self)
{
    if (self->p_sqes == NULL) {
        PyErr_SetString(PyExc_ValueError, "the ring is closed");
        return -1;
    }
    return 0;
}

static inline uint32_t
load_acquire(uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void
store_release(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static PyObject *submit(RingCore *self, long wait_nr, PyObject *timeout);
static PyObject *enter_error(const char *call, int err);

/* The SQ is full: hand it to the kernel so that slots free up. */
static int
make_room(RingCore *self)
{
    for (int attempt = 0; attempt < 64; attempt++) {
        PyObject *r = submit(self, 0, Py_None);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
        if (self->sq_tail != self->sq_limit)
            return 0;
    }
    enter_error("io_uring_enter (submission queue full, kernel accepts nothing)", EBUSY);
    return -1;
}

static PyObject *
RingCore_make_room(RingCore *self, PyObject *Py_UNUSED(ignored))
{
    if (make_room(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* The next free SQE, flushing a full SQ first. */
static struct sqe *
next_sqe(RingCore *self)
{
    if (self->sq_tail == self->sq_limit && make_room(self) < 0)
        return NULL;
    return &self->p_sqes[self->sq_tail & self->sq_mask];
}

/* Fill the next SQE (all 64 bytes), commit it and record what it pins. */
static int
push(RingCore *self, PyObject *user_data_obj, uint64_t user_data, PyObject *anchor, uint8_t opcode, uint16_t ioprio,
     int32_t fd, uint64_t off, uint64_t addr, uint32_t len, uint32_t op_flags, int32_t splice_fd_in, uint64_t addr3)
{
    struct sqe *e = next_sqe(self);
    if (e == NULL)
        return -1;
    /* Recorded first: if the dict can't grow, nothing was queued. */
    if (PyDict_SetItem(self->inflight, user_data_obj, anchor) < 0)
        return -1;
    e->opcode = opcode;
    e->flags = 0;
    e->ioprio = ioprio;
    e->fd = fd;
    e->off = off;
    e->addr = addr;
    e->len = len;
    e->op_flags = op_flags;
    e->user_data = user_data;
    e->buf_index = 0;
    e->personality = 0;
    e->splice_fd_in = splice_fd_in;
    e->addr3 = addr3;
    e->pad = 0;
    self->sq_tail = self->sq_tail + 1;
    return 0;
}

static int
refuse_in_flight(RingCore *self, PyObject *user_data_obj)
{
    int known = PyDict_Contains(self->inflight, user_data_obj);
    if (known < 0)
        return -1;
    if (known) {
        PyErr_Format(PyExc_ValueError, "user_data %S is already in flight", user_data_obj);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------- buffers */

/* (address, nbytes, anchor) from a Python pin helper's tuple; steals `t`. */
static int
unpack_pin(PyObject *t, uint64_t *address, long long *nbytes, PyObject **anchor)
{
    if (t == NULL)
        return -1;
    PyObject *a, *n, *k;
    if (!PyArg_ParseTuple(t, "OOO", &a, &n, &k)) {
        Py_DECREF(t);
        return -1;
    }
    if (as_u64(a, address) < 0 || as_i64(n, 0, LLONG_MAX, nbytes) < 0) {
        Py_DECREF(t);
        return -1;
    }
    *anchor = Py_NewRef(k);
    Py_DECREF(t);
    return 0;
}

/* A writable buffer's address: a memoryview of our own over a bytearray or memoryview, else `pin_writable`. */
static int
writable(PyObject *buf, uint64_t *address, long long *nbytes, PyObject **anchor)
{
    if (PyByteArray_CheckExact(buf) || PyMemoryView_Check(buf) /* memoryview has no subclasses */) {
        PyObject *view = PyMemoryView_FromObject(buf);
        if (view == NULL)
            return -1;
        Py_buffer *b = PyMemoryView_GET_BUFFER(view);
        if (!b->readonly && b->len && PyBuffer_IsContiguous(b, 'C')) {
            *address = (uint64_t)(uintptr_t)b->buf;
            *nbytes = b->len;
            *anchor = view; /* its export keeps a bytearray from being resized */
            return 0;
        }
        Py_DECREF(view);
    }
    return unpack_pin(PyObject_CallOneArg(pin_writable, buf), address, nbytes, anchor);
}

static int
readable(PyObject *buf, uint64_t *address, long long *nbytes, PyObject **anchor)
{
    if (PyBytes_CheckExact(buf)) {
        *address = (uint64_t)(uintptr_t)PyBytes_AS_STRING(buf);
        *nbytes = PyBytes_GET_SIZE(buf);
        *anchor = Py_NewRef(buf);
        return 0;
    }
    return unpack_pin(PyObject_CallOneArg(pin_readable, buf), address, nbytes, anchor);
}

/* Narrow to [start, start + length) through `span` (the reference's bounds checks and messages). */
static int
narrow(PyObject *start, PyObject *length, uint64_t *address, long long *nbytes)
{
    PyObject *t = PyObject_CallFunction(span_fn, "KLOO", (unsigned long long)*address, *nbytes, start, length);
    if (t == NULL)
        return -1;
    PyObject *a, *n;
    int ok = PyArg_ParseTuple(t, "OO", &a, &n) && as_u64(a, address) == 0 && as_i64(n, 0, LLONG_MAX, nbytes) == 0;
    Py_DECREF(t);
    return ok ? 0 : -1;
}

static int
wants_span(PyObject *start, PyObject *length, int *wanted)
{
    /* `if start or length >= 0`, as in the reference. */
    int truth = PyObject_IsTrue(start);
    if (truth < 0)
        return -1;
    if (truth) {
        *wanted = 1;
        return 0;
    }
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL)
        return -1;
    int ge = PyObject_RichCompareBool(length, zero, Py_GE);
    Py_DECREF(zero);
    if (ge < 0)
        return -1;
    *wanted = ge;
    return 0;
}

/* ------------------------------------------------------------ prep_* */

/* prep_read / prep_write / prep_recv share this: pin, narrow, clamp, fill. */
static PyObject *
prep_buffer_op(RingCore *self, PyObject *user_data_obj, PyObject *fd_obj, PyObject *buf, int is_write, uint8_t opcode,
               PyObject *off_obj, PyObject *op_flags_obj, PyObject *start, PyObject *length, uint16_t ioprio)
{
    if (refuse_in_flight(self, user_data_obj) < 0)
        return NULL;
    uint64_t address;
    long long nbytes;
    PyObject *anchor;
    if ((is_write ? readable : writable)(buf, &address, &nbytes, &anchor) < 0)
        return NULL;
    if (start != NULL) {
        int wanted = 0;
        if (wants_span(start, length, &wanted) < 0 || (wanted && narrow(start, length, &address, &nbytes) < 0))
            goto fail;
    }
    if (nbytes > MAX_RW)
        nbytes = MAX_RW;
    uint64_t user_data;
    long long fd, off = 0, op_flags = 0;
    if (check_attached(self) < 0 || as_i64(fd_obj, INT32_MIN, INT32_MAX, &fd) < 0 || as_u64(user_data_obj, &user_data) < 0)
        goto fail;
    if (off_obj != NULL && as_i64(off_obj, LLONG_MIN, LLONG_MAX, &off) < 0)
        goto fail;
    if (op_flags_obj != NULL && as_i64(op_flags_obj, 0, UINT32_MAX, &op_flags) < 0)
        goto fail;
    if (push(self, user_data_obj, user_data, anchor, opcode, ioprio, (int32_t)fd, (uint64_t)off, address, (uint32_t)nbytes,
             (uint32_t)op_flags, 0, 0) < 0)
        goto fail;
    Py_DECREF(anchor);
    Py_RETURN_NONE;
fail:
    Py_DECREF(anchor);
    return NULL;
}

/* prep_read and prep_write: the same arguments, the same checks. */
static PyObject *
prep_read_or_write(RingCore *self, PyObject *args, PyObject *kwargs, int is_write)
{
    static char *kwlist[] = {"user_data", "fd", "buf", "offset", "start", "length", NULL};
    PyObject *ud, *fd, *buf, *offset = py_minus_one, *start = py_zero, *length = py_minus_one;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, is_write ? "OOO|O$OO:prep_write" : "OOO|O$OO:prep_read", kwlist, &ud, &fd,
                                     &buf, &offset, &start, &length))
        return NULL;
    return prep_buffer_op(self, ud, fd, buf, is_write, is_write ? OP_WRITE : OP_READ, offset, NULL, start, length, 0);
}

static PyObject *
RingCore_prep_read(RingCore *self, PyObject *args, PyObject *kwargs)
{
    return prep_read_or_write(self, args, kwargs, 0);
}

static PyObject *
RingCore_prep_write(RingCore *self, PyObject *args, PyObject *kwargs)
{
    return prep_read_or_write(self, args, kwargs, 1);
}

static PyObject *
RingCore_prep_recv(RingCore *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"user_data", "fd", "buf", "flags", "start", "length", "poll_first", NULL};
    PyObject *ud, *fd, *buf, *flags = py_zero, *start = py_zero, *length = py_minus_one;
    int poll_first = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|O$OOp:prep_recv", kwlist, &ud, &fd, &buf, &flags, &start, &length,
                                     &poll_first))
        return NULL;
    return prep_buffer_op(self, ud, fd, buf, 0, OP_RECV, NULL, flags, start, length, poll_first ? RECVSEND_POLL_FIRST : 0);
}

static PyObject *
RingCore_prep_recv_into(RingCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "prep_recv_into() takes exactly 4 positional arguments (%zd given)", nargs);
        return NULL;
    }
    int poll_first = PyObject_IsTrue(args[3]);
    if (poll_first < 0)
        return NULL;
    return prep_buffer_op(self, args[0], args[1], args[2], 0, OP_RECV, NULL, NULL, NULL, NULL,
                          poll_first ? RECVSEND_POLL_FIRST : 0);
}

static PyObject *
RingCore_push(RingCore *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"user_data", "anchor", "opcode", "fd", "off", "addr", "length", "op_flags",
                             "ioprio", "splice_fd_in", "addr3", NULL};
    PyObject *ud_obj, *anchor, *opcode_o, *fd_o, *off_o, *addr_o, *len_o, *flags_o;
    PyObject *ioprio_o = NULL, *splice_o = NULL, *addr3_o = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOOO|OOO:_push", kwlist, &ud_obj, &anchor, &opcode_o, &fd_o, &off_o,
                                     &addr_o, &len_o, &flags_o, &ioprio_o, &splice_o, &addr3_o))
        return NULL;
    if (refuse_in_flight(self, ud_obj) < 0)
        return NULL;
    long long opcode, fd, off, len, op_flags, ioprio = 0, splice = 0;
    uint64_t addr, user_data, addr3 = 0;
    if (as_i64(opcode_o, 0, 255, &opcode) < 0 || as_i64(fd_o, INT32_MIN, INT32_MAX, &fd) < 0 ||
        as_i64(off_o, LLONG_MIN, LLONG_MAX, &off) < 0 || as_u64(addr_o, &addr) < 0 || as_i64(len_o, 0, UINT32_MAX, &len) < 0 ||
        as_i64(flags_o, 0, UINT32_MAX, &op_flags) < 0 || as_u64(ud_obj, &user_data) < 0)
        return NULL;
    if (ioprio_o != NULL && as_i64(ioprio_o, 0, UINT16_MAX, &ioprio) < 0)
        return NULL;
    if (splice_o != NULL && as_i64(splice_o, INT32_MIN, INT32_MAX, &splice) < 0)
        return NULL;
    if (addr3_o != NULL && as_u64(addr3_o, &addr3) < 0)
        return NULL;
    if (check_attached(self) < 0)
        return NULL;
    if (push(self, ud_obj, user_data, anchor, (uint8_t)opcode, (uint16_t)ioprio, (int32_t)fd, (uint64_t)off, addr,
             (uint32_t)len, (uint32_t)op_flags, (int32_t)splice, addr3) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
RingCore_prep_async_cancel(RingCore *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"user_data", "target", "flags", "fd", NULL};
    PyObject *ud_obj, *target_o, *flags_o = NULL, *fd_o = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|$OO:prep_async_cancel", kwlist, &ud_obj, &target_o, &flags_o, &fd_o))
        return NULL;
    long long flags = 0, fd = -1;
    if (flags_o != NULL && as_i64(flags_o, 0, UINT32_MAX, &flags) < 0)
        return NULL;
    if (fd_o != NULL && as_i64(fd_o, INT32_MIN, INT32_MAX, &fd) < 0)
        return NULL;
    int same = PyObject_RichCompareBool(ud_obj, target_o, Py_EQ);
    if (same < 0)
        return NULL;
    if (same && !(flags & ((1 << 1) | (1 << 2)))) { /* IORING_ASYNC_CANCEL_FD | _ANY */
        PyErr_SetString(PyExc_ValueError, "a cancel needs a user_data of its own, distinct from its target's");
        return NULL;
    }
    if (refuse_in_flight(self, ud_obj) < 0)
        return NULL;
    uint64_t user_data, target;
    if (as_u64(ud_obj, &user_data) < 0 || as_u64(target_o, &target) < 0 || check_attached(self) < 0)
        return NULL;
    if (push(self, ud_obj, user_data, Py_None, OP_ASYNC_CANCEL, 0, (int32_t)fd, 0, target, 0, (uint32_t)flags, 0, 0) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
RingCore_prep_poll_add(RingCore *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"user_data", "fd", "events", "multishot", NULL};
    PyObject *ud_obj, *fd_o, *events_o;
    int multishot = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|$p:prep_poll_add", kwlist, &ud_obj, &fd_o, &events_o, &multishot))
        return NULL;
    if (refuse_in_flight(self, ud_obj) < 0)
        return NULL;
    long long fd, events;
    uint64_t user_data;
    if (as_i64(fd_o, INT32_MIN, INT32_MAX, &fd) < 0 || as_i64(events_o, 0, UINT32_MAX, &events) < 0 ||
        as_u64(ud_obj, &user_data) < 0 || check_attached(self) < 0)
        return NULL;
    /* poll32_events sits in op_flags; the multishot flag in len. */
    if (push(self, ud_obj, user_data, Py_None, OP_POLL_ADD, 0, (int32_t)fd, 0, 0, multishot ? POLL_ADD_MULTI : 0,
             (uint32_t)events, 0, 0) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------ entering */

static PyObject *
enter_error(const char *call, int err)
{
    PyObject *msg = PyUnicode_FromFormat("%s failed: %s", call, strerror(err));
    if (msg == NULL)
        return NULL;
    PyObject *exc_args = Py_BuildValue("(iN)", err, msg);
    if (exc_args == NULL)
        return NULL;
    PyErr_SetObject(PyExc_OSError, exc_args);
    Py_DECREF(exc_args);
    return NULL;
}

static Py_ssize_t take_cqes(RingCore *self, PyObject *into);

static PyObject *
submit(RingCore *self, long wait_nr, PyObject *timeout)
{
    if (self->fd < 0) {
        PyErr_SetString(PyExc_ValueError, "the ring is closed");
        return NULL;
    }
    if (check_attached(self) < 0)
        return NULL;
    uint32_t tail = self->sq_tail;
    /* Publish the SQEs written so far: the release orders their bytes before the tail. */
    store_release(self->p_sq_tail, tail);
    uint32_t to_submit = tail - load_acquire(self->p_sq_head);
    unsigned int flags;
    if (wait_nr > 0 || self->events_always || (__atomic_load_n(self->p_sq_flags, __ATOMIC_RELAXED) & SQ_NEEDS_ENTER))
        flags = ENTER_GETEVENTS;
    else if (to_submit)
        flags = 0;
    else
        return PyLong_FromLong(0);
    double seconds = 0.0;
    int timed = 0;
    if (timeout != Py_None) {
        seconds = PyFloat_AsDouble(timeout);
        if (seconds == -1.0 && PyErr_Occurred())
            return NULL;
        timed = 1;
    }
    if (wait_nr < 0 || PyList_GET_SIZE(self->backlog) || (timed && seconds <= 0))
        wait_nr = 0;
    for (;;) {
        long ret;
        int err;
        if (wait_nr > 0 && timed) {
            if (!(self->features & FEAT_EXT_ARG))
                return enter_error("io_uring_enter (timed wait without IORING_FEAT_EXT_ARG)", ENOTSUP);
            if (isnan(seconds)) { /* as int(timeout) in the reference */
                PyErr_SetString(PyExc_ValueError, "cannot convert float NaN to integer");
                return NULL;
            }
            if (seconds >= 9.2e18) /* past a timespec's seconds, as struct.pack_into in the reference */
                return range_error_obj();
            struct kernel_timespec ts;
            /* int(timeout) and int((timeout - whole) * 1e9), as in the reference. */
            double whole = (double)(long long)seconds;
            ts.tv_sec = (int64_t)whole;
            ts.tv_nsec = (long long)((seconds - whole) * 1e9);
            struct getevents_arg arg = {0, 0, 0, (uint64_t)(uintptr_t)&ts};
            Py_BEGIN_ALLOW_THREADS
            ret = syscall(__NR_io_uring_enter, self->fd, to_submit, (unsigned int)wait_nr, flags | ENTER_EXT_ARG, &arg,
                          sizeof(arg));
            err = errno;
            Py_END_ALLOW_THREADS
        } else if (wait_nr > 0) {
            Py_BEGIN_ALLOW_THREADS
            ret = syscall(__NR_io_uring_enter, self->fd, to_submit, (unsigned int)wait_nr, flags, NULL, (size_t)0);
            err = errno;
            Py_END_ALLOW_THREADS
        } else {
            /* Never blocks: keep the interpreter lock. */
            ret = syscall(__NR_io_uring_enter, self->fd, to_submit, 0u, flags, NULL, (size_t)0);
            err = errno;
        }
        self->sq_limit = load_acquire(self->p_sq_head) + self->sq_entries;
        if (ret >= 0)
            return PyLong_FromLong(ret);
        if (err == ETIME || err == EINTR)
            return PyLong_FromLong(0);
        if (err == EBUSY) {
            /* The CQ is full with completions overflowing: move some to the backlog, then retry. */
            Py_ssize_t moved = take_cqes(self, self->backlog);
            if (moved < 0)
                return NULL;
            if (moved == 0) {
                Py_BEGIN_ALLOW_THREADS
                usleep(1000);
                Py_END_ALLOW_THREADS
            }
            flags |= ENTER_GETEVENTS;
            wait_nr = 0;
            to_submit = tail - load_acquire(self->p_sq_head);
            continue;
        }
        return enter_error("io_uring_enter", err);
    }
}

static PyObject *
RingCore_submit_and_wait(RingCore *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"wait_nr", "timeout", NULL};
    long wait_nr = 0;
    PyObject *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|lO:submit_and_wait", kwlist, &wait_nr, &timeout))
        return NULL;
    return submit(self, wait_nr, timeout);
}

/* Submit if the reference would (queued SQEs, or the kernel asks for an enter). */
static int
flush_nowait(RingCore *self)
{
    if (check_attached(self) < 0)
        return -1;
    if ((uint32_t)(self->sq_tail - load_acquire(self->p_sq_head)) || self->events_always ||
        (__atomic_load_n(self->p_sq_flags, __ATOMIC_RELAXED) & SQ_NEEDS_ENTER)) {
        PyObject *r = submit(self, 0, Py_None);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
    }
    return 0;
}

static inline int
cq_ready(RingCore *self)
{
    return load_acquire(self->p_cq_tail) != self->cq_head;
}

/* ------------------------------------------------------------- reaping */

static PyObject *
completion_tuple(const struct cqe *c)
{
    return Py_BuildValue("(KiI)", (unsigned long long)c->user_data, (int)c->res, (unsigned int)c->flags);
}

/* Append every ready CQE to the list `into` as (user_data, res, flags); release their slots. */
static Py_ssize_t
take_cqes(RingCore *self, PyObject *into)
{
    uint32_t head = self->cq_head;
    uint32_t ready = load_acquire(self->p_cq_tail) - head;
    for (uint32_t i = 0; i < ready; i++) {
        PyObject *t = completion_tuple(&self->p_cqes[(head + i) & self->cq_mask]);
        if (t == NULL || PyList_Append(into, t) < 0) {
            Py_XDECREF(t);
            /* Nothing is released: the CQEs stay for next time; drop the partial copies. */
            Py_ssize_t n = PyList_GET_SIZE(into);
            PyList_SetSlice(into, n - (Py_ssize_t)i, n, NULL);
            return -1;
        }
        Py_DECREF(t);
    }
    self->cq_head = head + ready;
    store_release(self->p_cq_head, self->cq_head);
    return (Py_ssize_t)ready;
}

static PyObject *
RingCore_take_cqes(RingCore *self, PyObject *Py_UNUSED(ignored))
{
    if (check_attached(self) < 0)
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL || take_cqes(self, out) < 0) {
        Py_XDECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *
RingCore_drain_to_backlog(RingCore *self, PyObject *Py_UNUSED(ignored))
{
    if (check_attached(self) < 0)
        return NULL;
    Py_ssize_t n = take_cqes(self, self->backlog);
    return n < 0 ? NULL : PyLong_FromSsize_t(n);
}

/* Drop the pin of a completion's operation (not for intermediate multishot completions). */
static int
release_pin(RingCore *self, PyObject *user_data_obj, unsigned int flags)
{
    if (flags & CQE_F_MORE)
        return 0;
    if (PyDict_DelItem(self->inflight, user_data_obj) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_KeyError))
            return -1;
        PyErr_Clear();
    }
    return 0;
}

/* `out` was to hold the backlog and then the CQEs; taking the CQEs failed: give the backlog back. */
static void
restore_backlog(RingCore *self, PyObject *out)
{
    if (PyList_GET_SIZE(out) && !PyList_GET_SIZE(self->backlog))
        Py_SETREF(self->backlog, out);
    else
        Py_DECREF(out);
}

/* Every ready completion (backlog first) as a new list, pins released: `completions()`. */
/* The backlog, then every ready CQE, as one new list (the backlog is emptied). */
static PyObject *
take_all(RingCore *self)
{
    PyObject *out;
    if (PyList_GET_SIZE(self->backlog)) {
        out = self->backlog;
        PyObject *fresh = PyList_New(0);
        if (fresh == NULL)
            return NULL;
        self->backlog = fresh;
    } else {
        out = PyList_New(0);
        if (out == NULL)
            return NULL;
    }
    if (take_cqes(self, out) < 0) {
        restore_backlog(self, out);
        return NULL;
    }
    return out;
}

static PyObject *
completions(RingCore *self)
{
    PyObject *out = take_all(self);
    if (out == NULL)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(out, i);
        unsigned long flags = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(t, 2));
        if (flags == (unsigned long)-1 && PyErr_Occurred()) {
            Py_DECREF(out);
            return NULL;
        }
        if (release_pin(self, PyTuple_GET_ITEM(t, 0), (unsigned int)flags) < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

static PyObject *
RingCore_completions(RingCore *self, PyObject *Py_UNUSED(ignored))
{
    if (check_attached(self) < 0)
        return NULL;
    if (!cq_ready(self) && !PyList_GET_SIZE(self->backlog))
        return PyList_New(0);
    return completions(self);
}

static PyObject *
RingCore_submit_nowait(RingCore *self, PyObject *Py_UNUSED(ignored))
{
    if (flush_nowait(self) < 0)
        return NULL;
    if (cq_ready(self) || PyList_GET_SIZE(self->backlog))
        return completions(self);
    return PyList_New(0);
}

static PyObject *
RingCore_has_completions(RingCore *self, PyObject *Py_UNUSED(ignored))
{
    if (check_attached(self) < 0)
        return NULL;
    return PyBool_FromLong(cq_ready(self) || PyList_GET_SIZE(self->backlog));
}

static PyObject *
RingCore_requeue(RingCore *self, PyObject *completions_list)
{
    /* self._backlog[:0] = completions */
    if (PySequence_SetSlice(self->backlog, 0, 0, completions_list) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Put completions[i:] of `out` back at the front of the backlog, keeping the pending exception. */
static void
requeue_rest(RingCore *self, PyObject *out, Py_ssize_t i)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *rest = PyList_GetSlice(out, i, PyList_GET_SIZE(out));
    if (rest != NULL) {
        if (PyList_SetSlice(self->backlog, 0, 0, rest) < 0)
            PyErr_Clear();
        Py_DECREF(rest);
    } else {
        PyErr_Clear();
    }
    PyErr_Restore(type, value, tb);
}

static PyObject *
reap(RingCore *self, PyObject *callback)
{
    PyObject *out = take_all(self);
    if (out == NULL)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(out, i);
        unsigned long flags = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(t, 2));
        PyObject *r = NULL;
        if (!(flags == (unsigned long)-1 && PyErr_Occurred()) &&
            release_pin(self, PyTuple_GET_ITEM(t, 0), (unsigned int)flags) == 0)
            r = PyObject_Call(callback, t, NULL);
        if (r == NULL) {
            requeue_rest(self, out, i + 1);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(r);
    }
    Py_DECREF(out);
    return PyLong_FromSsize_t(n);
}

static PyObject *
RingCore_reap(RingCore *self, PyObject *callback)
{
    if (check_attached(self) < 0)
        return NULL;
    if (!cq_ready(self) && !PyList_GET_SIZE(self->backlog))
        return PyLong_FromLong(0);
    return reap(self, callback);
}

static PyObject *
RingCore_poll_nowait(RingCore *self, PyObject *callback)
{
    if (flush_nowait(self) < 0)
        return NULL;
    if (cq_ready(self) || PyList_GET_SIZE(self->backlog)) {
        PyObject *r = reap(self, callback);
        if (r == NULL)
            return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------- waking fibers */

typedef struct {
    PyObject *ops;       /* dict: user_data -> fiber */
    PyObject *fds;       /* dict: user_data -> fd */
    PyObject *ready;     /* callable taking a fiber */
    uint64_t first_op;   /* user_data below this without a fiber: the scheduler's own reads */
    PyObject *rearm;     /* list of those user_data, or NULL */
} WakeArgs;

/* Pop `key` from dict `d`; a new reference, or NULL with no error when absent. */
static PyObject *
dict_pop(PyObject *d, PyObject *key)
{
    PyObject *v = PyDict_GetItemWithError(d, key);
    if (v == NULL)
        return NULL;
    Py_INCREF(v);
    if (PyDict_DelItem(d, key) < 0) {
        Py_DECREF(v);
        return NULL;
    }
    return v;
}

/* One completion: wake its fiber (or note a scheduler read to re-arm). */
static int
wake_one(WakeArgs *w, PyObject *ud_obj, uint64_t user_data, PyObject *res_obj)
{
    PyObject *fiber = dict_pop(w->ops, ud_obj);
    if (fiber == NULL) {
        if (PyErr_Occurred())
            return -1;
        if (user_data < w->first_op) {
            if (w->rearm == NULL && (w->rearm = PyList_New(0)) == NULL)
                return -1;
            return PyList_Append(w->rearm, ud_obj);
        }
        return 0; /* a cancel's own completion: its target reports by itself */
    }
    int rc = -1;
    if (PyDict_GET_SIZE(w->fds)) {
        /* Done waiting on its descriptor: a close from now on doesn't concern it. */
        PyObject *fd = dict_pop(w->fds, ud_obj);
        if (fd == NULL && PyErr_Occurred())
            goto done;
        Py_XDECREF(fd);
    }
    if (PyObject_SetAttr(fiber, str_cancel_fn, Py_None) < 0 || PyObject_SetAttr(fiber, str_value, res_obj) < 0)
        goto done;
    PyObject *r = PyObject_CallOneArg(w->ready, fiber);
    if (r == NULL)
        goto done;
    Py_DECREF(r);
    rc = 0;
done:
    Py_DECREF(fiber);
    return rc;
}

static PyObject *
wake_result(WakeArgs *w)
{
    if (w->rearm == NULL)
        Py_RETURN_NONE;
    return w->rearm;
}

static PyObject *
wake_fibers(RingCore *self, WakeArgs *w)
{
    if (!cq_ready(self) && !PyList_GET_SIZE(self->backlog))
        Py_RETURN_NONE; /* the common case between fibers: nothing happened */
    if (PyList_GET_SIZE(self->backlog)) {
        /* Rare (the CQ overflowed, or a dispatch failed): the reference's way, over tuples. */
        PyObject *out = completions(self);
        if (out == NULL)
            return NULL;
        Py_ssize_t n = PyList_GET_SIZE(out);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *t = PyList_GET_ITEM(out, i);
            uint64_t ud;
            if (as_u64(PyTuple_GET_ITEM(t, 0), &ud) < 0 || wake_one(w, PyTuple_GET_ITEM(t, 0), ud, PyTuple_GET_ITEM(t, 1)) < 0) {
                requeue_rest(self, out, i + 1);
                Py_DECREF(out);
                Py_CLEAR(w->rearm);
                return NULL;
            }
        }
        Py_DECREF(out);
        return wake_result(w);
    }
    /* As the reference: take every ready completion first (a copy, then the slots are
       released and the pins dropped), then wake. Code called from `ready` may reap or wake
       again without seeing these twice; if waking raises, the rest go to the backlog. */
    uint32_t head = self->cq_head;
    uint32_t n = load_acquire(self->p_cq_tail) - head;
    struct cqe small_cqes[64];
    PyObject *small_uds[64];
    struct cqe *cqes = small_cqes;
    PyObject **uds = small_uds;
    if (n > 64) {
        cqes = PyMem_Malloc(n * sizeof(struct cqe));
        uds = PyMem_Malloc(n * sizeof(PyObject *));
        if (cqes == NULL || uds == NULL) {
            PyMem_Free(n > 64 ? cqes : NULL);
            PyMem_Free(n > 64 ? uds : NULL);
            return PyErr_NoMemory();
        }
    }
    uint32_t made = 0;
    for (; made < n; made++) {
        cqes[made] = self->p_cqes[(head + made) & self->cq_mask];
        if ((uds[made] = PyLong_FromUnsignedLongLong(cqes[made].user_data)) == NULL)
            break;
    }
    PyObject *result = NULL;
    if (made < n) /* out of memory: nothing consumed, the CQEs stay for next time */
        goto out;
    self->cq_head = head + n;
    store_release(self->p_cq_head, self->cq_head);
    uint32_t i = n; /* the first completion not delivered, if an error stops us */
    for (uint32_t k = 0; k < n; k++) {
        if (release_pin(self, uds[k], cqes[k].flags) < 0) {
            i = 0;
            break;
        }
    }
    for (uint32_t j = 0; i == n && j < n; j++) {
        PyObject *res_obj = PyLong_FromLong(cqes[j].res);
        int rc = res_obj == NULL ? -1 : wake_one(w, uds[j], cqes[j].user_data, res_obj);
        Py_XDECREF(res_obj);
        if (rc < 0) {
            i = j + 1; /* the failing one counts as delivered, as in the reference */
            break;
        }
    }
    if (PyErr_Occurred()) {
        /* Keep what was not delivered, first in line, and report the error. */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyObject *rest = PyList_New(0);
        for (uint32_t k = i; rest != NULL && k < n; k++) {
            PyObject *t = completion_tuple(&cqes[k]);
            if (t == NULL || PyList_Append(rest, t) < 0) {
                Py_XDECREF(t);
                Py_CLEAR(rest);
            } else {
                Py_DECREF(t);
            }
        }
        if (rest == NULL || PyList_SetSlice(self->backlog, 0, 0, rest) < 0)
            PyErr_Clear(); /* out of memory twice over: those completions are lost */
        Py_XDECREF(rest);
        PyErr_Restore(type, value, tb);
        Py_CLEAR(w->rearm);
        goto out;
    }
    result = wake_result(w);
out:
    for (uint32_t k = 0; k < made; k++)
        Py_DECREF(uds[k]);
    if (cqes != small_cqes) {
        PyMem_Free(cqes);
        PyMem_Free(uds);
    }
    return result;
}

static int
parse_wake_args(PyObject *const *args, Py_ssize_t nargs, WakeArgs *w, const char *name)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly 4 arguments (%zd given)", name, nargs);
        return -1;
    }
    if (!PyDict_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "%s(): ops and fds must be dicts", name);
        return -1;
    }
    w->ops = args[0];
    w->fds = args[1];
    w->ready = args[2];
    w->rearm = NULL;
    return as_u64(args[3], &w->first_op);
}

static PyObject *
RingCore_wake_fibers(RingCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    WakeArgs w;
    if (parse_wake_args(args, nargs, &w, "wake_fibers") < 0 || check_attached(self) < 0)
        return NULL;
    return wake_fibers(self, &w);
}

static PyObject *
RingCore_submit_and_wake(RingCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    WakeArgs w;
    if (parse_wake_args(args, nargs, &w, "submit_and_wake") < 0 || flush_nowait(self) < 0)
        return NULL;
    return wake_fibers(self, &w);
}

/* ------------------------------------------------------- set-up, types */

static void *
view_address(PyObject *view, Py_ssize_t offset, const char *name)
{
    if (view == NULL || !PyMemoryView_Check(view)) {
        PyErr_Format(PyExc_TypeError, "RingCore._attach: %s must be a memoryview", name);
        return NULL;
    }
    Py_buffer *b = PyMemoryView_GET_BUFFER(view);
    if (b->buf == NULL || offset < 0 || offset >= b->len) {
        PyErr_Format(PyExc_ValueError, "RingCore._attach: %s is released or too small", name);
        return NULL;
    }
    return (char *)b->buf + offset;
}

static PyObject *
RingCore_attach(RingCore *self, PyObject *Py_UNUSED(ignored))
{
    if ((self->p_sq_head = view_address(self->sq_u32, self->sq_head_i * 4, "_sq_u32")) == NULL ||
        (self->p_sq_tail = view_address(self->sq_u32, self->sq_tail_i * 4, "_sq_u32")) == NULL ||
        (self->p_sq_flags = view_address(self->sq_u32, self->sq_flags_i * 4, "_sq_u32")) == NULL ||
        (self->p_cq_head = view_address(self->cq_u32, self->cq_head_i * 4, "_cq_u32")) == NULL ||
        (self->p_cq_tail = view_address(self->cq_u32, self->cq_tail_i * 4, "_cq_u32")) == NULL ||
        (self->p_cqes = view_address(self->cq_bytes, self->cqes_at, "_cq_bytes")) == NULL ||
        (self->p_sqes = view_address(self->sqes_view, 0, "_sqes")) == NULL) {
        self->p_sqes = NULL;
        return NULL;
    }
    if (!PyDict_CheckExact(self->inflight) || !PyList_CheckExact(self->backlog)) {
        self->p_sqes = NULL;
        PyErr_SetString(PyExc_TypeError, "RingCore._attach: _inflight must be a dict and _backlog a list");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
RingCore_detach(RingCore *self, PyObject *Py_UNUSED(ignored))
{
    self->p_sq_head = self->p_sq_tail = self->p_sq_flags = self->p_cq_head = self->p_cq_tail = NULL;
    self->p_cqes = NULL;
    self->p_sqes = NULL;
    Py_RETURN_NONE;
}

static PyObject *
RingCore_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    RingCore *self = (RingCore *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->fd = -1; /* a half-built ring is a closed one */
    /* Never NULL from here on (the setters below refuse anything but a dict and a list). */
    self->inflight = PyDict_New();
    self->backlog = PyList_New(0);
    if (self->inflight == NULL || self->backlog == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
RingCore_traverse(RingCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->sq_u32);
    Py_VISIT(self->cq_u32);
    Py_VISIT(self->cq_bytes);
    Py_VISIT(self->sqes_view);
    Py_VISIT(self->inflight);
    Py_VISIT(self->backlog);
    return 0;
}

static int
RingCore_clear(RingCore *self)
{
    RingCore_detach(self, NULL);
    Py_CLEAR(self->sq_u32);
    Py_CLEAR(self->cq_u32);
    Py_CLEAR(self->cq_bytes);
    Py_CLEAR(self->sqes_view);
    /* Emptied, not dropped: a cycle through them is broken, and they are never NULL while
       the object lives (a finalizer may still call a method). */
    if (self->inflight != NULL)
        PyDict_Clear(self->inflight);
    if (self->backlog != NULL)
        PyList_SetSlice(self->backlog, 0, PyList_GET_SIZE(self->backlog), NULL);
    return 0;
}

static void
RingCore_dealloc(RingCore *self)
{
    PyObject_GC_UnTrack(self);
    RingCore_clear(self);
    Py_CLEAR(self->inflight);
    Py_CLEAR(self->backlog);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#define MEMBER(name, type, field) {name, type, offsetof(RingCore, field), 0, NULL}
static PyMemberDef RingCore_members[] = {
    MEMBER("_fd", Py_T_INT, fd),
    MEMBER("_features", Py_T_UINT, features),
    MEMBER("_sq_entries", Py_T_UINT, sq_entries),
    MEMBER("_events_always", Py_T_BOOL, events_always),
    MEMBER("_sq_tail", Py_T_UINT, sq_tail),
    MEMBER("_sq_limit", Py_T_UINT, sq_limit),
    MEMBER("_sq_mask", Py_T_UINT, sq_mask),
    MEMBER("_cq_head", Py_T_UINT, cq_head),
    MEMBER("_cq_mask", Py_T_UINT, cq_mask),
    MEMBER("_sq_head_i", Py_T_PYSSIZET, sq_head_i),
    MEMBER("_sq_tail_i", Py_T_PYSSIZET, sq_tail_i),
    MEMBER("_sq_flags_i", Py_T_PYSSIZET, sq_flags_i),
    MEMBER("_cq_head_i", Py_T_PYSSIZET, cq_head_i),
    MEMBER("_cq_tail_i", Py_T_PYSSIZET, cq_tail_i),
    MEMBER("_cqes_at", Py_T_PYSSIZET, cqes_at),
    MEMBER("_sq_u32", Py_T_OBJECT_EX, sq_u32),
    MEMBER("_cq_u32", Py_T_OBJECT_EX, cq_u32),
    MEMBER("_cq_bytes", Py_T_OBJECT_EX, cq_bytes),
    MEMBER("_sqes", Py_T_OBJECT_EX, sqes_view),
    {NULL, 0, 0, 0, NULL},
};

/* _inflight and _backlog: attributes the C code reads without checking their type, so an
   assignment must give a dict (a list), and they can't be deleted. */
typedef struct {
    size_t offset;      /* of the PyObject * in RingCore */
    PyTypeObject *type; /* exactly this type */
    const char *error;
} TypedSlot;

static TypedSlot inflight_slot = {offsetof(RingCore, inflight), &PyDict_Type, "_inflight must be a dict"};
static TypedSlot backlog_slot = {offsetof(RingCore, backlog), &PyList_Type, "_backlog must be a list"};

static PyObject *
RingCore_get_typed(RingCore *self, TypedSlot *slot)
{
    return Py_NewRef(*(PyObject **)((char *)self + slot->offset));
}

static int
RingCore_set_typed(RingCore *self, PyObject *value, TypedSlot *slot)
{
    if (value == NULL || Py_TYPE(value) != slot->type) {
        PyErr_SetString(PyExc_TypeError, slot->error);
        return -1;
    }
    Py_SETREF(*(PyObject **)((char *)self + slot->offset), Py_NewRef(value));
    return 0;
}

static PyGetSetDef RingCore_getset[] = {
    {"_inflight", (getter)RingCore_get_typed, (setter)RingCore_set_typed, "user_data -> what its SQE pins", &inflight_slot},
    {"_backlog", (getter)RingCore_get_typed, (setter)RingCore_set_typed, "completions taken, not yet delivered", &backlog_slot},
    {NULL, NULL, NULL, NULL, NULL},
};

#define KW (METH_VARARGS | METH_KEYWORDS)
static PyMethodDef RingCore_methods[] = {
    {"_attach", (PyCFunction)RingCore_attach, METH_NOARGS, "The shared memory is mapped: take its addresses."},
    {"_make_room", (PyCFunction)RingCore_make_room, METH_NOARGS, "The SQ is full: hand it to the kernel."},
    {"_detach", (PyCFunction)RingCore_detach, METH_NOARGS, "The shared memory is about to be unmapped: forget it."},
    {"_push", (PyCFunction)(void (*)(void))RingCore_push, KW, "Fill the next SQE (all 64 bytes) and record what it pins."},
    {"prep_read", (PyCFunction)(void (*)(void))RingCore_prep_read, KW, "Queue a READ into buf from fd."},
    {"prep_write", (PyCFunction)(void (*)(void))RingCore_prep_write, KW, "Queue a WRITE of buf to fd."},
    {"prep_recv", (PyCFunction)(void (*)(void))RingCore_prep_recv, KW, "Queue a RECV on socket fd into buf."},
    {"prep_recv_into", (PyCFunction)(void (*)(void))RingCore_prep_recv_into, METH_FASTCALL,
     "prep_recv of the whole of buf with no MSG_* flags."},
    {"prep_async_cancel", (PyCFunction)(void (*)(void))RingCore_prep_async_cancel, KW,
     "Queue an ASYNC_CANCEL of the operation whose user_data is target."},
    {"prep_poll_add", (PyCFunction)(void (*)(void))RingCore_prep_poll_add, KW, "Queue a POLL_ADD waiting for events on fd."},
    {"submit_and_wait", (PyCFunction)(void (*)(void))RingCore_submit_and_wait, KW,
     "Submit every queued SQE with one io_uring_enter; optionally wait."},
    {"poll_nowait", (PyCFunction)RingCore_poll_nowait, METH_O, "Submit what is queued and reap what is ready, never blocking."},
    {"submit_nowait", (PyCFunction)RingCore_submit_nowait, METH_NOARGS, "Submit what is queued, never blocking, and reap."},
    {"requeue", (PyCFunction)RingCore_requeue, METH_O, "Put back completions taken but not handled."},
    {"has_completions", (PyCFunction)RingCore_has_completions, METH_NOARGS, "Whether completions() would return something."},
    {"_take_cqes", (PyCFunction)RingCore_take_cqes, METH_NOARGS, "Copy every ready CQE out and release their slots."},
    {"_drain_to_backlog", (PyCFunction)RingCore_drain_to_backlog, METH_NOARGS, "Move ready CQEs to the backlog."},
    {"completions", (PyCFunction)RingCore_completions, METH_NOARGS, "Reap every ready completion."},
    {"reap", (PyCFunction)RingCore_reap, METH_O, "Call callback(user_data, res, flags) for every ready completion."},
    {"wake_fibers", (PyCFunction)(void (*)(void))RingCore_wake_fibers, METH_FASTCALL,
     "Reap every ready completion and wake the fiber each one belongs to."},
    {"submit_and_wake", (PyCFunction)(void (*)(void))RingCore_submit_and_wake, METH_FASTCALL,
     "Submit what is queued without blocking, then wake_fibers."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RingCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "eio_backend_uring._accel.RingCore",
    .tp_basicsize = sizeof(RingCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The per-operation work of a Ring, compiled (the reference is _ring_core.RingCore).",
    .tp_new = RingCore_new,
    .tp_traverse = (traverseproc)RingCore_traverse,
    .tp_clear = (inquiry)RingCore_clear,
    .tp_dealloc = (destructor)RingCore_dealloc,
    .tp_members = RingCore_members,
    .tp_getset = RingCore_getset,
    .tp_methods = RingCore_methods,
};

static struct PyModuleDef accel_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "eio_backend_uring._accel",
    .m_doc = "The compiled accelerator of the io_uring backend (optional; _ring_core is the reference).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__accel(void)
{
    PyObject *structmod = PyImport_ImportModule("struct");
    if (structmod == NULL)
        return NULL;
    struct_error = PyObject_GetAttrString(structmod, "error");
    Py_DECREF(structmod);
    PyObject *pin = PyImport_ImportModule("eio_backend_uring._pin");
    if (struct_error == NULL || pin == NULL)
        return NULL;
    pin_readable = PyObject_GetAttrString(pin, "pin_readable");
    pin_writable = PyObject_GetAttrString(pin, "pin_writable");
    span_fn = PyObject_GetAttrString(pin, "span");
    Py_DECREF(pin);
    py_zero = PyLong_FromLong(0);
    py_minus_one = PyLong_FromLong(-1);
    str_cancel_fn = PyUnicode_InternFromString("cancel_fn");
    str_value = PyUnicode_InternFromString("value");
    if (!pin_readable || !pin_writable || !span_fn || !str_cancel_fn || !str_value || !py_zero || !py_minus_one)
        return NULL;
    if (PyType_Ready(&RingCoreType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&accel_module);
    if (m == NULL)
        return NULL;
    PyObject *constants = Py_BuildValue(
        "{s:i,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:L,s:i,s:i}", "IORING_OP_ASYNC_CANCEL", OP_ASYNC_CANCEL,
        "IORING_OP_POLL_ADD", OP_POLL_ADD, "IORING_OP_READ", OP_READ, "IORING_OP_WRITE", OP_WRITE, "IORING_OP_RECV", OP_RECV,
        "IORING_ENTER_GETEVENTS", ENTER_GETEVENTS, "IORING_ENTER_EXT_ARG", ENTER_EXT_ARG, "IORING_FEAT_EXT_ARG", FEAT_EXT_ARG,
        "SQ_NEEDS_ENTER", SQ_NEEDS_ENTER, "IORING_CQE_F_MORE", CQE_F_MORE, "IORING_POLL_ADD_MULTI", POLL_ADD_MULTI,
        "IORING_RECVSEND_POLL_FIRST", RECVSEND_POLL_FIRST, "MAX_RW", MAX_RW, "SQE_SIZE", (int)sizeof(struct sqe), "CQE_SIZE",
        (int)sizeof(struct cqe));
    if (constants == NULL || PyModule_AddObject(m, "CONSTANTS", constants) < 0 ||
        PyModule_AddObject(m, "RingCore", Py_NewRef((PyObject *)&RingCoreType)) < 0) {
        Py_XDECREF(constants);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
