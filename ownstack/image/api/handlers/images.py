"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def create_image(req):
    raise NotImplementedYet()

async def deactivate_image(req):
    raise NotImplementedYet()

async def delete_image(req):
    raise NotImplementedYet()

async def list_images(req):
    raise NotImplementedYet()

async def reactivate_image(req):
    raise NotImplementedYet()

async def show_image(req):
    raise NotImplementedYet()

async def update_image(req):
    raise NotImplementedYet()

