"""The sweeps over every route of every route table (bad input, the RBAC matrix): the
routes (:mod:`.routes`), a cloud with one resource of each kind on each side
(:mod:`.world`), a valid request for each route (:mod:`.requests`) and who may make it
(:mod:`.rbac`)."""
