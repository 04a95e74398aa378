"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def add_user(req):
    raise NotImplementedYet()

async def check_user(req):
    raise NotImplementedYet()

async def create_group(req):
    raise NotImplementedYet()

async def delete_group(req):
    raise NotImplementedYet()

async def list_group_users(req):
    raise NotImplementedYet()

async def list_groups(req):
    raise NotImplementedYet()

async def remove_user(req):
    raise NotImplementedYet()

async def show_group(req):
    raise NotImplementedYet()

async def update_group(req):
    raise NotImplementedYet()

