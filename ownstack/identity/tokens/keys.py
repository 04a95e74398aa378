"""Fernet key repository, laid out like Keystone's ``fernet-keys`` directory.

One file per key, named by its decimal index, holding a url-safe base64 Fernet key:

* ``0`` is the *staged* key. It never encrypts, but it decrypts, so that when several
  hosts share a repository the next primary key is already known everywhere before
  any host starts encrypting with it.
* The highest index is the *primary* key: it encrypts new tokens and decrypts.
* Every other index is a *secondary* key: it only decrypts tokens issued before the
  last rotations.

Like Keystone, files whose names are not canonical decimal numbers (our temporary files)
and empty files are ignored, so a repository made by ``keystone-manage fernet_setup``
can be used as is, and the other way round.

Writers never expose a partly written key: a new key is written and fsynced under a
temporary name, then renamed into place, and a rotation promotes the staged key with a
rename. :meth:`KeyRepository.setup` and :meth:`KeyRepository.rotate` also hold an
exclusive ``flock`` on the directory, so two rotations can never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

STAGED_INDEX = 0

# A rotation in another process can rename or prune a key between our directory scan and
# our read of that key; we then scan again. Each rotation takes a few syscalls and an
# fsync, so a handful of attempts is plenty.
_LOAD_ATTEMPTS = 10

# One entry per key file: (index, inode, mtime in ns, size). os.replace gives a new inode
# and a rotation changes the names, so any change to the key set changes the signature.
_Signature = tuple[tuple[int, int, int, int], ...]


class KeyRepository:
    """The Fernet keys in ``path``, at most ``max_active_keys`` of them after a rotation.

    ``max_active_keys`` counts the staged key, the primary key and the secondary keys,
    as Keystone's ``[fernet_tokens] max_active_keys`` does. A token stays valid through
    ``max_active_keys - 2`` rotations after the one that issued it.
    """

    def __init__(self, path: Path, max_active_keys: int = 3) -> None:
        if max_active_keys < 2:
            raise ValueError("max_active_keys must be at least 2: a staged and a primary key")
        self.path = Path(path)
        self.max_active_keys = max_active_keys
        self._cache: tuple[_Signature, MultiFernet] | None = None

    def setup(self) -> None:
        """Create the repository if needed; safe to run any number of times.

        Postconditions: the directory exists with mode 0700 and holds a primary key and a
        staged key, each in a file of mode 0600. Existing keys are kept. A repository
        left without a staged or primary key by a crash is repaired.
        """
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        with self._exclusive():
            indexes = self.key_indexes()
            if not any(index != STAGED_INDEX for index in indexes):
                if STAGED_INDEX in indexes:
                    # The staged key may already be known to other hosts: promote it.
                    os.rename(self._file(STAGED_INDEX), self._file(1))
                else:
                    self._write_key(1)
                indexes = self.key_indexes()
            if STAGED_INDEX not in indexes:
                self._write_key(STAGED_INDEX)

    def rotate(self) -> int:
        """Promote the staged key to primary, stage a new key, prune the oldest keys.

        Returns the index of the new primary key. Afterwards at most ``max_active_keys``
        keys remain: the new staged key, the new primary and the newest secondaries.
        Raises :class:`RuntimeError` if the repository has no keys.
        """
        with self._exclusive():
            indexes = self.key_indexes()
            if not indexes:
                raise RuntimeError(self._not_set_up())
            if STAGED_INDEX not in indexes:
                # A crash between the two renames below left no staged key.
                self._write_key(STAGED_INDEX)
            new_primary = max(indexes) + 1
            next_staged = self._write_temp_key()
            os.rename(self._file(STAGED_INDEX), self._file(new_primary))
            os.replace(next_staged, self._file(STAGED_INDEX))

            newest_first = sorted((i for i in indexes if i != STAGED_INDEX), reverse=True)
            # The staged key and the new primary take two of the slots.
            for index in newest_first[self.max_active_keys - 2 :]:
                self._file(index).unlink(missing_ok=True)
            return new_primary

    def load(self) -> MultiFernet:
        """All keys as a :class:`MultiFernet`: the primary first, then the newest others.

        The result is cached; each call only lists the directory and stats the key
        files, and reads the keys again only when that listing changed.
        Raises :class:`RuntimeError` if the repository has no primary key.
        """
        for attempt in range(_LOAD_ATTEMPTS + 1):
            if attempt == _LOAD_ATTEMPTS:
                # Rotations kept racing this reader: wait for the one under way to finish
                # (rotate holds the directory's exclusive lock) and read a settled listing.
                try:
                    with self._shared():
                        entries = self._scan()
                        fernets = [self._read_key(index) for index, _ in reversed(entries)]
                except FileNotFoundError:           # no repository at all
                    raise RuntimeError(self._not_set_up()) from None
                if not any(index != STAGED_INDEX for index, _ in entries):
                    raise RuntimeError(self._not_set_up())
                return MultiFernet(fernets)
            entries = self._scan()
            signature = tuple(
                (index, st.st_ino, st.st_mtime_ns, st.st_size) for index, st in entries
            )
            cached = self._cache
            if cached is not None and cached[0] == signature:
                return cached[1]
            if not any(index != STAGED_INDEX for index, _ in entries):
                # No primary key in the listing: a directory listing taken while a
                # rotation renames keys can miss the renamed ones, so this is only
                # believed from the settled listing of the last attempt.
                continue
            try:
                # Highest index first: the primary encrypts, the staged key comes last.
                fernets = [self._read_key(index) for index, _ in reversed(entries)]
            except FileNotFoundError:
                continue
            fernet = MultiFernet(fernets)
            self._cache = (signature, fernet)
            return fernet
        raise AssertionError("unreachable: the last attempt reads under the shared lock")

    def key_indexes(self) -> list[int]:
        """The indexes of the keys present, in ascending order (``0`` is staged)."""
        return [index for index, _ in self._scan()]

    def _scan(self) -> list[tuple[int, os.stat_result]]:
        entries: list[tuple[int, os.stat_result]] = []
        try:
            with os.scandir(self.path) as listing:
                for entry in listing:
                    index = _key_index(entry.name)
                    if index is None:
                        continue
                    try:
                        st = entry.stat()
                    except FileNotFoundError:
                        continue
                    if stat.S_ISREG(st.st_mode) and st.st_size > 0:
                        entries.append((index, st))
        except FileNotFoundError:
            return []
        entries.sort(key=lambda item: item[0])
        return entries

    def _read_key(self, index: int) -> Fernet:
        path = self._file(index)
        try:
            return Fernet(path.read_bytes().strip())
        except ValueError as exc:
            raise RuntimeError(f"{path} does not hold a valid Fernet key") from exc

    def _file(self, index: int) -> Path:
        return self.path / str(index)

    def _write_key(self, index: int) -> None:
        os.replace(self._write_temp_key(), self._file(index))

    def _write_temp_key(self) -> Path:
        """Write a new key, fsynced, to a temporary file (mode 0600) in the repository."""
        fd, name = tempfile.mkstemp(dir=self.path, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(Fernet.generate_key())
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name)

    def _exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold an exclusive lock on the directory; fsync it so renames are durable."""
        return self._locked(fcntl.LOCK_EX)

    def _shared(self) -> contextlib.AbstractContextManager[None]:
        """Hold a shared lock on the directory: no rotation runs meanwhile."""
        return self._locked(fcntl.LOCK_SH)

    @contextlib.contextmanager
    def _locked(self, operation: int) -> Iterator[None]:
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, operation)
            yield
            if operation == fcntl.LOCK_EX:
                os.fsync(fd)
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _not_set_up(self) -> str:
        return (
            f"Fernet key repository {self.path} has no keys; "
            "run the key repository setup (KeyRepository.setup) first"
        )


def _key_index(name: str) -> int | None:
    """The index a file name stands for, or None for any other file (``01`` included)."""
    if not (name.isascii() and name.isdigit()):
        return None
    index = int(name)
    return index if str(index) == name else None
