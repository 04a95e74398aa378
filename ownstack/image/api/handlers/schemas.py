"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def image_schema(req):
    raise NotImplementedYet()

async def images_schema(req):
    raise NotImplementedYet()

async def member_schema(req):
    raise NotImplementedYet()

async def members_schema(req):
    raise NotImplementedYet()

