"""The compute API's response bodies, one module per noun, field for field per microversion.

Views read rows (the models of :mod:`ownstack.compute.objects.models`, or the plain rows
and records the objects modules return) and never the database.
"""
