"""beltline's Python belt worker: runs seed-style ``execute`` callbacks unchanged, one batch per request.

Started by src/belts/python.ts as ``python -I -S -B worker.py SHIM_DIR MEMORY_MB TIMEOUT_MS`` with an
empty environment, its cwd in an empty directory, and (when the pool runs as root) inside a network
namespace without interfaces as uid/gid 65534. Before any belt code runs it confines itself further,
each step reported in its ready message (the Node side refuses a worker that could not apply
Landlock or seccomp, unless BELTLINE_PYTHON_UNCONFINED=true):

* Landlock (Linux >= 5.13): the file system becomes read-only and only beneath the Python
  installation, the shared-library folders and the grnry_belt shim (plus /dev/null, /dev/urandom,
  /dev/zero, /etc/ld.so.cache, /etc/localtime); no file can be written, created or removed anywhere.
  ABI >= 4 also denies every TCP bind/connect, ABI >= 6 scopes abstract unix sockets and signals.
* seccomp: socket/connect/bind/listen/accept, fork/clone/exec, ptrace, signals (kill, tgkill, pidfd_*), mounts, namespaces, bpf,
  io_uring, keyrings, modules, rlimit and uid changes fail with EPERM (x86_64 and aarch64 only).
* rlimits: address space = MEMORY_MB (the whole process, interpreter included), no processes or
  threads (RLIMIT_NPROC 0, effective when not root), no file growth, no core dumps, 64 fds.

Per event, a CPU budget (ITIMER_PROF, user + system time) raises BeltTimeout inside the callback;
it re-fires every 50 ms of CPU if the belt swallows it. A MemoryError fails the event with kind
"memory". Anything the interpreter cannot interrupt (a long C call, a blocking read, a crash) is left
to the Node side's wall-time guard, which kills this process.

Protocol (not an API; user code runs in this process and could write to these fds too, which is
why the Node side validates every reply and only trusts it for the batch it sent):
  fd 3, Node -> worker: one JSON line per request, {"op": "run" | "check", ...}
  fd 4, worker -> Node: "m" once the belt's module is loaded, "." as each event starts, then one
  JSON line with the reply. fd 1 is /dev/null; fd 2 is kept by Node for crash diagnostics; belts'
  print()/sys.stdout/sys.stderr/logging output is captured per event into the result's "logs".
"""

import builtins
import collections
import ctypes
import inspect
import io
import json
import linecache
import logging
import os
import resource
import signal
import socket
import sys
import traceback

# Modules belts commonly import, loaded before the lockdown so the first batch is quick.
import datetime  # noqa: F401
import math  # noqa: F401
import re  # noqa: F401
import time  # noqa: F401

PROTO_IN = 3
PROTO_OUT = 4
MAX_LOGS = 100
MAX_LOG_CHARS = 64 * 1024
MAX_STACK_CHARS = 16 * 1024
MODULE_CACHE = 64
REFIRE_SECONDS = 0.05

_G = globals()


class BeltTimeout(BaseException):
    """Raised inside the callback when its CPU budget is spent (not an Exception: `except Exception` won't eat it)."""


# --- log capture -------------------------------------------------------------------------------


