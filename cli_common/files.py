"""Files and folders written so that nothing is lost: the one home of the packages' file safety.

Reading order:
    atomic_folder          a folder replaced as one set: written beside, then swapped in by renames
    write_file_atomically  one file replaced the same way (write_text_atomically: a text)
    run_folder_lock        one writer per run folder; the second is refused with the holder's PID
    check_run_folder       a run goes into a new, empty or earlier run's folder, never among other files
    sibling                a fresh hidden name beside a path (the temporary files and folders above)
    check_writable         prove, before the work, that a folder (or where it would be made) takes files
    user_cache_dir         where a package keeps what it can always rebuild (``$XDG_CACHE_HOME``)

A kill leaves the old folder or the new one, never a mix: SIGTERM inside :func:`atomic_folder`
ends the process as ``SystemExit(143)`` after the partial folder is removed; a partial folder
that SIGKILL left behind (its name holds the dead writer's PID) is removed by the next writer.
Like the rest of ``cli_common``, this module imports nothing of the project: each package
passes its own error type.
"""

import contextlib
import hashlib
import os
import shutil
import signal
import threading
from pathlib import Path

LOCK_FILE = ".writer.lock"  # in a run folder while a command writes it (an OS lock: freed when the holder dies)
HOLDER_FILE = ".writer.pid"  # beside it: "PID command" of the holder, for the second writer's message


