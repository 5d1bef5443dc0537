# cython: language_level=3
"""The group commit's sync loop, on its own thread, never holding the GIL.

A Python thread that calls ``os.fdatasync`` releases the GIL for the sync, but
needs it back to start the next one and to say that one returned: while the
core's thread runs Python (matching the next batch: the very overlap wanted)
that wait is up to the interpreter's switch interval, so the sync starts late
and is seen late. This loop runs wholly in C: it reads a request from a pipe,
syncs, and answers on another pipe, which the core's wait (or event loop)
watches. ringmatch.engine.journal.group_commit's thread syncer is its reference
(tests/engine/test_group_commit.py runs both on the same interleavings).

A request is two int64: the file's descriptor (-1: stop), the directory's (or -1).
An answer is one int64: 0, or the errno of the sync that failed.
"""

from libc.errno cimport EINTR, errno
from libc.stdint cimport int64_t
from posix.unistd cimport fdatasync, fsync, read, write


cdef int _read_all(int fd, char* buf, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t got = 0, r
    while got < n:
        r = read(fd, buf + got, n - got)
        if r > 0:
            got += r
        elif r < 0 and errno == EINTR:
            continue
        else:
            return -1  # end of file (the core closed its end) or an error: stop
    return 0


cdef int _write_all(int fd, const char* buf, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t put = 0, r
    while put < n:
        r = write(fd, buf + put, n - put)
        if r > 0:
            put += r
        elif r < 0 and errno == EINTR:
            continue
        else:
            return -1
    return 0


def run(int requests, int answers) -> None:
    """Serve sync requests from ``requests`` until one names fd -1 (or the pipe ends)."""
    cdef int64_t request[2]
    cdef int64_t answer
    with nogil:
        while True:
            if _read_all(requests, <char*>request, sizeof(request)) != 0:
                break
            if request[0] < 0:
                break
            answer = 0
            if fdatasync(<int>request[0]) != 0:
                answer = errno
            elif request[1] >= 0 and fsync(<int>request[1]) != 0:
                answer = errno
            if _write_all(answers, <const char*>&answer, sizeof(answer)) != 0:
                break
