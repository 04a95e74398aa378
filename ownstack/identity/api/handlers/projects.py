"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def add_tag(req):
    raise NotImplementedYet()

async def check_tag(req):
    raise NotImplementedYet()

async def create_project(req):
    raise NotImplementedYet()

async def delete_project(req):
    raise NotImplementedYet()

async def delete_tag(req):
    raise NotImplementedYet()

async def delete_tags(req):
    raise NotImplementedYet()

async def list_projects(req):
    raise NotImplementedYet()

async def list_tags(req):
    raise NotImplementedYet()

async def replace_tags(req):
    raise NotImplementedYet()

async def show_project(req):
    raise NotImplementedYet()

async def update_project(req):
    raise NotImplementedYet()