class _Capture(io.TextIOBase):
    """sys.stdout, sys.stderr and the logging handler's stream: lines of the running event."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self):
        super().__init__()
        self.active = False
        self.logs = []
        self.partial = ""
        self.chars = 0

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if self.active and s and len(self.logs) < MAX_LOGS and self.chars < MAX_LOG_CHARS:
            self.partial += s
            if "\n" in self.partial:
                lines = self.partial.split("\n")
                self.partial = lines.pop()
                for line in lines:
                    self._add(line)
            if len(self.partial) > MAX_LOG_CHARS:
                self._add(self.partial)
                self.partial = ""
        return len(s)

    def _add(self, line):
        if len(self.logs) < MAX_LOGS and self.chars < MAX_LOG_CHARS:
            line = line[: MAX_LOG_CHARS - self.chars]
            self.logs.append(line)
            self.chars += len(line)

    def flush(self):
        pass

    def begin(self):
        self.logs = []
        self.partial = ""
        self.chars = 0
        self.active = True

    def end(self):
        if self.partial:
            self._add(self.partial)
            self.partial = ""
        self.active = False
        logs, self.logs = self.logs, []
        return logs


_capture = _Capture()

# --- CPU budget --------------------------------------------------------------------------------

_state = {"in_user": False, "budget": 1.0}


def _on_sigprof(signum, frame):
    # Python runs this between bytecodes of whatever frame is executing. Raise only in belt code
    # (or the library code it called), never in this module's own frames, so the bookkeeping
    # around a call can't be interrupted half-way.
    if _state["in_user"] and frame is not None and frame.f_globals is not _G:
        raise BeltTimeout()


def _guarded(fn, args):
    """fn(*args) under the CPU budget: (value, None) or (None, error dict)."""
    _state["in_user"] = True
    signal.setitimer(signal.ITIMER_PROF, _state["budget"], REFIRE_SECONDS)
    try:
        return fn(*args), None
    except BeltTimeout as e:  # the stack shows where the belt was when its budget ran out
        return None, _error("timeout", _state["timeout_message"], e)
    except MemoryError as e:
        return None, _error("memory", _state["memory_message"], e)
    except BaseException as e:  # noqa: B036 - SystemExit, KeyboardInterrupt etc. fail the event too
        return None, _error("exception", _message(e), e)
    finally:
        _state["in_user"] = False
        signal.setitimer(signal.ITIMER_PROF, 0, 0)


def _message(e):
    try:
        text = str(e)
    except BaseException:  # noqa: B036 - a belt's __str__ may raise anything
        text = ""
    return text or type(e).__name__


def _stack(e):
    try:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_globals is _G:
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(e), e, tb))
        if len(text) > MAX_STACK_CHARS:
            text = text[: MAX_STACK_CHARS // 2] + "\n...\n" + text[-MAX_STACK_CHARS // 2 :]
        return text
    except BaseException:  # noqa: B036 - e.g. MemoryError while formatting
        return None


def _error(kind, message, e):
    err = {"kind": kind, "message": message}
    stack = _stack(e)
    if stack:
        err["stack"] = stack
    return err


# --- outputs -----------------------------------------------------------------------------------

sys.path.insert(0, os.path.abspath(sys.argv[1]))  # the grnry_belt shim; -I -S leave only the stdlib on sys.path
from grnry_belt.models.direct_update import DirectUpdate  # noqa: E402
from grnry_belt.models.action import Action  # noqa: E402


def _default(o):
    if isinstance(o, (DirectUpdate, Action)):
        return o.to_dict()
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _finite(v):
    """NaN and infinities become null, as JSON.stringify does in the JavaScript sandbox."""
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    if isinstance(v, (DirectUpdate, Action)):
        return _finite(v.to_dict())
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def _encode(value):
    if value is None:
        items = []
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    for item in items:
        if inspect.iscoroutine(item) or inspect.isawaitable(item):
            if inspect.iscoroutine(item):
                item.close()
            raise TypeError("execute must return its outputs synchronously, not a coroutine")
    try:
        return json.dumps(items, default=_default, allow_nan=False, separators=(",", ":"))
    except ValueError as e:
        if "Out of range float" not in str(e):
            raise
        return json.dumps(_finite(items), default=_default, allow_nan=False, separators=(",", ":"))


def _call_and_encode(fn, args):
    return _encode(fn(*args))


# --- protocol ----------------------------------------------------------------------------------


def _write(data):
    view = memoryview(data)
    while view:
        n = os.write(PROTO_OUT, view)
        view = view[n:]


def _reply(obj):
    _write((json.dumps(obj, separators=(",", ":")) + "\n").encode("ascii"))


def _syntax(e):
    try:
        formatted = "".join(traceback.format_exception_only(type(e), e))
    except BaseException:  # noqa: B036
        formatted = None
    return {
        "type": type(e).__name__,
        "msg": str(e.msg) if getattr(e, "msg", None) is not None else str(e),
        "lineno": e.lineno,
        "offset": e.offset,
        "text": (e.text or "").rstrip("\r\n") if isinstance(e.text, str) else None,
        "formatted": formatted,
    }


def _compile(source, filename):
    """(code, None) or (None, error dict with "syntax" or "message")."""
    try:
        return compile(source, filename, "exec", dont_inherit=True), None
    except SyntaxError as e:  # IndentationError and TabError too
        return None, {"kind": "exception", "syntax": _syntax(e)}
    except MemoryError:
        return None, {"kind": "memory", "message": _state["memory_message"]}
    except Exception as e:  # ValueError (null bytes), RecursionError, OverflowError
        return None, {"kind": "exception", "message": "%s: %s" % (type(e).__name__, _message(e))}


_modules = collections.OrderedDict()  # source hash -> (namespace, source lines)


def _load(key, source, filename):
    """The belt's module namespace, compiled and run once per process per source: (ns, None) or (None, error)."""
    lines = None
    entry = _modules.get(key)
    if entry is not None:
        _modules.move_to_end(key)
        ns, lines = entry
    else:
        code, err = _compile(source, filename)
        if err is not None:
            return None, err
        lines = source.splitlines(True)
        linecache.cache[filename] = (len(source), None, lines, filename)
        ns = {"__name__": "__belt__", "__file__": filename, "__builtins__": builtins}
        _capture.begin()
        _, err = _guarded(exec, (code, ns))
        _capture.end()  # module-level output belongs to no event
        if err is not None:
            return None, err
        _modules[key] = (ns, lines)
        while len(_modules) > MODULE_CACHE:
            _modules.popitem(last=False)
    # Tracebacks show the lines of this source, even if another belt used the same filename.
    linecache.cache[filename] = (len(source), None, lines, filename)
    return ns, None


