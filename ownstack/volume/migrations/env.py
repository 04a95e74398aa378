from ownstack.common.db.alembic_env import run
from ownstack.common.db.base import Base
from ownstack.volume.objects import models  # noqa: F401 - registers the tables

run(Base.metadata)
