"""The untrusted side: a zygote that preloads TensorFlow and forks a sandbox
per connection, and the loop each sandbox runs (load the student's code,
answer calls, keep non-data results as handles).

Self-contained on purpose: it imports the standard library, numpy,
TensorFlow (with Keras) and ``grader.sandbox``'s ``common``, ``confine`` and
``wire`` only. It never imports the trusted side, the solutions or the
hidden suites, so a fork of it carries nothing secret; the trusted side
never imports it either (what both need is in ``common``). Run it as
``python -m grader.sandbox.guest.worker SOCKET_PATH``."""

from __future__ import annotations

import ast
import builtins
import contextlib
import gc
import inspect
import io
import os
import re
import resource
import signal
import socket
import sys
import tempfile
import textwrap
import traceback
import types
from typing import Any

from grader.sandbox import wire
from grader.sandbox.common import (
    GPU_MEMORY_VARIABLE,
    KEPT_ENVIRONMENT,
    Condition,
    ErrorReply,
    FrameData,
    Problem,
    ProblemKind,
    compile_cell,
    die_with_parent,
    socket_address,
)
from grader.sandbox.errors import PeerClosed, WireError
from grader.sandbox.guest import confine

MESSAGE_LIMIT = 2000
_CELL_FILE = re.compile(r"^<cell (\d+)>$")


class _Output(io.TextIOBase):
    """A stdout/stderr replacement that keeps only the first ``limit`` chars."""

    limit = 64 * 1024
    """set per assignment from the start message"""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        note = f"\n[... {self.dropped} more characters not kept]" if self.dropped else ""
        return "".join(self.parts) + note


