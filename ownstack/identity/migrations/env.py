from ownstack.common.db.alembic_env import run
from ownstack.identity.objects.models import Base

run(Base.metadata)
