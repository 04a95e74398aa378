"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def change_password(req):
    raise NotImplementedYet()

async def create_user(req):
    raise NotImplementedYet()

async def delete_user(req):
    raise NotImplementedYet()

async def list_user_groups(req):
    raise NotImplementedYet()

async def list_user_projects(req):
    raise NotImplementedYet()

async def list_users(req):
    raise NotImplementedYet()

async def show_user(req):
    raise NotImplementedYet()

async def update_user(req):
    raise NotImplementedYet()