def _message(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: BLE001 - a student exception whose __str__ fails
        text = type(exc).__name__
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "..."


class SandboxServer:
    """Serves one trusted-side connection (a ``SandboxClient``): one
    student's code, one process."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.namespace: dict[str, Any] = {}
        self.sources: dict[int, list[str]] = {}
        self.objects: dict[int, Any] = {}
        self.result_bytes = wire.MAX_FRAME_BYTES
        """what the trusted side accepts in one answer (from the start message)"""

    # -- setup ----------------------------------------------------------

    def run(self) -> None:
        os.setsid()
        die_with_parent()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        wire.send(self.conn, {"op": "hello", "pid": os.getpid()})
        start, _ = wire.receive(self.conn)
        gpu_memory = os.environ.get(GPU_MEMORY_VARIABLE)  # before the environment is reset
        self._confine(start)
        _device_settings(gpu_memory)
        module = types.ModuleType("submission")
        self.namespace = module.__dict__
        sys.modules["submission"] = module
        self.builtins = dict(builtins.__dict__)
        while True:
            try:
                request, blobs = wire.receive(self.conn)
            except PeerClosed:
                return
            self._answer(request, blobs)

    def _confine(self, start: dict[str, Any]) -> None:
        """Apply the limits and, when asked, the namespaces, before student code.

        With namespaces this process forks once more: the child is PID 1 of
        the new PID namespace and serves; this one only waits and exits
        with it, so the trusted side's kill of its cgroup covers both."""
        scratch = str(start["scratch"])
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        os.closerange(3, self.conn.fileno())  # nothing inherited but the connection
        os.closerange(self.conn.fileno() + 1, 1 << 16)
        if start.get("isolate"):
            devices = confine.gpu_devices(
                os.listdir("/dev"), os.environ.get("CUDA_VISIBLE_DEVICES"), confine.nvidia_minors()
            )
            if not confine.is_host_root():  # a normal user: the mounts need a user namespace
                confine.enter_user_namespace(0)
            _cap_processes(start)  # counted per user namespace from here
            confine.unshare()
            inner = os.fork()
            if inner:
                self.conn.close()
                while True:
                    with contextlib.suppress(InterruptedError):
                        os.waitpid(inner, 0)
                        os._exit(0)
            die_with_parent()
            confine.build_root(str(start["root"]), scratch, devices, start.get("data"))
            socket.sethostname("sandbox")
        _Output.limit = int(start["output_bytes"])
        self.result_bytes = int(start.get("result_bytes", wire.MAX_FRAME_BYTES))
        cpu = int(start["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        file_bytes = int(start["file_bytes"])
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        files = int(start["open_files"])
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
        os.chdir(scratch)
        _scratch_environment(scratch)
        data = start.get("data")
        available = sorted(os.listdir(data)) if data else []  # before dropping privileges
        if start.get("isolate"):
            confine.drop_privileges()
        elif start.get("drop_uid"):
            _cap_processes(start)  # counted per uid: every process of uid nobody
            confine.drop_to_sandbox_user()
        _course_data(data, available, os.path.join(os.environ["KERAS_HOME"], "datasets"))

    # -- requests -------------------------------------------------------

    def _answer(self, request: dict[str, Any], blobs: list[bytes]) -> None:
        request_id = request.get("id")
        output = _Output()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = output
        reply: dict[str, Any]
        reply_blobs: list[bytes] = []
        try:
            value = self._dispatch(request, blobs)
            self._undo_builtins(None)
            encoder = wire.Encoder(self._keep, self.result_bytes)
            reply = {"id": request_id, "ok": True, "value": encoder.encode(value)}
            reply_blobs = encoder.blobs
        except WireError as exc:  # the result breaks the wire's rules
            reply = {"id": request_id, "ok": False, "error": _refused(exc)}
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything, SystemExit included
            reply = {"id": request_id, "ok": False, "error": self._error(exc)}
        finally:
            sys.stdout, sys.stderr = saved
        reply["output"] = output.text()
        try:
            wire.send(self.conn, reply, reply_blobs, max_bytes=self.result_bytes)
        except WireError as exc:
            wire.send(self.conn, {"id": request_id, "ok": False, "error": _refused(exc)})

    def _dispatch(self, request: dict[str, Any], blobs: list[bytes]) -> Any:
        op = request.get("op")
        if op == "load":
            return self._load(request["cells"])
        decoder = wire.Decoder(blobs, self._resolve, _to_tensor)
        target = self._target(request["target"])
        if op == "getattr":
            name = str(request["name"])
            if not hasattr(target, name) and _is_stub(target):
                raise _Stub(name)
            return getattr(target, name)
        if op == "call":
            args = decoder.decode(request.get("args", []))
            kwargs = decoder.decode(request.get("kwargs", {"$dict": {}}))
            if not callable(target):
                raise TypeError(f"{request.get('label', 'it')} is not a function")
            return target(*args, **kwargs)
        raise WireError(f"unknown request {op!r}")

    def _target(self, ref: dict[str, Any]) -> Any:
        if "$global" in ref:
            name = str(ref["$global"])
            if name not in self.namespace:  # a dict lookup: module __getattr__ cannot answer
                raise _Missing(name)
            return self.namespace[name]
        return self._resolve(wire.HandleRef(int(ref["$handle"]), ""))

    def _resolve(self, ref: wire.HandleRef) -> Any:
        try:
            return self.objects[ref.id]
        except KeyError:
            raise WireError(f"unknown handle {ref.id}") from None

    def _keep(self, value: Any) -> dict[str, Any]:
        handle = len(self.objects) + 1
        self.objects[handle] = value
        return {"$handle": handle, "type": type(value).__name__}

    # -- student code ---------------------------------------------------

    def _load(self, cells: list[dict[str, Any]]) -> None:
        """Run each cell in order; a failing cell is reported and skipped.

        Progress and problems are sent as they happen, so the trusted side
        knows them even if a later cell hangs or ends the process."""
        for cell in cells:
            number, source = int(cell["cell"]), str(cell["source"])
            self.sources[number] = source.splitlines()
            wire.send(self.conn, {"op": "progress", "cell": number})
            try:
                code = compile_cell(source, f"<cell {number}>")
            except SyntaxError as exc:
                self._problem("syntax", number, exc.lineno or 0, f"SyntaxError: {exc.msg}", [])
                continue
            try:
                exec(code, self.namespace)
            except BaseException as exc:  # noqa: BLE001 - a cell may raise SystemExit
                error = self._error(exc)
                frames = error["frames"]
                kind: ProblemKind = "exit" if isinstance(exc, SystemExit) else "error"
                line = frames[-1]["line"] if frames else 0
                self._problem(kind, number, line, error["message"], frames)
            self._undo_builtins(number)

    def _undo_builtins(self, cell: int | None) -> None:
        """Put back any builtin the student's code replaced, and say so.

        Patching builtins cannot change a grade (comparisons happen on the
        trusted side), but it could break this worker's own encoding."""
        current = builtins.__dict__
        changed = sorted(
            k
            for k in set(current) | set(self.builtins)
            if current.get(k) is not self.builtins.get(k)
        )
        if not changed:
            return
        current.clear()
        current.update(self.builtins)
        names = ", ".join(changed[:8]) + (" ..." if len(changed) > 8 else "")
        self._problem(
            "tamper",
            cell or 0,
            0,
            f"Your code replaced Python builtins ({names}); the grader undid the change.",
            [],
        )

    def _problem(
        self, kind: ProblemKind, cell: int, line: int, message: str, frames: list[FrameData]
    ) -> None:
        problem = Problem(kind=kind, cell=cell, line=line, message=message, frames=frames)
        wire.send(self.conn, {"op": "problem", "problem": problem})

    def _error(self, exc: BaseException) -> ErrorReply:
        frames: list[FrameData] = []
        for frame in traceback.extract_tb(exc.__traceback__):
            match = _CELL_FILE.match(frame.filename)
            if not match:
                continue
            cell, line = int(match.group(1)), frame.lineno or 0
            lines = self.sources.get(cell, [])
            code = lines[line - 1] if 0 < line <= len(lines) else ""
            frames.append(FrameData(cell=cell, line=line, function=frame.name, code=code))
        missing = exc.name if isinstance(exc, _Missing) else ""
        return ErrorReply(
            condition=_condition(exc, bool(frames)),
            type=type(exc).__name__,
            message=f"`{missing}` is not defined" if missing else _message(exc),
            frames=frames[-20:],
            name=missing,
        )


def _cap_processes(start: dict[str, Any]) -> None:
    """Without a cgroup, the trusted side sends ``max_processes`` for an rlimit."""
    if "max_processes" in start:
        count = int(start["max_processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (count, count))


def _condition(exc: BaseException, in_student_code: bool) -> Condition:
    """Why a request failed; a NotImplementedError counts as a stub only when
    raised from the student's own cells, not from inside a library."""
    if isinstance(exc, _Missing):
        return "missing"
    if isinstance(exc, _Stub) or (isinstance(exc, NotImplementedError) and in_student_code):
        return "stub"
    if isinstance(exc, MemoryError):
        return "memory"
    return "raised"


def _scratch_environment(scratch: str) -> None:
    """Point every home, temporary and cache folder that Python, TensorFlow,
    Keras and matplotlib use into the scratch folder, the only writable
    place: course notebooks write ``~/.keras``, ``/tmp`` files and caches."""
    kept = {k: os.environ[k] for k in KEPT_ENVIRONMENT if k in os.environ}
    keras_home = os.path.join(scratch, ".keras")
    os.environ.clear()
    os.environ.update(
        kept,
        HOME=scratch,
        TMPDIR=scratch,
        KERAS_HOME=keras_home,
        XDG_CACHE_HOME=os.path.join(scratch, ".cache"),
        MPLCONFIGDIR=os.path.join(scratch, ".config", "matplotlib"),
        MPLBACKEND="Agg",  # plots render to files; there is no display
        PATH="/usr/local/bin:/usr/bin:/bin",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    tempfile.tempdir = scratch  # the zygote's imports cached "/tmp", read-only in here
    from keras.src.backend import config as keras_config

    # Keras reads KERAS_HOME once, at import (in the zygote, whose home is not
    # in here), and falls back to /tmp/.keras, read-only; no public setter.
    keras_config._KERAS_DIR = keras_home


def _course_data(data: str | None, available: list[str], datasets: str) -> None:
    """Show each entry of the course's read-only data folder in Keras's
    dataset cache as a symbolic link, so ``keras.datasets.*.load_data()`` and
    ``get_file`` find it; archives they extract land beside it, in scratch.
    Any download is refused with a message naming that folder."""
    if data:
        os.makedirs(datasets, exist_ok=True)
        for name in available:
            link = os.path.join(datasets, name)
            if not os.path.lexists(link):  # made by an earlier sandbox of this submission
                os.symlink(os.path.join(data, name), link)
    listed = ", ".join(available[:10]) + (" ..." if len(available) > 10 else "")
    offer = f"the course provides {listed} there" if available else "the course provides none"

    def refuse(event: str, args: tuple[Any, ...]) -> None:
        if event == "urllib.Request":
            raise DownloadRefused(
                f"{args[0]} is not downloaded during grading: grading runs without a network. "
                f"Data files must already be in ~/.keras/datasets, the course's data folder: "
                f"{offer}."
            )

    sys.addaudithook(refuse)


class DownloadRefused(OSError):
    """Student code tried to download something while being graded."""


def _refused(exc: WireError) -> ErrorReply:
    """The error sent when a result cannot cross the wire (size, depth)."""
    return ErrorReply(
        condition="refused", type="ResultRefused", message=str(exc), frames=[], name=""
    )


class _Missing(Exception):
    """The trusted side asked for a name the student's code did not define."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _Stub(Exception):
    """A test looked for an attribute of a function that is still the stub."""


def _is_stub(value: Any) -> bool:
    """Whether ``value`` is a plain function whose body only raises
    NotImplementedError (after a docstring and comments), as released."""
    if not isinstance(value, types.FunctionType):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(value)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.FunctionDef) else []
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def _to_tensor(array: Any) -> Any:
    import tensorflow as tf

    return tf.constant(array)


def _device_settings(gpu_memory: str | None) -> None:
    """Turn off TensorFloat-32 on GPUs (Ampere and later use it by default for
    matmul and conv, with errors near 1e-3) so results match the CPU
    reference within the suites' tolerances. Where sandboxes share a GPU
    (``--gpu-share``), cap this one at its share of the GPU's memory, as a
    logical device. Settings only, before any TensorFlow op."""
    import tensorflow as tf

    tf.config.experimental.enable_tensor_float_32_execution(False)
    if gpu_memory:
        limit = [tf.config.LogicalDeviceConfiguration(memory_limit=int(gpu_memory))]
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.set_logical_device_configuration(gpu, limit)


def preload() -> None:
    """Import what every submission needs, once, before any fork.

    No TensorFlow op may run here: a process that has run one cannot fork
    safely."""
    import keras  # noqa: F401
    import numpy  # noqa: F401
    import tensorflow  # noqa: F401


def zygote(address: str) -> None:
    """Preload, then fork a sandbox for each connection until killed."""
    die_with_parent()
    preload()
    gc.freeze()  # sandboxes' garbage collections skip the preloaded modules
    problem = confine.probe()
    drop_uid = bool(problem) and confine.can_drop_to_sandbox_user()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with socket_address(address) as reachable:
        listener.bind(reachable)
    os.chmod(address, 0o600)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps sandboxes
    confine.become_subreaper()  # and what double-forks out of one, till Zygote.close kills it
    # problem: "" when sandboxes can be fully confined; drop_uid: 1 when, without, they leave root
    print(f"ready\t{problem}\t{int(drop_uid)}", flush=True)
    while True:
        conn, _ = listener.accept()
        pid = os.fork()
        if pid == 0:
            listener.close()
            status = 0
            try:
                SandboxServer(conn).run()
            except BaseException:  # noqa: BLE001 - never raise into the zygote
                status = 70
            finally:
                os._exit(status)
        conn.close()


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    zygote(sys.argv[1])
