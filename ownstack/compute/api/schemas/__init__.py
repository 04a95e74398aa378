"""The compute API's JSON schemas, one module per noun, after Nova's
``api/openstack/compute/schemas``.

Each module compiles its validators once; a body whose schema changes with the microversion
gets one validator per step (:class:`~ownstack.common.api.schema.ByVersion`).
Like Nova's, every object schema rejects unknown properties. The parameter types several
nouns share live in :mod:`~ownstack.compute.api.schemas.parameter_types`.
"""
