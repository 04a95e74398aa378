"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def create_app_cred(req):
    raise NotImplementedYet()

async def delete_app_cred(req):
    raise NotImplementedYet()

async def list_app_creds(req):
    raise NotImplementedYet()

async def show_app_cred(req):
    raise NotImplementedYet()

