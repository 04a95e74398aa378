"""The compute service (Nova v2.1): flavors and keypairs so far."""
