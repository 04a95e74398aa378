"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def download_image(req):
    raise NotImplementedYet()

async def upload_image(req):
    raise NotImplementedYet()

