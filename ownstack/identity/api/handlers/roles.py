"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def check_implied_role(req):
    raise NotImplementedYet()

async def create_implied_role(req):
    raise NotImplementedYet()

async def create_role(req):
    raise NotImplementedYet()

async def delete_implied_role(req):
    raise NotImplementedYet()

async def delete_role(req):
    raise NotImplementedYet()

async def list_implied_roles(req):
    raise NotImplementedYet()

async def list_role_inferences(req):
    raise NotImplementedYet()

async def list_roles(req):
    raise NotImplementedYet()

async def show_implied_role(req):
    raise NotImplementedYet()

async def show_role(req):
    raise NotImplementedYet()

async def update_role(req):
    raise NotImplementedYet()

