"""The volume agent: the node-side reconciler of one host's volumes and snapshots."""
