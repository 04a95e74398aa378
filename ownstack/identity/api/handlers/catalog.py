"""PLACEHOLDER: being written."""
from ownstack.common.errors import NotImplementedYet

async def create_endpoint(req):
    raise NotImplementedYet()

async def create_region(req):
    raise NotImplementedYet()

async def create_service(req):
    raise NotImplementedYet()

async def delete_endpoint(req):
    raise NotImplementedYet()

async def delete_region(req):
    raise NotImplementedYet()

async def delete_service(req):
    raise NotImplementedYet()

async def list_endpoints(req):
    raise NotImplementedYet()

async def list_regions(req):
    raise NotImplementedYet()

async def list_services(req):
    raise NotImplementedYet()

async def put_region(req):
    raise NotImplementedYet()

async def show_endpoint(req):
    raise NotImplementedYet()

async def show_region(req):
    raise NotImplementedYet()

async def show_service(req):
    raise NotImplementedYet()

async def update_endpoint(req):
    raise NotImplementedYet()

async def update_region(req):
    raise NotImplementedYet()

async def update_service(req):
    raise NotImplementedYet()

