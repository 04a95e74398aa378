from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from ownstack.identity.tokens import keys as keys_module
from ownstack.identity.tokens.keys import KeyRepository


@pytest.fixture
def repo(tmp_path: Path) -> KeyRepository:
    repository = KeyRepository(tmp_path / "fernet-keys", max_active_keys=3)
    repository.setup()
    return repository


def names(repository: KeyRepository) -> list[str]:
    return sorted(os.listdir(repository.path))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_setup_creates_staged_and_primary_keys_with_private_modes(repo: KeyRepository) -> None:
    assert names(repo) == ["0", "1"]
    assert mode(repo.path) == 0o700
    for name in ("0", "1"):
        assert mode(repo.path / name) == 0o600
        Fernet((repo.path / name).read_bytes())  # a valid key


def test_setup_tightens_an_existing_directory(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)  # noqa: S103 -- the too-open mode setup must tighten
    KeyRepository(path).setup()
    assert mode(path) == 0o700


def test_setup_is_idempotent(repo: KeyRepository) -> None:
    before = {name: (repo.path / name).read_bytes() for name in names(repo)}
    repo.setup()
    repo.setup()
    assert {name: (repo.path / name).read_bytes() for name in names(repo)} == before


def test_setup_repairs_a_missing_staged_key(repo: KeyRepository) -> None:
    primary = (repo.path / "1").read_bytes()
    (repo.path / "0").unlink()
    repo.setup()
    assert names(repo) == ["0", "1"]
    assert (repo.path / "1").read_bytes() == primary


def test_primary_key_encrypts_and_staged_key_decrypts(repo: KeyRepository) -> None:
    token = repo.load().encrypt(b"hello")
    assert Fernet((repo.path / "1").read_bytes()).decrypt(token) == b"hello"
    staged_token = Fernet((repo.path / "0").read_bytes()).encrypt(b"from the next primary")
    assert repo.load().decrypt(staged_token) == b"from the next primary"


def test_rotate_promotes_staged_key_and_stages_a_new_one(repo: KeyRepository) -> None:
    staged = (repo.path / "0").read_bytes()
    assert repo.rotate() == 2
    assert names(repo) == ["0", "1", "2"]
    assert (repo.path / "2").read_bytes() == staged
    assert (repo.path / "0").read_bytes() != staged
    assert mode(repo.path / "0") == 0o600
    assert not [name for name in names(repo) if name.endswith(".tmp")]


def test_rotate_prunes_oldest_keys_down_to_max_active_keys(repo: KeyRepository) -> None:
    for expected_primary in range(2, 7):
        assert repo.rotate() == expected_primary
    assert names(repo) == ["0", "5", "6"]


def test_token_survives_rotation_overlap_then_dies_with_its_key(tmp_path: Path) -> None:
    repository = KeyRepository(tmp_path / "keys", max_active_keys=4)
    repository.setup()
    token = repository.load().encrypt(b"payload")
    for _ in range(4 - 2):  # max_active_keys - 2 rotations keep the issuing key
        repository.rotate()
        assert repository.load().decrypt(token) == b"payload"
    repository.rotate()
    with pytest.raises(InvalidToken):
        repository.load().decrypt(token)


def test_new_primary_encrypts_after_rotation(repo: KeyRepository) -> None:
    repo.rotate()
    token = repo.load().encrypt(b"x")
    assert Fernet((repo.path / "2").read_bytes()).decrypt(token) == b"x"


def test_load_without_keys_says_to_run_setup(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="setup"):
        KeyRepository(tmp_path / "missing").load()
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError, match="setup"):
        KeyRepository(tmp_path / "empty").load()
    with pytest.raises(RuntimeError, match="setup"):
        KeyRepository(tmp_path / "empty").rotate()


def test_load_rejects_a_corrupt_key_file(repo: KeyRepository) -> None:
    (repo.path / "1").write_bytes(b"not a key")
    with pytest.raises(RuntimeError, match="valid Fernet key"):
        repo.load()


def test_load_ignores_temporary_empty_and_non_canonical_files(repo: KeyRepository) -> None:
    (repo.path / ".abc.tmp").write_bytes(Fernet.generate_key())
    (repo.path / "01").write_bytes(Fernet.generate_key())
    (repo.path / "7").write_bytes(b"")  # Keystone ignores empty keys too
    assert repo.key_indexes() == [0, 1]
    token = repo.load().encrypt(b"x")
    assert Fernet((repo.path / "1").read_bytes()).decrypt(token) == b"x"


def test_load_is_cached_until_the_key_files_change(
    repo: KeyRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    read_key = KeyRepository._read_key

    def counting_read_key(self: KeyRepository, index: int) -> Fernet:
        reads.append(index)
        return read_key(self, index)

    monkeypatch.setattr(keys_module.KeyRepository, "_read_key", counting_read_key)
    first = repo.load()
    assert repo.load() is first
    assert repo.load() is first
    assert sorted(reads) == [0, 1]

    # Another process (here: another instance) rotates; this instance notices.
    KeyRepository(repo.path, max_active_keys=3).rotate()
    second = repo.load()
    assert second is not first
    assert repo.load() is second
    assert Fernet((repo.path / "2").read_bytes()).decrypt(second.encrypt(b"x")) == b"x"


def test_load_notices_a_key_replaced_under_the_same_name(repo: KeyRepository) -> None:
    repo.load()
    new_primary = Fernet.generate_key()
    tmp = repo.path / ".replace.tmp"
    tmp.write_bytes(new_primary)
    os.replace(tmp, repo.path / "1")
    assert Fernet(new_primary).decrypt(repo.load().encrypt(b"x")) == b"x"


def test_readers_never_fail_while_keys_rotate(tmp_path: Path) -> None:
    writer = KeyRepository(tmp_path / "keys", max_active_keys=3)
    writer.setup()
    reader = KeyRepository(writer.path, max_active_keys=3)
    errors: list[BaseException] = []
    done = threading.Event()

    def read_until_done() -> None:
        while not done.is_set():
            try:
                fernet = reader.load()
                assert fernet.decrypt(fernet.encrypt(b"x")) == b"x"
            except BaseException as exc:
                errors.append(exc)
                return

    thread = threading.Thread(target=read_until_done)
    thread.start()
    try:
        for _ in range(50):
            writer.rotate()
    finally:
        done.set()
        thread.join()
    assert errors == []
    assert names(writer) == ["0", "50", "51"]


def test_max_active_keys_below_two_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        KeyRepository(tmp_path, max_active_keys=1)
