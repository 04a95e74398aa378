"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def check_grant(req):
    raise NotImplementedYet()

async def create_grant(req):
    raise NotImplementedYet()

async def list_grants(req):
    raise NotImplementedYet()

async def list_role_assignments(req):
    raise NotImplementedYet()

async def revoke_grant(req):
    raise NotImplementedYet()

