"""The services' own user: its password is random and hashed at bcrypt's least cost, so
every process's first service token is cheap; and it authenticates as the services do."""

from __future__ import annotations

from sqlalchemy import select, update

from helpers.inprocess import IdentityClient
from ownstack.common.clients.auth import SERVICE_USER
from ownstack.common.statedir import read_service_password
from ownstack.identity.objects.models import Password, User
from ownstack.identity.passwords import MIN_ROUNDS, PasswordHasher, cost_of
from ownstack.server import bootstrap_identity


async def _service_hash(identity: IdentityClient) -> str:
    async with identity.app.svc.read() as db:
        user_id = await db.scalar(select(User.id).where(User.name == SERVICE_USER))
        stored = await db.scalar(select(Password.hash).where(Password.user_id == user_id))
    assert stored is not None
    return stored


async def test_the_service_password_is_hashed_at_the_least_cost(
        identity: IdentityClient) -> None:
    assert cost_of(await _service_hash(identity)) == MIN_ROUNDS
    password = read_service_password(identity.config)
    token = await identity.token(SERVICE_USER, password, project="service")
    assert token


async def test_an_older_costlier_hash_is_made_again_once(identity: IdentityClient) -> None:
    password = read_service_password(identity.config)
    costly = PasswordHasher(rounds=6).hash_sync(password)
    async with identity.app.svc.write() as db:
        user_id = await db.scalar(select(User.id).where(User.name == SERVICE_USER))
        await db.execute(update(Password).where(Password.user_id == user_id)
                         .values(hash=costly))
    await bootstrap_identity(identity.config)
    remade = await _service_hash(identity)
    assert cost_of(remade) == MIN_ROUNDS and remade != costly
    assert await identity.token(SERVICE_USER, password, project="service")
    await bootstrap_identity(identity.config)
    assert await _service_hash(identity) == remade          # not remade at every start


def test_cost_of_reads_the_cost_from_the_hash() -> None:
    assert cost_of("$2b$12$abcdefghijklmnopqrstuv") == 12
    assert cost_of("not a hash") is None
