"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def add_tag(req):
    raise NotImplementedYet()

async def delete_tag(req):
    raise NotImplementedYet()

