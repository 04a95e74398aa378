"""Code the tests share, imported as ``helpers`` (pytest's ``pythonpath`` puts tests/ on
the path).

Test modules import from here and from ``ownstack``, never from one another or from a
``conftest.py``; the conftest files hold only fixtures, built from these helpers.
``tests/unit/test_test_tree.py`` keeps it so.
"""