def sibling(path, kind):
    """A fresh hidden name beside ``path``: ``.NAME.KIND-PID-RANDOM``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}-{os.urandom(4).hex()}")


def check_writable(folder, error_type, what):
    """Raise ``error_type`` unless a new file can be written in ``folder`` (or, while it does not
    exist, in its nearest existing parent, where it would be made); leaves nothing behind.

    ``what`` opens the message: the flag and the path the user gave (``"--out runs/x"``). So that
    a command refuses an output on a read-only mount, under a file or in ``/proc`` before it works
    for minutes, not when it writes its results.
    """
    folder = Path(folder).absolute()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    probe = sibling(existing / "write-test", "probe")
    try:
        if not existing.is_dir():
            raise NotADirectoryError("not a folder")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise error_type(f"{what}: cannot write in {existing} ({err.strerror or err}).") from None


@contextlib.contextmanager
def atomic_folder(out, check=None):
    """Yield an empty folder beside ``out``; when the block ends without error it replaces ``out``.

    ``check(out)`` runs first and raises where ``out`` may not be replaced. On any error (and on
    SIGTERM, which then ends the process with status 143) the partial folder is removed, so
    ``out`` keeps its old contents, whole. What a killed writer left beside ``out`` is removed.
    ``out`` may be a folder or, where ``check`` allows it, a file.
    """
    out = Path(out)
    if check is not None:
        check(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_writers_leftovers(out)
    partial = sibling(out, "partial")
    partial.mkdir()  # not tempfile.mkdtemp: that makes it 0700, and the folder would stay so
    try:
        with _sigterm_as_exit():
            yield partial
            _swap_in(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _swap_in(partial, out):
    """Rename ``partial`` to ``out``; the old ``out`` (folder or file) is renamed aside, then removed."""
    if not out.exists() and not out.is_symlink():
        os.replace(partial, out)
        return
    old = sibling(out, "old")
    os.replace(out, old)
    try:
        os.replace(partial, out)
    except BaseException:
        os.replace(old, out)  # put the old one back
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()


def _remove_dead_writers_leftovers(out):
    """Remove ``.NAME.partial-PID-*`` / ``.NAME.old-PID-*`` beside ``out`` whose PID is no longer running."""
    for leftover in out.parent.glob(f".{out.name}.*-*-*"):
        kind, _, rest = leftover.name[len(out.name) + 2 :].partition("-")
        pid = rest.split("-")[0]
        if kind in ("partial", "old") and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


@contextlib.contextmanager
def _sigterm_as_exit():
    """While the block runs (in the main thread), SIGTERM raises ``SystemExit(143)`` so clean-ups run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def write_file_atomically(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    A failure leaves ``path`` as it was and no temporary file behind.
    """
    path = Path(path)
    partial = sibling(path, "partial")
    try:
        with open(partial, "x", newline="") as f:  # "x": a new file, with the umask's permissions
            write(f)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_text_atomically(path, text):
    """:func:`write_file_atomically` of ``text``, made before the file is opened."""
    write_file_atomically(path, lambda f: f.write(text))


@contextlib.contextmanager
def run_folder_lock(folder, command, error_type):
    """Hold ``folder`` (created if missing) for one writer while the block runs.

    An OS file lock (``filelock``): a holder that dies, even by SIGKILL, holds it no more. A
    second writer gets ``error_type`` at once, naming the holder's PID and command (``command``
    is what this process writes, e.g. ``"transformer-tf train"``). On leaving, the lock files
    are removed, and ``folder`` too when this call created it and it stayed empty.
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file there, or an unwritable parent
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is a file, not a folder" if blocker else err.strerror or err
        raise error_type(f"{folder}: cannot write there ({reason}); give a folder for the run.") from None
    lock = FileLock(str(folder / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        _remove_created(created)
        raise error_type(
            f"{folder} is being written by another process ({_holder(folder)}): one writer per run folder. "
            f"Wait for it to finish (or stop it), or use another folder."
        ) from None
    except OSError as err:  # a read-only folder (Timeout, an OSError too, is caught above)
        _remove_created(created)
        raise error_type(f"{folder}: cannot write there ({err.strerror or err}).") from None
    try:
        (folder / HOLDER_FILE).write_text(f"{os.getpid()} {command}\n")
        yield folder
    finally:
        with contextlib.suppress(OSError):  # the folder may be gone or replaced by now
            (folder / HOLDER_FILE).unlink(missing_ok=True)
            (folder / LOCK_FILE).unlink(missing_ok=True)  # while held: a waiter then sees the old file unlinked
        lock.release()
        _remove_created(created)


def check_run_folder(folder, is_runs, error_type, what):
    """Raise ``error_type`` when ``folder`` exists and holds something, but nothing a run writes: a
    run started there would mix its files in among someone else's. Writes nothing.

    ``is_runs(name)`` says whether an entry of the folder is one a run writes (a hidden
    ``.NAME…`` is asked about as ``NAME…``: the temporary files of :func:`sibling` and
    atomic writes); the lock files of :func:`run_folder_lock` count as a run's (a run killed
    before its first file leaves them). ``what`` opens the message: the flag and the path
    (``"checkpoint_dir runs/x"``). Call it before :func:`run_folder_lock`, which writes there.
    """
    folder = Path(folder)
    if not folder.is_dir():  # none yet (the run makes it), or a file: run_folder_lock's message
        return
    others = sorted(p.name for p in folder.iterdir() if p.name not in (LOCK_FILE, HOLDER_FILE))
    if others and not any(is_runs(name[1:] if name.startswith(".") else name) for name in others):
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3:,} more" if len(others) > 3 else "")
        raise error_type(
            f"{what} holds other files ({shown}) and no run: give a new or empty folder, "
            f"or the folder of a run to resume."
        )


def _holder(folder):
    try:
        pid, _, command = (Path(folder) / HOLDER_FILE).read_text().strip().partition(" ")
    except OSError:
        return "PID unknown"
    return f"PID {pid}, {command}" if command else f"PID {pid}"


def _remove_created(created):
    """``rmdir`` the folders this process created, deepest first, while they are empty."""
    for path in created:
        with contextlib.suppress(OSError):
            path.rmdir()


def user_cache_dir(package):
    """The folder of ``package``'s cache files (not created): ``$XDG_CACHE_HOME/PACKAGE``,
    ``~/.cache/PACKAGE`` when the variable is unset, as the XDG base directory specification says."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / package


def keras_datasets_dir(cache_dir=None):
    """Where ``keras.utils.get_file`` keeps downloads: ``CACHE_DIR/datasets``; by default under Keras'
    home, ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` where the home folder is not writable),
    decided as Keras 3 decides it (``keras.src.backend.config``: ``keras.config`` exports no accessor,
    so this needs no Keras import either)."""
    if cache_dir is None:
        if "KERAS_HOME" in os.environ:
            cache_dir = os.environ["KERAS_HOME"]
        else:
            base = os.path.expanduser("~")
            cache_dir = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return Path(cache_dir) / "datasets"


def file_sha256(path):
    """The sha256 of a file's bytes, as hex: the fingerprint of a corpus, a shard or a tokenizer model."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
