"""The volume API's JSON schemas, one module per noun, after Cinder's
``api/schemas``. Each module compiles its validators once; a body whose schema changes
with the microversion gets one validator per step
(:class:`~ownstack.common.api.schema.ByVersion`). The parameter types the nouns share
live in :mod:`~ownstack.volume.api.schemas.parameter_types`.
"""