def _calling_convention(fn):
    """(envelope?, number of positional arguments): one required parameter gets seed 000's envelope,
    like `execute.length === 1` in the JavaScript sandbox; otherwise (headers, payload, profile)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False, 3
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) == 1:
        return True, 1
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return False, 3
    return False, min(3, len(positional))


def _run(req):
    inputs = req.get("inputs") or []
    ns, err = _load(req.get("hash") or "", req.get("source") or "", req.get("filename") or "belt.py")
    fn = None
    if err is None:
        fn = ns.get("execute")
        if not callable(fn):
            err = {"kind": "exception", "message": "the belt defines no function execute"}
    _write(b"m")
    if err is not None:
        return {"load_error": err}
    envelope, nargs = _calling_convention(fn)
    parts = []
    for inp in inputs:
        _write(b".")
        headers = inp.get("headers") or {}
        if envelope:
            args = (
                {
                    "metadata": inp.get("metadata") or {},
                    "payload": inp.get("payload"),
                    "payloadid": {
                        "correlationid": headers.get("grnry-correlation-id"),
                        "eventid": headers.get("grnry-event-id"),
                        "created": headers.get("grnry-created"),
                    },
                },
            )
        else:
            args = (headers, inp.get("payload"), inp.get("profile"))[:nargs]
        _capture.begin()
        outputs, err = _guarded(_call_and_encode, (fn, args))
        logs = _capture.end()
        try:
            part = '{"outputs":' + (outputs if err is None else "[]") + ',"logs":' + json.dumps(logs)
            if err is not None:
                part += ',"error":' + json.dumps(err)
            parts.append(part + "}")
        except MemoryError:
            parts.append('{"outputs":[],"logs":[],"error":' + json.dumps({"kind": "memory", "message": _state["memory_message"]}) + "}")
        del outputs, args
    return '{"results":[' + ",".join(parts) + "]}"


def _check(req):
    _, err = _compile(req.get("source") or "", req.get("filename") or "belt.py")
    return {"check": "ok"} if err is None else {"check": "error", "error": err}


# --- confinement -------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_L = ctypes.c_long


def _syscall(nr, *args):
    r = _libc.syscall(_L(nr), *args)
    if r < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "syscall %d: %s" % (nr, os.strerror(errno)))
    return r


def _no_new_privs():
    if _libc.prctl(ctypes.c_int(38), ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "prctl(PR_SET_NO_NEW_PRIVS): " + os.strerror(errno))


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock(read_paths):
    """Read-only access beneath read_paths, nothing else; returns the ABI version applied."""
    abi = _libc.syscall(_L(444), None, _L(0), _L(1))  # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        raise OSError(ctypes.get_errno(), "Landlock unavailable: " + os.strerror(ctypes.get_errno()))
    fs = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        fs |= 1 << 13  # REFER
    if abi >= 3:
        fs |= 1 << 14  # TRUNCATE
    if abi >= 5:
        fs |= 1 << 15  # IOCTL_DEV
    attr = _RulesetAttr(fs, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)  # BIND_TCP|CONNECT_TCP; ABSTRACT_UNIX_SOCKET|SIGNAL
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _syscall(444, ctypes.byref(attr), _L(size), _L(0))
    try:
        read_dir = 1 | 4 | 8  # EXECUTE | READ_FILE | READ_DIR
        for path in read_paths:
            if not os.path.exists(path):
                continue
            if os.path.isdir(path):
                allowed = read_dir
            elif path.startswith("/dev/"):
                allowed = 4 | 2 | (1 << 14)  # READ_FILE | WRITE_FILE | TRUNCATE (e.g. open('/dev/null', 'w'))
            else:
                allowed = 1 | 4  # EXECUTE | READ_FILE
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneath(allowed & fs, fd)
                _syscall(445, _L(ruleset), _L(1), ctypes.byref(rule), _L(0))  # LANDLOCK_RULE_PATH_BENEATH
            finally:
                os.close(fd)
        _no_new_privs()
        _syscall(446, _L(ruleset), _L(0))
    finally:
        os.close(ruleset)
    return abi


_DENIED_SYSCALLS = {
    # socket connect accept bind listen accept4 | clone fork vfork clone3 execve execveat | ptrace
    # process_vm_readv/writev | mount umount2 pivot_root chroot unshare setns open_tree move_mount
    # fsopen fsconfig fsmount fspick | bpf userfaultfd perf_event_open io_uring_* | add_key
    # request_key keyctl | kexec_load kexec_file_load init_module finit_module delete_module reboot
    # swapon swapoff syslog acct quotactl | name_to_handle_at open_by_handle_at | setrlimit prlimit64
    # | setuid setgid setreuid setregid setresuid setresgid setgroups setfsuid setfsgid capset
    # | kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_open pidfd_send_signal pidfd_getfd
    # (signals to any process, this one included: a belt must not stop or probe the worker or others;
    # SIGPROF for the CPU budget comes from the kernel's timer, not from a syscall)
    "x86_64": (0xC000003E, [41, 42, 43, 49, 50, 288, 56, 57, 58, 435, 59, 322, 101, 310, 311, 165, 166, 155, 161, 272, 308,
                            428, 429, 430, 431, 432, 433, 321, 323, 298, 425, 426, 427, 248, 249, 250, 246, 320, 175, 313, 176,
                            169, 167, 168, 103, 163, 179, 303, 304, 160, 302, 105, 106, 113, 114, 117, 119, 116, 122, 123, 126,
                            62, 200, 234, 129, 297, 434, 424, 438]),
    "aarch64": (0xC00000B7, [198, 203, 202, 200, 201, 242, 220, 435, 221, 281, 117, 270, 271, 40, 39, 41, 51, 97, 268,
                             428, 429, 430, 431, 432, 433, 280, 282, 241, 425, 426, 427, 217, 218, 219, 104, 294, 105, 273, 106,
                             142, 224, 225, 116, 89, 60, 264, 265, 164, 261, 146, 144, 145, 143, 147, 149, 159, 151, 152, 91,
                             129, 130, 131, 138, 240, 434, 424, 438]),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _seccomp():
    machine = os.uname().machine
    if machine not in _DENIED_SYSCALLS:
        raise OSError(0, "no seccomp syscall table for " + machine)
    arch, denied = _DENIED_SYSCALLS[machine]
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    checks = [(jge, 0x40000000)] if machine == "x86_64" else []  # x32 syscalls
    checks += [(jeq, nr) for nr in denied]
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, 0x80000000), (ld, 0, 0, 0)]  # other arch: kill
    n = len(checks)
    for i, (op, k) in enumerate(checks):
        prog.append((op, n - i, 0, k))  # match -> the EPERM return after ALLOW
    prog.append((ret, 0, 0, 0x7FFF0000))  # ALLOW
    prog.append((ret, 0, 0, 0x00050000 | 1))  # ERRNO(EPERM)
    filters = (_SockFilter * len(prog))(*[_SockFilter(*p) for p in prog])
    fprog = _SockFprog(len(prog), filters)
    _no_new_privs()
    if _libc.prctl(ctypes.c_int(22), ctypes.c_ulong(2), ctypes.byref(fprog), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "prctl(PR_SET_SECCOMP): " + os.strerror(errno))
    return len(denied)


def _rlimits(memory_mb):
    applied = {}
    wanted = [
        ("RLIMIT_AS", memory_mb * 1024 * 1024),
        ("RLIMIT_NPROC", 0),
        ("RLIMIT_FSIZE", 0),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NOFILE", 64),
    ]
    errors = []
    for name, value in wanted:
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
            applied[name] = value
        except (OSError, ValueError, AttributeError) as e:
            errors.append("%s: %s" % (name, e))
    return applied, errors


def _die_with_parent():
    """SIGKILL when the Node process goes away (set here, after setpriv: a uid change clears it)."""
    parent = os.getppid()
    if _libc.prctl(ctypes.c_int(1), ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if parent == 1:  # already orphaned
        os._exit(1)


def _confine(shim_dir, memory_mb):
    report = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "errors": []}
    try:
        _die_with_parent()
    except OSError as e:
        report["errors"].append("parent-death signal: %s" % e)
    try:
        report["interfaces"] = [name for _, name in socket.if_nameindex()]
    except OSError as e:
        report["interfaces"] = None
        report["errors"].append("interfaces: %s" % e)
    read_paths = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, shim_dir]
    read_paths += [p for p in sys.path if p]
    read_paths += ["/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/usr/share/zoneinfo",
                   "/etc/ld.so.cache", "/etc/localtime", "/dev/null", "/dev/urandom", "/dev/zero"]
    try:
        report["landlock"] = _landlock(read_paths)
    except OSError as e:
        report["landlock"] = None
        report["errors"].append("landlock: %s" % e)
    report["rlimits"], errors = _rlimits(memory_mb)
    report["errors"] += errors
    try:
        report["seccomp"] = _seccomp()
    except OSError as e:
        report["seccomp"] = None
        report["errors"].append("seccomp: %s" % e)
    return report


def main():
    shim_dir, memory_mb, timeout_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    _state["budget"] = max(timeout_ms, 1) / 1000.0
    _state["timeout_message"] = "belt exceeded its CPU budget of %d ms" % timeout_ms
    _state["memory_message"] = "belt exceeded its memory limit of %d MB" % memory_mb

    requests = os.fdopen(PROTO_IN, "rb")
    sys.stdout = sys.stderr = sys.__stdout__ = sys.__stderr__ = _capture
    handler = logging.StreamHandler(_capture)
    handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    signal.signal(signal.SIGPROF, _on_sigprof)

    report = _confine(shim_dir, memory_mb)
    report["python"] = sys.version.split()[0]
    report["executable"] = sys.executable
    report["prefix"] = sys.prefix
    _reply({"ready": report})

    while True:
        line = requests.readline()
        if not line:
            return 0
        try:
            req = json.loads(line)
            reply = _check(req) if req.get("op") == "check" else _run(req)
            del req, line
            _write((reply if isinstance(reply, str) else json.dumps(reply, separators=(",", ":"))).encode("ascii") + b"\n")
        except MemoryError:
            _write(b'{"batch_error":{"kind":"memory","message":"the batch does not fit the worker\'s memory limit"}}\n')


if __name__ == "__main__":
    sys.exit(main())
