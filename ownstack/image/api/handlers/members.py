"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def create_member(req):
    raise NotImplementedYet()

async def delete_member(req):
    raise NotImplementedYet()

async def list_members(req):
    raise NotImplementedYet()

async def show_member(req):
    raise NotImplementedYet()

async def update_member(req):
    raise NotImplementedYet()

